/* POST /containers/{id}/attach: the hijacked raw stream of a container's stdio. Output goes
 * out framed (no TTY) or raw; client bytes go to the container's stdin. The stream stays
 * open after the client half-closes and ends, drained, when the container exits. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "berth/log.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"
#include "runtime.h"

struct attach {
	struct container_watch w;
	struct container *c; /* NULL once the container has exited or gone */
	struct bufferevent *bev;
	bool tty, want_stdin, want_stdout, want_stderr;
	bool stdin_eof;
};

void api_frame_add(struct evbuffer *out, bool tty, int stream, const void *data, size_t len)
{
	if (!tty) {
		unsigned char hdr[8] = {(unsigned char)stream, 0, 0, 0};
		uint32_t n = htonl((uint32_t)len);
		memcpy(hdr + 4, &n, 4);
		evbuffer_add(out, hdr, sizeof(hdr));
	}
	evbuffer_add(out, data, len);
}

static void attach_free(struct attach *a)
{
	if (a->c)
		container_unwatch(a->c, &a->w);
	if (a->bev)
		bufferevent_free(a->bev);
	free(a);
}

/* Pass what the client sent to the container's stdin, once it has a process. */
static void attach_pump_stdin(struct attach *a)
{
	struct evbuffer *in = bufferevent_get_input(a->bev);
	if (!a->want_stdin) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!a->c || !a->c->rt)
		return; /* kept until on_start */
	size_t len = evbuffer_get_length(in);
	if (len > 0) {
		unsigned char *data = evbuffer_pullup(in, (ssize_t)len);
		runtime_write_stdin(a->c->rt, data, len);
		evbuffer_drain(in, len);
	}
	if (a->stdin_eof &&
	    json_is_true(json_object_get(json_object_get(a->c->config, "Config"), "StdinOnce")))
		runtime_close_stdin(a->c->rt);
}

static void attach_read(struct bufferevent *bev, void *arg)
{
	attach_pump_stdin(arg);
}

static void attach_drained(struct bufferevent *bev, void *arg)
{
	struct attach *a = arg;
	if (!a->c)
		attach_free(a);
}

static void attach_event(struct bufferevent *bev, short what, void *arg)
{
	struct attach *a = arg;
	if (what & BEV_EVENT_EOF && !(what & BEV_EVENT_ERROR) &&
	    (a->c || evbuffer_get_length(bufferevent_get_output(bev)) > 0)) {
		/* The client half-closed: keep sending until the output ends (the container may
		 * have exited already with its last output still queued: attach_drained ends). */
		if (a->c) {
			a->stdin_eof = true;
			attach_pump_stdin(a);
		}
		bufferevent_disable(bev, EV_READ);
		return;
	}
	attach_free(a);
}

static void attach_on_start(struct container_watch *w, struct container *c)
{
	attach_pump_stdin((struct attach *)w);
}

static void attach_on_output(struct container_watch *w, int stream, const char *data, size_t len)
{
	struct attach *a = (struct attach *)w;
	if ((stream == 1 && !a->want_stdout) || (stream == 2 && !a->want_stderr))
		return;
	api_frame_add(bufferevent_get_output(a->bev), a->tty, stream, data, len);
}

/* The container exited: finish once everything queued has been written. */
static void attach_on_exit(struct container_watch *w, struct container *c)
{
	struct attach *a = (struct attach *)w;
	container_unwatch(c, w);
	a->c = NULL;
	if (evbuffer_get_length(bufferevent_get_output(a->bev)) == 0)
		attach_free(a);
	/* else attach_drained frees it */
}

static void attach_on_removed(struct container_watch *w, struct container *c)
{
	struct attach *a = (struct attach *)w;
	a->c = NULL;
	if (evbuffer_get_length(bufferevent_get_output(a->bev)) == 0)
		attach_free(a);
}

void api_container_attach(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	bool stream = berth_http_query_bool(call, "stream", false);
	bool logs = berth_http_query_bool(call, "logs", false);
	if (!stream && !logs) {
		berth_http_reply_errorf(call, 400, "either stream or logs must be true");
		return;
	}
	if (c->status == CONTAINER_REMOVING || c->status == CONTAINER_DEAD) {
		berth_http_reply_errorf(call, 409, "container %s is being removed", c->id);
		return;
	}
	struct attach *a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	a->tty = container_tty(c);
	a->want_stdin = berth_http_query_bool(call, "stdin", false);
	a->want_stdout = berth_http_query_bool(call, "stdout", false);
	a->want_stderr = berth_http_query_bool(call, "stderr", false);
	a->bev = berth_http_hijack(call, "application/vnd.docker.raw-stream");
	if (!a->bev) {
		free(a);
		return;
	}
	if (logs)
		api_logs_read(c, bufferevent_get_output(a->bev), a->want_stdout, a->want_stderr, -1,
			      0, 0, false);
	if (!stream) {
		bufferevent_setcb(a->bev, NULL, attach_drained, attach_event, a);
		if (evbuffer_get_length(bufferevent_get_output(a->bev)) == 0)
			attach_free(a);
		return;
	}
	a->c = c;
	a->w.on_start = attach_on_start;
	a->w.on_output = attach_on_output;
	a->w.on_exit = attach_on_exit;
	a->w.on_removed = attach_on_removed;
	container_watch(c, &a->w);
	bufferevent_setcb(a->bev, attach_read, attach_drained, attach_event, a);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(a->bev)) > 0)
		attach_pump_stdin(a);
}
