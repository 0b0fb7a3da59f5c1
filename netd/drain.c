/* Draining a container's published-port backends before it stops: POST /endpoints/{id}/drain
 * takes them out of the rotation and replies once their TCP connections have closed (or a
 * timeout passed), without holding the loop; DELETE undoes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http_server.h"
#include "berth/log.h"
#include "netd.h"

/* An hour: a caller that wants longer can ask again. */
#define NETD_DRAIN_MAX_MS 3600000

/* A drain call waiting for the container's connections to close. */
struct netd_drain {
	struct netd_drain *next;
	struct netd *nd;
	struct berth_http_call *call;
	char id[BERTH_ID_LEN + 1];
	struct event *timer;
};

static void drain_reply(struct netd_drain *d)
{
	struct netd *nd = d->nd;
	for (struct netd_drain **pp = &nd->drains; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	unsigned n = proxy_backend_connections(nd->proxy, d->id);
	log_info("endpoint %.12s: drain done, %u connections open", d->id, n);
	berth_http_reply_json(d->call, 200, json_pack("{s:I}", "Connections", (json_int_t)n));
	event_free(d->timer);
	free(d);
}

static void drain_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	drain_reply(arg);
}

/* Runs from the loop after the proxy said some draining backend went idle: the proxy's
 * callback may come from deep inside its own bookkeeping, so replies wait until here. */
static void drain_on_check(evutil_socket_t fd, short what, void *arg)
{
	struct netd *nd = arg;
	struct netd_drain *d = nd->drains;
	while (d) {
		struct netd_drain *next = d->next;
		if (proxy_backend_connections(nd->proxy, d->id) == 0)
			drain_reply(d);
		d = next;
	}
}

static void drain_on_idle(void *arg, const char *id)
{
	struct netd *nd = arg;
	if (nd->drain_check)
		event_active(nd->drain_check, 0, 0);
}

int netd_drain_init(struct netd *nd)
{
	nd->drain_check = event_new(nd->base, -1, 0, drain_on_check, nd);
	if (!nd->drain_check)
		return -1;
	proxy_set_on_drained(nd->proxy, drain_on_idle, nd);
	return 0;
}

void netd_drain_shutdown(struct netd *nd)
{
	while (nd->drains)
		drain_reply(nd->drains);
	if (nd->proxy)
		proxy_set_on_drained(nd->proxy, NULL, NULL);
	if (nd->drain_check)
		event_free(nd->drain_check);
	nd->drain_check = NULL;
}

static struct netd_endpoint *drain_endpoint(struct netd *nd, struct berth_http_call *call,
					    const char *id)
{
	struct netd_endpoint *ep = netd_endpoint_find(nd, id);
	if (!ep || ep->creating) {
		berth_http_reply_errorf(call, 404, "no endpoint for container %s", id);
		return NULL;
	}
	return ep;
}

void netd_endpoint_drain(struct netd *nd, struct berth_http_call *call, const char *id, json_t *req)
{
	struct netd_endpoint *ep = drain_endpoint(nd, call, id);
	if (!ep)
		return;
	json_t *t = json_object_get(req, "TimeoutMs");
	if (t && (!json_is_integer(t) || json_integer_value(t) < 0 ||
		  json_integer_value(t) > NETD_DRAIN_MAX_MS)) {
		berth_http_reply_errorf(call, 400, "TimeoutMs must be an integer from 0 to %d",
					NETD_DRAIN_MAX_MS);
		return;
	}
	int64_t ms = t ? json_integer_value(t) : 0;
	ep->draining = true;
	proxy_backend_set_draining(nd->proxy, ep->id, true);
	netd_firewall_ports_changed(nd, ep, false); /* its DNAT rules go: new connections are refused */
	unsigned n = proxy_backend_connections(nd->proxy, ep->id);
	log_info("endpoint %.12s draining, %u connections open", ep->id, n);
	if (n == 0 || ms == 0) {
		berth_http_reply_json(call, 200, json_pack("{s:I}", "Connections", (json_int_t)n));
		return;
	}
	struct netd_drain *d = calloc(1, sizeof(*d));
	if (d)
		d->timer = evtimer_new(nd->base, drain_on_timeout, d);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
	if (!d || !d->timer || evtimer_add(d->timer, &tv) < 0) {
		if (d && d->timer)
			event_free(d->timer);
		free(d);
		berth_http_reply_errorf(call, 500, "out of memory");
		return;
	}
	d->nd = nd;
	d->call = call;
	snprintf(d->id, sizeof(d->id), "%s", ep->id);
	d->next = nd->drains;
	nd->drains = d;
}

void netd_endpoint_undrain(struct netd *nd, struct berth_http_call *call, const char *id)
{
	struct netd_endpoint *ep = drain_endpoint(nd, call, id);
	if (!ep)
		return;
	ep->draining = false;
	proxy_backend_set_draining(nd->proxy, ep->id, false);
	netd_firewall_ports_changed(nd, ep, false);
	log_info("endpoint %.12s takes connections again", ep->id);
	/* Whoever waits for this drain learns at once that it is over. */
	struct netd_drain *d = nd->drains;
	while (d) {
		struct netd_drain *next = d->next;
		if (strcmp(d->id, ep->id) == 0)
			drain_reply(d);
		d = next;
	}
	berth_http_reply_empty(call, 204);
}
