/* The daemons' HTTP server: evhttp on a unix socket, a route table, JSON and Docker-style
 * error replies, chunked streams with close notification, and connection hijacking. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "berth/cleanup.h"
#include "berth/http_server.h"
#include "berth/log.h"

struct http_header {
	char *name;
	char *value;
};

/* A hijacked connection whose evhttp object is freed on the next loop turn. */
struct http_zombie {
	struct http_zombie *next;
	struct berth_http_server *srv;
	struct evhttp_connection *evcon;
	struct event *ev;
};

struct berth_http_server {
	struct event_base *base;
	struct evhttp *http;
	const struct berth_http_route *routes;
	size_t n_routes;
	void *ctx;
	char *sock_path;
	dev_t sock_dev;
	ino_t sock_ino;
	struct http_header *headers;
	size_t n_headers;
	struct http_zombie *zombies;
};

/* The library's side of a call; the public struct comes first so a pointer converts back. */
struct http_call {
	struct berth_http_call pub;
	struct berth_http_server *srv;
	struct evhttp_connection *evcon; /* NULL once the client is gone */
	char *param_buf[BERTH_HTTP_MAX_PARAMS];
	bool dispatching; /* inside the handler: the dispatcher frees a finished call */
	bool finished;
	bool gone;
	bool streaming;
	bool in_close_cb;
	bool watching;		/* our closecb is set on evcon */
	struct event *close_ev; /* EV_CLOSED watcher during a stream */
	void (*on_close)(struct berth_http_call *, void *);
	void *on_close_arg;
};

static struct http_call *call_of(struct berth_http_call *pub)
{
	return (struct http_call *)pub;
}

static void call_free(struct http_call *call)
{
	evhttp_clear_headers(&call->pub.query);
	for (int i = 0; i < BERTH_HTTP_MAX_PARAMS; i++)
		free(call->param_buf[i]);
	if (call->close_ev)
		event_free(call->close_ev);
	free(call);
}

/* Stop watching the connection: it is about to be finished or handed over. */
static void call_unwatch(struct http_call *call)
{
	if (call->close_ev) {
		event_free(call->close_ev);
		call->close_ev = NULL;
	}
	if (call->watching && call->evcon)
		evhttp_connection_set_closecb(call->evcon, NULL, NULL);
	call->watching = false;
}

/* The call is finished: free it now, or let the dispatcher do it when the handler returns. */
static void call_done(struct http_call *call)
{
	call->finished = true;
	call_unwatch(call);
	if (!call->dispatching && !call->in_close_cb)
		call_free(call);
}

/* evhttp is tearing the connection down (client gone, write error, server freed). */
static void call_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_call *call = arg;
	struct evhttp_request *req = call->pub.req;

	call->gone = true;
	call->watching = false;
	call->evcon = NULL;
	if (call->close_ev) {
		event_free(call->close_ev);
		call->close_ev = NULL;
	}
	/* A request evhttp detached (read EOF or timeout) is no longer freed by evhttp. */
	if (req && evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
	call->pub.req = NULL;
	if (call->on_close) {
		call->in_close_cb = true;
		call->on_close(&call->pub, call->on_close_arg);
		call->in_close_cb = false;
		call->finished = true;
		if (!call->dispatching)
			call_free(call);
	}
}

/* The peer closed its end while we stream: drop the connection now instead of at the next
 * write, so handlers waiting for an event (wait, logs -f) free their state promptly. */
static void call_peer_closed(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *call = arg;
	if (call->evcon)
		evhttp_connection_free(call->evcon); /* runs call_conn_closed */
}

static void call_watch(struct http_call *call)
{
	if (call->gone || !call->evcon)
		return;
	if (!call->watching) {
		evhttp_connection_set_closecb(call->evcon, call_conn_closed, call);
		call->watching = true;
	}
	if (call->streaming && !call->close_ev) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(call->evcon);
		evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
		if (fd >= 0) {
			call->close_ev = event_new(call->srv->base, fd, EV_CLOSED | EV_PERSIST,
						   call_peer_closed, call);
			if (call->close_ev)
				event_add(call->close_ev, NULL);
		}
	}
}

/* ---- routing ---- */

