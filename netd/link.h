/* rtnetlink through libnl-route-3: bridges, veth pairs, addresses, routes. Each function takes
 * the socket to use, which fixes the network namespace it acts in (a netlink socket stays in
 * the namespace it was opened in). Any thread may call these with its own socket. */
#ifndef BERTH_NETD_LINK_H
#define BERTH_NETD_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "berth/error.h"

struct nl_sock;

struct nl_sock *link_sock_open(struct berth_error *err);
void link_sock_close(struct nl_sock *sk);

/* ifindex of name, 0 when there is none, -1 on error. */
int link_index(struct nl_sock *sk, const char *name, struct berth_error *err);
/* Make the bridge if missing (with a fixed random MAC, so it does not follow its ports'),
 * give it gateway/prefix if it lacks it, bring it up. Returns its ifindex. */
int link_bridge_ensure(struct nl_sock *sk, const char *name, uint32_t gateway, int prefix,
		       struct berth_error *err);
/* Hairpin mode on a bridge port: frames may go back out the port they came in on. */
int link_set_hairpin(struct nl_sock *sk, const char *name, struct berth_error *err);
/* A veth pair: host_name in sk's namespace, attached to master and up; peer_name moved into
 * the namespace of ns_fd, with MAC peer_mac. */
int link_veth_create(struct nl_sock *sk, const char *host_name, int master, const char *peer_name,
		     int ns_fd, const uint8_t peer_mac[6], struct berth_error *err);
/* Delete a link by name; a missing one is not an error. */
int link_delete(struct nl_sock *sk, const char *name, struct berth_error *err);
int link_set_up(struct nl_sock *sk, int ifindex, struct berth_error *err);
int link_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix,
		  struct berth_error *err);
int link_route_default(struct nl_sock *sk, int ifindex, uint32_t gateway, struct berth_error *err);
/* Call cb for each link whose name starts with prefix. */
int link_foreach(struct nl_sock *sk, const char *prefix, void (*cb)(const char *name, void *arg),
		 void *arg, struct berth_error *err);

#endif
