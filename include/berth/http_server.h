/* An HTTP/1.1 API server over libevent's evhttp on a unix socket, with a route table,
 * JSON replies, Docker-style errors, chunked streaming and connection hijacking. */
#ifndef BERTH_HTTP_SERVER_H
#define BERTH_HTTP_SERVER_H

#include <stdbool.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "berth/error.h"

#define BERTH_HTTP_MAX_PARAMS 4

struct berth_http_call {
	struct evhttp_request *req;
	/* Path captures in route order: "/containers/{id}/json" puts the id in params[0]. */
	const char *params[BERTH_HTTP_MAX_PARAMS];
	struct evkeyvalq query; /* parsed query string */
	void *ctx;		/* the server's ctx */
};

typedef void (*berth_http_handler)(struct berth_http_call *call);

struct berth_http_route {
	const char *method; /* "GET", "POST", "DELETE", "HEAD", "PUT" */
	const char
	    *pattern; /* "/containers/{id}/json"; a leading "/v1.NN" on requests is stripped */
	berth_http_handler handler;
};

struct berth_http_server;

/* Listen on sock_path (unlinked first, then chmod mode). Routes must outlive the server. */
struct berth_http_server *berth_http_server_new(struct event_base *base, const char *sock_path,
						int mode, const struct berth_http_route *routes,
						size_t n_routes, void *ctx,
						struct berth_error *err);
/* Listen on TCP as well ("127.0.0.1:7878"). */
int berth_http_server_listen_tcp(struct berth_http_server *srv, const char *addr,
				 struct berth_error *err);
void berth_http_server_free(struct berth_http_server *srv);
/* Refuse request bodies larger than max bytes with evhttp's own 413 (HTML, not JSON: evhttp
 * answers before any handler runs). evhttp (libevent 2.1) reads a whole body into memory
 * before it calls the handler, so this bounds what one request can make the daemon hold. */
void berth_http_server_set_max_body(struct berth_http_server *srv, size_t max);
/* Headers sent with every reply (e.g. "Api-Version: 1.41", "Server: ..."). */
void berth_http_server_add_header(struct berth_http_server *srv, const char *name,
				  const char *value);

/*
 * Lifetime of a call. The handler must finish it exactly once: with a reply (reply_json,
 * reply_empty, reply_error, reply_errorf), with stream_end after stream_start, or with
 * hijack. It may do so inside the handler or later; the call stays valid until then and the
 * finishing function frees it. Everything runs on the loop thread: a worker thread must hand
 * its result back to the loop (event_active, a pipe, event_base_once) before replying.
 *
 * If the client goes away first, the call stays valid: replies and stream_send become no-ops
 * (berth_http_call_gone() says so) and the finishing call still frees it. The exception is a
 * stream with an on_close callback: the callback runs once, then the library frees the call
 * (calling stream_end inside the callback is allowed and does nothing more); the handler must
 * not touch the call after its on_close callback returned.
 */
void berth_http_reply_json(struct berth_http_call *call, int status, json_t *body /* stolen */);
void berth_http_reply_empty(struct berth_http_call *call, int status);
/* A text body as is (no newline added), e.g. "OK" for /_ping. */
void berth_http_reply_text(struct berth_http_call *call, int status, const char *content_type,
			   const char *text);
/* {"message": err->msg} with err->status (500 if unset). */
void berth_http_reply_error(struct berth_http_call *call, const struct berth_error *err);
void berth_http_reply_errorf(struct berth_http_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Query helpers. */
const char *berth_http_query(struct berth_http_call *call, const char *key);
/* "1", "true", "True" → true; absent → dflt. */
bool berth_http_query_bool(struct berth_http_call *call, const char *key, bool dflt);
/* An integer query value in [min, max] (absent or empty: dflt); otherwise -1 with a 400 in err:
 * Go's strconv message for what is not an int64, berth's for one out of range. */
int berth_http_query_int(struct berth_http_call *call, const char *key, long long min,
			 long long max, long long dflt, long long *out, struct berth_error *err);
/* Parse the request body as JSON; an empty body gives an empty object. NULL + err (400) if bad. */
json_t *berth_http_body_json(struct berth_http_call *call, struct berth_error *err);
/* The raw request body (fully buffered by evhttp); owned by the call. */
struct evbuffer *berth_http_body(struct berth_http_call *call);
/* A request header, or NULL. */
const char *berth_http_header(struct berth_http_call *call, const char *name);
/* True once the client has gone away (replies are then dropped). */
bool berth_http_call_gone(struct berth_http_call *call);

/* Chunked streaming reply: start, send any number of chunks, end. A client that closes its
 * connection during a stream is noticed at once (EV_CLOSED, i.e. EPOLLRDHUP), even when nothing
 * is being sent; a client that only half-closes its sending side counts as gone too. */
void berth_http_stream_start(struct berth_http_call *call, int status, const char *content_type);
void berth_http_stream_send(struct berth_http_call *call, const void *data, size_t len);
/* Bytes queued for the client and not yet written: pause producing when this grows. */
size_t berth_http_stream_pending(struct berth_http_call *call);
void berth_http_stream_end(struct berth_http_call *call);
/* Called once when the client goes away during a stream (set it before or after stream_start).
 * The call is freed right after cb returns (see "Lifetime" above). */
void berth_http_stream_on_close(struct berth_http_call *call,
				void (*cb)(struct berth_http_call *, void *), void *arg);

/*
 * Take over the connection as Docker's attach/exec-start do: queues
 * "HTTP/1.1 101 UPGRADED" with "Connection: Upgrade"/"Upgrade: tcp" (when the request asked
 * for Upgrade: tcp) or "HTTP/1.1 200 OK" (no length: the body runs to the close), with
 * Content-Type content_type, then hands back a new bufferevent on the connection (a dup of
 * its socket; evhttp's own connection object is freed on the next loop turn). The call is
 * freed. The caller owns the bufferevent (bufferevent_free closes the connection); it has
 * EV_WRITE enabled and EV_READ disabled. Bytes the client sent right after the request may
 * already sit in its input buffer: after setting callbacks and enabling EV_READ, check
 * evbuffer_get_length(bufferevent_get_input(bev)) (or bufferevent_trigger(bev, EV_READ, 0)).
 * Reading EOF (the docker CLI half-closes when stdin is not attached) is the caller's to
 * handle: keep writing until the output ends. Returns NULL (the call freed, a 500 sent if
 * possible) when the client is gone or the socket cannot be duplicated.
 */
struct bufferevent *berth_http_hijack(struct berth_http_call *call, const char *content_type);

#endif
