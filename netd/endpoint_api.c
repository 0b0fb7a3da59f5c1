/* Endpoint create, delete, connect and disconnect: bookkeeping on the loop thread, the kernel
 * work on the worker, the reply once both are done. Addresses and ports are taken before the
 * kernel work starts (so two requests never get the same) and given back if it fails. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http_server.h"
#include "berth/log.h"
#include "endpoint_kernel.h"
#include "netd.h"
#include "worker.h"

enum ep_job_kind { EPJ_SETUP, EPJ_TEARDOWN };

struct ep_job {
	struct netd_job job; /* first: the worker hands this pointer back */
	struct netd *nd;
	enum ep_job_kind kind;
	struct berth_http_call *call; /* replied to when done, if set */
	int reply_status;	      /* 201 create, 200 connect */
	char id[BERTH_ID_LEN + 1];
	char netns[PATH_MAX];
	bool netns_create, netns_remove;
	struct epk_attach att[NETD_MAX_ATTACH];
	size_t n_att;
	size_t att_index; /* connect: the attachment being added */
	char veths[NETD_MAX_ATTACH][IFNAMSIZ];
	size_t n_veths;
	struct berth_error err;
	int rc;
};

static void ep_job_run(struct netd_job *job, struct nl_sock *host_sk, int host_ns_fd)
{
	struct ep_job *j = (struct ep_job *)job;
	if (j->kind == EPJ_SETUP)
		j->rc = epk_setup(host_sk, host_ns_fd, j->netns, j->netns_create, j->att, j->n_att,
				  &j->err);
	else
		epk_teardown(host_sk, j->netns_remove ? j->netns : NULL, j->veths, j->n_veths);
}

static struct ep_job *ep_job_new(struct netd *nd, enum ep_job_kind kind, const char *id,
				 void (*done)(struct netd_job *))
{
	struct ep_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->job.run = ep_job_run;
	j->job.done = done;
	j->nd = nd;
	j->kind = kind;
	snprintf(j->id, sizeof(j->id), "%s", id);
	netd_endpoint_netns_path(nd, id, j->netns, sizeof(j->netns));
	return j;
}

static void ep_describe_attach(const struct netd_attachment *a, struct epk_attach *k,
			       bool default_route)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->bridge, sizeof(k->bridge), "%s", a->net->bridge);
	snprintf(k->host_veth, sizeof(k->host_veth), "%s", a->host_veth);
	snprintf(k->ifname, sizeof(k->ifname), "%s", a->ifname);
	k->ip = a->ip;
	k->gateway = a->net->ipam.gateway;
	k->prefix = a->net->ipam.prefix;
	k->default_route = default_route;
}

/* Queue the removal of ep's kernel objects (veths, and the namespace if whole). */
void netd_endpoint_teardown(struct netd *nd, const struct netd_endpoint *ep, const size_t *only)
{
	struct ep_job *j = ep_job_new(nd, EPJ_TEARDOWN, ep->id, NULL);
	if (!only) {
		/* Deleting a veth waits out an RCU grace period (~0.2 s here) and would hold up
		 * the creates queued behind it. Unmounting the namespace (microseconds) is enough:
		 * once its last user is gone the kernel destroys it, and its veth pairs with it,
		 * in the background. */
		if (ep->mode != NETD_MODE_HOST)
			epk_netns_remove(j->netns);
		free(j);
		return;
	}
	for (size_t i = 0; i < ep->n_att; i++) {
		if (!ep->att[i].host_veth[0] || (only && *only != i))
			continue;
		snprintf(j->veths[j->n_veths++], IFNAMSIZ, "%s", ep->att[i].host_veth);
	}
	netd_worker_submit(nd->worker, &j->job);
}

/* Point every published port of ep at its first address (or nowhere without one). */
void netd_endpoint_backends_sync(struct netd *nd, struct netd_endpoint *ep)
{
	uint32_t ip = ep->n_att ? ep->att[0].ip : 0;
	char addr[16];
	ipam_format_ip(ip, addr);
	for (size_t i = 0; i < ep->n_ports; i++) {
		struct netd_port *p = &ep->ports[i];
		struct berth_error err = {0};
		if (!ip)
			proxy_backend_remove(nd->proxy, p->host_ip, p->host_port, p->proto, ep->id);
		else if (proxy_backend_add(nd->proxy, p->host_ip, p->host_port, p->proto, ep->id,
					   addr, p->container_port, &err) < 0)
			log_warn("port %d: %s", p->host_port, err.msg);
	}
	if (ep->draining) /* a re-added backend stays out of the rotation */
		proxy_backend_set_draining(nd->proxy, ep->id, true);
	if (ep->unhealthy) /* also after a restart: the mark is in the state */
		proxy_backend_set_up(nd->proxy, ep->id, false);
	/* Port mode nat: the proxy keeps ep as the backend of its listener (which holds the
	 * port), but DNAT takes the connections before they reach it. */
	netd_firewall_ports_changed(nd, ep, false);
}

