/* Finishing a call with a reply: whole (JSON, text, empty, Docker-style errors) or as a chunked
 * stream that notices the client going away. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "berth/http_server.h"
#include "http_internal.h"

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
		http_call_done(call);
		return;
	}
	http_call_unwatch(call);
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
	http_call_done(call);
}

void berth_http_reply_json(struct berth_http_call *pub, int status, json_t *body)
{
	struct http_call *call = http_call_of(pub);
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
	reply_raw(http_call_of(pub), status, NULL, NULL, 0);
}

void berth_http_reply_text(struct berth_http_call *pub, int status, const char *content_type,
			   const char *text)
{
	reply_raw(http_call_of(pub), status,
		  content_type ? content_type : "text/plain; charset=utf-8", text ? text : "",
		  text ? strlen(text) : 0);
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

void berth_http_stream_on_close(struct berth_http_call *pub,
				void (*cb)(struct berth_http_call *, void *), void *arg)
{
	struct http_call *call = http_call_of(pub);
	call->on_close = cb;
	call->on_close_arg = arg;
}

void berth_http_stream_start(struct berth_http_call *pub, int status, const char *content_type)
{
	struct http_call *call = http_call_of(pub);
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
	http_call_watch(call);
}

void berth_http_stream_send(struct berth_http_call *pub, const void *data, size_t len)
{
	struct http_call *call = http_call_of(pub);
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
	struct http_call *call = http_call_of(pub);
	if (call->gone || !call->evcon)
		return 0;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(call->evcon);
	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void berth_http_stream_end(struct berth_http_call *pub)
{
	struct http_call *call = http_call_of(pub);
	if (call->finished)
		return;
	if (call->in_close_cb)
		return; /* freed by call_conn_closed after the callback */
	http_call_unwatch(call);
	if (!call->gone && pub->req) {
		if (!call->streaming) /* never started: an empty 200 */
			berth_http_stream_start(pub, 200, NULL);
		http_call_unwatch(call);
		evhttp_send_reply_end(pub->req);
	}
	pub->req = NULL;
	http_call_done(call);
}
