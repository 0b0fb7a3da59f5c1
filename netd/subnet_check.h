/* Subnets a bridge network may not take: reserved IPv4 ranges and the host's own routes. */
#ifndef BERTH_NETD_SUBNET_CHECK_H
#define BERTH_NETD_SUBNET_CHECK_H

#include <stdint.h>

#include "berth/error.h"

/* 400 when subnet/prefix overlaps "this network" 0/8, loopback 127/8, link-local 169.254/16,
 * multicast 224/4 or the reserved 240/4 (with the broadcast address). */
int subnet_check_reserved(uint32_t subnet, int prefix, struct berth_error *err);
/* 400 when subnet/prefix overlaps a route of the host's main table (route_file is
 * /proc/net/route) other than a default route and those of berth's own bridges. */
int subnet_check_routes(const char *route_file, uint32_t subnet, int prefix,
			struct berth_error *err);

#endif
