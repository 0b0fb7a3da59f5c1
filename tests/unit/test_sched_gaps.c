/* Gaps closed in the scheduler: the CPU load of a pinning decision from a listing of every
 * container (pinning.c), drains undone for replicas kept after all (undrain.c, ops.c), the
 * monitor window of max_failure_ratio (update.c), the tag that keeps a rollback's image
 * (update_keep.c), and compose down -t bounding drains and stops (ops.c). The agent and netd
 * are fakes on the test's own sockets that record what they are asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/cpuset.h"
#include "berth/duration.h"
#include "berth/http_server.h"
#include "berth/paths.h"
#include "sched.h"

static char root[] = "/tmp/test-sched-gaps.XXXXXX";

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("%s: %s", text, e.text);
	return j;
}

/* ---- fake daemons: every request is logged as "METHOD URI" ---- */

static char seen[64][512];
static int n_seen;
static int remove_status = 204; /* the fake agent's DELETE /containers/{id} */

static void record(struct berth_http_call *call, const char *method)
{
	if (n_seen < 64)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s %s", method,
			 evhttp_request_get_uri(call->req));
}

static bool was_seen(const char *what)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i], what))
			return true;
	return false;
}

static void fake_endpoints(struct berth_http_call *call)
{
	record(call, "GET");
	berth_http_reply_json(call, 200,
			      parse("[{\"ContainerId\": \"aaa\", \"Draining\": true},"
				    " {\"ContainerId\": \"bbb\", \"Draining\": false}]"));
}

static void fake_drain(struct berth_http_call *call)
{
	record(call, "POST");
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	char line[64];
	snprintf(line, sizeof(line), "TimeoutMs %lld",
		 (long long)json_integer_value(json_object_get(body, "TimeoutMs")));
	json_decref(body);
	if (n_seen < 64)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", line);
	berth_http_reply_json(call, 200, json_pack("{s:i}", "Connections", 0));
}

static void fake_undrain(struct berth_http_call *call)
{
	record(call, "DELETE");
	berth_http_reply_empty(call, 204);
}

static const struct berth_http_route netd_routes[] = {
    {"GET", "/endpoints", fake_endpoints},
    {"POST", "/endpoints/{id}/drain", fake_drain},
    {"DELETE", "/endpoints/{id}/drain", fake_undrain},
};

static void fake_list(struct berth_http_call *call)
{
	record(call, "GET");
	berth_http_reply_json(call, 200, json_array());
}

static void fake_stop(struct berth_http_call *call)
{
	record(call, "POST");
	berth_http_reply_empty(call, 204);
}

static void fake_remove(struct berth_http_call *call)
{
	record(call, "DELETE");
	if (remove_status == 204)
		berth_http_reply_empty(call, 204);
	else
		berth_http_reply_errorf(call, remove_status, "driver failed to remove");
}

static void fake_tag(struct berth_http_call *call)
{
	record(call, "POST");
	berth_http_reply_empty(call, 201);
}

static void fake_image_remove(struct berth_http_call *call)
{
	record(call, "DELETE");
	berth_http_reply_json(call, 200, parse("[{\"Untagged\": \"berth-rollback:demo.web\"}]"));
}

static const struct berth_http_route agent_routes[] = {
    {"GET", "/containers/json", fake_list},	      {"POST", "/containers/{id}/stop", fake_stop},
    {"DELETE", "/containers/{id}", fake_remove},      {"POST", "/images/{name*}/tag", fake_tag},
    {"DELETE", "/images/{name*}", fake_image_remove},
};

struct fx {
	struct sched s;
	struct berth_http_server *agent, *netd;
	char agent_sock[300];
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct berth_error err = {0};
	f->s.base = event_base_new();
	f->s.host_cpus = 4;
	f->s.host_memory = 1LL << 30;
	snprintf(f->agent_sock, sizeof(f->agent_sock), "%s/agent-fake.sock", root);
	f->s.agent_sock = f->agent_sock;
	f->agent =
	    berth_http_server_new(f->s.base, f->agent_sock, 0600, agent_routes,
				  sizeof(agent_routes) / sizeof(agent_routes[0]), NULL, &err);
	assert_non_null(f->agent);
	f->netd = berth_http_server_new(f->s.base, berth_netd_sock(), 0600, netd_routes,
					sizeof(netd_routes) / sizeof(netd_routes[0]), NULL, &err);
	assert_non_null(f->netd);
	n_seen = 0;
	return f;
}

