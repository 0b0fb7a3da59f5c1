/* IPv4 leases of one subnet: a sorted array of leased addresses and a rotating cursor. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"

uint32_t ipam_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int ipam_parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

void ipam_format_ip(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void ipam_format_cidr(uint32_t ip, int prefix, char out[20])
{
	char a[16];
	ipam_format_ip(ip, a);
	snprintf(out, 20, "%s/%d", a, prefix);
}

int ipam_parse_cidr(const char *s, uint32_t *subnet, int *prefix, struct berth_error *err)
{
	char buf[64];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!s || !slash || (size_t)(slash - s) >= sizeof(buf))
		return berth_err(err, 400,
				 "invalid subnet %s: expected an IPv4 CIDR like 10.89.0.0/16",
				 s ? s : "(null)");
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	char *end;
	long p = strtol(slash + 1, &end, 10);
	uint32_t ip;
	if (ipam_parse_ip(buf, &ip) < 0 || *end || end == slash + 1 || p < 0 || p > 32)
		return berth_err(err, 400,
				 "invalid subnet %s: expected an IPv4 CIDR like 10.89.0.0/16", s);
	if (p < 8 || p > 30)
		return berth_err(err, 400, "invalid subnet %s: the prefix length must be 8 to 30",
				 s);
	if (ip & ~ipam_mask((int)p)) {
		char want[20];
		ipam_format_cidr(ip & ipam_mask((int)p), (int)p, want);
		return berth_err(err, 400, "invalid subnet %s : it should be %s", s, want);
	}
	*subnet = ip;
	*prefix = (int)p;
	return 0;
}

bool ipam_overlaps(uint32_t a, int pa, uint32_t b, int pb)
{
	uint32_t m = ipam_mask(pa < pb ? pa : pb);
	return (a & m) == (b & m);
}

static uint32_t ipam_broadcast(const struct ipam *ip)
{
	return ip->subnet | ~ipam_mask(ip->prefix);
}

bool ipam_contains(const struct ipam *ip, uint32_t addr)
{
	return ip->prefix > 0 && (addr & ipam_mask(ip->prefix)) == ip->subnet;
}

int ipam_init(struct ipam *ip, uint32_t subnet, int prefix, uint32_t gateway,
	      struct berth_error *err)
{
	memset(ip, 0, sizeof(*ip));
	ip->subnet = subnet;
	ip->prefix = prefix;
	if (!gateway)
		gateway = subnet + 1;
	char g[16], net[20];
	ipam_format_ip(gateway, g);
	ipam_format_cidr(subnet, prefix, net);
	if (!ipam_contains(ip, gateway) || gateway == subnet || gateway == ipam_broadcast(ip))
		return berth_err(err, 400, "invalid gateway %s: not a host address of subnet %s", g,
				 net);
	ip->gateway = gateway;
	ip->last = gateway > subnet + 1 ? subnet : gateway;
	return 0;
}

void ipam_destroy(struct ipam *ip)
{
	free(ip->leased);
	ip->leased = NULL;
	ip->n = ip->cap = 0;
}

size_t ipam_capacity(const struct ipam *ip)
{
	if (ip->prefix <= 0)
		return 0;
	return ((size_t)1 << (32 - ip->prefix)) - 3;
}

/* Index of the first leased address >= addr. */
static size_t ipam_lower_bound(const struct ipam *ip, uint32_t addr)
{
	size_t lo = 0, hi = ip->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ip->leased[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool ipam_is_leased(const struct ipam *ip, uint32_t addr)
{
	size_t i = ipam_lower_bound(ip, addr);
	return i < ip->n && ip->leased[i] == addr;
}

static void ipam_insert(struct ipam *ip, uint32_t addr)
{
	if (ip->n == ip->cap) {
		ip->cap = ip->cap ? ip->cap * 2 : 16;
		ip->leased = realloc(ip->leased, ip->cap * sizeof(*ip->leased));
		if (!ip->leased)
			abort();
	}
	size_t i = ipam_lower_bound(ip, addr);
	memmove(ip->leased + i + 1, ip->leased + i, (ip->n - i) * sizeof(*ip->leased));
	ip->leased[i] = addr;
	ip->n++;
}

static bool ipam_usable(const struct ipam *ip, uint32_t addr)
{
	return ipam_contains(ip, addr) && addr != ip->subnet && addr != ipam_broadcast(ip) &&
	       addr != ip->gateway;
}

int ipam_alloc(struct ipam *ip, uint32_t *out)
{
	if (ip->prefix <= 0 || ip->n >= ipam_capacity(ip))
		return -1;
	uint32_t first = ip->subnet + 1, last = ipam_broadcast(ip) - 1;
	uint32_t a = ip->last;
	/* At most n leased (+ the gateway) addresses in a row follow the cursor. */
	for (size_t tries = 0; tries <= ip->n + 2; tries++) {
		a = (a >= last || a < first) ? first : a + 1;
		if (ipam_usable(ip, a) && !ipam_is_leased(ip, a)) {
			ipam_insert(ip, a);
			ip->last = a;
			*out = a;
			return 0;
		}
	}
	return -1; /* unreachable while n < capacity */
}

int ipam_reserve(struct ipam *ip, uint32_t addr, struct berth_error *err)
{
	char a[16], net[20];
	ipam_format_ip(addr, a);
	ipam_format_cidr(ip->subnet, ip->prefix, net);
	if (!ipam_contains(ip, addr))
		return berth_err(err, 400, "invalid address %s: not in subnet %s", a, net);
	if (!ipam_usable(ip, addr))
		return berth_err(err, 400,
				 "invalid address %s: the network, broadcast and gateway addresses "
				 "of %s cannot be assigned",
				 a, net);
	if (ipam_is_leased(ip, addr))
		return berth_err(err, 409, "Address already in use: %s", a);
	ipam_insert(ip, addr);
	return 0;
}

void ipam_release(struct ipam *ip, uint32_t addr)
{
	size_t i = ipam_lower_bound(ip, addr);
	if (i < ip->n && ip->leased[i] == addr) {
		memmove(ip->leased + i, ip->leased + i + 1, (ip->n - i - 1) * sizeof(*ip->leased));
		ip->n--;
	}
}
