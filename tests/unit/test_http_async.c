/* Unit tests for lib/http_async.c: an http_server and the async client on one loop, over a
 * temporary unix socket: replies, errors, chunked bodies, order, an absent daemon, freeing
 * the client from a callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "berth/http_async.h"
#include "berth/http_server.h"

static char dir[] = "/tmp/berth-test-async-XXXXXX";
static char sock[256];
static struct event_base *base;
static struct berth_http_server *srv;

static void h_echo(struct berth_http_call *call)
{
	berth_http_reply_json(call, 200, json_pack("{s:s}", "x", call->params[0]));
}

static void h_body(struct berth_http_call *call)
{
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	berth_http_reply_json(call, 201, body ? body : json_null());
}

static void h_fail(struct berth_http_call *call)
{
	berth_http_reply_errorf(call, 409, "Bind for 0.0.0.0:%s failed: port is already allocated",
				"9000");
}

static void h_stream(struct berth_http_call *call)
{
	berth_http_stream_start(call, 200, "application/json");
	berth_http_stream_send(call, "{\"a\":", 5);
	berth_http_stream_send(call, "[1,2,3]}", 8);
	berth_http_stream_end(call);
}

static void h_empty(struct berth_http_call *call)
{
	berth_http_reply_empty(call, 204);
}

static const struct berth_http_route routes[] = {
    {"GET", "/echo/{x}", h_echo}, {"POST", "/body", h_body},	 {"GET", "/fail", h_fail},
    {"GET", "/stream", h_stream}, {"DELETE", "/empty", h_empty},
};

struct result {
	int calls;
	int status;
	json_t *reply;
	struct berth_error err;
	bool has_err;
	int order[8];
	int n_order;
};

static void on_result(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct result *r = arg;
	r->calls++;
	r->status = status;
	r->reply = reply ? json_incref(reply) : NULL;
	r->has_err = err != NULL;
	if (err)
		r->err = *err;
	event_base_loopbreak(base);
}

static void run_until(int *calls, int want)
{
	for (int i = 0; i < 200 && *calls < want; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	base = event_base_new();
	struct berth_error err = {0};
	srv = berth_http_server_new(base, sock, 0600, routes, sizeof(routes) / sizeof(routes[0]),
				    NULL, &err);
	assert_non_null(srv);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	berth_http_server_free(srv);
	event_base_free(base);
	unlink(sock);
	rmdir(dir);
	return 0;
}

static void test_json_reply(void **state)
{
	struct berth_http_async *c = berth_http_async_new(base, sock);
	struct result r = {0};
	berth_http_async_json(c, "GET", "/echo/hello", NULL, on_result, &r);
	assert_int_equal(r.calls, 0); /* never from inside the call */
	run_until(&r.calls, 1);
	assert_int_equal(r.status, 200);
	assert_false(r.has_err);
	assert_string_equal(json_string_value(json_object_get(r.reply, "x")), "hello");
	json_decref(r.reply);

	struct result b = {0};
	json_t *body = json_pack("{s:i}", "n", 7);
	berth_http_async_json(c, "POST", "/body", body, on_result, &b);
	json_decref(body);
	run_until(&b.calls, 1);
	assert_int_equal(b.status, 201);
	assert_int_equal(json_integer_value(json_object_get(b.reply, "n")), 7);
	json_decref(b.reply);

	struct result e = {0};
	berth_http_async_json(c, "DELETE", "/empty", NULL, on_result, &e);
	run_until(&e.calls, 1);
	assert_int_equal(e.status, 204);
	assert_null(e.reply);
	assert_false(e.has_err);
	berth_http_async_free(c);
}

static void test_errors(void **state)
{
	struct berth_http_async *c = berth_http_async_new(base, sock);
	struct result r = {0};
	berth_http_async_json(c, "GET", "/fail", NULL, on_result, &r);
	run_until(&r.calls, 1);
	assert_int_equal(r.status, 409);
	assert_true(r.has_err);
	assert_int_equal(r.err.status, 409);
	assert_string_equal(r.err.msg, "Bind for 0.0.0.0:9000 failed: port is already allocated");
	json_decref(r.reply);
	berth_http_async_free(c);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none.sock", dir);
	c = berth_http_async_new(base, missing);
	struct result m = {0};
	berth_http_async_json(c, "GET", "/echo/x", NULL, on_result, &m);
	run_until(&m.calls, 1);
	assert_int_equal(m.status, 0);
	assert_true(m.has_err);
	assert_non_null(strstr(m.err.msg, "connect"));
	assert_non_null(strstr(m.err.msg, "none.sock"));
	berth_http_async_free(c);
}

static void test_chunked(void **state)
{
	struct berth_http_async *c = berth_http_async_new(base, sock);
	struct result r = {0};
	berth_http_async_json(c, "GET", "/stream", NULL, on_result, &r);
	run_until(&r.calls, 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.reply, "a")), 3);
	json_decref(r.reply);
	berth_http_async_free(c);
}

static struct result order_result;

static void on_order(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	order_result.order[order_result.n_order++] = (int)(intptr_t)arg;
	order_result.calls++;
}

static void test_order(void **state)
{
	struct berth_http_async *c = berth_http_async_new(base, sock);
	memset(&order_result, 0, sizeof(order_result));
	for (int i = 0; i < 5; i++)
		berth_http_async_json(c, i % 2 ? "GET" : "DELETE", i % 2 ? "/echo/a" : "/empty",
				      NULL, on_order, (void *)(intptr_t)i);
	assert_int_equal(berth_http_async_pending(c), 5);
	run_until(&order_result.calls, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(order_result.order[i], i);
	assert_int_equal(berth_http_async_pending(c), 0);
	berth_http_async_free(c);
}

static struct berth_http_async *to_free;
static int freed_calls;

static void on_free(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	freed_calls++;
	berth_http_async_free(to_free); /* queued requests go without their callbacks */
}

static void test_free_in_callback(void **state)
{
	to_free = berth_http_async_new(base, sock);
	berth_http_async_json(to_free, "GET", "/echo/a", NULL, on_free, NULL);
	berth_http_async_json(to_free, "GET", "/echo/b", NULL, on_free, NULL);
	run_until(&freed_calls, 1);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(freed_calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_reply),	     cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_chunked),	     cmocka_unit_test(test_order),
	    cmocka_unit_test(test_free_in_callback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