/* Run the loop until what is seen (or 2 s). */
static bool run_until_seen(struct fx *f, const char *what)
{
	for (int i = 0; i < 2000 && !was_seen(what); i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	return was_seen(what);
}

static void run_a_while(struct fx *f, int ms)
{
	for (int i = 0; i < ms; i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static void fx_free(struct fx *f)
{
	run_a_while(f, 50);
	while (f->s.projects)
		sched_project_forget(f->s.projects);
	berth_http_server_free(f->agent);
	berth_http_server_free(f->netd);
	json_decref(f->s.draining);
	free(f->s.status_json);
	free(f->s.metrics_text);
	event_base_free(f->s.base);
	unlink(f->agent_sock);
	unlink(berth_netd_sock());
	free(f);
}

static struct sched_replica *add_replica(struct sched_service *svc, int number, const char *id,
					 const char *state, const char *cpuset)
{
	svc->replicas = realloc(svc->replicas, (svc->n_replicas + 1) * sizeof(*svc->replicas));
	struct sched_replica *r = calloc(1, sizeof(*r));
	r->number = number;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->state, sizeof(r->state), "%s", state);
	snprintf(r->cpuset, sizeof(r->cpuset), "%s", cpuset);
	snprintf(r->hash, sizeof(r->hash), "%s", svc->hash);
	r->seen = true;
	svc->replicas[svc->n_replicas++] = r;
	svc->cap_replicas = svc->n_replicas;
	return r;
}

static struct sched_project *apply(struct sched *s, const char *name, const char *model_text)
{
	struct berth_error err = {0};
	json_t *m = parse(model_text);
	struct sched_project *p = sched_project_apply(s, name, m, NULL, NULL, &err);
	json_decref(m);
	assert_non_null(p);
	return p;
}

/* ---- 1: the CPU load ---- */

static const char *pinned_model =
    "{\"services\": {\"web\": {\"image\": \"busybox\", \"cpuset\": \"0-3\", \"deploy\": "
    "{\"replicas\": 1, \"resources\": {\"limits\": {\"cpus\": 1}}}}}}";

static void test_pin_load(void **state)
{
	struct sched s = {0};
	s.base = event_base_new();
	struct sched_project *a = apply(&s, "a", pinned_model);
	struct sched_project *b = apply(&s, "b", pinned_model);
	/* a's own replica on 0 (running), b's replica on 1 (listed), b's replica on 3 being
	 * created (not in the listing yet). */
	add_replica(a->services[0], 1, "a1", "running", "0");
	add_replica(b->services[0], 1, "b1", "running", "1");
	add_replica(b->services[0], 2, "", "creating", "3");
	json_t *all =
	    parse("["
		  /* a's own: counted from its replica, not twice */
		  "{\"Id\": \"a1\", \"Labels\": {\"com.docker.compose.project\": \"a\","
		  " \"berth.cpuset\": \"0\"}, \"HostConfig\": {\"CpusetCpus\": \"0\"}},"
		  /* b's, known to the scheduler and listed: once */
		  "{\"Id\": \"b1\", \"Labels\": {\"com.docker.compose.project\": \"b\","
		  " \"berth.cpuset\": \"1\"}, \"HostConfig\": {\"NetworkMode\": \"default\"}},"
		  /* a project not listed yet since a restart (only the label) */
		  "{\"Id\": \"c1\", \"Labels\": {\"com.docker.compose.project\": \"c\","
		  " \"berth.cpuset\": \"1\"}, \"HostConfig\": {}},"
		  /* berth run --cpuset-cpus 2-3, exited */
		  "{\"Id\": \"x1\", \"State\": \"exited\", \"Labels\": {},"
		  " \"HostConfig\": {\"CpusetCpus\": \"2-3\"}},"
		  /* not pinned */
		  "{\"Id\": \"y1\", \"Labels\": {}, \"HostConfig\": {\"NetworkMode\": \"default\"}}"
		  "]");
	int *load = sched_pin_load(&s, a, all);
	assert_int_equal(load[0], 1);
	assert_int_equal(load[1], 2);
	assert_int_equal(load[2], 1);
	assert_int_equal(load[3], 2);
	assert_int_equal(load[4], 0);
	/* The next replica of a goes to CPU 0 or 2 (load 1): the lowest, 0. */
	char cpus[64];
	sched_pin_choose(a->services[0], load, cpus, sizeof(cpus));
	assert_string_equal(cpus, "0");
	sched_pin_choose(a->services[0], load, cpus, sizeof(cpus));
	assert_string_equal(cpus, "2");
	free(load);

	/* Without the listing (the agent unreachable): what the scheduler knows. */
	load = sched_pin_load(&s, a, NULL);
	assert_int_equal(load[0], 1);
	assert_int_equal(load[1], 1);
	assert_int_equal(load[2], 0);
	assert_int_equal(load[3], 1);
	free(load);
	json_decref(all);
	while (s.projects)
		sched_project_forget(s.projects);
	event_base_free(s.base);
}

static void test_pin_of_listed(void **state)
{
	json_t *c =
	    parse("{\"HostConfig\": {\"CpusetCpus\": \"1,3\"}, \"Labels\": {\"berth.cpuset\":"
		  " \"0\"}}");
	assert_string_equal(sched_pin_of_listed(c), "1,3");
	json_decref(c);
	c = parse(
	    "{\"HostConfig\": {\"CpusetCpus\": \"\"}, \"Labels\": {\"berth.cpuset\": \"0\"}}");
	assert_string_equal(sched_pin_of_listed(c), "0");
	json_decref(c);
	c = parse("{\"Labels\": {}}");
	assert_null(sched_pin_of_listed(c));
	json_decref(c);
}

/* ---- 2: drains undone ---- */

static void test_undrain_after_start(void **state)
{
	struct fx *f = fx_new();
	sched_drains_check(&f->s);
	assert_true(run_until_seen(f, "GET /endpoints"));
	run_a_while(f, 20);
	assert_non_null(json_object_get(f->s.draining, "aaa"));
	assert_null(json_object_get(f->s.draining, "bbb"));
	sched_drains_check(&f->s); /* once per start */
	json_t *cfg = parse("{}");
	struct sched_replica r = {.number = 2};
	snprintf(r.id, sizeof(r.id), "bbb");
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r); /* not draining: nothing */
	snprintf(r.id, sizeof(r.id), "aaa");
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r);
	assert_true(run_until_seen(f, "DELETE /endpoints/aaa/drain"));
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r); /* once */
	run_a_while(f, 30);
	int gets = 0, deletes = 0;
	for (int i = 0; i < n_seen; i++) {
		gets += !strcmp(seen[i], "GET /endpoints");
		deletes += !strncmp(seen[i], "DELETE /endpoints/", 18);
	}
	assert_int_equal(gets, 1);
	assert_int_equal(deletes, 1);
	json_decref(cfg);
	fx_free(f);
}

