/* berth's nftables table (`table ip berth` in netd's network namespace): outbound NAT of the
 * bridge networks, isolation between them, no way out of internal networks, and (port mode
 * nat) DNAT of published TCP ports. The table is a function of the networks and the ports:
 * every change replaces it whole in one nftables transaction. */
#ifndef BERTH_NETD_FIREWALL_H
#define BERTH_NETD_FIREWALL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

#define FIREWALL_TABLE "berth"

struct firewall_net {
	char bridge[IFNAMSIZ];
	uint32_t subnet; /* host order */
	int prefix;
	bool internal;
};

/* A published TCP port forwarded in the kernel (port mode nat). */
struct firewall_port {
	uint32_t host_ip; /* host order; 0: every local address */
	int host_port;
	uint32_t backend_ip; /* host order */
	int backend_port;
};

/* The nft script that replaces the table with the rules for nets (pure; unit tested).
 * NULL with err set for a bridge name nft could not take literally. Free with free(). */
char *firewall_render(const struct firewall_net *nets, size_t n, struct berth_error *err);
/* The same with the port-mode-nat rules: DNAT of ports (any number, none included) from
 * outside and from the host itself, masquerade of what the host and the containers send to a
 * published port, no packet from a bridge to 127.0.0.0/8 (route_localnet is on there), and
 * DNAT'd connections exempt from isolation (as the proxy reaches any network). ports == NULL
 * renders exactly what firewall_render does (port mode proxy). */
char *firewall_render_nat(const struct firewall_net *nets, size_t n,
			  const struct firewall_port *ports, size_t n_ports,
			  struct berth_error *err);
/* The nft script that turns one endpoint's DNAT map elements from old (what the kernel has)
 * into now, as one transaction; it fails (and changes nothing) if an old one is missing. */
char *firewall_render_port_update(const struct firewall_port *old, size_t n_old,
				  const struct firewall_port *now, size_t n_now,
				  struct berth_error *err);
/* Run a script through libnftables as one transaction. */
int firewall_apply(const char *script, struct berth_error *err);

#endif
