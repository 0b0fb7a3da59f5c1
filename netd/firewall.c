/* berth's nftables table: rendered from the bridge networks, applied through libnftables. */
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "berth/log.h"
#include "firewall.h"
#include "ipam.h"
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

static bool firewall_ports_ok(const struct firewall_port *ports, size_t n, struct berth_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].host_port < 1 || ports[i].host_port > 65535 ||
		    ports[i].backend_port < 1 || ports[i].backend_port > 65535 ||
		    !ports[i].backend_ip) {
			berth_err(err, 400,
				  "published port %d -> %d cannot go into an nftables rule",
				  ports[i].host_port, ports[i].backend_port);
			return false;
		}
	return true;
}

/* A port's key in its map: "9000" in ports_any, "127.0.0.1 . 9000" in ports_ip. */
static const char *firewall_port_key(const struct firewall_port *p, char out[32])
{
	char host[16];
	ipam_format_ip(p->host_ip, host);
	if (p->host_ip)
		snprintf(out, 32, "%s . %d", host, p->host_port);
	else
		snprintf(out, 32, "%d", p->host_port);
	return p->host_ip ? "ports_ip" : "ports_any";
}

static void firewall_port_value(const struct firewall_port *p, char out[32])
{
	char backend[16];
	ipam_format_ip(p->backend_ip, backend);
	snprintf(out, 32, "%s . %d", backend, p->backend_port);
}

static void firewall_render_map(FILE *f, const char *name, const char *key_type,
				const struct firewall_port *ports, size_t n_ports)
{
	fprintf(f, "\tmap %s {\n\t\ttype %s : ipv4_addr . inet_service\n", name, key_type);
	const char *sep = "\t\telements = { ";
	for (size_t i = 0; i < n_ports; i++) {
		char key[32], value[32];
		if (strcmp(firewall_port_key(&ports[i], key), name) != 0)
			continue;
		firewall_port_value(&ports[i], value);
		fprintf(f, "%s%s : %s", sep, key, value);
		sep = ", ";
	}
	/* nft refuses an empty element list. */
	fprintf(f, "%s\t}\n", strcmp(sep, ", ") == 0 ? " }\n" : "");
}

/* port mode nat: a map per kind of port (every local address, or one), looked up from the
 * ports chain, which is jumped to for traffic to a local address arriving from outside
 * (prerouting) and made by the host itself (output), as Docker's DOCKER chain. Maps rather
 * than a rule per port: a port comes and goes as one element, without rebuilding the table. */
static void firewall_render_ports(FILE *f, const struct firewall_port *ports, size_t n_ports)
{
	firewall_render_map(f, "ports_any", "inet_service", ports, n_ports);
	firewall_render_map(f, "ports_ip", "ipv4_addr . inet_service", ports, n_ports);
	/* Output has no "dstnat" keyword in nft 1.0.6: -100 is its value. */
	fprintf(f, "\tchain ports {\n"
		   "\t\tdnat ip to tcp dport map @ports_any\n"
		   "\t\tdnat ip to ip daddr . tcp dport map @ports_ip\n"
		   "\t}\n"
		   "\tchain prerouting {\n"
		   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		   "\t\tfib daddr type local jump ports\n"
		   "\t}\n"
		   "\tchain output {\n"
		   "\t\ttype nat hook output priority -100; policy accept;\n"
		   "\t\tfib daddr type local jump ports\n"
		   "\t}\n");
}

char *firewall_render_port_update(const struct firewall_port *old, size_t n_old,
				  const struct firewall_port *now, size_t n_now,
				  struct berth_error *err)
{
	if (!firewall_ports_ok(old, n_old, err) || !firewall_ports_ok(now, n_now, err))
		return NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		abort();
	for (size_t i = 0; i < n_old; i++) {
		char key[32];
		const char *map = firewall_port_key(&old[i], key);
		fprintf(f, "delete element ip " FIREWALL_TABLE " %s { %s }\n", map, key);
	}
	for (size_t i = 0; i < n_now; i++) {
		char key[32], value[32];
		const char *map = firewall_port_key(&now[i], key);
		firewall_port_value(&now[i], value);
		fprintf(f, "add element ip " FIREWALL_TABLE " %s { %s : %s }\n", map, key, value);
	}
	if (fclose(f) != 0)
		abort();
	return buf;
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
	if (!firewall_ports_ok(ports, n_ports, err))
		return NULL;
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
	if (nat && n) {
		/* Docker's hairpin masquerade: connections the host makes (127.0.0.1 included, so
		 * that replies come back through conntrack) come from the gateway; so do those a
		 * container makes to a port of its own network (else the backend would answer it
		 * directly over the bridge, bypassing the un-DNAT). There with no port yet: a port
		 * comes as a map element alone. */
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

/*
 * libnftables waits for netlink replies with select(): a socket numbered 1024 or more aborts
 * netd (glibc's fortified FD_SET), and netd holds a descriptor per published port. So a few
 * low descriptors are held in reserve (placeholders on /dev/null) and freed just while nft
 * runs, for its socket to take.
 */
static int firewall_apply_now(const char *script, struct berth_error *err);

#define LOW_FDS 8
static int low_fds[LOW_FDS];
static bool low_fds_held;

static void low_fds_take(void)
{
	for (int i = 0; i < LOW_FDS; i++)
		low_fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	low_fds_held = true;
}

static void low_fds_free(void)
{
	for (int i = 0; i < LOW_FDS; i++)
		if (low_fds[i] >= 0)
			close(low_fds[i]);
}

int firewall_apply(const char *script, struct berth_error *err)
{
	if (!low_fds_held)
		low_fds_take(); /* the first call comes early: netd has few files open yet */
	low_fds_free();
	int rc = firewall_apply_now(script, err);
	low_fds_take();
	return rc;
}

static int firewall_apply_now(const char *script, struct berth_error *err)
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
	/* Parsing a big table (a port per line) leaves megabytes of freed heap behind. */
	malloc_trim(0);
	return rc == 0 ? 0 : -1;
}