static int ep_parse_aliases(json_t *in, json_t **out, struct berth_error *err)
{
	*out = json_array();
	if (!in || json_is_null(in))
		return 0;
	size_t i;
	json_t *v;
	if (!json_is_array(in))
		return berth_err(err, 400, "Aliases must be an array of strings");
	json_array_foreach(in, i, v)
	{
		if (!json_is_string(v) || !*json_string_value(v))
			return berth_err(err, 400, "Aliases must be an array of strings");
		json_array_append(*out, v);
	}
	return 0;
}

/* Lease the address of a new attachment on net (a fixed one if asked). */
static int ep_lease(struct netd_network *net, const char *want, uint32_t *ip,
		    struct berth_error *err)
{
	if (want && *want) {
		if (ipam_parse_ip(want, ip) < 0)
			return berth_err(err, 400, "invalid IPv4 address %s", want);
		return ipam_reserve(&net->ipam, *ip, err);
	}
	if (ipam_alloc(&net->ipam, ip) == 0)
		return 0;
	char subnet[20];
	ipam_format_cidr(net->ipam.subnet, net->ipam.prefix, subnet);
	return berth_err(err, 409,
			 "no available IPv4 addresses on this network's address pools: %s (%s)",
			 net->name, subnet);
}

static int ep_parse_ports(json_t *in, struct netd_endpoint *ep, struct berth_error *err)
{
	if (!in || json_is_null(in))
		return 0;
	if (!json_is_array(in))
		return berth_err(err, 400, "Ports must be an array");
	ep->ports = calloc(json_array_size(in) + 1, sizeof(*ep->ports));
	if (!ep->ports)
		abort();
	size_t i;
	json_t *v;
	json_array_foreach(in, i, v)
	{
		struct netd_port *p = &ep->ports[ep->n_ports++];
		json_t *cp = json_object_get(v, "ContainerPort"),
		       *hp = json_object_get(v, "HostPort");
		const char *proto = json_string_value(json_object_get(v, "Proto"));
		const char *hip = json_string_value(json_object_get(v, "HostIp"));
		const char *svc = json_string_value(json_object_get(v, "Service"));
		if (!json_is_object(v) || !json_is_integer(cp) || (hp && !json_is_integer(hp)))
			return berth_err(
			    err, 400, "invalid port: ContainerPort and HostPort must be numbers");
		json_int_t c = json_integer_value(cp), h = hp ? json_integer_value(hp) : 0;
		if (c < 1 || c > 65535)
			return berth_err(err, 400, "invalid container port %lld: must be 1-65535",
					 (long long)c);
		if (h < 0 || h > 65535)
			return berth_err(err, 400,
					 "invalid host port %lld: must be 1-65535 (or 0 for any)",
					 (long long)h);
		p->container_port = (int)c;
		p->host_port = (int)h;
		if (port_parse_proto(proto, &p->proto) < 0)
			return berth_err(err, 400, "invalid protocol %s: only tcp and udp", proto);
		snprintf(p->host_ip, sizeof(p->host_ip), "%s", hip ? hip : "");
		if (hip && strlen(hip) >= sizeof(p->host_ip))
			return berth_err(err, 400, "invalid host IP %s: expected an IPv4 address",
					 hip);
		p->service = strdup(svc ? svc : "");
		if (port_validate(p, err) < 0)
			return -1;
	}
	return 0;
}

static void ep_reply_error(struct berth_http_call *call, struct berth_error *err)
{
	if (call)
		berth_http_reply_error(call, err);
}

static void ep_create_failed(struct ep_job *j, struct netd_endpoint *ep);

static void ep_removed_saved(void *arg, int err)
{
	berth_http_reply_empty(arg, 204);
}

static void saved_ignore(void *arg, int err)
{
}

