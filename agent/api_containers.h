/* Handlers shared between the agent's container, attach, logs, exec and system API files. */
#ifndef BERTH_API_CONTAINERS_H
#define BERTH_API_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>
#include "berth/http_server.h"

struct container;
struct evbuffer;

void api_events(struct berth_http_call *call);
void api_container_attach(struct berth_http_call *call);
void api_container_logs(struct berth_http_call *call);

/* Find the container named by call->params[0], or reply 404/400 and return NULL. */
struct container *api_container_lookup(struct berth_http_call *call);

/* One chunk of container output as it goes on the wire: raw with a TTY, else behind
 * Docker's 8-byte header (stream, 0, 0, 0, big-endian length). */
void api_frame_add(struct evbuffer *out, bool tty, int stream, const void *data, size_t len);

/* Append the container's json-file log (rotated files first) to out, as frames.
 * tail < 0: all lines; since/until in ns (0: unbounded). */
int api_logs_read(struct container *c, struct evbuffer *out, bool want_stdout, bool want_stderr,
		  long tail, int64_t since_ns, int64_t until_ns, bool timestamps);

#endif
