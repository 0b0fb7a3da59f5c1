/* libnl-route-3 helpers: create bridges and veth pairs, set addresses, routes and flags. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/random.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "berth/cleanup.h"
#include "link.h"

BERTH_DEFINE_CLEANUP(struct rtnl_link *, rtnl_link_put)
BERTH_DEFINE_CLEANUP(struct rtnl_addr *, rtnl_addr_put)
BERTH_DEFINE_CLEANUP(struct rtnl_route *, rtnl_route_put)
BERTH_DEFINE_CLEANUP(struct nl_addr *, nl_addr_put)
BERTH_DEFINE_CLEANUP(struct nl_cache *, nl_cache_free)
#define _cleanup_link_ _cleanup_(rtnl_link_putp)

static int link_nlerr(struct berth_error *err, int nlerr, const char *what, const char *name)
{
	return berth_err(err, 500, "%s %s: %s", what, name, nl_geterror(nlerr));
}

struct nl_sock *link_sock_open(struct berth_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk) {
		berth_err(err, 500, "netlink: out of memory");
		return NULL;
	}
	int rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		nl_socket_free(sk);
		berth_err(err, 500, "netlink: connect: %s", nl_geterror(rc));
		return NULL;
	}
	return sk;
}

void link_sock_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

int link_index(struct nl_sock *sk, const char *name, struct berth_error *err)
{
	_cleanup_link_ struct rtnl_link *l = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &l);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 0;
	if (rc < 0)
		return link_nlerr(err, rc, "look up link", name);
	return rtnl_link_get_ifindex(l);
}

int link_set_up(struct nl_sock *sk, int ifindex, struct berth_error *err)
{
	_cleanup_link_ struct rtnl_link *orig = rtnl_link_alloc();
	_cleanup_link_ struct rtnl_link *chg = rtnl_link_alloc();
	if (!orig || !chg)
		return berth_err(err, 500, "netlink: out of memory");
	rtnl_link_set_ifindex(orig, ifindex);
	rtnl_link_set_flags(chg, IFF_UP);
	int rc = rtnl_link_change(sk, orig, chg, 0);
	if (rc < 0)
		return berth_err(err, 500, "set link %d up: %s", ifindex, nl_geterror(rc));
	return 0;
}

int link_set_hairpin(struct nl_sock *sk, const char *name, struct berth_error *err)
{
	int ifindex = link_index(sk, name, err);
	if (ifindex <= 0)
		return ifindex < 0 ? -1 : berth_err(err, 404, "no link %s", name);
	_cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return berth_err(err, 500, "netlink: out of memory");
	rtnl_link_set_ifindex(l, ifindex);
	rtnl_link_set_family(l, AF_BRIDGE);
	int rc = rtnl_link_bridge_set_flags(l, RTNL_BRIDGE_HAIRPIN_MODE);
	if (rc == 0)
		rc = rtnl_link_change(sk, l, l, 0);
	if (rc < 0)
		return link_nlerr(err, rc, "hairpin mode on", name);
	return 0;
}

int link_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, struct berth_error *err)
{
	_cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
	uint32_t be = htonl(ip), bcast = htonl(ip | (prefix >= 32 ? 0 : (0xffffffffu >> prefix)));
	_cleanup_(nl_addr_putp) struct nl_addr *local = nl_addr_build(AF_INET, &be, 4);
	_cleanup_(nl_addr_putp) struct nl_addr *brd = nl_addr_build(AF_INET, &bcast, 4);
	if (!a || !local || !brd)
		return berth_err(err, 500, "netlink: out of memory");
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_broadcast(a, brd);
	int rc = rtnl_addr_add(sk, a, 0);
	if (rc < 0 && rc != -NLE_EXIST)
		return berth_err(err, 500, "add address to link %d: %s", ifindex, nl_geterror(rc));
	return 0;
}

int link_route_default(struct nl_sock *sk, int ifindex, uint32_t gateway, struct berth_error *err)
{
	_cleanup_(rtnl_route_putp) struct rtnl_route *r = rtnl_route_alloc();
	uint32_t zero = 0, gw = htonl(gateway);
	_cleanup_(nl_addr_putp) struct nl_addr *dst = nl_addr_build(AF_INET, &zero, 4);
	_cleanup_(nl_addr_putp) struct nl_addr *via = nl_addr_build(AF_INET, &gw, 4);
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	if (!r || !dst || !via || !nh) {
		if (nh)
			rtnl_route_nh_free(nh);
		return berth_err(err, 500, "netlink: out of memory");
	}
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_dst(r, dst);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh); /* r owns nh now */
	int rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
	if (rc < 0)
		return berth_err(err, 500, "add default route: %s", nl_geterror(rc));
	return 0;
}

