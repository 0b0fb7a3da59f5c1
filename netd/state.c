/* netd's state file ($BERTH_ROOT/netd/state.json): networks, endpoints with their leases and
 * port bindings. Leases are not stored apart: they are the endpoints' addresses, so an address
 * can only be held by a recorded endpoint. Written atomically after every change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "netd.h"

#define NETD_STATE_VERSION 1

static const char *netd_driver_names[] = {"bridge", "host", "null"};
static const char *netd_mode_names[] = {"bridge", "none", "host"};

static json_t *netd_state_network(const struct netd_network *n)
{
	char subnet[20] = "", gw[16] = "", last[16] = "";
	if (n->ipam.prefix > 0) {
		ipam_format_cidr(n->ipam.subnet, n->ipam.prefix, subnet);
		ipam_format_ip(n->ipam.gateway, gw);
		ipam_format_ip(n->ipam.last, last);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:O, s:I}", "Id", n->id,
			 "Name", n->name, "Driver", netd_driver_names[n->driver], "Bridge",
			 n->bridge, "Subnet", subnet, "Gateway", gw, "LastIP", last, "Internal",
			 n->internal, "Predefined", n->predefined, "Labels", n->labels, "Created",
			 (json_int_t)n->created_ns);
}

static json_t *netd_state_endpoint(const struct netd_endpoint *ep)
{
	json_t *atts = json_array(), *ports = json_array();
	for (size_t i = 0; i < ep->n_att; i++) {
		const struct netd_attachment *a = &ep->att[i];
		if (a->pending)
			continue;
		char ip[16] = "";
		if (a->ip)
			ipam_format_ip(a->ip, ip);
		json_array_append_new(atts,
				      json_pack("{s:s, s:s, s:s, s:s, s:O}", "Network", a->net->id,
						"IPAddress", ip, "Ifname", a->ifname, "HostVeth",
						a->host_veth, "Aliases", a->aliases));
	}
	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct netd_port *p = &ep->ports[i];
		json_array_append_new(ports, json_pack("{s:i, s:s, s:s, s:i, s:s}", "ContainerPort",
						       p->container_port, "Proto",
						       port_proto_name(p->proto), "HostIp",
						       p->host_ip, "HostPort", p->host_port,
						       "Service", p->service ? p->service : ""));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "ContainerId", ep->id, "Name",
			 ep->name ? ep->name : "", "Hostname", ep->hostname ? ep->hostname : "",
			 "Mode", netd_mode_names[ep->mode], "Attachments", atts, "Ports", ports,
			 "Healthy", !ep->unhealthy);
}

json_t *netd_state_to_json(struct netd *nd)
{
	json_t *nets = json_array(), *eps = json_array();
	for (struct netd_network *n = nd->networks; n; n = n->next)
		json_array_append_new(nets, netd_state_network(n));
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		if (!ep->creating)
			json_array_append_new(eps, netd_state_endpoint(ep));
	return json_pack("{s:i, s:i, s:o, s:o}", "Version", NETD_STATE_VERSION, "LastPort",
			 nd->ports.last, "Networks", nets, "Endpoints", eps);
}

int netd_state_save(struct netd *nd, struct berth_error *err)
{
	netd_state_commit_flush(nd);
	_cleanup_json_ json_t *j = netd_state_to_json(nd);
	if (berth_write_json_atomic(nd->state_path, j, err) < 0)
		return berth_err_wrap(err, "save the network state");
	return 0;
}

static int netd_index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static struct netd_network *netd_state_load_network(json_t *o, struct berth_error *err)
{
	const char *id = json_string_value(json_object_get(o, "Id"));
	const char *name = json_string_value(json_object_get(o, "Name"));
	int driver =
	    netd_index_of(netd_driver_names, 3, json_string_value(json_object_get(o, "Driver")));
	if (!id || strlen(id) != BERTH_ID_LEN || !name || driver < 0) {
		berth_err(err, 500, "a network without id, name or driver");
		return NULL;
	}
	struct netd_network *n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->name = strdup(name);
	n->driver = (enum netd_driver)driver;
	snprintf(n->bridge, sizeof(n->bridge), "%s",
		 json_string_value(json_object_get(o, "Bridge")) ?: "");
	n->internal = json_is_true(json_object_get(o, "Internal"));
	n->predefined = json_is_true(json_object_get(o, "Predefined"));
	json_t *labels = json_object_get(o, "Labels");
	n->labels = json_is_object(labels) ? json_incref(labels) : json_object();
	n->created_ns = json_integer_value(json_object_get(o, "Created"));
	const char *subnet = json_string_value(json_object_get(o, "Subnet"));
	if (n->driver == NETD_DRIVER_BRIDGE) {
		uint32_t s, gw = 0, last = 0;
		int prefix;
		ipam_parse_ip(json_string_value(json_object_get(o, "Gateway")), &gw);
		if (ipam_parse_cidr(subnet, &s, &prefix, err) < 0 ||
		    ipam_init(&n->ipam, s, prefix, gw, err) < 0) {
			berth_err_wrap(err, "network %s", name);
			netd_network_free(n);
			return NULL;
		}
		if (ipam_parse_ip(json_string_value(json_object_get(o, "LastIP")), &last) == 0 &&
		    ipam_contains(&n->ipam, last))
			n->ipam.last = last;
	}
	return n;
}

static struct netd_endpoint *netd_state_load_endpoint(struct netd *nd, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "ContainerId"));
	int mode = netd_index_of(netd_mode_names, 3, json_string_value(json_object_get(o, "Mode")));
	if (!id || strlen(id) != BERTH_ID_LEN || mode < 0) {
		log_warn("state: an endpoint without container id or mode: dropped");
		return NULL;
	}
	struct netd_endpoint *ep = calloc(1, sizeof(*ep));
	if (!ep)
		abort();
	snprintf(ep->id, sizeof(ep->id), "%s", id);
	ep->name = strdup(json_string_value(json_object_get(o, "Name")) ?: "");
	ep->hostname = strdup(json_string_value(json_object_get(o, "Hostname")) ?: "");
	ep->mode = (enum netd_mode)mode;
	ep->unhealthy = json_is_false(json_object_get(o, "Healthy")); /* absent: healthy */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "Attachments"), i, v)
	{
		if (ep->n_att >= NETD_MAX_ATTACH)
			break;
		struct netd_network *net =
		    netd_network_by_id(nd, json_string_value(json_object_get(v, "Network")) ?: "");
		if (!net) {
			log_warn("state: endpoint %.12s: unknown network: attachment dropped", id);
			continue;
		}
		struct netd_attachment *a = &ep->att[ep->n_att];
		memset(a, 0, sizeof(*a));
		a->net = net;
		const char *ip = json_string_value(json_object_get(v, "IPAddress"));
		if (ip && *ip) {
			struct berth_error err = {0};
			if (ipam_parse_ip(ip, &a->ip) < 0 ||
			    ipam_reserve(&net->ipam, a->ip, &err) < 0) {
				log_warn("state: endpoint %.12s: address %s: %s: dropped", id, ip,
					 err.msg);
				continue;
			}
		}
		snprintf(a->ifname, sizeof(a->ifname), "%s",
			 json_string_value(json_object_get(v, "Ifname")) ?: "");
		snprintf(a->host_veth, sizeof(a->host_veth), "%s",
			 json_string_value(json_object_get(v, "HostVeth")) ?: "");
		json_t *aliases = json_object_get(v, "Aliases");
		a->aliases = json_is_array(aliases) ? json_incref(aliases) : json_array();
		ep->n_att++;
	}
	json_t *ports = json_object_get(o, "Ports");
	ep->ports = calloc(json_array_size(ports) + 1, sizeof(*ep->ports));
	if (!ep->ports)
		abort();
	json_array_foreach(ports, i, v)
	{
		struct netd_port *p = &ep->ports[ep->n_ports];
		struct berth_error err = {0};
		p->container_port = (int)json_integer_value(json_object_get(v, "ContainerPort"));
		p->host_port = (int)json_integer_value(json_object_get(v, "HostPort"));
		snprintf(p->host_ip, sizeof(p->host_ip), "%s",
			 json_string_value(json_object_get(v, "HostIp")) ?: "");
		p->service = strdup(json_string_value(json_object_get(v, "Service")) ?: "");
		if (port_parse_proto(json_string_value(json_object_get(v, "Proto")), &p->proto) <
			0 ||
		    port_validate(p, &err) < 0 || p->host_port == 0) {
			log_warn("state: endpoint %.12s: a bad port dropped", id);
			free(p->service);
			continue;
		}
		port_table_restore(&nd->ports, p);
		ep->n_ports++;
	}
	return ep;
}

