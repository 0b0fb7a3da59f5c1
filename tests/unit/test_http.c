/* Unit tests for lib/http_*.c (server and client): a server in a forked child on a
 * temporary unix socket, exercised with the client and with raw sockets. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "berth/http_client.h"
#include "berth/http_server.h"

static char test_dir[] = "/tmp/berth-test-http-XXXXXX";
static char sock_path[256];
static pid_t server_pid;

/* ---- the server (child process) ---- */

static struct event_base *srv_base;
static int srv_closed_streams; /* on_close callbacks seen */
static int srv_slow_gone;      /* /slow streams whose client had gone before the end */

static void h_container(struct berth_http_call *call)
{
	berth_http_reply_json(call, 200,
			      json_pack("{s:s, s:b}", "id", call->params[0], "size",
					berth_http_query_bool(call, "size", false)));
}

static void h_image(struct berth_http_call *call)
{
	berth_http_reply_json(call, 200, json_pack("{s:s}", "name", call->params[0]));
}

static void h_image_delete(struct berth_http_call *call)
{
	berth_http_reply_json(call, 200, json_pack("[{s:s}]", "Untagged", call->params[0]));
}

static void h_two(struct berth_http_call *call)
{
	berth_http_reply_json(call, 200, json_pack("[s,s]", call->params[0], call->params[1]));
}

static void h_echo(struct berth_http_call *call)
{
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	berth_http_reply_json(call, 201, body);
}

static void h_count(struct berth_http_call *call)
{
	struct evbuffer *b = berth_http_body(call);
	berth_http_reply_json(call, 200,
			      json_pack("{s:I}", "len", (json_int_t)evbuffer_get_length(b)));
}

static void h_conflict(struct berth_http_call *call)
{
	berth_http_reply_errorf(call, 409, "Conflict. The name \"%s\" is taken", "/web");
}

static void h_empty(struct berth_http_call *call)
{
	berth_http_reply_empty(call, 204);
}

static void h_stream(struct berth_http_call *call)
{
	berth_http_stream_start(call, 200, "application/json");
	for (int i = 0; i < 3; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
		berth_http_stream_send(call, line, n);
	}
	berth_http_stream_end(call);
}

/* A stream that never ends by itself: the client's departure must free it. */
struct hold_state {
	struct berth_http_call *call;
	char *junk; /* something for ASan to see leaked if on_close were never called */
};

static void hold_closed(struct berth_http_call *call, void *arg)
{
	struct hold_state *st = arg;
	srv_closed_streams++;
	free(st->junk);
	free(st);
}

static void h_hold(struct berth_http_call *call)
{
	struct hold_state *st = calloc(1, sizeof(*st));
	st->call = call;
	st->junk = strdup("held");
	berth_http_stream_on_close(call, hold_closed, st);
	berth_http_stream_start(call, 200, "text/plain");
	berth_http_stream_send(call, "first\n", 6);
}

/* A stream with no on_close whose client leaves: the later send and end must be harmless. */
static void slow_finish(evutil_socket_t fd, short what, void *arg)
{
	struct berth_http_call *call = arg;
	srv_slow_gone += berth_http_call_gone(call);
	berth_http_stream_send(call, "b\n", 2);
	berth_http_stream_end(call);
}

static void h_slow(struct berth_http_call *call)
{
	struct timeval tv = {0, 150000};
	berth_http_stream_start(call, 200, "text/plain");
	berth_http_stream_send(call, "a\n", 2);
	event_base_once(srv_base, -1, EV_TIMEOUT, slow_finish, call, &tv);
}

/* on_close that ends the stream itself. */
static void end_in_close(struct berth_http_call *call, void *arg)
{
	srv_closed_streams++;
	berth_http_stream_end(call);
}

static void h_hold_end(struct berth_http_call *call)
{
	berth_http_stream_on_close(call, end_in_close, NULL);
	berth_http_stream_start(call, 200, "text/plain");
	berth_http_stream_send(call, "first\n", 6);
}

