/* The scheduler's windows (window.c) and what goes through them (ops.c): a scale-up of many
 * keeps at most the window's creates in flight at the agent, the rest follow as each ends;
 * queued creates are dropped when the project changes; a create refused for a port (409 that
 * is not a name conflict) is a failure of the service with backoff, not a replica that
 * "exists already" retried at once. The agent is a fake on the test's own socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/duration.h"
#include "berth/http_server.h"
#include "sched.h"
#include "test_sched_util.h"

static char root[] = "/tmp/test-sched-window.XXXXXX";

/* ---- the window alone ---- */

struct item {
	struct sched_window_item wi;
	int ran;
};

static int n_ran;

static void item_run(struct sched_window_item *it)
{
	((struct item *)it)->ran = ++n_ran;
}

static bool match_odd(struct sched_window_item *it, void *arg)
{
	return ((struct item *)it - (struct item *)arg) & 1;
}

static int n_cancelled;
static void item_cancel(struct sched_window_item *it)
{
	n_cancelled++;
}

static void test_window_order_and_refill(void **state)
{
	struct sched s = {0};
	s.base = event_base_new();
	setenv("BERTH_SCHED_WINDOW", "3", 1);
	struct sched_window *w = sched_window_get(&s, SCHED_WINDOW_START);
	assert_int_equal(w->limit, 3);
	struct item items[10] = {0};
	n_ran = 0;
	for (int i = 0; i < 10; i++) {
		items[i].wi.run = item_run;
		sched_window_submit(w, &items[i].wi);
	}
	assert_int_equal(n_ran, 3);
	assert_int_equal(w->n_queued, 7);
	/* Two end: two more run, from the loop, in order. */
	sched_window_done(w);
	sched_window_done(w);
	assert_int_equal(n_ran, 3);
	event_base_loop(s.base, EVLOOP_NONBLOCK);
	assert_int_equal(n_ran, 5);
	assert_int_equal(items[3].ran, 4);
	assert_int_equal(items[4].ran, 5);
	assert_int_equal(w->running, 3);
	/* Cancel the odd ones still queued (5, 7, 9): called once each, the rest keep order. */
	n_cancelled = 0;
	assert_int_equal(sched_window_cancel(w, match_odd, &items[0], item_cancel), 3);
	assert_int_equal(n_cancelled, 3);
	assert_int_equal(w->n_queued, 2);
	for (int i = 0; i < 3; i++)
		sched_window_done(w);
	event_base_loop(s.base, EVLOOP_NONBLOCK);
	assert_int_equal(items[6].ran, 6);
	assert_int_equal(items[8].ran, 7);
	assert_int_equal(items[5].ran, 0);
	assert_int_equal(w->peak, 3);
	assert_null(w->refill); /* nothing waits */
	sched_windows_free(&s);
	event_base_free(s.base);
	unsetenv("BERTH_SCHED_WINDOW");
}

/* ---- through ops.c, against a fake agent ---- */

static int creates, in_flight, max_in_flight, starts;
static int create_status = 201;
static const char *create_message = "";
static struct event_base *fake_base;

static bool made[100]; /* replica numbers created (listed as running) */

struct delayed {
	struct berth_http_call *call;
	struct event *ev;
	int n;
};

static void create_reply(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;
	in_flight--;
	if (create_status == 201) {
		char id[32];
		snprintf(id, sizeof(id), "id%d", d->n);
		if (d->n > 0 && d->n < 100)
			made[d->n] = true;
		berth_http_reply_json(d->call, 201, json_pack("{s:s}", "Id", id));
	} else
		berth_http_reply_errorf(d->call, create_status, "%s", create_message);
	event_free(d->ev);
	free(d);
}

static void fake_create(struct berth_http_call *call)
{
	creates++;
	if (++in_flight > max_in_flight)
		max_in_flight = in_flight;
	struct delayed *d = calloc(1, sizeof(*d));
	d->call = call;
	const char *name = berth_http_query(call, "name");
	d->n = name && strrchr(name, '-') ? atoi(strrchr(name, '-') + 1) : 0;
	d->ev = evtimer_new(fake_base, create_reply, d);
	struct timeval tv = {0, 5000};
	evtimer_add(d->ev, &tv);
}

static void fake_start(struct berth_http_call *call)
{
	starts++;
	berth_http_reply_empty(call, 204);
}

static void fake_list(struct berth_http_call *call)
{
	json_t *list = json_array();
	for (int n = 1; n < 100; n++) {
		if (!made[n])
			continue;
		char id[32], num[16];
		snprintf(id, sizeof(id), "id%d", n);
		snprintf(num, sizeof(num), "%d", n);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "Id",
						      id, "State", "running", "Status",
						      "Up 1 second", "Labels", SCHED_LABEL_PROJECT,
						      "demo", SCHED_LABEL_SERVICE, "web",
						      SCHED_LABEL_NUMBER, num));
	}
	berth_http_reply_json(call, 200, list);
}

