/* Endpoints (one per container): bookkeeping, names of their kernel objects, JSON shape. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd.h"

struct netd_endpoint *netd_endpoint_find(struct netd *nd, const char *id)
{
	if (!id)
		return NULL;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		if (strcmp(ep->id, id) == 0)
			return ep;
	return NULL;
}

void netd_endpoint_free(struct netd_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->name);
	free(ep->hostname);
	for (size_t i = 0; i < ep->n_att; i++)
		json_decref(ep->att[i].aliases);
	for (size_t i = 0; i < ep->n_ports; i++)
		free(ep->ports[i].service);
	free(ep->ports);
	free(ep->fw_ports);
	free(ep);
}

void netd_endpoint_forget(struct netd *nd, struct netd_endpoint *ep)
{
	for (size_t i = 0; i < ep->n_ports; i++) {
		struct netd_port *p = &ep->ports[i];
		proxy_backend_remove(nd->proxy, p->host_ip, p->host_port, p->proto, ep->id);
		port_table_unbind(&nd->ports, p);
	}
	for (size_t i = 0; i < ep->n_att; i++)
		if (ep->att[i].ip)
			ipam_release(&ep->att[i].net->ipam, ep->att[i].ip);
	for (struct netd_endpoint **p = &nd->endpoints; *p; p = &(*p)->next)
		if (*p == ep) {
			*p = ep->next;
			break;
		}
	ep->next = NULL;
	netd_firewall_ports_changed(nd, ep, true);
}

void netd_endpoint_netns_path(struct netd *nd, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", nd->netns_dir, id);
}

static bool netd_veth_name_taken(struct netd *nd, const char *name)
{
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->n_att; i++)
			if (strcmp(ep->att[i].host_veth, name) == 0)
				return true;
	return false;
}

void netd_attachment_veth_name(struct netd *nd, const char *id, size_t index, char out[IFNAMSIZ])
{
	/* Two ids sharing 10 hex digits must not share a veth: a stale veth of the same name is
	 * deleted when a pair is made, which must never hit a live one. */
	for (size_t n = index; n < index + 1000 * NETD_MAX_ATTACH; n += NETD_MAX_ATTACH) {
		snprintf(out, IFNAMSIZ, "vb%.10s.%zu", id, n);
		if (!netd_veth_name_taken(nd, out))
			return;
	}
}

void netd_mac_from_ip(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	mac[2] = (uint8_t)(ip >> 24);
	mac[3] = (uint8_t)(ip >> 16);
	mac[4] = (uint8_t)(ip >> 8);
	mac[5] = (uint8_t)ip;
}

void netd_mac_format(uint32_t ip, char out[18])
{
	uint8_t m[6];
	netd_mac_from_ip(ip, m);
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

json_t *netd_endpoint_json(struct netd *nd, const struct netd_endpoint *ep)
{
	json_t *nets = json_object(), *ports = json_array(), *dns = json_array();
	for (size_t i = 0; i < ep->n_att; i++) {
		const struct netd_attachment *a = &ep->att[i];
		char ip[16] = "", gw[16] = "", mac[18] = "";
		int prefix = 0;
		if (a->ip) {
			ipam_format_ip(a->ip, ip);
			ipam_format_ip(a->net->ipam.gateway, gw);
			netd_mac_format(a->ip, mac);
			prefix = a->net->ipam.prefix;
			json_array_append_new(dns, json_string(gw));
		}
		json_object_set_new(nets, a->net->name,
				    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:O}", "NetworkId",
					      a->net->id, "IPAddress", ip, "IPPrefixLen", prefix,
					      "Gateway", gw, "MacAddress", mac, "Interface",
					      a->ifname, "Aliases", a->aliases));
	}
	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct netd_port *p = &ep->ports[i];
		json_array_append_new(ports, json_pack("{s:i, s:s, s:s, s:i}", "ContainerPort",
						       p->container_port, "Proto",
						       port_proto_name(p->proto), "HostIp",
						       p->host_ip, "HostPort", p->host_port));
	}
	static const char *modes[] = {"bridge", "none", "host"};
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "ContainerId", ep->id, "Name",
			      ep->name ? ep->name : "", "Mode", modes[ep->mode], "Networks", nets,
			      "Ports", ports, "Dns", dns);
	/* Open TCP connections through its published ports: what a drain waits for. */
	json_object_set_new(j, "Draining", json_boolean(ep->draining));
	json_object_set_new(
	    j, "Connections",
	    json_integer(nd->proxy ? (json_int_t)proxy_backend_connections(nd->proxy, ep->id) : 0));
	json_object_set_new(j, "Healthy", json_boolean(!ep->unhealthy));
	if (ep->mode != NETD_MODE_HOST) {
		char path[PATH_MAX];
		netd_endpoint_netns_path(nd, ep->id, path, sizeof(path));
		json_object_set_new(j, "Netns", json_string(path));
	}
	return j;
}