static void h_closed_count(struct berth_http_call *call)
{
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:i, s:i}", "closed", srv_closed_streams, "slow_gone", srv_slow_gone));
}

/* Async reply: the handler keeps the call and replies from a timer. */
static void async_reply(evutil_socket_t fd, short what, void *arg)
{
	berth_http_reply_json(arg, 200, json_pack("{s:b}", "late", 1));
}

static void h_async(struct berth_http_call *call)
{
	struct timeval tv = {0, 20000};
	event_base_once(srv_base, -1, EV_TIMEOUT, async_reply, call, &tv);
}

/* Hijacked echo: upper-cases what it reads; after the client's EOF it waits a little, sends
 * a last line and closes (the stream must survive the half-close). */
static void hij_free(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent *bev = arg;
	bufferevent_free(bev);
}

static void hij_flush_then_close(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 && arg)
		event_base_once(srv_base, -1, EV_TIMEOUT, hij_free, bev, NULL);
}

static void hij_late(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent *bev = arg;
	bufferevent_write(bev, "bye after eof\n", 14);
	bufferevent_setcb(bev, NULL, hij_flush_then_close, NULL, bev);
}

static void hij_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[256];
	size_t n;
	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 && n != (size_t)-1) {
		for (size_t i = 0; i < n; i++)
			if (buf[i] >= 'a' && buf[i] <= 'z')
				buf[i] -= 32;
		bufferevent_write(bev, buf, n);
	}
}

static void hij_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_EOF) {
		bufferevent_disable(bev, EV_READ);
		struct timeval tv = {0, 100000};
		event_base_once(srv_base, -1, EV_TIMEOUT, hij_late, bev, &tv);
		return;
	}
	bufferevent_free(bev);
}

static void h_attach(struct berth_http_call *call)
{
	struct bufferevent *bev = berth_http_hijack(call, "application/vnd.docker.raw-stream");
	if (!bev)
		return;
	bufferevent_setcb(bev, hij_read, NULL, hij_event, NULL);
	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)))
		hij_read(bev, NULL);
}

static const struct berth_http_route test_routes[] = {
    {"GET", "/containers/{id}/json", h_container},
    {"GET", "/images/{name*}/json", h_image},
    {"DELETE", "/images/{name*}", h_image_delete},
    {"GET", "/a/{x}/b/{y}", h_two},
    {"POST", "/echo", h_echo},
    {"POST", "/count", h_count},
    {"PUT", "/count", h_count},
    {"POST", "/conflict", h_conflict},
    {"DELETE", "/empty", h_empty},
    {"GET", "/stream", h_stream},
    {"GET", "/hold", h_hold},
    {"GET", "/closed", h_closed_count},
    {"GET", "/slow", h_slow},
    {"GET", "/hold-end", h_hold_end},
    {"GET", "/async", h_async},
    {"POST", "/attach", h_attach},
    {"POST", "/containers/{id}/attach", h_attach},
};

static void srv_stop(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(srv_base);
}

static int server_main(void)
{
	struct berth_error err = {0};
	signal(SIGPIPE, SIG_IGN);
	srv_base = event_base_new();
	struct berth_http_server *srv =
	    berth_http_server_new(srv_base, sock_path, 0600, test_routes,
				  sizeof(test_routes) / sizeof(test_routes[0]), NULL, &err);
	if (!srv) {
		fprintf(stderr, "server: %s\n", err.msg);
		return 1;
	}
	berth_http_server_add_header(srv, "Api-Version", "1.41");
	berth_http_server_add_header(srv, "Ostype", "linux");
	struct event *term = evsignal_new(srv_base, SIGTERM, srv_stop, NULL);
	event_add(term, NULL);
	event_base_dispatch(srv_base);
	event_free(term);
	berth_http_server_free(srv);
	event_base_free(srv_base);
	return access(sock_path, F_OK) == 0 ? 2 : 0; /* the socket must be gone */
}

