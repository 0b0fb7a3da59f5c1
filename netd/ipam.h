/* IPv4 address management for one subnet: which addresses are leased, the next to hand out.
 * Pure bookkeeping (no kernel, no I/O) so it is unit tested on its own. Addresses are host
 * order uint32_t. */
#ifndef BERTH_NETD_IPAM_H
#define BERTH_NETD_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

struct ipam {
	uint32_t subnet; /* network address */
	int prefix;	 /* 0 for networks without addresses (host, none) */
	uint32_t gateway;
	uint32_t *leased; /* sorted */
	size_t n, cap;
	uint32_t last; /* the last address handed out: the next search starts after it */
};

/* "10.88.0.0/16" → subnet and prefix. Host bits must be zero, the prefix 8..30. */
int ipam_parse_cidr(const char *s, uint32_t *subnet, int *prefix, struct berth_error *err);
int ipam_parse_ip(const char *s, uint32_t *ip);
void ipam_format_ip(uint32_t ip, char out[16]);
void ipam_format_cidr(uint32_t ip, int prefix, char out[20]);
uint32_t ipam_mask(int prefix);
bool ipam_overlaps(uint32_t a, int pa, uint32_t b, int pb);

/* gateway 0 = the first host address. Checks the gateway lies inside and is a host address. */
int ipam_init(struct ipam *ip, uint32_t subnet, int prefix, uint32_t gateway,
	      struct berth_error *err);
void ipam_destroy(struct ipam *ip);
/* Addresses that can be leased: all but network, broadcast and gateway. */
size_t ipam_capacity(const struct ipam *ip);
bool ipam_contains(const struct ipam *ip, uint32_t addr);
bool ipam_is_leased(const struct ipam *ip, uint32_t addr);
/* Lease the next free address after the last one handed out (wrapping), so a just-released
 * address is not reused at once. -1 (no message) when the subnet is full. */
int ipam_alloc(struct ipam *ip, uint32_t *out);
/* Lease this address: 400 outside the subnet or reserved, 409 taken. */
int ipam_reserve(struct ipam *ip, uint32_t addr, struct berth_error *err);
void ipam_release(struct ipam *ip, uint32_t addr);

#endif
