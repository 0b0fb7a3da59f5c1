/* Asynchronous HTTP/JSON requests to a daemon's unix socket from an event loop: one request at
 * a time per client, in order, each on its own connection with "Connection: close".
 *
 * Not evhttp's client: in libevent 2.1 an evhttp_connection given a connected bufferevent
 * closes its fd on the first request and dials host:port over TCP (unix sockets arrive with
 * evhttp_connection_base_bufferevent_unix_new in 2.2). The reply is read to EOF and parsed here:
 * a status line, headers, and a body by Content-Length, chunked, or to the close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "berth/cleanup.h"
#include "berth/http_async.h"

#define ASYNC_MAX_REPLY (64 << 20)

struct async_req {
	struct async_req *next;
	char *head; /* request line and headers */
	char *body;
	size_t body_len;
	berth_http_async_cb cb;
	void *arg;
};

struct berth_http_async {
	struct event_base *base;
	char *sock_path;
	struct async_req *head, **tail;
	struct async_req *running;
	struct bufferevent *bev;
	struct event *kick;
	int timeout_s;
	size_t pending;
	bool in_callback, dead;
};

static void req_free(struct async_req *r)
{
	free(r->head);
	free(r->body);
	free(r);
}

static void client_free_now(struct berth_http_async *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->running)
		req_free(c->running);
	while (c->head) {
		struct async_req *r = c->head;
		c->head = r->next;
		req_free(r);
	}
	event_free(c->kick);
	free(c->sock_path);
	free(c);
}

/* Call the request's callback and go on with the next one; c may be freed inside cb. */
static void finish(struct berth_http_async *c, int status, json_t *reply, struct berth_error *err)
{
	struct async_req *r = c->running;
	c->running = NULL;
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->pending--;
	c->in_callback = true;
	r->cb(r->arg, status, reply, err && berth_err_is_set(err) ? err : NULL);
	c->in_callback = false;
	req_free(r);
	if (c->dead) {
		client_free_now(c);
		return;
	}
	if (c->head)
		event_active(c->kick, EV_WRITE, 0);
}

/* Decode a chunked body in place; -1 if malformed. */
static int dechunk(char *body, size_t len, size_t *out_len)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *end;
		if (in >= len)
			return -1;
		unsigned long n = strtoul(body + in, &end, 16);
		char *crlf = memmem(body + in, len - in, "\r\n", 2);
		if (!crlf || end > crlf)
			return -1;
		in = (size_t)(crlf - body) + 2;
		if (n == 0)
			break;
		if (n > len - in)
			return -1;
		memmove(body + out, body + in, n);
		out += n;
		in += n + 2;
	}
	*out_len = out;
	return 0;
}

/* Parse the whole reply (read to EOF) and finish. */
static void parse_reply(struct berth_http_async *c, struct evbuffer *in)
{
	struct berth_error err = {0};
	size_t len = evbuffer_get_length(in);
	char *raw = (char *)evbuffer_pullup(in, -1);
	int status = 0;
	char *hdr_end = raw ? memmem(raw, len, "\r\n\r\n", 4) : NULL;
	if (!hdr_end || sscanf(raw, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		berth_err(&err, 503, "%s: malformed or missing HTTP reply", c->sock_path);
		finish(c, 0, NULL, &err);
		return;
	}
	*hdr_end = '\0';
	char *body = hdr_end + 4;
	size_t body_len = len - (size_t)(body - raw);
	bool chunked = false;
	long content_length = -1;
	for (char *line = strstr(raw, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			content_length = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
			 strstr(line, "chunked"))
			chunked = true;
	}
	if (chunked && dechunk(body, body_len, &body_len) < 0) {
		berth_err(&err, 503, "%s: malformed chunked reply", c->sock_path);
		finish(c, 0, NULL, &err);
		return;
	}
	if (!chunked && content_length >= 0 && (size_t)content_length < body_len)
		body_len = (size_t)content_length;
	_cleanup_json_ json_t *reply =
	    body_len ? json_loadb(body, body_len, JSON_DECODE_ANY, NULL) : NULL;
	if (status < 200 || status > 299) {
		const char *msg = json_string_value(json_object_get(reply, "message"));
		if (msg)
			berth_err(&err, status, "%s", msg);
		else
			berth_err(&err, status, "%.*s", (int)(body_len > 400 ? 400 : body_len),
				  body);
	}
	finish(c, status, reply, &err);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct berth_http_async *c = arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > ASYNC_MAX_REPLY) {
		struct berth_error err = {0};
		berth_err(&err, 503, "%s: reply too large", c->sock_path);
		finish(c, 0, NULL, &err);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct berth_http_async *c = arg;
	struct berth_error err = {0};
	if (what & BEV_EVENT_EOF) {
		parse_reply(c, bufferevent_get_input(bev));
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		berth_err(&err, 503, "%s: no reply within %d s", c->sock_path, c->timeout_s);
	else
		berth_err_errno(&err, 503, EVUTIL_SOCKET_ERROR(), "%s", c->sock_path);
	finish(c, 0, NULL, &err);
}

/* Start the next queued request. */
static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct berth_http_async *c = arg;
	while (!c->running && c->head) {
		struct async_req *r = c->head;
		c->head = r->next;
		if (!c->head)
			c->tail = &c->head;
		c->running = r;
		struct berth_error err = {0};
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->sock_path);
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* A unix connect completes or fails at once (EAGAIN: the backlog is full). */
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			berth_err_errno(&err, 503, errno, "connect %s", c->sock_path);
			if (s >= 0)
				close(s);
			finish(c, 0, NULL, &err); /* may free c; kicks again for the rest */
			return;
		}
		c->bev = bufferevent_socket_new(c->base, s, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			abort();
		struct timeval tv = {c->timeout_s, 0};
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
		bufferevent_write(c->bev, r->head, strlen(r->head));
		if (r->body_len)
			bufferevent_write(c->bev, r->body, r->body_len);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	}
}

struct berth_http_async *berth_http_async_new(struct event_base *base, const char *sock_path)
{
	struct berth_http_async *c = calloc(1, sizeof(*c));
	if (!c || !(c->sock_path = strdup(sock_path)))
		abort();
	c->base = base;
	c->tail = &c->head;
	c->timeout_s = 60;
	c->kick = event_new(base, -1, 0, kick_cb, c);
	if (!c->kick)
		abort();
	return c;
}

void berth_http_async_free(struct berth_http_async *c)
{
	if (!c)
		return;
	if (c->in_callback) {
		c->dead = true;
		return;
	}
	client_free_now(c);
}

void berth_http_async_set_timeout(struct berth_http_async *c, int seconds)
{
	c->timeout_s = seconds > 0 ? seconds : 60;
}

size_t berth_http_async_pending(const struct berth_http_async *c)
{
	return c->pending;
}

void berth_http_async_json(struct berth_http_async *c, const char *method, const char *path,
			   const json_t *body, berth_http_async_cb cb, void *arg)
{
	struct async_req *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->cb = cb;
	r->arg = arg;
	if (body) {
		r->body = json_dumps(body, JSON_COMPACT);
		if (!r->body)
			abort();
		r->body_len = strlen(r->body);
	}
	if (asprintf(&r->head,
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		     "User-Agent: berth\r\n%sContent-Length: %zu\r\n\r\n",
		     method, path, body ? "Content-Type: application/json\r\n" : "",
		     r->body_len) < 0)
		abort();
	*c->tail = r;
	c->tail = &r->next;
	c->pending++;
	if (!c->running)
		event_active(c->kick, EV_WRITE, 0);
}