static const char *published_model =
    "{\"services\": {\"web\": {\"image\": \"busybox\", \"stop_grace_period\": 7000000000,"
    " \"deploy\": {\"replicas\": 0}}}}";

static struct sched_replica *published_replica(struct sched_service *svc, int number,
					       const char *id)
{
	struct sched_replica *r = add_replica(svc, number, id, "running", "");
	r->ports = parse("[{\"IP\": \"0.0.0.0\", \"PrivatePort\": 8080, \"PublicPort\": 9000,"
			 " \"Type\": \"tcp\"}]");
	return r;
}

static void test_undrain_failed_removal(void **state)
{
	struct fx *f = fx_new();
	struct sched_project *p = apply(&f->s, "demo", published_model);
	struct sched_service *svc = p->services[0];
	struct sched_replica *r = published_replica(svc, 1, "ccc");
	remove_status = 500;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/ccc?force=1"));
	/* drained, stopped, the removal failed: back into the rotation */
	assert_true(run_until_seen(f, "DELETE /endpoints/ccc/drain"));
	assert_true(was_seen("POST /endpoints/ccc/drain"));
	assert_true(was_seen("TimeoutMs 7000")); /* stop_grace_period */
	assert_true(was_seen("POST /containers/ccc/stop?t=7"));
	remove_status = 204;

	/* A removal that succeeds is not undrained. */
	n_seen = 0;
	r = published_replica(svc, 2, "ddd");
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/ddd?force=1"));
	run_a_while(f, 50);
	assert_false(was_seen("DELETE /endpoints/ddd/drain"));
	fx_free(f);
}

