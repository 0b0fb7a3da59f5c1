/* berth's nftables table (`table ip berth` in netd's network namespace): outbound NAT of the
 * bridge networks, isolation between them, and no way out of internal networks. The table is
 * a function of the networks: every change replaces it whole in one nftables transaction. */
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

/* The nft script that replaces the table with the rules for nets (pure; unit tested).
 * NULL with err set for a bridge name nft could not take literally. Free with free(). */
char *firewall_render(const struct firewall_net *nets, size_t n, struct berth_error *err);
/* Run a script through libnftables as one transaction. */
int firewall_apply(const char *script, struct berth_error *err);

#endif
