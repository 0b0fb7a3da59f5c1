/* berth's nftables table: rendered from the bridge networks, applied through libnftables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <nftables/libnftables.h>

#include "berth/log.h"
#include "firewall.h"
#include "ipam.h"
#include "link.h"
#include "netd.h"

static bool firewall_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

/* port mode nat: the ports chain, jumped to for traffic to a local address arriving from
 * outside (prerouting) and made by the host itself (output), as Docker's DOCKER chain. */
static void firewall_render_ports(FILE *f, const struct firewall_port *ports, size_t n_ports)
{
	fprintf(f, "\tchain ports {\n");
	for (size_t i = 0; i < n_ports; i++) {
		const struct firewall_port *p = &ports[i];
		char host[16], backend[16];
		ipam_format_ip(p->host_ip, host);
		ipam_format_ip(p->backend_ip, backend);
		fprintf(f, "\t\t");
		if (p->host_ip)
			fprintf(f, "ip daddr %s ", host);
		fprintf(f, "tcp dport %d dnat to %s:%d\n", p->host_port, backend, p->backend_port);
	}
	/* Output has no "dstnat" keyword in nft 1.0.6: -100 is its value. */
	fprintf(f, "\t}\n"
		   "\tchain prerouting {\n"
		   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		   "\t\tfib daddr type local jump ports\n"
		   "\t}\n"
		   "\tchain output {\n"
		   "\t\ttype nat hook output priority -100; policy accept;\n"
		   "\t\tfib daddr type local jump ports\n"
		   "\t}\n");
}

char *firewall_render(const struct firewall_net *nets, size_t n, struct berth_error *err)
{
	return firewall_render_nat(nets, n, NULL, 0, err);
}

char *firewall_render_nat(const struct firewall_net *nets, size_t n,
			  const struct firewall_port *ports, size_t n_ports,
			  struct berth_error *err)
{
	bool nat = ports != NULL;
	for (size_t i = 0; i < n; i++)
		if (!firewall_name_ok(nets[i].bridge)) {
			berth_err(err, 400, "bridge name %s cannot go into an nftables rule",
				  nets[i].bridge);
			return NULL;
		}
	for (size_t i = 0; i < n_ports; i++)
		if (ports[i].host_port < 1 || ports[i].host_port > 65535 ||
		    ports[i].backend_port < 1 || ports[i].backend_port > 65535 ||
		    !ports[i].backend_ip) {
			berth_err(err, 400,
				  "published port %d -> %d cannot go into an nftables rule",
				  ports[i].host_port, ports[i].backend_port);
			return NULL;
		}
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		abort();
	/* "add" then "delete" removes the table whether or not it exists (nft 1.0.6 has no
	 * "destroy"); with the new table in the same transaction, there is no instant without
	 * rules, and a netd killed anywhere finds either the old table or the new one. */
	fprintf(f, "add table ip " FIREWALL_TABLE "\ndelete table ip " FIREWALL_TABLE "\n");
	fprintf(f, "table ip " FIREWALL_TABLE " {\n");
	if (n) {
		fprintf(f, "\tset bridges {\n\t\ttype ifname\n\t\telements = {");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s \"%s\"", i ? "," : "", nets[i].bridge);
		fprintf(f, " }\n\t}\n");
	}
	if (nat) {
		firewall_render_ports(f, ports, n_ports);
		/* route_localnet (needed to DNAT 127.0.0.1) would also let a container send to
		 * the host's loopback services: only replies may come in that way. */
		if (n)
			fprintf(f,
				"\tchain input {\n\t\ttype filter hook input priority filter; "
				"policy accept;\n"
				"\t\tiifname @bridges ip daddr 127.0.0.0/8 ct direction original "
				"drop\n\t}\n");
	}
	/* Only drops here: traffic this table does not drop is left to the host's other rules. */
	fprintf(f, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy "
		   "accept;\n");
	/* A published port reaches a container on any network in both modes: the proxy connects
	 * from the host, and DNAT'd connections skip isolation ("return" leaves this chain
	 * only: the host's other tables still judge them). */
	if (nat)
		fprintf(f, "\t\tct status dnat return\n");
	for (size_t i = 0; i < n; i++) {
		const char *b = nets[i].bridge;
		if (nets[i].internal)
			fprintf(f,
				"\t\tiifname \"%s\" oifname != \"%s\" drop\n"
				"\t\toifname \"%s\" iifname != \"%s\" drop\n",
				b, b, b, b);
		else /* Docker's DOCKER-ISOLATION: no bridge network reaches another. */
			fprintf(f, "\t\tiifname \"%s\" oifname @bridges oifname != \"%s\" drop\n",
				b, b);
	}
	fprintf(f, "\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; "
		   "policy accept;\n");
	for (size_t i = 0; i < n; i++) {
		if (nets[i].internal)
			continue;
		char cidr[20];
		ipam_format_cidr(nets[i].subnet, nets[i].prefix, cidr);
		fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", cidr, nets[i].bridge);
	}
	if (nat && n_ports && n) {
		/* Docker's hairpin masquerade: connections the host makes (127.0.0.1 included, so
		 * that replies come back through conntrack) come from the gateway; so do those a
		 * container makes to a port of its own network (else the backend would answer it
		 * directly over the bridge, bypassing the un-DNAT). */
		fprintf(f, "\t\toifname @bridges fib saddr type local ct status dnat masquerade\n");
		for (size_t i = 0; i < n; i++) {
			char cidr[20];
			ipam_format_cidr(nets[i].subnet, nets[i].prefix, cidr);
			fprintf(f, "\t\tip saddr %s oifname \"%s\" ct status dnat masquerade\n",
				cidr, nets[i].bridge);
		}
	}
	fprintf(f, "\t}\n}\n");
	if (fclose(f) != 0)
		abort();
	return buf;
}

