/* The scheduler's drain before a removal (scheduler/ops_net.c): the timeout a service asks for,
 * which replicas are behind the proxy, and the asynchronous call to a fake netd (answering,
 * refusing, unreachable): the stop always follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/http_server.h"
#include "berth/paths.h"
#include "sched.h"

static json_t *config(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	assert_non_null(j);
	return j;
}

static int64_t timeout_of(const char *text)
{
	json_t *c = config(text);
	int64_t ms = sched_drain_timeout_ms(c);
	json_decref(c);
	return ms;
}

static void test_timeout(void **state)
{
	assert_int_equal(timeout_of("{}"), 10000);
	/* stop_grace_period is canonical nanoseconds. */
	assert_int_equal(timeout_of("{\"stop_grace_period\": 3000000000}"), 3000);
	assert_int_equal(timeout_of("{\"stop_grace_period\": 0}"), 0);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": \"1m30s\"},"
				    " \"stop_grace_period\": 3000000000}"),
			 90000);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": \"500ms\"}}"), 500);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": 2}}"), 2000);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": 0.25}}"), 250);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": \"0\"}}"), 0);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": \"5h\"}}"), 3600000);
	/* Huge numbers of seconds are clamped, not wrapped by the multiplication. */
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": 100000000000000000}}"),
			 3600000);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": 1e300}}"), 3600000);
	/* Not a duration: the default (logged). */
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": \"soon\"},"
				    " \"stop_grace_period\": 4000000000}"),
			 4000);
	assert_int_equal(timeout_of("{\"x-berth\": {\"drain_timeout\": -1}}"), 10000);
	assert_int_equal(timeout_of("{\"x-berth\": \"5s\"}"), 10000);
}

static void test_published(void **state)
{
	struct sched_replica r = {0};
	assert_false(sched_replica_published(&r));
	r.ports = config("[{\"PrivatePort\": 8080, \"Type\": \"tcp\"}]");
	assert_false(sched_replica_published(&r));
	json_decref(r.ports);
	r.ports = config("[{\"PrivatePort\": 53, \"Type\": \"udp\"},"
			 " {\"IP\": \"0.0.0.0\", \"PrivatePort\": 8080, \"PublicPort\": 9000,"
			 " \"Type\": \"tcp\"}]");
	assert_true(sched_replica_published(&r));
	json_decref(r.ports);
}

/* ---- a fake netd on $BERTH_RUN/netd.sock ---- */

static char run_dir[] = "/tmp/test-sched-drain.XXXXXX";
static int fake_status = 200;
static char seen_path[256];
static json_int_t seen_timeout = -1;

static void fake_drain(struct berth_http_call *call)
{
	snprintf(seen_path, sizeof(seen_path), "%s", call->params[0]);
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	seen_timeout = json_integer_value(json_object_get(body, "TimeoutMs"));
	json_decref(body);
	if (fake_status == 200)
		berth_http_reply_json(call, 200, json_pack("{s:i}", "Connections", 2));
	else
		berth_http_reply_errorf(call, fake_status, "no endpoint for container %s",
					call->params[0]);
}

static const struct berth_http_route fake_routes[] = {
    {"POST", "/endpoints/{id}/drain", fake_drain},
};

struct done_seen {
	int calls;
};

static void on_done(void *arg)
{
	((struct done_seen *)arg)->calls++;
}

static void run_until(struct event_base *base, struct done_seen *d)
{
	for (int i = 0; i < 2000 && d->calls == 0; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static void test_drain_call(void **state)
{
	assert_non_null(mkdtemp(run_dir));
	setenv("BERTH_RUN", run_dir, 1);
	struct sched s = {0};
	s.base = event_base_new();
	s.agent_sock = "/nonexistent/agent.sock";

	/* No netd: done follows at once. */
	struct done_seen d = {0};
	sched_drain(&s, "abc", "demo-web-2", 5000, on_done, &d);
	assert_int_equal(d.calls, 0); /* never from inside the call */
	run_until(s.base, &d);
	assert_int_equal(d.calls, 1);

	struct berth_error err = {0};
	struct berth_http_server *srv =
	    berth_http_server_new(s.base, berth_netd_sock(), 0600, fake_routes, 1, NULL, &err);
	assert_non_null(srv);
	d.calls = 0;
	sched_drain(&s, "abc", "demo-web-2", 1500, on_done, &d);
	run_until(s.base, &d);
	assert_int_equal(d.calls, 1);
	assert_string_equal(seen_path, "abc");
	assert_int_equal(seen_timeout, 1500);

	/* A container netd does not know: the stop follows all the same. */
	fake_status = 404;
	d.calls = 0;
	sched_drain(&s, "def", "demo-web-3", 0, on_done, &d);
	run_until(s.base, &d);
	assert_int_equal(d.calls, 1);
	assert_string_equal(seen_path, "def");
	assert_int_equal(seen_timeout, 0);

	berth_http_server_free(srv);
	event_base_free(s.base);
	unlink(berth_netd_sock());
	rmdir(run_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_published),
	    cmocka_unit_test(test_drain_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
