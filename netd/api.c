/* netd's HTTP API routes (docs/netd-api.md): networks, endpoints, ports, reconcile. */
#include <string.h>

#include "berth/http_server.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "netd.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

static struct netd *api_netd(struct berth_http_call *call)
{
	return call->ctx;
}

static void api_ping(struct berth_http_call *call)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(out, "Cache-Control", "no-cache, no-store, must-revalidate");
	evhttp_add_header(out, "Pragma", "no-cache");
	berth_http_reply_text(call, 200, "text/plain; charset=utf-8", "OK");
}

static void api_version(struct berth_http_call *call)
{
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:s, s:s}", "Component", "berth-netd", "Version", BERTH_VERSION));
}

static void api_networks_list(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	json_t *list = json_array();
	for (struct netd_network *n = nd->networks; n; n = n->next)
		json_array_append_new(list, netd_network_json(nd, n));
	berth_http_reply_json(call, 200, list);
}

static void api_network_get(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct netd_network *n = netd_network_find(nd, call->params[0]);
	if (!n) {
		berth_http_reply_errorf(call, 404, "network %s not found", call->params[0]);
		return;
	}
	berth_http_reply_json(call, 200, netd_network_json(nd, n));
}

static void api_network_create(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct berth_error err = {0};
	json_t *req = berth_http_body_json(call, &err);
	if (!req) {
		berth_http_reply_error(call, &err);
		return;
	}
	struct netd_network *n = netd_network_create(nd, req, &err);
	json_decref(req);
	if (!n) {
		berth_http_reply_error(call, &err);
		return;
	}
	berth_http_reply_json(call, 201, netd_network_json(nd, n));
}