int netd_state_from_json(struct netd *nd, json_t *root, struct berth_error *err)
{
	json_int_t version = json_integer_value(json_object_get(root, "Version"));
	if (version != NETD_STATE_VERSION)
		return berth_err(err, 500, "unknown state version %lld", (long long)version);
	json_int_t last = json_integer_value(json_object_get(root, "LastPort"));
	if (last >= nd->ports.low && last <= nd->ports.high)
		nd->ports.last = (int)last;
	size_t i;
	json_t *v;
	struct netd_network **tail = &nd->networks;
	json_array_foreach(json_object_get(root, "Networks"), i, v)
	{
		struct netd_network *n = netd_state_load_network(v, err);
		if (!n)
			return -1;
		if (netd_network_find(nd, n->name)) {
			log_warn("state: duplicate network %s dropped", n->name);
			netd_network_free(n);
			continue;
		}
		*tail = n;
		tail = &n->next;
	}
	struct netd_endpoint **etail = &nd->endpoints;
	json_array_foreach(json_object_get(root, "Endpoints"), i, v)
	{
		struct netd_endpoint *ep = netd_state_load_endpoint(nd, v);
		if (!ep)
			continue;
		*etail = ep;
		etail = &ep->next;
	}
	return 0;
}

int netd_state_load(struct netd *nd, struct berth_error *err)
{
	if (access(nd->state_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	_cleanup_json_ json_t *root = berth_read_json(nd->state_path, err);
	if (!root)
		return berth_err_wrap(err, "load %s", nd->state_path);
	if (netd_state_from_json(nd, root, err) < 0)
		return berth_err_wrap(err, "load %s", nd->state_path);
	return 0;
}
