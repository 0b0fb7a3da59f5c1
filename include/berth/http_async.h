/* An asynchronous HTTP/JSON client for a daemon's event loop: requests to another daemon's
 * unix socket over evhttp, answered through callbacks, never blocking the loop. */
#ifndef BERTH_HTTP_ASYNC_H
#define BERTH_HTTP_ASYNC_H

#include <stdbool.h>
#include <event2/event.h>
#include <jansson.h>

#include "berth/error.h"

struct berth_http_async;

/*
 * The reply: status is the HTTP status (0 when the daemon could not be reached or the
 * connection broke), reply the parsed JSON body (NULL when empty or not JSON; borrowed: incref
 * to keep it). For a non-2xx status or status 0, err is set: the daemon's "message" and its
 * status, or "connect PATH: ..." with status 0 (err->status 503).
 */
typedef void (*berth_http_async_cb)(void *arg, int status, json_t *reply,
				    const struct berth_error *err);

/* A client for sock_path. Requests run one at a time, in the order they were made, each on a
 * connection of its own: a request's effects at the daemon precede the next one's. */
struct berth_http_async *berth_http_async_new(struct event_base *base, const char *sock_path);
/* Drop queued and running requests without calling their callbacks. */
void berth_http_async_free(struct berth_http_async *c);
/* Seconds a request may take (default 60). */
void berth_http_async_set_timeout(struct berth_http_async *c, int seconds);

/* Queue method path (already escaped) with body (may be NULL; not stolen). cb is called
 * exactly once, always from the loop, never from inside this call. */
void berth_http_async_json(struct berth_http_async *c, const char *method, const char *path,
			   const json_t *body, berth_http_async_cb cb, void *arg);

/* Requests queued or running. */
size_t berth_http_async_pending(const struct berth_http_async *c);

#endif
