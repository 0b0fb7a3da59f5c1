/* An HTTP client for the daemons' unix sockets, over libcurl (CURLOPT_UNIX_SOCKET_PATH). */
#ifndef BERTH_HTTP_CLIENT_H
#define BERTH_HTTP_CLIENT_H

#include <stddef.h>
#include <jansson.h>
#include "berth/error.h"

struct berth_http_response {
	long status;
	char *body; /* NUL-terminated, may be empty */
	size_t len;
};
void berth_http_response_free(struct berth_http_response *r);

/* One request. body may be NULL; content_type defaults to application/json when body is set. */
int berth_http_request(const char *sock_path, const char *method, const char *path,
		       const char *body, size_t body_len, const char *content_type,
		       struct berth_http_response *out, struct berth_error *err);

/* JSON convenience: sends body (if not NULL) as JSON, parses the reply as JSON into *reply
 * (NULL when empty). A non-2xx status becomes err with the daemon's "message" and the
 * status; returns -1. */
int berth_http_json(const char *sock_path, const char *method, const char *path,
		    const json_t *body, json_t **reply, struct berth_error *err);

/* Streaming: cb gets the body as it arrives; return non-zero from cb to stop. The status is
 * known before the first cb call (via *status_out when not NULL). */
typedef int (*berth_http_stream_cb)(const char *data, size_t len, void *arg);
int berth_http_stream(const char *sock_path, const char *method, const char *path,
		      const char *body, size_t body_len, const char *content_type,
		      berth_http_stream_cb cb, void *arg, long *status_out, struct berth_error *err);

/* Upload a file (or stdin for "-") as the request body, streaming. */
int berth_http_upload_file(const char *sock_path, const char *method, const char *path,
			   const char *file, const char *content_type,
			   struct berth_http_response *out, struct berth_error *err);

/* Percent-encode s for a query string; returns a malloc'd string. */
char *berth_http_escape(const char *s);

#endif