/* Match pattern against path (both from their current segment); record captures. */
static bool route_match(const char *pat, const char *path, const char **cap_start, size_t *cap_len,
			int n_caps)
{
	while (*pat && *path) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			if (!close || n_caps >= BERTH_HTTP_MAX_PARAMS)
				return false;
			bool greedy = close > pat + 1 && close[-1] == '*';
			const char *seg_end = strchrnul(path, '/');
			if (!greedy) {
				if (seg_end == path)
					return false;
				cap_start[n_caps] = path;
				cap_len[n_caps] = seg_end - path;
				pat = close + 1;
				path = seg_end;
				n_caps++;
				continue;
			}
			/* Greedy: the longest capture whose rest still matches. */
			if (*path == '/')
				return false;
			const char *end = path + strlen(path);
			for (const char *e = end; e > path; e--) {
				if (e != end && *e != '/')
					continue;
				cap_start[n_caps] = path;
				cap_len[n_caps] = e - path;
				if (route_match(close + 1, e, cap_start, cap_len, n_caps + 1))
					return true;
			}
			return false;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	/* Allow a trailing slash on the request. */
	if (*pat == '\0' && (path[0] == '\0' || (path[0] == '/' && path[1] == '\0')))
		return true;
	return false;
}

/* "/v1.41/containers/json" → "/containers/json". */
static const char *strip_version(const char *path)
{
	const char *p = path;
	if (p[0] != '/' || p[1] != 'v' || !(p[2] >= '0' && p[2] <= '9'))
		return path;
	p += 2;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != '.' || !(p[1] >= '0' && p[1] <= '9'))
		return path;
	p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '\0')
		return "/";
	return *p == '/' ? p : path;
}

static const char *method_name(enum evhttp_cmd_type type)
{
	switch (type) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "?";
	}
}

/* Find the route for method + path: a HEAD falls back to the GET route of the same path. */
static const struct berth_http_route *route_find(struct berth_http_server *srv, const char *method,
						 const char *path, const char **cap_start,
						 size_t *cap_len, bool *path_known)
{
	const struct berth_http_route *get_route = NULL;
	const char *get_start[BERTH_HTTP_MAX_PARAMS];
	size_t get_len[BERTH_HTTP_MAX_PARAMS];

	*path_known = false;
	for (size_t i = 0; i < srv->n_routes; i++) {
		const struct berth_http_route *r = &srv->routes[i];
		const char *start[BERTH_HTTP_MAX_PARAMS] = {0};
		size_t len[BERTH_HTTP_MAX_PARAMS] = {0};
		if (!route_match(r->pattern, path, start, len, 0))
			continue;
		*path_known = true;
		if (strcmp(r->method, method) == 0) {
			memcpy(cap_start, start, sizeof(start));
			memcpy(cap_len, len, sizeof(len));
			return r;
		}
		if (!get_route && strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0) {
			get_route = r;
			memcpy(get_start, start, sizeof(start));
			memcpy(get_len, len, sizeof(len));
		}
	}
	if (get_route) {
		memcpy(cap_start, get_start, sizeof(get_start));
		memcpy(cap_len, get_len, sizeof(get_len));
	}
	return get_route;
}

/* ---- replies ---- */

static void add_server_headers(struct http_call *call)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->pub.req);
	for (size_t i = 0; i < call->srv->n_headers; i++)
		evhttp_add_header(out, call->srv->headers[i].name, call->srv->headers[i].value);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

/* Send status with body (may be NULL) and finish the call. */
static void reply_raw(struct http_call *call, int status, const char *content_type,
		      const char *body, size_t len)
{
	if (call->finished)
		return;
	if (call->gone || !call->pub.req) {
		call_done(call);
		return;
	}
	call_unwatch(call);
	struct evhttp_request *req = call->pub.req;
	add_server_headers(call);
	struct evbuffer *buf = NULL;
	if (body && status != 204 && status != 304) {
		struct evkeyvalq *out = evhttp_request_get_output_headers(req);
		if (content_type)
			evhttp_add_header(out, "Content-Type", content_type);
		if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
			/* evhttp would send a HEAD reply's body: give only its length. */
			char n[32];
			snprintf(n, sizeof(n), "%zu", len);
			evhttp_add_header(out, "Content-Length", n);
		} else if ((buf = evbuffer_new())) {
			evbuffer_add(buf, body, len);
		}
	}
	evhttp_send_reply(req, status, reason_of(status), buf);
	if (buf)
		evbuffer_free(buf);
	call->pub.req = NULL;
	call_done(call);
}

