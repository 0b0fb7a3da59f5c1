/* libFuzzer harness: raw bytes sent to a live berth HTTP server on a unix socket (routes
 * with captures, JSON bodies, a stream and a hijack). The server must answer or close, and
 * never crash or leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "berth/http_server.h"

static struct event_base *base;
static struct berth_http_server *srv;
static struct sockaddr_un addr = {.sun_family = AF_UNIX};

static void h_json(struct berth_http_call *call)
{
	struct berth_error err = {0};
	json_t *j = berth_http_body_json(call, &err);
	if (!j) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_object_set_new(j, "p0", json_string(call->params[0] ? call->params[0] : ""));
	if (berth_http_query_bool(call, "stream", false)) {
		berth_http_stream_start(call, 200, "application/json");
		berth_http_stream_send(call, "{}\n", 3);
		berth_http_stream_end(call);
		json_decref(j);
		return;
	}
	berth_http_reply_json(call, 200, j);
}

static void h_hijack(struct berth_http_call *call)
{
	struct bufferevent *bev = berth_http_hijack(call, NULL);
	if (bev)
		bufferevent_free(bev);
}

static const struct berth_http_route routes[] = {
    {"GET", "/a/{x}/json", h_json},	 {"POST", "/a/{x*}/json", h_json},
    {"DELETE", "/b/{name*}", h_json},	 {"PUT", "/c/{x}/{y}", h_json},
    {"POST", "/a/{x}/attach", h_hijack},
};

static void setup(void)
{
	char dir[] = "/tmp/berth-fuzz-http-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s.sock", dir);
	base = event_base_new();
	struct berth_error err = {0};
	srv = berth_http_server_new(base, addr.sun_path, 0600, routes,
				    sizeof(routes) / sizeof(routes[0]), NULL, &err);
	if (!srv)
		abort();
	berth_http_server_add_header(srv, "Api-Version", "1.41");
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
