/* An HTTP/1.1 API server over libevent's evhttp on a unix socket, with a route table,
 * JSON replies, Docker-style errors, chunked streaming and connection hijacking. */
#ifndef BERTH_HTTP_SERVER_H
#define BERTH_HTTP_SERVER_H

#include <stdbool.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/bufferevent.h>
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
	const char *pattern; /* "/containers/{id}/json"; a leading "/v1.NN" on requests is stripped */
	berth_http_handler handler;
};

struct berth_http_server;

/* Listen on sock_path (unlinked first, then chmod mode). Routes must outlive the server. */
struct berth_http_server *berth_http_server_new(struct event_base *base, const char *sock_path,
						int mode, const struct berth_http_route *routes,
						size_t n_routes, void *ctx, struct berth_error *err);
/* Listen on TCP as well ("127.0.0.1:7878"). */
int berth_http_server_listen_tcp(struct berth_http_server *srv, const char *addr,
				 struct berth_error *err);
void berth_http_server_free(struct berth_http_server *srv);
/* Headers sent with every reply (e.g. "Api-Version: 1.41", "Server: ..."). */
void berth_http_server_add_header(struct berth_http_server *srv, const char *name,
				  const char *value);

/* Replies. A handler must reply exactly once, now or later (the call stays valid until then;
 * calls are freed by the reply functions). */
void berth_http_reply_json(struct berth_http_call *call, int status, json_t *body /* stolen */);
void berth_http_reply_empty(struct berth_http_call *call, int status);
/* {"message": err->msg} with err->status (500 if unset). */
void berth_http_reply_error(struct berth_http_call *call, const struct berth_error *err);
void berth_http_reply_errorf(struct berth_http_call *call, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Query helpers. */
const char *berth_http_query(struct berth_http_call *call, const char *key);
/* "1", "true", "True" → true; absent → dflt. */
bool berth_http_query_bool(struct berth_http_call *call, const char *key, bool dflt);
/* Parse the request body as JSON; an empty body gives an empty object. NULL + err (400) if bad. */
json_t *berth_http_body_json(struct berth_http_call *call, struct berth_error *err);

/* Chunked streaming reply: start, send any number of chunks, end. */
void berth_http_stream_start(struct berth_http_call *call, int status, const char *content_type);
void berth_http_stream_send(struct berth_http_call *call, const void *data, size_t len);
void berth_http_stream_end(struct berth_http_call *call);
/* Called when the client goes away during a stream (set before stream_start). */
void berth_http_stream_on_close(struct berth_http_call *call, void (*cb)(struct berth_http_call *,
									  void *),
				void *arg);

/*
 * Take over the connection as Docker's attach/exec-start do: writes
 * "HTTP/1.1 101 UPGRADED" (when the request asked for Upgrade: tcp) or "200 OK", with
 * Content-Type content_type and "Connection: Upgrade"/"Upgrade: tcp", then hands back the raw
 * bufferevent. The caller owns it from then on (bufferevent_free closes the connection);
 * the call is freed.
 */
struct bufferevent *berth_http_hijack(struct berth_http_call *call, const char *content_type);

#endif