void berth_http_reply_json(struct berth_http_call *pub, int status, json_t *body)
{
	struct http_call *call = call_of(pub);
	if (!body) {
		reply_raw(call, 500, "application/json",
			  "{\"message\":\"internal error: no reply body\"}\n", 44);
		return;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!text) {
		reply_raw(call, 500, "application/json",
			  "{\"message\":\"internal error: cannot encode the reply\"}\n", 54);
		return;
	}
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		reply_raw(call, 500, NULL, NULL, 0);
		return;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	reply_raw(call, status, "application/json", line, n + 1);
	free(line);
}

void berth_http_reply_empty(struct berth_http_call *pub, int status)
{
	reply_raw(call_of(pub), status, NULL, NULL, 0);
}

void berth_http_reply_text(struct berth_http_call *pub, int status, const char *content_type,
			   const char *text)
{
	reply_raw(call_of(pub), status, content_type ? content_type : "text/plain; charset=utf-8",
		  text ? text : "", text ? strlen(text) : 0);
}

void berth_http_reply_error(struct berth_http_call *pub, const struct berth_error *err)
{
	int status = err && err->status ? err->status : 500;
	const char *msg = err && err->msg[0] ? err->msg : "internal error";
	berth_http_reply_json(pub, status, json_pack("{s:s}", "message", msg));
}

void berth_http_reply_errorf(struct berth_http_call *pub, int status, const char *fmt, ...)
{
	struct berth_error err = {0};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	err.status = status;
	berth_http_reply_error(pub, &err);
}

/* ---- request helpers ---- */

const char *berth_http_query(struct berth_http_call *pub, const char *key)
{
	return evhttp_find_header(&pub->query, key);
}

bool berth_http_query_bool(struct berth_http_call *pub, const char *key, bool dflt)
{
	const char *v = berth_http_query(pub, key);
	if (!v)
		return dflt;
	return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
}

struct evbuffer *berth_http_body(struct berth_http_call *pub)
{
	return pub->req ? evhttp_request_get_input_buffer(pub->req) : NULL;
}

const char *berth_http_header(struct berth_http_call *pub, const char *name)
{
	if (!pub->req)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(pub->req), name);
}

bool berth_http_call_gone(struct berth_http_call *pub)
{
	return call_of(pub)->gone;
}