static void api_network_delete(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct berth_error err = {0};
	struct netd_network *n = netd_network_find(nd, call->params[0]);
	if (!n) {
		berth_http_reply_errorf(call, 404, "network %s not found", call->params[0]);
		return;
	}
	if (netd_network_remove(nd, n, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	berth_http_reply_empty(call, 204);
}

static void api_endpoints_list(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	json_t *list = json_array();
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		if (!ep->creating)
			json_array_append_new(list, netd_endpoint_json(nd, ep));
	berth_http_reply_json(call, 200, list);
}

static void api_endpoint_get(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct netd_endpoint *ep = netd_endpoint_find(nd, call->params[0]);
	if (!ep || ep->creating) {
		berth_http_reply_errorf(call, 404, "no endpoint for container %s", call->params[0]);
		return;
	}
	berth_http_reply_json(call, 200, netd_endpoint_json(nd, ep));
}

/* Handlers that take a JSON body and finish the call themselves. */
static void api_with_body(struct berth_http_call *call,
			  void (*fn)(struct netd *, struct berth_http_call *, const char *,
				     json_t *))
{
	struct berth_error err = {0};
	json_t *req = berth_http_body_json(call, &err);
	if (!req || !json_is_object(req)) {
		if (req)
			berth_err(&err, 400, "the request body must be a JSON object");
		json_decref(req);
		berth_http_reply_error(call, &err);
		return;
	}
	fn(api_netd(call), call, call->params[0], req);
	json_decref(req);
}

static void api_create_shim(struct netd *nd, struct berth_http_call *call, const char *id,
			    json_t *req)
{
	netd_endpoint_create(nd, call, req);
}

static void api_endpoint_create(struct berth_http_call *call)
{
	api_with_body(call, api_create_shim);
}

static void api_endpoint_delete(struct berth_http_call *call)
{
	netd_endpoint_delete(api_netd(call), call, call->params[0]);
}

static void api_endpoint_connect(struct berth_http_call *call)
{
	api_with_body(call, netd_endpoint_connect);
}

static void api_endpoint_disconnect(struct berth_http_call *call)
{
	api_with_body(call, netd_endpoint_disconnect);
}

static void api_endpoint_health(struct berth_http_call *call)
{
	api_with_body(call, netd_endpoint_health);
}

static void api_endpoint_drain(struct berth_http_call *call)
{
	api_with_body(call, netd_endpoint_drain);
}

static void api_endpoint_undrain(struct berth_http_call *call)
{
	netd_endpoint_undrain(api_netd(call), call, call->params[0]);
}

static void api_ports_list(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	json_t *list = json_array();
	for (struct port_binding *b = nd->ports.head; b; b = b->next) {
		json_t *backends = json_array();
		for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
			for (size_t i = 0; i < ep->n_ports; i++) {
				struct netd_port *p = &ep->ports[i];
				if (p->host_port != b->host_port || p->proto != b->proto ||
				    strcmp(p->host_ip, b->host_ip) != 0)
					continue;
				char ip[16] = "";
				if (ep->n_att && ep->att[0].ip)
					ipam_format_ip(ep->att[0].ip, ip);
				json_array_append_new(
				    backends,
				    json_pack("{s:s, s:s, s:i}", "ContainerId", ep->id, "IPAddress",
					      ip, "ContainerPort", p->container_port));
			}
		json_array_append_new(list,
				      json_pack("{s:s, s:i, s:s, s:s, s:b, s:o}", "HostIp",
						b->host_ip, "HostPort", b->host_port, "Proto",
						port_proto_name(b->proto), "Service", b->service,
						"Listening", b->listening, "Backends", backends));
	}
	berth_http_reply_json(call, 200, list);
}

static void api_reconcile(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct berth_error err = {0};
	json_t *req = berth_http_body_json(call, &err);
	json_t *ids = req ? json_object_get(req, "Containers") : NULL;
	if (!json_is_array(ids)) {
		if (req)
			berth_err(&err, 400, "Containers must be an array of container ids");
		json_decref(req);
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *removed = netd_endpoints_reconcile(nd, ids);
	json_decref(req);
	berth_http_reply_json(call, 200, json_pack("{s:o}", "Removed", removed));
}

static void api_stats(struct berth_http_call *call)
{
	struct netd *nd = api_netd(call);
	struct proxy_stats st = {0};
	proxy_get_stats(nd->proxy, &st);
	size_t eps = 0, nets = 0;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		eps++;
	for (struct netd_network *n = nd->networks; n; n = n->next)
		nets++;
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "PortMode",
		      netd_port_mode_name(nd->cfg.port_mode), "Networks", (json_int_t)nets,
		      "Endpoints", (json_int_t)eps, "Ports", (json_int_t)nd->ports.count,
		      "Listeners", (json_int_t)st.listeners, "TcpConnections",
		      (json_int_t)st.tcp_connections, "UdpFlows", (json_int_t)st.udp_flows,
		      "Accepted", (json_int_t)st.accepted));
}

static const struct berth_http_route api_routes[] = {
    {"GET", "/_ping", api_ping},
    {"HEAD", "/_ping", api_ping},
    {"GET", "/version", api_version},
    {"GET", "/networks", api_networks_list},
    {"POST", "/networks", api_network_create},
    {"GET", "/networks/{id}", api_network_get},
    {"DELETE", "/networks/{id}", api_network_delete},
    {"GET", "/endpoints", api_endpoints_list},
    {"POST", "/endpoints", api_endpoint_create},
    {"GET", "/endpoints/{id}", api_endpoint_get},
    {"DELETE", "/endpoints/{id}", api_endpoint_delete},
    {"POST", "/endpoints/{id}/connect", api_endpoint_connect},
    {"POST", "/endpoints/{id}/disconnect", api_endpoint_disconnect},
    {"POST", "/endpoints/{id}/health", api_endpoint_health},
    {"POST", "/endpoints/{id}/drain", api_endpoint_drain},
    {"DELETE", "/endpoints/{id}/drain", api_endpoint_undrain},
    {"GET", "/ports", api_ports_list},
    {"POST", "/reconcile", api_reconcile},
    {"GET", "/stats", api_stats},
};

struct berth_http_server *netd_api_start(struct netd *nd, struct berth_error *err)
{
	struct berth_http_server *srv =
	    berth_http_server_new(nd->base, berth_netd_sock(), 0660, api_routes,
				  sizeof(api_routes) / sizeof(api_routes[0]), nd, err);
	if (srv)
		berth_http_server_add_header(srv, "Server", "berth-netd/" BERTH_VERSION);
	return srv;
}