static void fake_stop(struct berth_http_call *call)
{
	berth_http_reply_empty(call, 204);
}

static void fake_remove(struct berth_http_call *call)
{
	int n = atoi(call->params[0] + 2); /* "idN" */
	if (n > 0 && n < 100)
		made[n] = false;
	berth_http_reply_empty(call, 204);
}

static const struct berth_http_route agent_routes[] = {
    {"POST", "/containers/{id}/stop", fake_stop}, {"DELETE", "/containers/{id}", fake_remove},
    {"POST", "/containers/create", fake_create},  {"POST", "/containers/{id}/start", fake_start},
    {"GET", "/containers/json", fake_list},
};

struct fx {
	struct sched s;
	struct berth_http_server *agent;
	char agent_sock[300];
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct berth_error err = {0};
	f->s.base = fake_base = event_base_new();
	f->s.host_cpus = 4;
	f->s.host_memory = 1LL << 30;
	snprintf(f->agent_sock, sizeof(f->agent_sock), "%s/agent-fake.sock", root);
	f->s.agent_sock = f->agent_sock;
	unlink(f->agent_sock); /* a failed test before this one may have left it */
	f->agent =
	    berth_http_server_new(f->s.base, f->agent_sock, 0600, agent_routes,
				  sizeof(agent_routes) / sizeof(agent_routes[0]), NULL, &err);
	assert_non_null(f->agent);
	creates = in_flight = max_in_flight = starts = 0;
	create_status = 201;
	memset(made, 0, sizeof(made));
	return f;
}

/* Run the loop for ms of wall time (not a count of iterations: on a loaded machine those take
 * longer, and a 1 s backoff would expire inside a "600 ms" wait). */
static void run_a_while(struct fx *f, int ms)
{
	int64_t end = berth_now_ns() + (int64_t)ms * 1000000;
	do
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	while (berth_now_ns() < end);
}

static void fx_free(struct fx *f)
{
	/* Nothing in flight at the end (a request freed with the loop would leak). */
	for (int i = 0; i < 3000; i++) {
		bool busy = false;
		for (struct sched_project *p = f->s.projects; p; p = p->next)
			busy |= p->inflight > 0 || p->listing;
		if (!busy)
			break;
		run_a_while(f, 1);
	}
	for (struct sched_project *p = f->s.projects; p; p = p->next)
		assert_int_equal(p->inflight, 0);
	run_a_while(f, 50);
	while (f->s.projects)
		sched_project_forget(f->s.projects);
	berth_http_server_free(f->agent);
	sched_windows_free(&f->s);
	json_decref(f->s.draining);
	free(f->s.status_json);
	free(f->s.metrics_text);
	event_base_free(f->s.base);
	unlink(f->agent_sock);
	free(f);
}

static const char *model_n = "{\"services\": {\"web\": {\"image\": \"busybox\", \"network_mode\":"
			     " \"none\", \"deploy\": {\"replicas\": %d}}}}";