/* ---- 5: compose down -t ---- */

static void test_down_timeout(void **state)
{
	struct fx *f = fx_new();
	struct sched_project *p = apply(&f->s, "demo", published_model);
	struct sched_service *svc = p->services[0];
	struct sched_replica *r = published_replica(svc, 1, "eee");
	/* What plan_service does for a down -t 2: the drain is bounded too. */
	r->has_stop_timeout = true;
	r->stop_timeout = 2;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/eee?force=1"));
	assert_true(was_seen("TimeoutMs 2000"));
	assert_true(was_seen("POST /containers/eee/stop?t=2"));

	/* -t 0: no wait at all. */
	n_seen = 0;
	r = published_replica(svc, 2, "fff");
	r->has_stop_timeout = true;
	r->stop_timeout = 0;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/fff?force=1"));
	assert_true(was_seen("POST /containers/fff/stop?t=0"));
	assert_false(was_seen("POST /endpoints/fff/drain"));

	/* Containers of the project no service knows (strays) get it too. */
	n_seen = 0;
	p->removing = true;
	p->down_timeout = 4;
	sched_op_remove_id(p, "ggg");
	assert_true(run_until_seen(f, "POST /containers/ggg/stop?t=4"));
	fx_free(f);
}

/* ---- 3: max_failure_ratio within monitor ---- */

static const char *update_model = "{\"services\": {\"web\": {\"image\": \"app\", \"environment\":"
				  " {\"V\": \"%s\"}, \"deploy\": {\"replicas\": 2,"
				  " \"update_config\": {%s}}}}}";

/* name/web at V=1 with 2 old replicas, updated to V=2; replica 1 replaced by a new one. */
static struct sched_replica *updated(struct sched *s, const char *name, const char *update,
				     struct sched_service **out)
{
	char text[512];
	snprintf(text, sizeof(text), update_model, "1", update);
	struct sched_project *p = apply(s, name, text);
	struct sched_service *svc = p->services[0];
	add_replica(svc, 1, "n1", "running", "");
	add_replica(svc, 2, "n2", "running", "");
	snprintf(text, sizeof(text), update_model, "2", update);
	apply(s, name, text);
	int surge = 0;
	bool busy = false;
	int64_t next = 0;
	assert_int_equal(sched_update_step(p, svc, berth_now_ns(), &surge, &busy, &next), 1);
	struct sched_replica *r = svc->replicas[0];
	r->busy = false;
	snprintf(r->hash, sizeof(r->hash), "%s", svc->hash);
	*out = svc;
	return r;
}

static const char *step_state(struct sched *s, const char *name, struct sched_service *svc)
{
	int surge = 0;
	bool busy = false;
	int64_t next = 0;
	sched_update_step(sched_project_find(s, name), svc, berth_now_ns(), &surge, &busy, &next);
	return svc->upd.state;
}