int link_bridge_ensure(struct nl_sock *sk, const char *name, uint32_t gateway, int prefix,
		       struct berth_error *err)
{
	int idx = link_index(sk, name, err);
	if (idx < 0)
		return -1;
	if (idx == 0) {
		_cleanup_link_ struct rtnl_link *br = rtnl_link_bridge_alloc();
		uint8_t mac[6];
		if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
			memset(mac, 0x5a, sizeof(mac));
		mac[0] = (mac[0] & 0xfe) | 0x02; /* unicast, locally administered */
		_cleanup_(nl_addr_putp) struct nl_addr *ll = nl_addr_build(AF_LLC, mac, 6);
		if (!br || !ll)
			return berth_err(err, 500, "netlink: out of memory");
		rtnl_link_set_name(br, name);
		rtnl_link_set_addr(br, ll);
		rtnl_link_set_flags(br, IFF_UP);
		int rc = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
		if (rc < 0 && rc != -NLE_EXIST)
			return berth_err(err, 500, "create bridge %s: %s", name, nl_geterror(rc));
		idx = link_index(sk, name, err);
		if (idx <= 0)
			return idx < 0 ? -1 : berth_err(err, 500, "bridge %s vanished", name);
	}
	if (link_addr_add(sk, idx, gateway, prefix, err) < 0 || link_set_up(sk, idx, err) < 0)
		return berth_err_wrap(err, "bridge %s", name);
	return idx;
}

int link_veth_create(struct nl_sock *sk, const char *host_name, int master, const char *peer_name,
		     int ns_fd, const uint8_t peer_mac[6], struct berth_error *err)
{
	struct rtnl_link *veth = rtnl_link_veth_alloc();
	if (!veth)
		return berth_err(err, 500, "netlink: out of memory");
	struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
	struct nl_addr *ll = nl_addr_build(AF_LLC, peer_mac, 6);
	rtnl_link_set_name(veth, host_name);
	rtnl_link_set_master(veth, master);
	rtnl_link_set_flags(veth, IFF_UP);
	rtnl_link_set_name(peer, peer_name);
	if (ll)
		rtnl_link_set_addr(peer, ll);
	rtnl_link_set_ns_fd(peer, ns_fd);
	int rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	if (ll)
		nl_addr_put(ll);
	rtnl_link_put(peer);
	rtnl_link_veth_release(veth);
	if (rc < 0)
		return berth_err(err, rc == -NLE_EXIST ? 409 : 500, "create veth %s: %s", host_name,
				 nl_geterror(rc));
	return 0;
}

int link_delete(struct nl_sock *sk, const char *name, struct berth_error *err)
{
	_cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return berth_err(err, 500, "netlink: out of memory");
	rtnl_link_set_name(l, name);
	int rc = rtnl_link_delete(sk, l);
	if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
		return berth_err(err, 500, "delete link %s: %s", name, nl_geterror(rc));
	return 0;
}

struct link_foreach_ctx {
	const char *prefix;
	void (*cb)(const char *, void *);
	void *arg;
};

static void link_foreach_one(struct nl_object *obj, void *arg)
{
	struct link_foreach_ctx *c = arg;
	const char *name = rtnl_link_get_name((struct rtnl_link *)obj);
	if (name && strncmp(name, c->prefix, strlen(c->prefix)) == 0)
		c->cb(name, c->arg);
}

int link_foreach(struct nl_sock *sk, const char *prefix, void (*cb)(const char *name, void *arg),
		 void *arg, struct berth_error *err)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	int rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (rc < 0)
		return berth_err(err, 500, "list links: %s", nl_geterror(rc));
	struct link_foreach_ctx c = {prefix, cb, arg};
	nl_cache_foreach(cache, link_foreach_one, &c);
	return 0;
}
