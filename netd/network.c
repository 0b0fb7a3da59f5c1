/* Networks: the predefined bridge/host/none, user-defined bridges, their kernel bridges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/log.h"
#include "dns.h"
#include "link.h"
#include "netd.h"
#include "subnet_check.h"

struct netd_network *netd_network_by_id(struct netd *nd, const char *id)
{
	for (struct netd_network *n = nd->networks; n; n = n->next)
		if (strcmp(n->id, id) == 0)
			return n;
	return NULL;
}

struct netd_network *netd_network_find(struct netd *nd, const char *name_or_id)
{
	if (!name_or_id || !*name_or_id)
		return NULL;
	struct netd_network *n = netd_network_by_id(nd, name_or_id);
	if (n)
		return n;
	for (n = nd->networks; n; n = n->next)
		if (strcmp(n->name, name_or_id) == 0)
			return n;
	/* A unique id prefix. */
	struct netd_network *found = NULL;
	size_t len = strlen(name_or_id);
	for (n = nd->networks; n; n = n->next)
		if (strncmp(n->id, name_or_id, len) == 0) {
			if (found)
				return NULL;
			found = n;
		}
	return found;
}

void netd_network_free(struct netd_network *net)
{
	if (!net)
		return;
	free(net->name);
	ipam_destroy(&net->ipam);
	json_decref(net->labels);
	free(net);
}

static bool netd_network_has_endpoints(struct netd *nd, const struct netd_network *net)
{
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->n_att; i++)
			if (ep->att[i].net == net)
				return true;
	return false;
}

static struct netd_network *netd_network_alloc(const char *name, enum netd_driver driver)
{
	struct netd_network *net = calloc(1, sizeof(*net));
	if (!net)
		abort();
	berth_id_random(net->id);
	net->name = strdup(name);
	net->driver = driver;
	net->labels = json_object();
	net->created_ns = berth_now_ns();
	return net;
}

static void netd_network_append(struct netd *nd, struct netd_network *net)
{
	struct netd_network **p = &nd->networks;
	while (*p)
		p = &(*p)->next;
	*p = net;
}

static bool netd_subnet_taken(struct netd *nd, uint32_t subnet, int prefix,
			      const struct netd_network *except)
{
	for (struct netd_network *n = nd->networks; n; n = n->next)
		if (n != except && n->ipam.prefix > 0 &&
		    ipam_overlaps(n->ipam.subnet, n->ipam.prefix, subnet, prefix))
			return true;
	return false;
}

int netd_network_pick_subnet(struct netd *nd, uint32_t *subnet, int *prefix,
			     struct berth_error *err)
{
	for (uint32_t second = 89; second <= 255; second++) {
		uint32_t s = (10u << 24) | (second << 16);
		if (!netd_subnet_taken(nd, s, 16, NULL) &&
		    subnet_check_routes("/proc/net/route", s, 16, NULL) == 0) {
			*subnet = s;
			*prefix = 16;
			return 0;
		}
	}
	return berth_err(err, 400,
			 "could not find an available, non-overlapping IPv4 address pool among "
			 "the defaults to assign to the network");
}

/* The bridge and its DNS listener. */
static int netd_network_up(struct netd *nd, struct netd_network *net, struct berth_error *err)
{
	if (net->driver != NETD_DRIVER_BRIDGE)
		return 0;
	if (link_bridge_ensure(nd->sk, net->bridge, net->ipam.gateway, net->ipam.prefix, err) < 0)
		return -1;
	if (nd->dns && dns_listen(nd->dns, net, err) < 0)
		return -1;
	return 0;
}

int netd_networks_setup(struct netd *nd, struct berth_error *err)
{
	static const struct {
		const char *name;
		enum netd_driver driver;
	} predefined[] = {
	    {"bridge", NETD_DRIVER_BRIDGE}, {"host", NETD_DRIVER_HOST}, {"none", NETD_DRIVER_NULL}};
	uint32_t subnet;
	int prefix;
	if (ipam_parse_cidr(nd->cfg.bridge_subnet, &subnet, &prefix, err) < 0 ||
	    subnet_check_reserved(subnet, prefix, err) < 0)
		return berth_err_wrap(err, "--bridge-subnet");
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		struct netd_network *net = netd_network_find(nd, predefined[i].name);
		if (!net) {
			net = netd_network_alloc(predefined[i].name, predefined[i].driver);
			netd_network_append(nd, net);
		}
		net->predefined = true;
		if (net->driver != NETD_DRIVER_BRIDGE)
			continue;
		snprintf(net->bridge, sizeof(net->bridge), "%s", nd->cfg.bridge_name);
		bool same = net->ipam.prefix == prefix && net->ipam.subnet == subnet;
		if (same)
			continue;
		if (net->ipam.prefix > 0 && netd_network_has_endpoints(nd, net)) {
			log_warn(
			    "--bridge-subnet %s ignored while containers use the bridge network",
			    nd->cfg.bridge_subnet);
			continue;
		}
		ipam_destroy(&net->ipam);
		if (ipam_init(&net->ipam, subnet, prefix, 0, err) < 0)
			return berth_err_wrap(err, "--bridge-subnet");
	}
	for (struct netd_network *n = nd->networks; n; n = n->next)
		if (netd_network_up(nd, n, err) < 0)
			return berth_err_wrap(err, "network %s", n->name);
	/* Whatever a killed netd left in the table is replaced. */
	return netd_firewall_sync(nd, err);
}

static bool netd_network_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || (p > s && strchr("_.-", *p));
		if (!ok)
			return false;
	}
	return true;
}

