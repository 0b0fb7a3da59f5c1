/* The agent's client of berth-netd: requests through lib's async client, netd's unreachability
 * as one clear error, and POST /reconcile before the first request that follows a gap (and every
 * second while netd is unreachable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "berth/cleanup.h"
#include "berth/http_async.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "agent.h"
#include "container.h"
#include "netd_client.h"

struct netd_client {
	struct agent *agent;
	struct berth_http_async *http;
	char sock[4200];
	bool reconciled; /* netd has heard which containers exist since it was last unreachable */
	bool reconciling;
	bool deferred_told;  /* "reconcile deferred" logged once per gap */
	struct event *retry; /* reconcile again while netd is unreachable */
};

struct netd_req {
	struct netd_client *n;
	netd_cb cb;
	void *arg;
	bool reconcile;
};

/* Without this, endpoints released while netd was down (a container removed meanwhile) would
 * keep their address and host ports until the agent's next request to netd, however late. */
static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netd_client *n = arg;
	if (!n->reconciled && !n->reconciling)
		netd_reconcile(n);
}

struct netd_client *netd_client_new(struct agent *agent)
{
	struct netd_client *n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->agent = agent;
	snprintf(n->sock, sizeof(n->sock), "%s/netd.sock", agent->run);
	n->http = berth_http_async_new(agent->base, n->sock);
	n->retry = evtimer_new(agent->base, retry_cb, n);
	if (!n->retry)
		abort();
	return n;
}

void netd_client_free(struct netd_client *n)
{
	if (!n)
		return;
	berth_http_async_free(n->http);
	event_free(n->retry);
	free(n);
}

static void on_reply(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct netd_req *r = arg;
	struct netd_client *n = r->n;
	struct berth_error e = {0};
	if (r->reconcile)
		n->reconciling = false;
	if (status == 0) {
		/* netd is gone: it must hear again which containers exist when it is back. */
		n->reconciled = false;
		struct timeval tv = {1, 0};
		if (!evtimer_pending(n->retry, NULL))
			evtimer_add(n->retry, &tv);
		berth_err(&e, 500, "berth-netd is not running (%s)", err ? err->msg : "no reply");
		err = &e;
	} else if (r->reconcile && status == 200) {
		n->reconciled = true;
	}
	if (r->cb)
		r->cb(r->arg, status, reply, err);
	free(r);
}

static void reconcile_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct netd_client *n = arg;
	if (err) {
		/* At agent start netd may not listen yet: retried every second until it does. */
		if (status == 0 && !n->deferred_told)
			log_info("netd reconcile deferred: %s", err->msg);
		else if (status != 0)
			log_warn("netd reconcile: %s", err->msg);
		n->deferred_told = status == 0;
		return;
	}
	n->deferred_told = false;
	json_t *removed = json_object_get(reply, "Removed");
	if (json_array_size(removed) > 0)
		log_info("netd released the endpoints of %zu containers that no longer exist",
			 json_array_size(removed));
}

static void send_request(struct netd_client *n, const char *method, const char *path,
			 const json_t *body, netd_cb cb, void *arg, bool reconcile)
{
	struct netd_req *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->n = n;
	r->cb = cb;
	r->arg = arg;
	r->reconcile = reconcile;
	berth_http_async_json(n->http, method, path, body, on_reply, r);
}

void netd_reconcile(struct netd_client *n)
{
	struct container_store *store = n->agent->containers;
	_cleanup_json_ json_t *ids = json_array();
	for (struct container *c = store->head; c; c = c->next)
		json_array_append_new(ids, json_string(c->id));
	/* Creates waiting for their endpoint exist too. */
	for (struct container_pending *p = store->pending; p; p = p->next)
		json_array_append_new(ids, json_string(p->id));
	_cleanup_json_ json_t *body = json_pack("{s:O}", "Containers", ids);
	n->reconciling = true;
	send_request(n, "POST", "/reconcile", body, reconcile_done, n, true);
}

void netd_request(struct netd_client *n, const char *method, const char *path, const json_t *body,
		  netd_cb cb, void *arg)
{
	if (!n->reconciled && !n->reconciling)
		netd_reconcile(n);
	send_request(n, method, path, body, cb, arg, false);
}

static void release_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	char *id = arg;
	if (err && status != 404)
		log_warn("container %.12s: releasing its network endpoint: %s", id, err->msg);
	free(id);
}

void netd_release_endpoint(struct netd_client *n, const char *container_id)
{
	char path[128];
	snprintf(path, sizeof(path), "/endpoints/%s", container_id);
	netd_request(n, "DELETE", path, NULL, release_done, strdup(container_id));
}
