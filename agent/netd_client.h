/* The agent's client of berth-netd ($BERTH_RUN/netd.sock): asynchronous requests in order,
 * and reconciliation of netd's endpoints with the containers that exist. */
#ifndef BERTH_NETD_CLIENT_H
#define BERTH_NETD_CLIENT_H

#include <stdbool.h>
#include <jansson.h>

#include "berth/error.h"
#include "berth/http_server.h"

struct agent;
struct netd_client;

/* reply is borrowed (incref to keep). err is set for a non-2xx status (netd's message and
 * status) and when netd cannot be reached: status 0, err 500 "berth-netd is not running
 * (connect ...: ...)". Called from the loop, never from inside netd_request. */
typedef void (*netd_cb)(void *arg, int status, json_t *reply, const struct berth_error *err);

struct netd_client *netd_client_new(struct agent *agent);
void netd_client_free(struct netd_client *n);

/* Requests run one at a time in the order made (a DELETE of an endpoint reaches netd before
 * a later create that wants its port). Before the first request after agent start, and after
 * netd was unreachable, POST /reconcile goes first with every container that exists. */
void netd_request(struct netd_client *n, const char *method, const char *path, const json_t *body,
		  netd_cb cb, void *arg);

/* Release a container's endpoint (DELETE /endpoints/{id}); failures are logged. */
void netd_release_endpoint(struct netd_client *n, const char *container_id);

/* Queue POST /reconcile now (at agent start). */
void netd_reconcile(struct netd_client *n);

/* The agent's /networks routes (api_networks.c), backed by netd. */
extern const struct berth_http_route api_networks_routes[];
extern const size_t api_networks_routes_len;

#endif