static void test_monitor_window(void **state)
{
	struct sched s = {0};
	s.base = event_base_new();
	s.agent_sock = "/nonexistent/agent.sock";
	struct sched_service *svc;

	/* monitor 5 s: a replica up for 6 s has passed; its crash later is not the update's. */
	struct sched_replica *r = updated(&s, "m1", "\"monitor\": 5000000000", &svc);
	r->started_ns = berth_now_ns() - 6000000000LL;
	assert_string_equal(step_state(&s, "m1", svc), "updating");
	assert_true(r->passed);
	snprintf(r->state, sizeof(r->state), "restarting");
	r->restarts = 1;
	assert_string_equal(step_state(&s, "m1", svc), "updating");
	assert_int_equal(svc->upd.batch, 2); /* it went on to replica 2 */

	/* The same crash within the window pauses. */
	r = updated(&s, "m2", "\"monitor\": 5000000000", &svc);
	r->started_ns = berth_now_ns() - 1000000000LL;
	assert_string_equal(step_state(&s, "m2", svc), "updating");
	assert_false(r->passed);
	snprintf(r->state, sizeof(r->state), "restarting");
	r->restarts = 1;
	assert_string_equal(step_state(&s, "m2", svc), "paused");

	/* Without monitor: every failure during the update counts, as before. */
	r = updated(&s, "m3", "", &svc);
	r->started_ns = berth_now_ns() - 6000000000LL;
	assert_string_equal(step_state(&s, "m3", svc), "updating");
	snprintf(r->state, sizeof(r->state), "exited");
	assert_string_equal(step_state(&s, "m3", svc), "paused");

	/* Let the removals (no agent) fail and free themselves. */
	for (int k = 0; k < 20; k++)
		event_base_loop(s.base, EVLOOP_NONBLOCK);
	while (s.projects)
		sched_project_forget(s.projects);
	event_base_free(s.base);
}

/* ---- 4: the rollback's image kept by a tag ---- */

static void test_keep_target_and_tag(void **state)
{
	char tag[256];
	assert_int_equal(sched_update_keep_tag("demo", "web", tag, sizeof(tag)), 0);
	assert_string_equal(tag, "demo.web");
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sched_update_keep_tag(longname, "web", tag, sizeof(tag)), -1);

	struct fx *f = fx_new();
	char text[512];
	snprintf(text, sizeof(text), update_model, "1", "");
	struct sched_project *p = apply(&f->s, "demo", text);
	struct sched_service *svc = p->services[0];
	assert_string_equal(sched_update_keep_target(p, svc), "");
	sched_update_image_resolved(svc, "sha256:aaa");
	snprintf(text, sizeof(text), update_model, "2", "");
	apply(&f->s, "demo", text); /* a config change: the previous is V=1 on aaa */
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:aaa");

	sched_update_keep_sync(p, svc);
	assert_true(
	    run_until_seen(f, "POST /images/sha256%3Aaaa/tag?repo=berth-rollback&tag=demo.web"));
	run_a_while(f, 20);
	assert_string_equal(svc->upd.kept_id, "sha256:aaa");
	/* persisted, and read back */
	json_t *saved = sched_update_save(p);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(saved, "web"), "kept_image_id")),
	    "sha256:aaa");
	json_decref(saved);
	n_seen = 0;
	sched_update_keep_sync(p, svc); /* nothing to do */
	run_a_while(f, 20);
	assert_int_equal(n_seen, 0);

	/* Pinned after a rollback: the image it runs on. */
	snprintf(svc->upd.image_id, sizeof(svc->upd.image_id), "sha256:bbb");
	svc->upd.pinned = true;
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:bbb");
	svc->upd.pinned = false;
	snprintf(svc->upd.state, sizeof(svc->upd.state), "rolling_back");
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:bbb");
	snprintf(svc->upd.state, sizeof(svc->upd.state), "completed");

	/* down: untagged (forced: only the tag goes while a container uses it). */
	p->removing = true;
	assert_string_equal(sched_update_keep_target(p, svc), "");
	sched_update_keep_sync(p, svc);
	assert_true(run_until_seen(f, "DELETE /images/berth-rollback%3Ademo.web?force=1"));
	run_a_while(f, 20);
	assert_string_equal(svc->upd.kept_id, "");
	fx_free(f);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("BERTH_ROOT", root, 1);
	setenv("BERTH_RUN", root, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_load),
	    cmocka_unit_test(test_pin_of_listed),
	    cmocka_unit_test(test_undrain_after_start),
	    cmocka_unit_test(test_undrain_failed_removal),
	    cmocka_unit_test(test_down_timeout),
	    cmocka_unit_test(test_monitor_window),
	    cmocka_unit_test(test_keep_target_and_tag),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
