/* An HTTP call's lifetime (finished, gone, freed) and the request helpers handlers use:
 * query, headers, body. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "berth/http_server.h"
#include "http_internal.h"

void http_call_free(struct http_call *call)
{
	evhttp_clear_headers(&call->pub.query);
	for (int i = 0; i < BERTH_HTTP_MAX_PARAMS; i++)
		free(call->param_buf[i]);
	if (call->close_ev)
		event_free(call->close_ev);
	free(call);
}

void http_call_unwatch(struct http_call *call)
{
	if (call->close_ev) {
		event_free(call->close_ev);
		call->close_ev = NULL;
	}
	if (call->watching && call->evcon)
		evhttp_connection_set_closecb(call->evcon, NULL, NULL);
	call->watching = false;
}

void http_call_done(struct http_call *call)
{
	call->finished = true;
	http_call_unwatch(call);
	if (!call->dispatching && !call->in_close_cb)
		http_call_free(call);
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
			http_call_free(call);
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

void http_call_watch(struct http_call *call)
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
	return http_call_of(pub)->gone;
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