/* ---- helpers on the client side ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int raw_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Read until EOF (or timeout_ms of silence) into buf; returns the length. */
static size_t raw_read_all(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;
	while (len + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	if (getenv("TEST_HTTP_DEBUG"))
		fprintf(stderr, "---- read:\n%s\n----\n", buf);
	return len;
}

static int group_setup(void **state)
{
	assert_non_null(mkdtemp(test_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/test.sock", test_dir);
	fflush(NULL);
	server_pid = fork();
	if (server_pid == 0)
		exit(server_main()); /* exit, not _exit: LeakSanitizer runs at exit */
	for (int i = 0; i < 200 && access(sock_path, F_OK) != 0; i++)
		sleep_ms(10);
	return access(sock_path, F_OK) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	int status = 0;
	kill(server_pid, SIGTERM);
	waitpid(server_pid, &status, 0);
	rmdir(test_dir);
	/* A clean exit: no crash, socket removed, and (under ASan) no leaks. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "server exited with status 0x%x\n", status);
		return -1;
	}
	return 0;
}

static json_t *get_json(const char *method, const char *path, const json_t *body)
{
	struct berth_error err = {0};
	json_t *reply = NULL;
	int rc = berth_http_json(sock_path, method, path, body, &reply, &err);
	if (rc < 0)
		fprintf(stderr, "%s %s: %s\n", method, path, err.msg);
	assert_int_equal(rc, 0);
	return reply;
}

/* ---- tests ---- */

static void test_route_capture_and_query(void **state)
{
	json_t *j = get_json("GET", "/containers/abc123/json?size=1", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "abc123");
	assert_true(json_is_true(json_object_get(j, "size")));
	json_decref(j);
	j = get_json("GET", "/v1.41/containers/web/json", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "web");
	assert_true(json_is_false(json_object_get(j, "size")));
	json_decref(j);
	j = get_json("GET", "/a/one/b/t%20wo", NULL);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "one");
	assert_string_equal(json_string_value(json_array_get(j, 1)), "t wo");
	json_decref(j);
}

static void test_route_greedy(void **state)
{
	json_t *j = get_json("GET", "/v1.41/images/docker.io/library/busybox:latest/json", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "docker.io/library/busybox:latest");
	json_decref(j);
	j = get_json("GET", "/images/busybox/json", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "busybox");
	json_decref(j);
	j = get_json("DELETE", "/images/localhost:5000/my/app:v1", NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Untagged")),
			    "localhost:5000/my/app:v1");
	json_decref(j);
}

static void test_route_errors(void **state)
{
	struct berth_error err = {0};
	json_t *reply = NULL;
	assert_int_equal(berth_http_json(sock_path, "GET", "/nope", NULL, &reply, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(err.exit_code, 125);
	assert_string_equal(err.msg, "page not found");
	assert_null(reply);

	err = (struct berth_error){0};
	assert_int_equal(berth_http_json(sock_path, "POST", "/containers/x/json", NULL, NULL, &err),
			 -1);
	assert_int_equal(err.status, 405);

	err = (struct berth_error){0};
	assert_int_equal(berth_http_json(sock_path, "POST", "/conflict", NULL, NULL, &err), -1);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.msg, "Conflict. The name \"/web\" is taken");

	/* /images/{name*}/json needs a name */
	err = (struct berth_error){0};
	assert_int_equal(berth_http_json(sock_path, "GET", "/images//json", NULL, NULL, &err), -1);
	assert_int_equal(err.status, 404);
}

/* A decoded %00 would cut an id short (victim%00x naming victim), a decoded %2F would put a
 * slash in a name: both 400, in the path and (NUL) in the query. */
static void test_route_nul_and_slash(void **state)
{
	static const char *const bad[] = {"/containers/abc%00def/json",
					  "/containers/abc%00/json",
					  "/a/one/b/t%2Fwo",
					  "/containers/..%2F..%2Fetc/json",
					  "/containers/abc/json?size=1%00x",
					  "/images/busy%00box/json"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct berth_error err = {0};
		assert_int_equal(berth_http_json(sock_path, "GET", bad[i], NULL, NULL, &err), -1);
		assert_int_equal(err.status, 400);
	}
	json_t *j = get_json("GET", "/a/one/b/t%25wo", NULL);
	assert_string_equal(json_string_value(json_array_get(j, 1)), "t%wo");
	json_decref(j);
	/* An image name spans segments ({name*}): its slashes may come escaped, as berth's CLI
	 * sends them. */
	j = get_json("GET", "/images/docker.io%2Flibrary%2Fbusybox:latest/json", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "docker.io/library/busybox:latest");
	json_decref(j);
}

static void test_json_bodies(void **state)
{
	json_t *body = json_pack("{s:s, s:[i,i]}", "Image", "busybox", "n", 1, 2);
	json_t *j = get_json("POST", "/echo", body);
	assert_true(json_equal(j, body));
	json_decref(j);
	json_decref(body);

	/* No body: an empty object. */
	j = get_json("POST", "/echo", NULL);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);

	struct berth_error err = {0};
	struct berth_http_response r = {0};
	assert_int_equal(
	    berth_http_request(sock_path, "POST", "/echo", "{\"a\":", 5, NULL, &r, &err), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "invalid JSON"));
	assert_true(r.len > 0 && r.body[r.len - 1] == '\n');
	berth_http_response_free(&r);

	err = (struct berth_error){0};
	assert_int_equal(berth_http_request(sock_path, "DELETE", "/empty", NULL, 0, NULL, &r, &err),
			 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	assert_string_equal(r.body, "");
	berth_http_response_free(&r);
}

static void test_headers_and_head(void **state)
{
	int fd = raw_connect();
	const char *req = "HEAD /v1.41/containers/x/json HTTP/1.1\r\nHost: \r\n"
			  "Connection: close\r\n\r\n";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[4096];
	raw_read_all(fd, buf, sizeof(buf), 2000);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(buf, "Api-Version: 1.41\r\n"));
	assert_non_null(strstr(buf, "Ostype: linux\r\n"));
	assert_non_null(strstr(buf, "Content-Type: application/json\r\n"));
	assert_null(strstr(buf, "\"id\"")); /* HEAD: no body */
}

static int collect_cb(const char *data, size_t len, void *arg)
{
	char *acc = arg;
	strncat(acc, data, len < 1000 ? len : 1000);
	return 0;
}

static void test_stream(void **state)
{
	char acc[2048] = "";
	long status = 0;
	struct berth_error err = {0};
	assert_int_equal(berth_http_stream(sock_path, "GET", "/stream", NULL, 0, NULL, collect_cb,
					   acc, &status, &err),
			 0);
	assert_int_equal(status, 200);
	assert_string_equal(acc, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");

	/* Non-2xx in a stream becomes an error. */
	acc[0] = '\0';
	err = (struct berth_error){0};
	assert_int_equal(berth_http_stream(sock_path, "GET", "/missing", NULL, 0, NULL, collect_cb,
					   acc, &status, &err),
			 -1);
	assert_int_equal(status, 404);
	assert_string_equal(err.msg, "page not found");
	assert_string_equal(acc, "");
}

static int stop_cb(const char *data, size_t len, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static void test_stream_client_goes_away(void **state)
{
	json_t *j = get_json("GET", "/closed", NULL);
	int before = json_integer_value(json_object_get(j, "closed"));
	json_decref(j);

	int calls = 0;
	struct berth_error err = {0};
	assert_int_equal(berth_http_stream(sock_path, "GET", "/hold", NULL, 0, NULL, stop_cb,
					   &calls, NULL, &err),
			 0);
	assert_int_equal(calls, 1);

	/* The server notices without writing anything more. */
	int after = before;
	for (int i = 0; i < 100 && after == before; i++) {
		sleep_ms(10);
		j = get_json("GET", "/closed", NULL);
		after = json_integer_value(json_object_get(j, "closed"));
		json_decref(j);
	}
	assert_int_equal(after, before + 1);

	/* A raw client that disconnects mid-stream the same way. */
	int fd = raw_connect();
	const char *req = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[1024];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	close(fd);
	for (int i = 0; i < 100 && after == before + 1; i++) {
		sleep_ms(10);
		j = get_json("GET", "/closed", NULL);
		after = json_integer_value(json_object_get(j, "closed"));
		json_decref(j);
	}
	assert_int_equal(after, before + 2);
}

static int closed_field(const char *key)
{
	json_t *j = get_json("GET", "/closed", NULL);
	int v = json_integer_value(json_object_get(j, key));
	json_decref(j);
	return v;
}

static void test_stream_gone_variants(void **state)
{
	int calls = 0;
	struct berth_error err = {0};
	int closed = closed_field("closed");
	assert_int_equal(berth_http_stream(sock_path, "GET", "/hold-end", NULL, 0, NULL, stop_cb,
					   &calls, NULL, &err),
			 0);
	for (int i = 0; i < 100 && closed_field("closed") == closed; i++)
		sleep_ms(10);
	assert_int_equal(closed_field("closed"), closed + 1);

	int gone = closed_field("slow_gone");
	assert_int_equal(berth_http_stream(sock_path, "GET", "/slow", NULL, 0, NULL, stop_cb,
					   &calls, NULL, &err),
			 0);
	for (int i = 0; i < 100 && closed_field("slow_gone") == gone; i++)
		sleep_ms(10);
	assert_int_equal(closed_field("slow_gone"), gone + 1);

	/* The same stream read to its end. */
	char acc[64] = "";
	assert_int_equal(berth_http_stream(sock_path, "GET", "/slow", NULL, 0, NULL, collect_cb,
					   acc, NULL, &err),
			 0);
	assert_string_equal(acc, "a\nb\n");
}

static void test_async_reply(void **state)
{
	json_t *j = get_json("GET", "/async", NULL);
	assert_true(json_is_true(json_object_get(j, "late")));
	json_decref(j);
}

static void test_hijack_upgrade_half_close(void **state)
{
	int fd = raw_connect();
	/* The request and the first stdin bytes in one write: evhttp reads both. */
	const char *req = "POST /v1.41/containers/x/attach?stream=1&stdout=1 HTTP/1.1\r\n"
			  "Host: \r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
			  "Content-Type: text/plain\r\nUpgrade: tcp\r\n\r\nearly ";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	sleep_ms(50);
	assert_int_equal(write(fd, "late\n", 5), 5);
	sleep_ms(50);
	shutdown(fd, SHUT_WR); /* as the docker CLI does without stdin */
	char buf[4096];
	raw_read_all(fd, buf, sizeof(buf), 3000);
	close(fd);
	const char *head = "HTTP/1.1 101 UPGRADED\r\n"
			   "Content-Type: application/vnd.docker.raw-stream\r\n"
			   "Connection: Upgrade\r\nUpgrade: tcp\r\n";
	assert_true(strncmp(buf, head, strlen(head)) == 0);
	char *body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, "EARLY LATE\nbye after eof\n");
}

static void test_hijack_without_upgrade(void **state)
{
	int fd = raw_connect();
	const char *req = "POST /containers/x/attach HTTP/1.1\r\nHost: x\r\n"
			  "Content-Length: 0\r\n\r\n";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	assert_int_equal(write(fd, "hi\n", 3), 3);
	shutdown(fd, SHUT_WR);
	char buf[4096];
	raw_read_all(fd, buf, sizeof(buf), 3000);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_null(strstr(buf, "Content-Length"));
	char *body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, "HI\nbye after eof\n");
}

static void test_keepalive_then_hijack(void **state)
{
	/* A plain request, then a hijack, on one connection. */
	int fd = raw_connect();
	const char *req = "GET /containers/k/json HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[4096];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "{\"id\":\"k\",\"size\":false}\n"));
	req = "POST /attach HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	shutdown(fd, SHUT_WR);
	raw_read_all(fd, buf, sizeof(buf), 3000);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 101 UPGRADED\r\n", 23) == 0);
	assert_non_null(strstr(buf, "\r\n\r\nbye after eof\n"));
}

static void test_bad_requests_do_not_kill(void **state)
{
	const char *bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET / HTTP/9.9\r\n\r\n",
	    "BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n",
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
	    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "GET /containers/%zz/json?%%=1 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /a/b/c?x=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "\r\n\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = raw_connect();
		ssize_t w = write(fd, bad[i], strlen(bad[i]));
		(void)w;
		shutdown(fd, SHUT_WR);
		char buf[4096];
		raw_read_all(fd, buf, sizeof(buf), 500);
		close(fd);
	}
	json_t *j = get_json("GET", "/containers/alive/json", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "alive");
	json_decref(j);
}