static void ep_create_saved(void *arg, int err)
{
	struct ep_job *j = arg;
	struct netd *nd = j->nd;
	struct netd_endpoint *ep = netd_endpoint_find(nd, j->id);
	if (!ep) { /* cannot happen: busy endpoints are not removed */
		free(j);
		return;
	}
	ep->busy = ep->create_saving = false;
	if (err || ep->orphaned) {
		if (err)
			berth_err_errno(&j->err, 500, err, "save the network state");
		else
			berth_err(&j->err, 409, "container %.12s is gone (POST /reconcile)",
				  ep->id);
		j->rc = 0; /* made: tear it down */
		ep_create_failed(j, ep);
		netd_state_save_then(nd, saved_ignore, NULL); /* it was in that version */
		return;
	}
	netd_endpoint_backends_sync(nd, ep);
	log_info("endpoint %.12s created", ep->id);
	if (j->call)
		berth_http_reply_json(j->call, j->reply_status, netd_endpoint_json(nd, ep));
	free(j);
}

static void ep_create_done(struct netd_job *job)
{
	struct ep_job *j = (struct ep_job *)job;
	struct netd *nd = j->nd;
	struct netd_endpoint *ep = netd_endpoint_find(nd, j->id);
	if (!ep) { /* cannot happen: busy endpoints are not removed */
		free(j);
		return;
	}
	ep->creating = false;
	if (j->rc == 0 && ep->orphaned)
		berth_err(&j->err, 409, "container %.12s is gone (POST /reconcile)", ep->id);
	else if (j->rc == 0) {
		/* Busy until its state is on disk (group commit: state_commit.c); answered then. */
		ep->create_saving = true;
		netd_state_save_then(nd, ep_create_saved, j);
		return;
	}
	ep->busy = false;
	ep_create_failed(j, ep);
}

static void ep_create_failed(struct ep_job *j, struct netd_endpoint *ep)
{
	struct netd *nd = j->nd;
	log_warn("endpoint %.12s: %s", ep->id, j->err.msg);
	ep_reply_error(j->call, &j->err);
	netd_endpoint_forget(nd, ep);
	if (j->rc == 0) /* the kernel side exists but is not to be recorded */
		netd_endpoint_teardown(nd, ep, NULL);
	netd_endpoint_free(ep);
	free(j);
}

void netd_endpoint_create(struct netd *nd, struct berth_http_call *call, json_t *req)
{
	struct berth_error err = {0};
	const char *id = json_string_value(json_object_get(req, "ContainerId"));
	const char *netname = json_string_value(json_object_get(req, "Network"));
	if (!netname || !*netname || strcmp(netname, "default") == 0)
		netname = "bridge";
	if (!id || strlen(id) != BERTH_ID_LEN || !berth_is_hex(id, BERTH_ID_LEN)) {
		berth_http_reply_errorf(call, 400, "invalid ContainerId: 64 hex digits expected");
		return;
	}
	if (netd_endpoint_find(nd, id)) {
		berth_http_reply_errorf(call, 409, "container %.12s already has an endpoint", id);
		return;
	}
	struct netd_network *net = netd_network_find(nd, netname);
	if (!net) {
		berth_http_reply_errorf(call, 404, "network %s not found", netname);
		return;
	}
	struct netd_endpoint *ep = calloc(1, sizeof(*ep));
	if (!ep)
		abort();
	snprintf(ep->id, sizeof(ep->id), "%s", id);
	const char *name = json_string_value(json_object_get(req, "Name"));
	const char *hostname = json_string_value(json_object_get(req, "Hostname"));
	ep->name = strdup(name ? (*name == '/' ? name + 1 : name) : "");
	ep->hostname = strdup(hostname ? hostname : "");
	ep->mode = net->driver == NETD_DRIVER_HOST   ? NETD_MODE_HOST
		   : net->driver == NETD_DRIVER_NULL ? NETD_MODE_NONE
						     : NETD_MODE_BRIDGE;
	struct netd_attachment *a = &ep->att[ep->n_att++];
	size_t bound = 0;
	a->net = net;
	if (ep_parse_aliases(json_object_get(req, "Aliases"), &a->aliases, &err) < 0 ||
	    ep_parse_ports(json_object_get(req, "Ports"), ep, &err) < 0)
		goto fail;
	if (ep->mode != NETD_MODE_BRIDGE) {
		/* Docker discards published ports with host and none networking. */
		for (size_t i = 0; i < ep->n_ports; i++)
			free(ep->ports[i].service);
		ep->n_ports = 0;
	} else {
		snprintf(a->ifname, sizeof(a->ifname), "eth0");
		netd_attachment_veth_name(nd, ep->id, 0, a->host_veth);
		if (ep_lease(net, json_string_value(json_object_get(req, "IPAddress")), &a->ip,
			     &err) < 0) {
			a->ip = 0;
			goto fail;
		}
	}
	for (; bound < ep->n_ports; bound++)
		if (port_table_bind(&nd->ports, &ep->ports[bound], &err) < 0)
			goto fail;
	ep->next = nd->endpoints;
	nd->endpoints = ep;
	if (ep->mode == NETD_MODE_HOST) {
		if (netd_state_save(nd, &err) < 0) {
			netd_endpoint_forget(nd, ep);
			netd_endpoint_free(ep);
			berth_http_reply_error(call, &err);
			return;
		}
		berth_http_reply_json(call, 201, netd_endpoint_json(nd, ep));
		return;
	}
	ep->busy = ep->creating = true;
	struct ep_job *j = ep_job_new(nd, EPJ_SETUP, id, ep_create_done);
	j->call = call;
	j->reply_status = 201;
	j->netns_create = true;
	if (ep->mode == NETD_MODE_BRIDGE) {
		ep_describe_attach(a, &j->att[0], true);
		j->n_att = 1;
	}
	netd_worker_submit(nd->worker, &j->job);
	return;
fail:
	/* Give back what was taken; the endpoint is not in the list yet. */
	for (size_t i = 0; i < bound; i++)
		port_table_unbind(&nd->ports, &ep->ports[i]);
	if (a->ip)
		ipam_release(&net->ipam, a->ip);
	netd_endpoint_free(ep);
	berth_http_reply_error(call, &err);
}