json_t *berth_http_body_json(struct berth_http_call *pub, struct berth_error *err)
{
	struct evbuffer *buf = berth_http_body(pub);
	size_t len = buf ? evbuffer_get_length(buf) : 0;
	if (len == 0)
		return json_object();
	const char *data = (const char *)evbuffer_pullup(buf, -1);
	json_error_t jerr;
	json_t *j = json_loadb(data, len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		berth_err(err, 400, "invalid JSON in the request body: %s (line %d, column %d)",
			  jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	return j;
}

/* ---- streams ---- */

void berth_http_stream_on_close(struct berth_http_call *pub,
				void (*cb)(struct berth_http_call *, void *), void *arg)
{
	struct http_call *call = call_of(pub);
	call->on_close = cb;
	call->on_close_arg = arg;
}

void berth_http_stream_start(struct berth_http_call *pub, int status, const char *content_type)
{
	struct http_call *call = call_of(pub);
	if (call->finished || call->streaming)
		return;
	call->streaming = true;
	if (call->gone || !pub->req)
		return;
	add_server_headers(call);
	if (content_type)
		evhttp_add_header(evhttp_request_get_output_headers(pub->req), "Content-Type",
				  content_type);
	evhttp_send_reply_start(pub->req, status, reason_of(status));
	call_watch(call);
}

void berth_http_stream_send(struct berth_http_call *pub, const void *data, size_t len)
{
	struct http_call *call = call_of(pub);
	if (call->gone || call->finished || !pub->req || len == 0 ||
	    evhttp_request_get_command(pub->req) == EVHTTP_REQ_HEAD)
		return;
	struct evbuffer *buf = evbuffer_new();
	if (!buf)
		return;
	evbuffer_add(buf, data, len);
	evhttp_send_reply_chunk(pub->req, buf);
	evbuffer_free(buf);
}

size_t berth_http_stream_pending(struct berth_http_call *pub)
{
	struct http_call *call = call_of(pub);
	if (call->gone || !call->evcon)
		return 0;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(call->evcon);
	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void berth_http_stream_end(struct berth_http_call *pub)
{
	struct http_call *call = call_of(pub);
	if (call->finished)
		return;
	if (call->in_close_cb)
		return; /* freed by call_conn_closed after the callback */
	call_unwatch(call);
	if (!call->gone && pub->req) {
		if (!call->streaming) /* never started: an empty 200 */
			berth_http_stream_start(pub, 200, NULL);
		call_unwatch(call);
		evhttp_send_reply_end(pub->req);
	}
	pub->req = NULL;
	call_done(call);
}

/* ---- hijack ---- */

static void zombie_unlink(struct http_zombie *z)
{
	for (struct http_zombie **p = &z->srv->zombies; *p; p = &(*p)->next) {
		if (*p == z) {
			*p = z->next;
			break;
		}
	}
}

/* Free evhttp's connection object without touching the socket we handed out: evhttp's free
 * does shutdown(SHUT_WR) on its fd, which would half-close our dup too, so first point its fd
 * number at a throwaway socket. This runs a loop turn after the hijack so that the old
 * bufferevent's epoll registration was removed while the number still meant the socket. */
static void zombie_reap(struct http_zombie *z)
{
	struct bufferevent *old = evhttp_connection_get_bufferevent(z->evcon);
	evutil_socket_t fd = old ? bufferevent_getfd(old) : -1;
	int dummy = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && dummy >= 0)
		dup2(dummy, fd);
	if (dummy >= 0)
		close(dummy);
	evhttp_connection_free(z->evcon);
	event_free(z->ev);
	free(z);
}

static void zombie_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_zombie *z = arg;
	zombie_unlink(z);
	zombie_reap(z);
}

/* Move all of src to the end of dst. Bufferevents freeze the end of a buffer only they may
 * touch (an input's end, an output's start): thaw it for the move. */
static void move_buffer(struct evbuffer *dst, struct evbuffer *src, int output)
{
	if (evbuffer_get_length(src) == 0)
		return;
	if (output) {
		evbuffer_unfreeze(src, 1);
		evbuffer_add_buffer(dst, src);
		evbuffer_freeze(src, 1);
	} else {
		evbuffer_unfreeze(dst, 0);
		evbuffer_add_buffer(dst, src);
		evbuffer_freeze(dst, 0);
	}
}

struct bufferevent *berth_http_hijack(struct berth_http_call *pub, const char *content_type)
{
	struct http_call *call = call_of(pub);
	if (call->finished)
		return NULL;
	if (call->gone || !pub->req || !call->evcon) {
		call_done(call);
		return NULL;
	}
	struct evhttp_connection *evcon = call->evcon;
	struct bufferevent *old = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = old ? bufferevent_getfd(old) : -1;
	int newfd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	struct http_zombie *z = calloc(1, sizeof(*z));
	struct bufferevent *bev = NULL;
	if (newfd >= 0 && z)
		bev = bufferevent_socket_new(call->srv->base, newfd, BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		z->ev = event_new(call->srv->base, -1, 0, zombie_cb, z);
	if (!z || !z->ev) {
		log_error("http: cannot hijack the connection: %s", strerror(errno));
		if (bev)
			bufferevent_free(bev);
		else if (newfd >= 0)
			close(newfd);
		free(z);
		berth_http_reply_errorf(pub, 500, "cannot hijack the connection");
		return NULL;
	}
	bool upgrade = false;
	const char *up = berth_http_header(pub, "Upgrade");
	if (up && strcasecmp(up, "tcp") == 0)
		upgrade = true;

	call_unwatch(call);
	bufferevent_disable(old, EV_READ | EV_WRITE);
	struct evbuffer *out = bufferevent_get_output(bev);
	/* Anything evhttp still had queued goes first, then our status line. Bufferevents
	 * freeze the ends of their buffers that only they should touch: thaw them briefly. */
	move_buffer(out, bufferevent_get_output(old), 1);
	if (upgrade)
		evbuffer_add_printf(out,
				    "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\n"
				    "Connection: Upgrade\r\nUpgrade: tcp\r\n",
				    content_type ? content_type
						 : "application/vnd.docker.raw-stream");
	else
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n",
				    content_type ? content_type
						 : "application/vnd.docker.raw-stream");
	for (size_t i = 0; i < call->srv->n_headers; i++)
		evbuffer_add_printf(out, "%s: %s\r\n", call->srv->headers[i].name,
				    call->srv->headers[i].value);
	evbuffer_add(out, "\r\n", 2);
	/* Bytes the client sent after the request (stdin) that evhttp already read. */
	move_buffer(bufferevent_get_input(bev), bufferevent_get_input(old), 0);
	bufferevent_enable(bev, EV_WRITE);

	z->srv = call->srv;
	z->evcon = evcon;
	z->next = call->srv->zombies;
	call->srv->zombies = z;
	struct timeval zero = {0, 0};
	event_add(z->ev, &zero);

	call->evcon = NULL;
	pub->req = NULL; /* freed with evcon */
	call_done(call);
	return bev;
}

/* ---- dispatch ---- */

static void http_dispatch(struct evhttp_request *req, void *arg)
{
	struct berth_http_server *srv = arg;
	struct http_call *call = calloc(1, sizeof(*call));
	if (!call) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	TAILQ_INIT(&call->pub.query);
	call->pub.req = req;
	call->pub.ctx = srv->ctx;
	call->srv = srv;
	call->evcon = evhttp_request_get_connection(req);
	call->dispatching = true;

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *method = method_name(evhttp_request_get_command(req));
	const char *path = strip_version(raw_path && *raw_path ? raw_path : "/");
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *cap_start[BERTH_HTTP_MAX_PARAMS] = {0};
	size_t cap_len[BERTH_HTTP_MAX_PARAMS] = {0};
	bool path_known;
	const struct berth_http_route *route = NULL;

	if (query && evhttp_parse_query_str(query, &call->pub.query) != 0) {
		berth_http_reply_errorf(&call->pub, 400, "invalid query string");
		goto out;
	}
	route = route_find(srv, method, path, cap_start, cap_len, &path_known);
	if (!route) {
		if (path_known)
			berth_http_reply_errorf(&call->pub, 405, "method %s not allowed on %s",
						method, path);
		else
			berth_http_reply_errorf(&call->pub, 404, "page not found");
		goto out;
	}
	for (int i = 0; i < BERTH_HTTP_MAX_PARAMS && cap_start[i]; i++) {
		char *raw = strndup(cap_start[i], cap_len[i]);
		call->param_buf[i] = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
		free(raw);
		if (!call->param_buf[i]) {
			berth_http_reply_errorf(&call->pub, 500, "out of memory");
			goto out;
		}
		call->pub.params[i] = call->param_buf[i];
	}
	route->handler(&call->pub);
out:
	call->dispatching = false;
	if (call->finished) {
		call_free(call);
		return;
	}
	/* The handler keeps the call: learn when the connection goes away. */
	call_watch(call);
}

/* ---- server ---- */

/* Does a live daemon serve addr? A connect alone cannot tell: the socket of an owner that is
 * being killed (kill -9 just now) still takes connections until the kernel has closed its
 * files. So ask: a live server answers anything at all; a dying one resets the connection once
 * it is gone. No answer within the bound counts as alive, a hung daemon is not ours to replace. */
static bool unix_socket_alive(const struct sockaddr_un *addr)
{
	static const char req[] = "GET /_ping HTTP/1.0\r\n\r\n";
	/* (the timeout bounds a connect that waits for room in a full backlog) */
	struct timeval tv = {5, 0};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
		return errno == EAGAIN; /* a backlog that stays full: someone owns it */
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
		return false;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, 5000);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return true;
	char c;
	return recv(fd, &c, 1, MSG_DONTWAIT) == 1;
}

