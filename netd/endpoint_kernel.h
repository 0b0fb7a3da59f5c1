/* The kernel side of an endpoint, run on the worker thread: network namespace files under
 * $BERTH_RUN/netns, veth pairs into them, addresses and routes inside. Knows nothing of netd's
 * bookkeeping: it gets a plain description and undoes its own partial work on failure. */
#ifndef BERTH_NETD_ENDPOINT_KERNEL_H
#define BERTH_NETD_ENDPOINT_KERNEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

struct nl_sock;

struct epk_attach {
	char bridge[IFNAMSIZ];
	char host_veth[IFNAMSIZ];
	char ifname[IFNAMSIZ];
	uint32_t ip, gateway;
	int prefix;
	bool default_route;
};

/* Make dir (a private bind mount of itself, as `ip netns` does, so namespace files mounted in
 * it do not propagate elsewhere). Idempotent across restarts. */
int epk_netns_dir_setup(const char *dir, struct berth_error *err);
/* Is path a mounted network namespace (nsfs)? */
bool epk_netns_alive(const char *path);
/* Unmount and unlink a namespace file; missing is fine. */
void epk_netns_remove(const char *path);

/* create: make the namespace file (lo up) first; otherwise it must exist. Then add each
 * attachment. On failure everything this call made is undone. */
int epk_setup(struct nl_sock *host_sk, int host_ns_fd, const char *netns_path, bool create,
	      const struct epk_attach *att, size_t n_att, struct berth_error *err);
/* Delete host veths (which removes their pairs) and, if netns_path, the namespace file. */
void epk_teardown(struct nl_sock *host_sk, const char *netns_path, char (*veths)[IFNAMSIZ],
		  size_t n_veths);

#endif