static void test_upload(void **state)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/upload.bin", test_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100000; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	struct berth_error err = {0};
	struct berth_http_response r = {0};
	assert_int_equal(berth_http_upload_file(sock_path, "POST", "/count", path,
						"application/x-tar", &r, &err),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"len\":100000}\n");
	berth_http_response_free(&r);

	/* Unknown size (a pipe): chunked. */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t w = fork();
	if (w == 0) {
		close(pfd[0]);
		char chunk[1000];
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 70; i++)
			if (write(pfd[1], chunk, sizeof(chunk)) < 0)
				_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	char acc[256] = "";
	long status = 0;
	assert_int_equal(berth_http_upload_stream(sock_path, "PUT", "/count", pfd[0], NULL,
						  collect_cb, acc, &status, &err),
			 0);
	close(pfd[0]);
	waitpid(w, NULL, 0);
	assert_int_equal(status, 200);
	assert_string_equal(acc, "{\"len\":70000}\n");

	err = (struct berth_error){0};
	assert_int_equal(berth_http_upload_file(sock_path, "POST", "/count", "/nonexistent/file",
						NULL, &r, &err),
			 -1);
	assert_non_null(strstr(err.msg, "/nonexistent/file"));
	unlink(path);
}

static void test_cannot_connect(void **state)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/agent.sock", test_dir);
	struct berth_error err = {0};
	assert_int_equal(berth_http_json(path, "GET", "/_ping", NULL, NULL, &err), -1);
	char want[600];
	snprintf(want, sizeof(want),
		 "Cannot connect to the berth agent at unix://%s. Is the berth agent running?",
		 path);
	assert_string_equal(err.msg, want);

	/* A socket file with nobody listening (a crashed daemon). */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	err = (struct berth_error){0};
	assert_int_equal(berth_http_json(path, "GET", "/_ping", NULL, NULL, &err), -1);
	assert_string_equal(err.msg, want);
	unlink(path);
}