static int unix_listen(const char *path, int mode, struct stat *st, struct berth_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return berth_err(err, 500, "socket path too long: %s", path);
	strcpy(addr.sun_path, path);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "socket");
	/* A socket that still answers belongs to a running daemon; one that does not is stale. */
	if (unix_socket_alive(&addr))
		return berth_err(err, 409, "%s is in use by a running daemon", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_err_errno(err, 500, errno, "remove stale socket %s", path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return berth_err_errno(err, 500, errno, "bind %s", path);
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0 || stat(path, st) < 0) {
		int e = errno;
		unlink(path);
		return berth_err_errno(err, 500, e, "listen on %s", path);
	}
	return steal_fd(&fd);
}

struct berth_http_server *berth_http_server_new(struct event_base *base, const char *sock_path,
						int mode, const struct berth_http_route *routes,
						size_t n_routes, void *ctx, struct berth_error *err)
{
	struct berth_http_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		berth_err(err, 500, "out of memory");
		return NULL;
	}
	srv->base = base;
	srv->routes = routes;
	srv->n_routes = n_routes;
	srv->ctx = ctx;
	srv->http = evhttp_new(base);
	if (!srv->http) {
		berth_err(err, 500, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						  EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT);
	evhttp_set_default_content_type(srv->http, NULL);
	evhttp_set_max_headers_size(srv->http, 1 << 20);
	evhttp_set_gencb(srv->http, http_dispatch, srv);
	if (sock_path) {
		struct stat st;
		int fd = unix_listen(sock_path, mode, &st, err);
		if (fd < 0)
			goto fail;
		if (!evhttp_accept_socket_with_handle(srv->http, fd)) {
			close(fd);
			unlink(sock_path);
			berth_err(err, 500, "cannot serve %s", sock_path);
			goto fail;
		}
		srv->sock_path = strdup(sock_path);
		srv->sock_dev = st.st_dev;
		srv->sock_ino = st.st_ino;
	}
	return srv;
fail:
	if (srv->http)
		evhttp_free(srv->http);
	free(srv);
	return NULL;
}