void netd_endpoint_delete(struct netd *nd, struct berth_http_call *call, const char *id)
{
	struct netd_endpoint *ep = netd_endpoint_find(nd, id);
	if (!ep) {
		berth_http_reply_errorf(call, 404, "no endpoint for container %s", id);
		return;
	}
	if (ep->busy) {
		berth_http_reply_errorf(call, 409,
					"the endpoint of container %.12s is being set up", id);
		return;
	}
	netd_endpoint_forget(nd, ep);
	netd_endpoint_teardown(nd, ep, NULL);
	log_info("endpoint %.12s removed", ep->id);
	netd_endpoint_free(ep);
	/* Answered once the state without it is on disk (a failure is logged: the endpoint is
	 * gone either way, and a stale entry is dropped by the next reconcile). */
	netd_state_save_then(nd, ep_removed_saved, call);
}

static void ep_connect_done(struct netd_job *job)
{
	struct ep_job *j = (struct ep_job *)job;
	struct netd *nd = j->nd;
	struct netd_endpoint *ep = netd_endpoint_find(nd, j->id);
	if (!ep) {
		free(j);
		return;
	}
	ep->busy = false;
	ep->att[j->att_index].pending = false;
	if (j->rc == 0 && netd_state_save(nd, &j->err) == 0) {
		if (j->att_index == 0)
			netd_endpoint_backends_sync(nd, ep);
		berth_http_reply_json(j->call, 200, netd_endpoint_json(nd, ep));
		free(j);
		return;
	}
	struct netd_attachment *a = &ep->att[j->att_index];
	if (j->rc == 0)
		netd_endpoint_teardown(nd, ep, &j->att_index);
	ipam_release(&a->net->ipam, a->ip);
	json_decref(a->aliases);
	ep->n_att--;
	berth_http_reply_error(j->call, &j->err);
	free(j);
}

static struct netd_endpoint *ep_for_change(struct netd *nd, struct berth_http_call *call,
					   const char *id, json_t *req, struct netd_network **net)
{
	struct netd_endpoint *ep = netd_endpoint_find(nd, id);
	const char *netname = json_string_value(json_object_get(req, "Network"));
	if (!ep) {
		berth_http_reply_errorf(call, 404, "no endpoint for container %s", id);
		return NULL;
	}
	*net = netd_network_find(nd, netname);
	if (!*net) {
		berth_http_reply_errorf(call, 404, "network %s not found", netname ? netname : "");
		return NULL;
	}
	if (ep->busy) {
		berth_http_reply_errorf(call, 409, "the endpoint of container %.12s is busy", id);
		return NULL;
	}
	if (ep->mode != NETD_MODE_BRIDGE || (*net)->driver != NETD_DRIVER_BRIDGE) {
		berth_http_reply_errorf(call, 400,
					"container cannot be disconnected from host network or "
					"connected to host network");
		return NULL;
	}
	return ep;
}