static void test_scale_up_bounded(void **state)
{
	setenv("BERTH_SCHED_WINDOW", "4", 1);
	struct fx *f = fx_new();
	char text[256];
	snprintf(text, sizeof(text), model_n, 40);
	struct sched_project *p = apply(&f->s, "demo", text);
	sched_kick(p);
	for (int i = 0; i < 5000 && starts < 40; i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
	assert_int_equal(creates, 40);
	assert_int_equal(starts, 40);
	assert_int_equal(max_in_flight, 4);
	assert_true(f->s.windows[SCHED_WINDOW_START].peak <= 4);
	fx_free(f);
	unsetenv("BERTH_SCHED_WINDOW");
}

static void test_queued_dropped_on_scale(void **state)
{
	setenv("BERTH_SCHED_WINDOW", "2", 1);
	struct fx *f = fx_new();
	char text[256];
	snprintf(text, sizeof(text), model_n, 30);
	struct sched_project *p = apply(&f->s, "demo", text);
	sched_kick(p);
	for (int i = 0; i < 1000 && creates < 2; i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
	assert_int_equal(f->s.windows[SCHED_WINDOW_START].n_queued, 28);
	/* A scale to 0 (or a down, a stop, a new up) drops what waits. */
	p->services[0]->desired = 0;
	assert_int_equal(sched_ops_cancel_queued(p), 28);
	run_a_while(f, 100);
	assert_true(creates <= 4);
	fx_free(f);
	unsetenv("BERTH_SCHED_WINDOW");
}

static void test_port_conflict_backs_off(void **state)
{
	struct fx *f = fx_new();
	create_status = 409;
	create_message = "Bind for 0.0.0.0:53 failed: port is already allocated";
	char text[256];
	snprintf(text, sizeof(text), model_n, 1);
	struct sched_project *p = apply(&f->s, "demo", text);
	sched_kick(p);
	run_a_while(f, 600);
	/* Today: ~580 creates a second ("exists already"). Now: one, then 1 s of backoff. */
	assert_int_equal(creates, 1);
	assert_string_equal(p->services[0]->error, create_message);
	assert_int_equal(p->services[0]->error_status, 409);
	fx_free(f);
}

static void test_name_conflict_is_not_port(void **state)
{
	struct fx *f = fx_new();
	create_status = 409;
	create_message = "Conflict. The container name \"/demo-web-1\" is already in use by "
			 "container \"abc\". You have to remove (or rename) that container to be "
			 "able to reuse that name.";
	char text[256];
	snprintf(text, sizeof(text), model_n, 1);
	struct sched_project *p = apply(&f->s, "demo", text);
	sched_kick(p);
	run_a_while(f, 600);
	/* Not in the listing either (someone else's container): no spin on it either. */
	assert_int_equal(creates, 1);
	assert_non_null(strstr(p->services[0]->error, "is already in use"));
	fx_free(f);
}

/* The agent's event stream coming back retries a service that failed for an outage (a 5xx)
 * at once, its backoff reset; a client's error (a port taken) keeps its backoff. */
static void test_agent_back_resets_outage_backoff(void **state)
{
	struct fx *f = fx_new();
	create_status = 503;
	create_message = "berth-netd is not running";
	char text[256];
	snprintf(text, sizeof(text), model_n, 1);
	struct sched_project *p = apply(&f->s, "demo", text);
	struct sched_service *svc = p->services[0];
	sched_kick(p);
	run_a_while(f, 300);
	assert_int_equal(creates, 1);
	assert_int_equal(svc->error_status, 503);
	/* As after a long outage: several rounds of backoff behind it. */
	svc->error_backoff = 6;
	svc->retry_at_ns = berth_now_ns() + 64000000000LL;
	create_status = 201;
	sched_agent_back(&f->s);
	for (int i = 0; i < 2000 && starts < 1; i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(500);
	assert_int_equal(creates, 2);
	assert_int_equal(starts, 1);
	assert_int_equal(svc->error_backoff, 0);

	/* A port conflict is not an outage: the backoff stands. */
	create_status = 409;
	create_message = "Bind for 0.0.0.0:53 failed: port is already allocated";
	p->services[0]->desired = 2;
	sched_kick(p);
	run_a_while(f, 300);
	assert_int_equal(creates, 3);
	int64_t retry_at = svc->retry_at_ns;
	assert_true(retry_at > berth_now_ns());
	sched_agent_back(&f->s);
	run_a_while(f, 300);
	assert_int_equal(creates, 3);
	assert_int_equal(svc->retry_at_ns, retry_at);
	fx_free(f);
}

static void test_scale_limit(void **state)
{
	struct berth_error err = {0};
	json_t *n = json_integer(25000);
	assert_int_equal(sched_scale_check("web", n, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg,
			    "service \"web\": scale 25000 is above the limit of 10000 replicas per "
			    "service");
	json_decref(n);
	n = json_integer(SCHED_MAX_REPLICAS);
	assert_int_equal(sched_scale_check("web", n, &err), 0);
	json_decref(n);

	/* From the file (deploy.replicas, or scale: which the parser maps to it). */
	struct sched s = {0};
	s.base = event_base_new();
	char text[256];
	snprintf(text, sizeof(text), model_n, 25000);
	json_t *m = parse(text);
	memset(&err, 0, sizeof(err));
	assert_null(sched_project_apply(&s, "demo", m, NULL, NULL, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "scale 25000 is above the limit"));
	assert_null(s.projects); /* nothing half-made */
	json_decref(m);
	event_base_free(s.base);
}

static int group_setup(void **state)
{
	if (!mkdtemp(root))
		return -1;
	setenv("BERTH_ROOT", root, 1);
	setenv("BERTH_RUN", root, 1);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_order_and_refill),
	    cmocka_unit_test(test_scale_up_bounded),
	    cmocka_unit_test(test_queued_dropped_on_scale),
	    cmocka_unit_test(test_port_conflict_backs_off),
	    cmocka_unit_test(test_name_conflict_is_not_port),
	    cmocka_unit_test(test_agent_back_resets_outage_backoff),
	    cmocka_unit_test(test_scale_limit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
