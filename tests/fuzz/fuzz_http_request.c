/* libFuzzer harness: raw bytes sent to a live berth HTTP server on a unix socket, routed by the
 * agent's real route table (every method and pattern of api_*_routes, so /v1.41 stripping,
 * captures and 404/405 answers are the daemon's), each route answered by a stand-in handler
 * that reads what the real ones read (captures, query strings, headers, the JSON body) and
 * replies the ways they do (JSON, error, empty, a chunked stream, a hijack). The server must
 * answer or close, and never crash or leak.
 *
 * Note: the request line, headers and chunked bodies are parsed by libevent's evhttp, a system
 * library that is not instrumented, so libFuzzer's cov/ft count berth's code only (dispatch,
 * routes, calls, replies); the seed corpus of real docker CLI requests (corpus/fuzz_http_request)
 * and the dictionary are what get the fuzzer past evhttp's parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "berth/http_server.h"
#include "agent.h"
#include "netd_client.h"

static struct event_base *base;
static struct berth_http_server *srv;
static struct sockaddr_un addr = {.sun_family = AF_UNIX};

/* What the agent's handlers read from a call, so the fuzzer sees each path. */
static void read_call(struct berth_http_call *call)
{
	static const char *const keys[] = {"name", "all",    "filters",	  "stream",    "follow",
					   "tail", "stdout", "stderr",	  "force",     "v",
					   "t",	   "signal", "condition", "fromImage", "tag"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)berth_http_query(call, keys[i]);
	(void)berth_http_query_bool(call, "stream", false);
	(void)berth_http_header(call, "Content-Type");
	(void)berth_http_header(call, "X-Registry-Auth");
	(void)berth_http_header(call, "Upgrade");
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &call->query, next)
	{
		if (!kv->key || !kv->value)
			abort();
	}
	for (int i = 0; i < BERTH_HTTP_MAX_PARAMS && call->params[i]; i++)
		if (!call->params[i][0])
			abort(); /* a capture is never empty */
}

static void h_any(struct berth_http_call *call)
{
	read_call(call);
	const char *uri = evhttp_request_get_uri(call->req);
	if (strstr(uri, "/attach") || (strstr(uri, "/exec/") && strstr(uri, "/start"))) {
		struct bufferevent *bev =
		    berth_http_hijack(call, "application/vnd.docker.raw-stream");
		if (bev) {
			bufferevent_write(bev, "\x01\0\0\0\0\0\0\x03hi\n", 11);
			bufferevent_free(bev);
		}
		return;
	}
	struct berth_error err = {0};
	json_t *j = berth_http_body_json(call, &err);
	if (!j) {
		berth_http_reply_error(call, &err);
		return;
	}
	if (berth_http_query_bool(call, "follow", false) || strstr(uri, "/wait") ||
	    strstr(uri, "/events") || strstr(uri, "/logs") || strstr(uri, "/images/create")) {
		berth_http_stream_start(call, 200, "application/json");
		char *s = json_dumps(j, JSON_COMPACT);
		if (s)
			berth_http_stream_send(call, s, strlen(s));
		free(s);
		berth_http_stream_end(call);
		json_decref(j);
		return;
	}
	if (json_object_size(j) == 0 && evhttp_request_get_command(call->req) != EVHTTP_REQ_GET) {
		json_decref(j);
		berth_http_reply_empty(call, 204);
		return;
	}
	json_object_set_new(j, "p0", json_string(call->params[0] ? call->params[0] : ""));
	berth_http_reply_json(call, 201, j);
}

static struct berth_http_route *routes;
static size_t n_routes;

static void add_routes(const struct berth_http_route *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		routes[n_routes] = v[i];
		routes[n_routes++].handler = h_any;
	}
}

static void cleanup(void)
{
	unlink(addr.sun_path);
	*strrchr(addr.sun_path, '/') = '\0';
	rmdir(addr.sun_path);
}

static void setup(void)
{
	char dir[] = "/tmp/berth-fuzz-http-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s.sock", dir);
	size_t total = api_system_routes_len + api_containers_routes_len + api_exec_routes_len +
		       api_images_routes_len + api_networks_routes_len + api_volumes_routes_len;
	routes = calloc(total, sizeof(*routes));
	if (!routes)
		abort();
	add_routes(api_system_routes, api_system_routes_len);
	add_routes(api_containers_routes, api_containers_routes_len);
	add_routes(api_exec_routes, api_exec_routes_len);
	add_routes(api_images_routes, api_images_routes_len);
	add_routes(api_networks_routes, api_networks_routes_len);
	add_routes(api_volumes_routes, api_volumes_routes_len);
	base = event_base_new();
	struct berth_error err = {0};
	srv = berth_http_server_new(base, addr.sun_path, 0600, routes, n_routes, NULL, &err);
	if (!srv)
		abort();
	berth_http_server_set_max_body(srv, 64 * 1024);
	berth_http_server_add_header(srv, "Api-Version", "1.41");
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		setup();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	size_t off = 0;
	char sink[65536];
	/* Feed the input, turn the loop, drain replies; then half-close and let it settle. */
	for (int turn = 0; turn < 200; turn++) {
		if (off < size) {
			ssize_t n = write(fd, data + off, size - off);
			if (n > 0)
				off += n;
		} else if (off == size) {
			shutdown(fd, SHUT_WR);
			off++;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		ssize_t r;
		while ((r = read(fd, sink, sizeof(sink))) > 0)
			;
		if (r == 0 && off > size)
			break;
	}
	close(fd);
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