int berth_http_server_listen_tcp(struct berth_http_server *srv, const char *addr,
				 struct berth_error *err)
{
	_cleanup_free_ char *host = strdup(addr);
	if (!host)
		return berth_err(err, 500, "out of memory");
	char *colon = strrchr(host, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == host || !end || *end || end == colon + 1 || port < 0 || port > 65535)
		return berth_err(err, 400, "invalid listen address %s: want HOST:PORT", addr);
	*colon = '\0';
	if (host[0] == '[' && colon[-1] == ']') { /* [::1]:7878 */
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	errno = 0;
	if (!evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port))
		return berth_err_errno(err, 500, errno ? errno : EADDRINUSE, "listen on %s", addr);
	return 0;
}

void berth_http_server_add_header(struct berth_http_server *srv, const char *name,
				  const char *value)
{
	struct http_header *h = realloc(srv->headers, (srv->n_headers + 1) * sizeof(*h));
	if (!h)
		return;
	srv->headers = h;
	h[srv->n_headers].name = strdup(name);
	h[srv->n_headers].value = strdup(value);
	if (!h[srv->n_headers].name || !h[srv->n_headers].value) {
		free(h[srv->n_headers].name);
		free(h[srv->n_headers].value);
		return;
	}
	srv->n_headers++;
}

void berth_http_server_free(struct berth_http_server *srv)
{
	if (!srv)
		return;
	while (srv->zombies) {
		struct http_zombie *z = srv->zombies;
		srv->zombies = z->next;
		zombie_reap(z);
	}
	/* Frees every connection; calls still held by handlers are marked gone. */
	evhttp_free(srv->http);
	if (srv->sock_path) {
		struct stat st;
		if (stat(srv->sock_path, &st) == 0 && st.st_dev == srv->sock_dev &&
		    st.st_ino == srv->sock_ino)
			unlink(srv->sock_path);
		free(srv->sock_path);
	}
	for (size_t i = 0; i < srv->n_headers; i++) {
		free(srv->headers[i].name);
		free(srv->headers[i].value);
	}
	free(srv->headers);
	free(srv);
}
