/* GET /containers/{id}/logs: the json-file log (rotated files included) a slice per loop
 * turn, then, with follow, live output until the container stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"
#include "log_reader.h"

/* Above this much queued for the client, the next slice waits: memory stays bounded and a slow
 * reader does not make the agent buffer the whole log. */
#define LOGS_PENDING_HIGH (1 << 20)

int api_logs_read(struct container *c, struct evbuffer *out, bool want_stdout, bool want_stderr,
		  long tail, int64_t since_ns, int64_t until_ns, bool timestamps)
{
	const char *path = json_string_value(json_object_get(c->config, "LogPath"));
	struct log_reader_opts o = {
	    .want_stdout = want_stdout,
	    .want_stderr = want_stderr,
	    .timestamps = timestamps,
	    .tty = container_tty(c),
	    .tail = tail,
	    .since_ns = since_ns,
	    .until_ns = until_ns,
	};
	struct log_reader *r = log_reader_open(path, &o);
	while (log_reader_step(r, out) > 0)
		;
	log_reader_free(r);
	return 0;
}

/* One GET /logs: the files a slice per loop turn, then (follow) live output until the
 * container stops. Live output that arrives while the files are still being read waits in
 * live, so it goes out after them and in order. */
struct log_stream {
	struct container_watch w;
	struct container *c; /* set while watching */
	struct berth_http_call *call;
	struct log_reader *reader; /* NULL once the files were read */
	struct event *next_ev;	   /* runs the next slice */
	struct evbuffer *live;
	bool ended; /* the container stopped or was removed while the files were read */
	bool tty, want_stdout, want_stderr, timestamps;
	int64_t until_ns;
};

static void stream_free(struct log_stream *s)
{
	if (s->c)
		container_unwatch(s->c, &s->w);
	log_reader_free(s->reader);
	if (s->next_ev)
		event_free(s->next_ev);
	if (s->live)
		evbuffer_free(s->live);
	free(s);
}

static void send_buffer(struct berth_http_call *call, struct evbuffer *buf)
{
	size_t n;
	while ((n = evbuffer_get_length(buf)) > 0) {
		size_t chunk = n > 65536 ? 65536 : n;
		berth_http_stream_send(call, evbuffer_pullup(buf, (ssize_t)chunk), chunk);
		evbuffer_drain(buf, chunk);
	}
}

static void stream_end(struct log_stream *s)
{
	berth_http_stream_end(s->call);
	stream_free(s);
}

static void follow_output(struct container_watch *w, int stream, const char *data, size_t len)
{
	struct log_stream *s = (struct log_stream *)w;
	if ((stream == 1 && !s->want_stdout) || (stream == 2 && !s->want_stderr))
		return;
	int64_t now = berth_now_ns();
	if (s->until_ns && now > s->until_ns)
		return;
	if (s->reader) {
		log_frame_add(s->live, s->tty, stream, now, data, len, s->timestamps);
		return;
	}
	struct evbuffer *buf = evbuffer_new();
	if (!buf)
		abort();
	log_frame_add(buf, s->tty, stream, now, data, len, s->timestamps);
	send_buffer(s->call, buf);
	evbuffer_free(buf);
}

static void follow_exit(struct container_watch *w, struct container *c)
{
	struct log_stream *s = (struct log_stream *)w;
	container_unwatch(c, w);
	s->c = NULL;
	if (s->reader)
		s->ended = true;
	else
		stream_end(s);
}

static void follow_removed(struct container_watch *w, struct container *c)
{
	struct log_stream *s = (struct log_stream *)w;
	s->c = NULL; /* its watch list is gone with it */
	if (s->reader)
		s->ended = true;
	else
		stream_end(s);
}

static void stream_closed(struct berth_http_call *call, void *arg)
{
	stream_free(arg); /* the library frees the call */
}

static void stream_next(evutil_socket_t fd, short what, void *arg)
{
	struct log_stream *s = arg;
	if (berth_http_stream_pending(s->call) > LOGS_PENDING_HIGH) {
		static const struct timeval wait = {0, 5000};
		evtimer_add(s->next_ev, &wait);
		return;
	}
	struct evbuffer *buf = evbuffer_new();
	if (!buf)
		abort();
	int more = log_reader_step(s->reader, buf);
	send_buffer(s->call, buf);
	evbuffer_free(buf);
	if (more) {
		/* A zero timeout: other connections' events run before the next slice. */
		static const struct timeval now = {0, 0};
		evtimer_add(s->next_ev, &now);
		return;
	}
	log_reader_free(s->reader);
	s->reader = NULL;
	send_buffer(s->call, s->live);
	if (!s->c || s->ended)
		stream_end(s);
}

static int64_t parse_time(const char *s)
{
	if (!s || !*s || strcmp(s, "0") == 0)
		return 0;
	char *end;
	double v = strtod(s, &end);
	if (*end == '\0')
		return (int64_t)(v * 1e9);
	return berth_parse_rfc3339(s);
}

void api_container_logs(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	bool want_stdout = berth_http_query_bool(call, "stdout", false);
	bool want_stderr = berth_http_query_bool(call, "stderr", false);
	if (!want_stdout && !want_stderr) {
		berth_http_reply_errorf(call, 400,
					"Bad parameters: you must choose at least one stream");
		return;
	}
	const char *type = json_string_value(json_object_get(
	    json_object_get(json_object_get(c->config, "HostConfig"), "LogConfig"), "Type"));
	if (type && strcmp(type, "none") == 0) {
		berth_http_reply_errorf(call, 501,
					"configured logging driver does not support reading");
		return;
	}
	bool follow = berth_http_query_bool(call, "follow", false);
	bool timestamps = berth_http_query_bool(call, "timestamps", false);
	const char *tail_s = berth_http_query(call, "tail");
	long tail = -1;
	if (tail_s && *tail_s && strcmp(tail_s, "all") != 0) {
		char *end;
		tail = strtol(tail_s, &end, 10);
		if (*end || tail < 0)
			tail = -1;
	}
	int64_t since = parse_time(berth_http_query(call, "since"));
	int64_t until = parse_time(berth_http_query(call, "until"));

	struct log_stream *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->call = call;
	s->tty = container_tty(c);
	s->want_stdout = want_stdout;
	s->want_stderr = want_stderr;
	s->timestamps = timestamps;
	s->until_ns = until;
	s->live = evbuffer_new();
	s->next_ev = evtimer_new(((struct agent *)call->ctx)->base, stream_next, s);
	if (!s->live || !s->next_ev)
		abort();
	struct log_reader_opts o = {
	    .want_stdout = want_stdout,
	    .want_stderr = want_stderr,
	    .timestamps = timestamps,
	    .tty = s->tty,
	    .tail = tail,
	    .since_ns = since,
	    .until_ns = until,
	};
	s->reader = log_reader_open(json_string_value(json_object_get(c->config, "LogPath")), &o);
	/* Watch from the moment the files were opened: what is written after comes live. */
	if (follow && (c->rt || c->starting) && (until == 0 || until > berth_now_ns())) {
		s->c = c;
		s->w.on_output = follow_output;
		s->w.on_exit = follow_exit;
		s->w.on_removed = follow_removed;
		container_watch(c, &s->w);
	}
	berth_http_stream_on_close(call, stream_closed, s);
	berth_http_stream_start(call, 200,
				s->tty ? "application/vnd.docker.raw-stream"
				       : "application/vnd.docker.multiplexed-stream");
	static const struct timeval now = {0, 0};
	evtimer_add(s->next_ev, &now);
}