static void test_second_server_refused(void **state)
{
	struct event_base *base = event_base_new();
	struct berth_error err = {0};
	struct berth_http_server *srv =
	    berth_http_server_new(base, sock_path, 0600, test_routes, 1, NULL, &err);
	assert_null(srv);
	assert_non_null(strstr(err.msg, "in use"));
	event_base_free(base);
	/* The running server still answers. */
	json_t *j = get_json("GET", "/containers/still/json", NULL);
	json_decref(j);
}

/* In-process: free the server while a stream, an unanswered call and a fresh hijack are live. */
static struct berth_http_call *stashed_call;
static struct bufferevent *stashed_bev;
static int inproc_dispatched;

static void h_stash(struct berth_http_call *call)
{
	stashed_call = call;
	inproc_dispatched++;
}

static void h_hijack_stash(struct berth_http_call *call)
{
	stashed_bev = berth_http_hijack(call, NULL);
	inproc_dispatched++;
}

static void h_hold_counted(struct berth_http_call *call)
{
	h_hold(call);
	inproc_dispatched++;
}

static void test_server_free_with_live_calls(void **state)
{
	static const struct berth_http_route routes[] = {
	    {"GET", "/hold", h_hold_counted},
	    {"GET", "/stash", h_stash},
	    {"POST", "/hijack", h_hijack_stash},
	};
	char path[300];
	snprintf(path, sizeof(path), "%s/inproc.sock", test_dir);
	srv_base = event_base_new();
	struct berth_error err = {0};
	struct berth_http_server *srv =
	    berth_http_server_new(srv_base, path, 0600, routes, 3, NULL, &err);
	assert_non_null(srv);
	char saved[sizeof(sock_path)];
	strcpy(saved, sock_path);
	strcpy(sock_path, path);
	int fds[3];
	const char *reqs[] = {"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n",
			      "GET /stash HTTP/1.1\r\nHost: x\r\n\r\n",
			      "POST /hijack HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\n\r\n"};
	for (int i = 0; i < 3; i++) {
		fds[i] = raw_connect();
		assert_int_equal(write(fds[i], reqs[i], strlen(reqs[i])), (ssize_t)strlen(reqs[i]));
	}
	strcpy(sock_path, saved);
	int before = srv_closed_streams;
	for (int i = 0; i < 200 && inproc_dispatched < 3; i++)
		event_base_loop(srv_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(inproc_dispatched, 3);
	assert_non_null(stashed_call);
	assert_non_null(stashed_bev);

	berth_http_server_free(srv);
	assert_int_equal(access(path, F_OK), -1);	  /* socket removed */
	assert_int_equal(srv_closed_streams, before + 1); /* the stream's on_close ran */
	assert_true(berth_http_call_gone(stashed_call));
	berth_http_reply_json(stashed_call, 200, json_object()); /* dropped, frees the call */
	/* The hijacked connection is the caller's and still works. */
	bufferevent_write(stashed_bev, "still here", 10);
	for (int i = 0; i < 20; i++)
		event_base_loop(srv_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	bufferevent_free(stashed_bev);
	char buf[1024];
	raw_read_all(fds[2], buf, sizeof(buf), 1000);
	assert_non_null(strstr(buf, "HTTP/1.1 101 UPGRADED\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\nstill here"));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	event_base_free(srv_base);
	srv_base = NULL;
}

static void test_escape(void **state)
{
	char *e = berth_http_escape("a b/c:d?e=f&g%h~_.-");
	assert_string_equal(e, "a%20b%2Fc%3Ad%3Fe%3Df%26g%25h~_.-");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_capture_and_query),
	    cmocka_unit_test(test_route_greedy),
	    cmocka_unit_test(test_route_errors),
	    cmocka_unit_test(test_route_nul_and_slash),
	    cmocka_unit_test(test_json_bodies),
	    cmocka_unit_test(test_headers_and_head),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_stream_client_goes_away),
	    cmocka_unit_test(test_stream_gone_variants),
	    cmocka_unit_test(test_async_reply),
	    cmocka_unit_test(test_hijack_upgrade_half_close),
	    cmocka_unit_test(test_hijack_without_upgrade),
	    cmocka_unit_test(test_keepalive_then_hijack),
	    cmocka_unit_test(test_bad_requests_do_not_kill),
	    cmocka_unit_test(test_upload),
	    cmocka_unit_test(test_cannot_connect),
	    cmocka_unit_test(test_second_server_refused),
	    cmocka_unit_test(test_server_free_with_live_calls),
	    cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