struct netd_network *netd_network_create(struct netd *nd, json_t *req, struct berth_error *err)
{
	const char *name = json_string_value(json_object_get(req, "Name"));
	const char *driver = json_string_value(json_object_get(req, "Driver"));
	const char *subnet_s = json_string_value(json_object_get(req, "Subnet"));
	const char *gateway_s = json_string_value(json_object_get(req, "Gateway"));
	json_t *labels = json_object_get(req, "Labels");
	if (!name || !*name) {
		berth_err(err, 400, "network name is required");
		return NULL;
	}
	if (!netd_network_name_valid(name)) {
		berth_err(err, 400,
			  "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
			  name);
		return NULL;
	}
	if (driver && *driver && strcmp(driver, "bridge") != 0) {
		berth_err(err, 400, "plugin \"%s\" not found", driver);
		return NULL;
	}
	if (netd_network_find(nd, name) && strcmp(netd_network_find(nd, name)->name, name) == 0) {
		berth_err(err, 409, "network with name %s already exists", name);
		return NULL;
	}
	if (labels && !json_is_object(labels) && !json_is_null(labels)) {
		berth_err(err, 400, "Labels must be an object");
		return NULL;
	}
	uint32_t subnet = 0, gateway = 0;
	int prefix = 0;
	if (subnet_s && *subnet_s) {
		if (ipam_parse_cidr(subnet_s, &subnet, &prefix, err) < 0 ||
		    subnet_check_reserved(subnet, prefix, err) < 0)
			return NULL;
		if (netd_subnet_taken(nd, subnet, prefix, NULL)) {
			berth_err(err, 400, "Pool overlaps with other one on this address space");
			return NULL;
		}
		if (subnet_check_routes("/proc/net/route", subnet, prefix, err) < 0)
			return NULL;
	} else if (netd_network_pick_subnet(nd, &subnet, &prefix, err) < 0) {
		return NULL;
	}
	if (gateway_s && *gateway_s && ipam_parse_ip(gateway_s, &gateway) < 0) {
		berth_err(err, 400, "invalid gateway %s: expected an IPv4 address", gateway_s);
		return NULL;
	}
	struct netd_network *net = netd_network_alloc(name, NETD_DRIVER_BRIDGE);
	if (ipam_init(&net->ipam, subnet, prefix, gateway, err) < 0) {
		netd_network_free(net);
		return NULL;
	}
	snprintf(net->bridge, sizeof(net->bridge), "br-%.12s", net->id);
	net->internal = json_is_true(json_object_get(req, "Internal"));
	if (json_is_object(labels)) {
		json_decref(net->labels);
		net->labels = json_deep_copy(labels);
	}
	if (netd_network_up(nd, net, err) < 0) {
		if (nd->dns)
			dns_unlisten(nd->dns, net);
		link_delete(nd->sk, net->bridge, NULL);
		netd_network_free(net);
		berth_err_wrap(err, "create network %s", name);
		return NULL;
	}
	netd_network_append(nd, net);
	if (netd_firewall_sync(nd, err) < 0 || netd_state_save(nd, err) < 0) {
		netd_network_remove(nd, net, NULL);
		return NULL;
	}
	log_info("network %s (%s) created", name, net->bridge);
	return net;
}

int netd_network_remove(struct netd *nd, struct netd_network *net, struct berth_error *err)
{
	if (net->predefined)
		return berth_err(err, 403, "%s is a pre-defined network and cannot be removed",
				 net->name);
	if (netd_network_has_endpoints(nd, net))
		return berth_err(err, 409,
				 "error while removing network: network %s id %s has active "
				 "endpoints",
				 net->name, net->id);
	for (struct netd_network **p = &nd->networks; *p; p = &(*p)->next)
		if (*p == net) {
			*p = net->next;
			break;
		}
	if (nd->dns)
		dns_unlisten(nd->dns, net);
	struct berth_error e = {0};
	if (netd_firewall_sync(nd, &e) < 0)
		log_warn("%s", e.msg);
	e.msg[0] = '\0';
	if (link_delete(nd->sk, net->bridge, &e) < 0)
		log_warn("%s", e.msg);
	log_info("network %s removed", net->name);
	netd_network_free(net);
	return netd_state_save(nd, err);
}

json_t *netd_network_json(struct netd *nd, const struct netd_network *net)
{
	static const char *drivers[] = {"bridge", "host", "null"};
	char created[64], subnet[20] = "", gateway[16] = "";
	berth_format_rfc3339(net->created_ns, created, sizeof(created));
	if (net->ipam.prefix > 0) {
		ipam_format_cidr(net->ipam.subnet, net->ipam.prefix, subnet);
		ipam_format_ip(net->ipam.gateway, gateway);
	}
	json_t *eps = json_object();
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->n_att; i++) {
			const struct netd_attachment *a = &ep->att[i];
			if (a->net != net)
				continue;
			char ip[20] = "", mac[18] = "";
			if (a->ip) {
				ipam_format_cidr(a->ip, net->ipam.prefix, ip);
				netd_mac_format(a->ip, mac);
			}
			json_object_set_new(eps, ep->id,
					    json_pack("{s:s, s:s, s:s}", "Name",
						      ep->name ? ep->name : "", "IPAddress", ip,
						      "MacAddress", mac));
		}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:O, s:s, s:o}", "Id", net->id,
			 "Name", net->name, "Driver", drivers[net->driver], "Bridge", net->bridge,
			 "Subnet", subnet, "Gateway", gateway, "Internal", net->internal, "Labels",
			 net->labels, "Created", created, "Endpoints", eps);
}