int firewall_apply(const char *script, struct berth_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return berth_err(err, 500, "nftables: cannot make a context");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int rc = nft_run_cmd_from_buffer(ctx, script);
	if (rc != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", nft_ctx_get_error_buffer(ctx) ?: "");
		/* One line is enough: the error text repeats the script around the failure. */
		msg[strcspn(msg, "\n")] = '\0';
		berth_err(err, 500, "nftables: %s", msg[0] ? msg : "the rules were refused");
	}
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : -1;
}

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

void netd_firewall_ports_changed(struct netd *nd, struct netd_endpoint *ep)
{
	bool natted = ep && netd_endpoint_natted(nd, ep);
	if (ep && !natted && !ep->nat_rules)
		return; /* nothing of ep in the table before or after */
	if (ep && natted && !ep->nat_rules && ep->att[0].host_veth[0]) {
		/* With br_netfilter loaded (bridge-nf-call-iptables), a container's connection to
		 * its own published port is DNAT'd back to it and bridged out the port it came in
		 * on: the port needs hairpin mode, as Docker sets with --userland-proxy=false. */
		struct berth_error e = {0};
		if (link_set_hairpin(nd->sk, ep->att[0].host_veth, &e) < 0)
			log_warn("endpoint %.12s: %s", ep->id, e.msg);
	}
	if (ep)
		ep->nat_rules = natted;
	if (nd->fw_defer)
		return;
	struct berth_error err = {0};
	if (netd_firewall_sync(nd, &err) < 0)
		log_warn("published ports stay on the proxy: %s", err.msg);
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

static struct firewall_port *firewall_collect_ports(struct netd *nd, size_t *n)
{
	size_t cap = 0;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		cap += ep->n_ports;
	struct firewall_port *ports = calloc(cap + 1, sizeof(*ports));
	if (!ports)
		abort();
	*n = 0;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->n_ports; i++) {
			const struct netd_port *p = &ep->ports[i];
			if (!netd_port_natted(nd, ep, p))
				continue;
			struct in_addr a = {0};
			inet_pton(AF_INET, p->host_ip, &a); /* validated when bound */
			ports[*n] = (struct firewall_port){.host_ip = ntohl(a.s_addr),
							   .host_port = p->host_port,
							   .backend_ip = ep->att[0].ip,
							   .backend_port = p->container_port};
			(*n)++;
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
