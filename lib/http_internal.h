/* What lib/http_*.c share behind include/berth/http_server.h: the server and call structs
 * and the call lifecycle, routing and hijack helpers each file needs from the others. */
#ifndef BERTH_HTTP_INTERNAL_H
#define BERTH_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/http_server.h"

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

/* A listening socket of a server and the timer that resumes it after a pause. */
struct http_listener {
	struct http_listener *next;
	struct evconnlistener *lev;
	struct event *resume;
	char name[128];
};

struct berth_http_server {
	struct berth_http_server *next; /* http_conn.c's list of servers */
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
	struct http_listener *listeners;
	int idle_s; /* close connections idle this long between requests; 0 = never */
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

static inline struct http_call *http_call_of(struct berth_http_call *pub)
{
	return (struct http_call *)pub;
}

/* http_call.c: a call's lifetime and its watch on the connection. */
void http_call_free(struct http_call *call);
/* Stop watching the connection: it is about to be finished or handed over. */
void http_call_unwatch(struct http_call *call);
/* The call is finished: free it now, or let the dispatcher do it when the handler returns. */
void http_call_done(struct http_call *call);
/* Learn when the client goes away (and, while streaming, when it closes its end). */
void http_call_watch(struct http_call *call);

/* http_route.c: match a pattern from its current segment against a path, recording
 * captures from index n_caps on; strip a leading "/v1.NN"; evhttp's request callback. */
bool http_route_match(const char *pat, const char *path, const char **cap_start, size_t *cap_len,
		      int n_caps);
const char *http_strip_version(const char *path);
void http_dispatch(struct evhttp_request *req, void *arg);

/* http_conn.c: listeners that pause at their fd limit, idle connections closed. */
int http_idle_timeout_s(void);
int http_listener_add(struct berth_http_server *srv, struct evhttp_bound_socket *bound,
		      const char *name);
void http_listeners_free(struct berth_http_server *srv);
struct bufferevent *http_conn_bev(struct event_base *base, void *arg);
/* A request came: no idle timeout until its reply is complete. */
void http_conn_busy(struct berth_http_server *srv, struct evhttp_request *req);

/* http_hijack.c: free a hijacked connection's evhttp object now. */
void http_zombie_reap(struct http_zombie *z);

#endif
