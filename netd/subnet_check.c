/* Subnets a bridge network may not take: an address on berth's bridge in one of these ranges
 * would shadow the host's own loopback, link-local or multicast traffic, or its LAN. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipam.h"
#include "subnet_check.h"

static const struct {
	uint32_t subnet;
	int prefix;
	const char *what;
} reserved[] = {
    {0x00000000, 8, "\"this network\" (RFC 1122)"},
    {0x7f000000, 8, "loopback"},
    {0xa9fe0000, 16, "link-local"},
    {0xe0000000, 4, "multicast"},
    {0xf0000000, 4, "reserved (RFC 1112) and broadcast"},
};

int subnet_check_reserved(uint32_t subnet, int prefix, struct berth_error *err)
{
	char mine[20], theirs[20];
	ipam_format_cidr(subnet, prefix, mine);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(*reserved); i++) {
		if (!ipam_overlaps(subnet, prefix, reserved[i].subnet, reserved[i].prefix))
			continue;
		ipam_format_cidr(reserved[i].subnet, reserved[i].prefix, theirs);
		return berth_err(err, 400,
				 "invalid subnet %s: it overlaps %s, the %s range, which a network "
				 "cannot use",
				 mine, theirs, reserved[i].what);
	}
	return 0;
}

/* berth's bridges: the default one and br-<id> */
static bool berth_bridge(const char *iface)
{
	return strcmp(iface, "berth0") == 0 || strncmp(iface, "br-", 3) == 0;
}

int subnet_check_routes(const char *route_file, uint32_t subnet, int prefix,
			struct berth_error *err)
{
	FILE *f = fopen(route_file, "re");
	if (!f)
		return 0; /* no procfs: nothing to compare with */
	char line[512], mine[20];
	ipam_format_cidr(subnet, prefix, mine);
	int rc = 0;
	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ..., addresses in hex, in the
	 * kernel's (little-endian) byte order */
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char iface[64];
		unsigned dst, gw, flags, mask;
		if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", iface, &dst, &gw, &flags, &mask) !=
		    5)
			continue; /* the header */
		uint32_t d = ntohl(dst), m = ntohl(mask);
		int p = __builtin_popcount(m);
		if (p == 0 || berth_bridge(iface))
			continue;
		if (ipam_overlaps(subnet, prefix, d & m, p)) {
			char theirs[20];
			ipam_format_cidr(d & m, p, theirs);
			rc = berth_err(err, 400,
				       "Pool overlaps with other one on this address space: %s "
				       "overlaps the host's route to %s on %s",
				       mine, theirs, iface);
		}
	}
	fclose(f);
	return rc;
}
