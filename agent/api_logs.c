/* GET /containers/{id}/logs: the json-file log (rotated files included), then, with follow,
 * live output until the container stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event2/buffer.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"

#define LOG_MAX_ROTATED 100

struct log_line {
	int stream;
	int64_t ts;
	char *text;
	size_t len;
};

struct log_lines {
	struct log_line *v;
	size_t n, cap;
};

static void lines_free(struct log_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
}

static void parse_file(const char *path, struct log_lines *out, bool want_stdout, bool want_stderr,
		       int64_t since, int64_t until)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (berth_read_file(path, &data, &len, NULL) < 0)
		return;
	char *p = data, *end = data + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *j = json_loadb(p, n, 0, NULL);
		p += n + 1;
		if (!j)
			continue;
		const char *stream = json_string_value(json_object_get(j, "stream"));
		int s = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;
		int64_t ts = berth_parse_rfc3339(json_string_value(json_object_get(j, "time")));
		json_t *log = json_object_get(j, "log");
		if (((s == 1 && want_stdout) || (s == 2 && want_stderr)) && json_is_string(log) &&
		    (since == 0 || ts >= since) && (until == 0 || ts <= until)) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 64;
				out->v = realloc(out->v, out->cap * sizeof(*out->v));
				if (!out->v)
					abort();
			}
			size_t l = json_string_length(log);
			char *text = malloc(l + 1);
			if (!text)
				abort();
			memcpy(text, json_string_value(log), l + 1);
			out->v[out->n++] = (struct log_line){s, ts, text, l};
		}
		json_decref(j);
	}
}

static void add_timestamped(struct evbuffer *out, bool tty, int stream, int64_t ts,
			    const char *text, size_t len, bool timestamps)
{
	if (!timestamps) {
		api_frame_add(out, tty, stream, text, len);
		return;
	}
	char stamp[48];
	berth_format_rfc3339(ts, stamp, sizeof(stamp));
	size_t sl = strlen(stamp);
	_cleanup_free_ char *buf = malloc(sl + 1 + len);
	if (!buf)
		abort();
	memcpy(buf, stamp, sl);
	buf[sl] = ' ';
	memcpy(buf + sl + 1, text, len);
	api_frame_add(out, tty, stream, buf, sl + 1 + len);
}

int api_logs_read(struct container *c, struct evbuffer *out, bool want_stdout, bool want_stderr,
		  long tail, int64_t since_ns, int64_t until_ns, bool timestamps)
{
	const char *path = json_string_value(json_object_get(c->config, "LogPath"));
	if (!path || !*path)
		return 0;
	struct log_lines lines = {0};
	char rotated[4200];
	int last = 0;
	for (int i = 1; i <= LOG_MAX_ROTATED; i++) {
		struct stat st;
		snprintf(rotated, sizeof(rotated), "%s.%d", path, i);
		if (stat(rotated, &st) < 0)
			break;
		last = i;
	}
	for (int i = last; i >= 1; i--) {
		snprintf(rotated, sizeof(rotated), "%s.%d", path, i);
		parse_file(rotated, &lines, want_stdout, want_stderr, since_ns, until_ns);
	}
	parse_file(path, &lines, want_stdout, want_stderr, since_ns, until_ns);
	size_t start = tail >= 0 && (size_t)tail < lines.n ? lines.n - (size_t)tail : 0;
	bool tty = container_tty(c);
	for (size_t i = start; i < lines.n; i++)
		add_timestamped(out, tty, lines.v[i].stream, lines.v[i].ts, lines.v[i].text,
				lines.v[i].len, timestamps);
	lines_free(&lines);
	return 0;
}

struct log_follow {
	struct container_watch w;
	struct container *c;
	struct berth_http_call *call;
	bool tty, want_stdout, want_stderr, timestamps;
	int64_t until_ns;
};

static void follow_output(struct container_watch *w, int stream, const char *data, size_t len)
{
	struct log_follow *f = (struct log_follow *)w;
	if ((stream == 1 && !f->want_stdout) || (stream == 2 && !f->want_stderr))
		return;
	int64_t now = berth_now_ns();
	if (f->until_ns && now > f->until_ns)
		return;
	struct evbuffer *buf = evbuffer_new();
	add_timestamped(buf, f->tty, stream, now, data, len, f->timestamps);
	size_t n = evbuffer_get_length(buf);
	berth_http_stream_send(f->call, evbuffer_pullup(buf, (ssize_t)n), n);
	evbuffer_free(buf);
}

static void follow_exit(struct container_watch *w, struct container *c)
{
	struct log_follow *f = (struct log_follow *)w;
	container_unwatch(c, w);
	berth_http_stream_end(f->call);
	free(f);
}

static void follow_removed(struct container_watch *w, struct container *c)
{
	struct log_follow *f = (struct log_follow *)w;
	berth_http_stream_end(f->call);
	free(f);
}

static void follow_closed(struct berth_http_call *call, void *arg)
{
	struct log_follow *f = arg;
	container_unwatch(f->c, &f->w);
	free(f);
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

	struct evbuffer *buf = evbuffer_new();
	api_logs_read(c, buf, want_stdout, want_stderr, tail, since, until, timestamps);
	bool live = follow && (c->rt || c->starting) && (until == 0 || until > berth_now_ns());
	struct log_follow *f = NULL;
	if (live) {
		f = calloc(1, sizeof(*f));
		if (!f)
			abort();
		f->c = c;
		f->call = call;
		f->tty = container_tty(c);
		f->want_stdout = want_stdout;
		f->want_stderr = want_stderr;
		f->timestamps = timestamps;
		f->until_ns = until;
		f->w.on_output = follow_output;
		f->w.on_exit = follow_exit;
		f->w.on_removed = follow_removed;
		berth_http_stream_on_close(call, follow_closed, f);
	}
	berth_http_stream_start(call, 200,
				container_tty(c) ? "application/vnd.docker.raw-stream"
						 : "application/vnd.docker.multiplexed-stream");
	size_t n;
	while ((n = evbuffer_get_length(buf)) > 0) {
		size_t chunk = n > 65536 ? 65536 : n;
		berth_http_stream_send(call, evbuffer_pullup(buf, (ssize_t)chunk), chunk);
		evbuffer_drain(buf, chunk);
	}
	evbuffer_free(buf);
	if (f)
		container_watch(c, &f->w);
	else
		berth_http_stream_end(call);
}
