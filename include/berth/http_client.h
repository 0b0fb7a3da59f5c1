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

/* Paths are the request target ("/containers/json?all=1"), already escaped. Requests reuse one
 * libcurl handle (and its keep-alive connection) per thread. Failures to reach the daemon give
 * "Cannot connect to the berth agent at unix://PATH. Is the berth agent running?".
 *
 * One request. body may be NULL; content_type defaults to application/json when body is set. */
int berth_http_request(const char *sock_path, const char *method, const char *path,
		       const char *body, size_t body_len, const char *content_type,
		       struct berth_http_response *out, struct berth_error *err);

/* JSON convenience: sends body (if not NULL) as JSON, parses the reply as JSON into *reply
 * (NULL when empty). A non-2xx status becomes err with the daemon's "message" and the
 * status; returns -1. */
int berth_http_json(const char *sock_path, const char *method, const char *path, const json_t *body,
		    json_t **reply, struct berth_error *err);

/* Streaming: cb gets the body as it arrives; return non-zero from cb to stop (that is not an
 * error: 0 is returned). *status_out (when not NULL) gets the status. A non-2xx reply is not
 * passed to cb: it becomes err (the daemon's "message", the status) and -1. */
typedef int (*berth_http_stream_cb)(const char *data, size_t len, void *arg);
int berth_http_stream(const char *sock_path, const char *method, const char *path, const char *body,
		      size_t body_len, const char *content_type, berth_http_stream_cb cb, void *arg,
		      long *status_out, struct berth_error *err);

/* Upload a file (or stdin for "-") as the request body, streaming (chunked when the size is
 * unknown). */
int berth_http_upload_file(const char *sock_path, const char *method, const char *path,
			   const char *file, const char *content_type,
			   struct berth_http_response *out, struct berth_error *err);
/* Upload from fd (read to EOF; not closed) and stream the reply to cb, as berth_http_stream
 * does: for `build` (a tar in, JSON lines out) and `load`. */
int berth_http_upload_stream(const char *sock_path, const char *method, const char *path, int fd,
			     const char *content_type, berth_http_stream_cb cb, void *arg,
			     long *status_out, struct berth_error *err);

/* Free the calling thread's libcurl handle (and close its kept-alive connection): call it
 * before a worker thread that made requests exits. */
void berth_http_client_thread_cleanup(void);

/* Percent-encode s for a query string; returns a malloc'd string. */
char *berth_http_escape(const char *s);

#endif
