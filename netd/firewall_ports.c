/* Port mode nat, netd's side: which published ports are DNAT'd, their map elements per
 * endpoint (changed in small transactions), route_localnet and hairpin mode, and
 * netd_firewall_sync, which replaces the whole table (firewall.c renders it). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/log.h"
#include "firewall.h"
#include "link.h"
#include "netd.h"

const char *netd_port_mode_name(enum netd_port_mode m)
{
	return m == NETD_PORTS_NAT ? "nat" : "proxy";
}

bool netd_port_natted(const struct netd *nd, const struct netd_endpoint *ep,
		      const struct netd_port *p)
{
	return nd->cfg.port_mode == NETD_PORTS_NAT && !nd->cfg.no_firewall &&
	       ep->mode == NETD_MODE_BRIDGE && !ep->creating && !ep->draining && ep->n_att &&
	       ep->att[0].ip && p->proto == PROXY_TCP && !(p->service && p->service[0]);
}

bool netd_endpoint_natted(const struct netd *nd, const struct netd_endpoint *ep)
{
	for (size_t i = 0; i < ep->n_ports; i++)
		if (netd_port_natted(nd, ep, &ep->ports[i]))
			return true;
	return false;
}

/* DNAT of 127.0.0.1 routes a packet with a loopback source out of the bridge: the kernel
 * drops that as a martian unless route_localnet is on there (Docker does the same). */
static void firewall_route_localnet(const char *bridge)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	FILE *f = fopen(path, "we");
	bool ok = f && fputs("1\n", f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		log_warn("%s: cannot set route_localnet: 127.0.0.1 will not reach published ports",
			 bridge);
}

/* ep's DNAT'd ports as map elements (NULL when none). */
static struct firewall_port *firewall_endpoint_ports(struct netd *nd, struct netd_endpoint *ep,
						     size_t *n)
{
	*n = 0;
	struct firewall_port *ports = NULL;
	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct netd_port *p = &ep->ports[i];
		if (!netd_port_natted(nd, ep, p))
			continue;
		if (!ports && !(ports = calloc(ep->n_ports, sizeof(*ports))))
			abort();
		struct in_addr a = {0};
		inet_pton(AF_INET, p->host_ip, &a); /* validated when bound */
		ports[(*n)++] = (struct firewall_port){.host_ip = ntohl(a.s_addr),
						       .host_port = p->host_port,
						       .backend_ip = ep->att[0].ip,
						       .backend_port = p->container_port};
	}
	return ports;
}

static void firewall_endpoint_set(struct netd_endpoint *ep, struct firewall_port *ports, size_t n)
{
	free(ep->fw_ports);
	ep->fw_ports = ports;
	ep->n_fw_ports = n;
}

void netd_firewall_ports_changed(struct netd *nd, struct netd_endpoint *ep, bool gone)
{
	size_t n = 0;
	struct firewall_port *now = gone ? NULL : firewall_endpoint_ports(nd, ep, &n);
	if (!n && !ep->n_fw_ports)
		return; /* nothing of ep in the table before or after */
	if (n && (!ep->n_fw_ports || nd->fw_defer) && ep->att[0].host_veth[0]) {
		/* With br_netfilter loaded (bridge-nf-call-iptables), a container's connection to
		 * its own published port is DNAT'd back to it and bridged out the port it came in
		 * on: the port needs hairpin mode, as Docker sets with --userland-proxy=false. */
		struct berth_error e = {0};
		if (link_set_hairpin(nd->sk, ep->att[0].host_veth, &e) < 0)
			log_warn("endpoint %.12s: %s", ep->id, e.msg);
	}
	if (nd->fw_defer) { /* the table is rebuilt whole at the end of recovery */
		firewall_endpoint_set(ep, now, n);
		return;
	}
	struct berth_error err = {0};
	char *script = firewall_render_port_update(ep->fw_ports, ep->n_fw_ports, now, n, &err);
	int rc = script ? firewall_apply(script, &err) : -1;
	free(script);
	firewall_endpoint_set(ep, now, n);
	if (rc == 0)
		return;
	/* An element someone removed, a table someone deleted: rebuild it all. */
	log_debug("endpoint %.12s: %s; rebuilding the table", ep->id, err.msg);
	memset(&err, 0, sizeof(err));
	if (netd_firewall_sync(nd, &err) < 0)
		log_warn("published ports stay on the proxy: %s", err.msg);
}

/* Every endpoint's elements, recorded as what the kernel will have. */
static struct firewall_port *firewall_collect_ports(struct netd *nd, size_t *n)
{
	size_t cap = 0;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		cap += ep->n_ports;
	struct firewall_port *ports = calloc(cap + 1, sizeof(*ports));
	if (!ports)
		abort();
	*n = 0;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next) {
		size_t k = 0;
		struct firewall_port *mine = firewall_endpoint_ports(nd, ep, &k);
		if (k)
			memcpy(&ports[*n], mine, k * sizeof(*mine));
		*n += k;
		firewall_endpoint_set(ep, mine, k);
	}
	return ports;
}

int netd_firewall_sync(struct netd *nd, struct berth_error *err)
{
	if (nd->cfg.no_firewall)
		return 0;
	bool nat = nd->cfg.port_mode == NETD_PORTS_NAT;
	size_t n = 0;
	for (struct netd_network *net = nd->networks; net; net = net->next)
		n++;
	struct firewall_net *nets = calloc(n + 1, sizeof(*nets));
	if (!nets)
		abort();
	n = 0;
	for (struct netd_network *net = nd->networks; net; net = net->next) {
		if (net->driver != NETD_DRIVER_BRIDGE || net->ipam.prefix <= 0)
			continue;
		snprintf(nets[n].bridge, sizeof(nets[n].bridge), "%s", net->bridge);
		nets[n].subnet = net->ipam.subnet;
		nets[n].prefix = net->ipam.prefix;
		nets[n].internal = net->internal;
		if (nat)
			firewall_route_localnet(net->bridge);
		n++;
	}
	size_t n_ports = 0;
	struct firewall_port *ports = nat ? firewall_collect_ports(nd, &n_ports) : NULL;
	char *script = firewall_render_nat(nets, n, ports, n_ports, err);
	free(nets);
	free(ports);
	if (!script)
		return -1;
	int rc = firewall_apply(script, err);
	if (rc == 0)
		log_debug("nftables: table ip " FIREWALL_TABLE " set for %zu networks, %zu ports",
			  n, n_ports);
	free(script);
	return rc;
}