void netd_endpoint_connect(struct netd *nd, struct berth_http_call *call, const char *id,
			   json_t *req)
{
	struct netd_network *net;
	struct netd_endpoint *ep = ep_for_change(nd, call, id, req, &net);
	if (!ep)
		return;
	for (size_t i = 0; i < ep->n_att; i++)
		if (ep->att[i].net == net) {
			berth_http_reply_errorf(
			    call, 403, "endpoint with name %s already exists in network %s",
			    ep->name, net->name);
			return;
		}
	if (ep->n_att >= NETD_MAX_ATTACH) {
		berth_http_reply_errorf(call, 400, "container %.12s is on too many networks", id);
		return;
	}
	/* The lowest free ethN. */
	unsigned eth = 0;
	for (bool again = true; again;) {
		again = false;
		char name[IFNAMSIZ];
		snprintf(name, sizeof(name), "eth%u", eth);
		for (size_t i = 0; i < ep->n_att; i++)
			if (strcmp(ep->att[i].ifname, name) == 0) {
				eth++;
				again = true;
			}
	}
	struct berth_error err = {0};
	struct netd_attachment *a = &ep->att[ep->n_att];
	memset(a, 0, sizeof(*a));
	a->net = net;
	if (ep_parse_aliases(json_object_get(req, "Aliases"), &a->aliases, &err) < 0 ||
	    ep_lease(net, json_string_value(json_object_get(req, "IPAddress")), &a->ip, &err) < 0) {
		json_decref(a->aliases);
		berth_http_reply_error(call, &err);
		return;
	}
	snprintf(a->ifname, sizeof(a->ifname), "eth%u", eth);
	netd_attachment_veth_name(nd, ep->id, eth, a->host_veth);
	struct ep_job *j = ep_job_new(nd, EPJ_SETUP, id, ep_connect_done);
	j->call = call;
	j->att_index = ep->n_att;
	ep_describe_attach(a, &j->att[0], ep->n_att == 0);
	j->n_att = 1;
	a->pending = true;
	ep->n_att++;
	ep->busy = true;
	netd_worker_submit(nd->worker, &j->job);
}

void netd_endpoint_disconnect(struct netd *nd, struct berth_http_call *call, const char *id,
			      json_t *req)
{
	struct netd_network *net;
	struct netd_endpoint *ep = ep_for_change(nd, call, id, req, &net);
	if (!ep)
		return;
	size_t i = 0;
	while (i < ep->n_att && ep->att[i].net != net)
		i++;
	if (i == ep->n_att) {
		berth_http_reply_errorf(call, 404, "container %.12s is not connected to network %s",
					id, net->name);
		return;
	}
	netd_endpoint_teardown(nd, ep, &i);
	ipam_release(&net->ipam, ep->att[i].ip);
	json_decref(ep->att[i].aliases);
	memmove(&ep->att[i], &ep->att[i + 1], (ep->n_att - i - 1) * sizeof(ep->att[0]));
	ep->n_att--;
	if (i == 0)
		netd_endpoint_backends_sync(nd, ep);
	struct berth_error err = {0};
	if (netd_state_save(nd, &err) < 0)
		log_error("%s", err.msg);
	berth_http_reply_json(call, 200, netd_endpoint_json(nd, ep));
}

void netd_endpoint_health(struct netd *nd, struct berth_http_call *call, const char *id,
			  json_t *req)
{
	struct netd_endpoint *ep = netd_endpoint_find(nd, id);
	if (!ep || ep->creating) {
		berth_http_reply_errorf(call, 404, "no endpoint for container %s", id);
		return;
	}
	json_t *healthy = json_object_get(req, "Healthy");
	if (!json_is_boolean(healthy)) {
		berth_http_reply_errorf(call, 400, "Healthy must be true or false");
		return;
	}
	/* Balanced ports skip a backend that is down for new connections; open ones stay. */
	proxy_backend_set_up(nd->proxy, ep->id, json_is_true(healthy));
	if (ep->unhealthy != json_is_false(healthy)) {
		ep->unhealthy = json_is_false(healthy);
		log_info("endpoint %.12s %s", ep->id, ep->unhealthy ? "unhealthy" : "healthy");
		struct berth_error err = {0};
		if (netd_state_save(nd, &err) < 0) {
			berth_http_reply_error(call, &err);
			return;
		}
	}
	berth_http_reply_empty(call, 204);
}
