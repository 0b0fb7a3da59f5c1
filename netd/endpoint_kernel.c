/* Network namespace files and veth pairs, on the worker thread (setns affects only the calling
 * thread, so the loop thread never leaves netd's own namespace). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "endpoint_kernel.h"
#include "link.h"
#include "netd.h"

/* Is dir a mount point of its own (listed in mountinfo)? */
static bool epk_is_mount_point(const char *dir)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096], mnt[PATH_MAX];
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strcmp(mnt, dir) == 0)
			return true;
	return false;
}

int epk_netns_dir_setup(const char *dir, struct berth_error *err)
{
	if (berth_mkdir_p(dir, 0755, err) < 0)
		return -1;
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return berth_err_errno(err, 500, errno, "resolve %s", dir);
	if (!epk_is_mount_point(real) && mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_err_errno(err, 500, errno, "bind mount %s", real);
	if (mount(NULL, real, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		return berth_err_errno(err, 500, errno, "make %s private", real);
	return 0;
}

bool epk_netns_alive(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == NSFS_MAGIC;
}

void epk_netns_remove(const char *path)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		log_warn("unmount %s: %s", path, strerror(errno));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
}

/* New namespace bound to path; the thread is back in host_ns_fd on return. */
static int epk_netns_create(const char *path, int host_ns_fd, struct berth_error *err)
{
	if (epk_netns_alive(path))
		return berth_err(err, 409, "network namespace %s already exists", path);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", path);
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;
		unlink(path);
		return berth_err_errno(err, 500, e, "unshare the network namespace");
	}
	int rc = mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL);
	int e = errno;
	if (setns(host_ns_fd, CLONE_NEWNET) < 0)
		/* The thread would configure the wrong namespace from now on. */
		abort();
	if (rc < 0) {
		unlink(path);
		return berth_err_errno(err, 500, e, "bind mount %s", path);
	}
	return 0;
}

/* No IPv6 on an endpoint's interfaces (berth's networks have none, and Docker disables it on a
 * container's interfaces of a network without IPv6). Without this, every new interface sends
 * its IPv6 link-local duplicate-address probe, router solicitations and MLD reports, which the
 * bridge floods to every other port and into every other container's namespace: with 1,000
 * containers on one bridge that is millions of packet deliveries during a scale-up. The
 * sysctl belongs to the namespace of the thread that opens it. Best effort: a kernel without
 * IPv6 has no such file. */
static void epk_disable_ipv6(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		if (errno != ENOENT)
			log_debug("disable IPv6 on %s: %s", ifname, strerror(errno));
	}
}

/* Inside the namespace: lo (if asked) and each attachment's address, link and route. */
static int epk_configure_inside(int ns_fd, int host_ns_fd, bool lo_up, const struct epk_attach *att,
				size_t n_att, struct berth_error *err)
{
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return berth_err_errno(err, 500, errno, "enter the container's network namespace");
	for (size_t i = 0; i < n_att; i++) /* before the link is up: no probe at all */
		epk_disable_ipv6(att[i].ifname);
	/* The socket belongs to the namespace it is opened in, not to the thread. */
	struct nl_sock *sk = link_sock_open(err);
	if (setns(host_ns_fd, CLONE_NEWNET) < 0)
		abort();
	if (!sk)
		return -1;
	int rc = 0;
	if (lo_up)
		rc = link_set_up(sk, 1, err); /* lo is ifindex 1 in every namespace */
	for (size_t i = 0; rc == 0 && i < n_att; i++) {
		int idx = link_index(sk, att[i].ifname, err);
		if (idx <= 0) {
			rc = idx < 0 ? -1 : berth_err(err, 500, "%s missing", att[i].ifname);
			break;
		}
		rc = link_addr_add(sk, idx, att[i].ip, att[i].prefix, err);
		if (rc == 0)
			rc = link_set_up(sk, idx, err);
		if (rc == 0 && att[i].default_route)
			rc = link_route_default(sk, idx, att[i].gateway, err);
	}
	link_sock_close(sk);
	return rc;
}

int epk_setup(struct nl_sock *host_sk, int host_ns_fd, const char *netns_path, bool create,
	      const struct epk_attach *att, size_t n_att, struct berth_error *err)
{
	if (create && epk_netns_create(netns_path, host_ns_fd, err) < 0)
		return -1;
	size_t made = 0;
	_cleanup_close_ int ns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0) {
		berth_err_errno(err, 500, errno, "open %s", netns_path);
		goto fail;
	}
	for (; made < n_att; made++) {
		int br = link_index(host_sk, att[made].bridge, err);
		if (br <= 0) {
			if (br == 0)
				berth_err(err, 500, "bridge %s is missing", att[made].bridge);
			goto fail;
		}
		uint8_t mac[6];
		netd_mac_from_ip(att[made].ip, mac);
		/* A stale pair of the same name (a crash mid-teardown) would block this one. */
		if (link_veth_create(host_sk, att[made].host_veth, br, att[made].ifname, ns_fd, mac,
				     err) < 0) {
			if (err->status != 409 ||
			    link_delete(host_sk, att[made].host_veth, NULL) < 0 ||
			    link_veth_create(host_sk, att[made].host_veth, br, att[made].ifname,
					     ns_fd, mac, err) < 0)
				goto fail;
		}
		/* Up already, but without carrier until its peer is: no probe sent yet. */
		epk_disable_ipv6(att[made].host_veth);
	}
	if (epk_configure_inside(ns_fd, host_ns_fd, create, att, n_att, err) < 0)
		goto fail;
	return 0;
fail:
	for (size_t i = 0; i < made; i++)
		link_delete(host_sk, att[i].host_veth, NULL);
	if (create)
		epk_netns_remove(netns_path);
	return berth_err_wrap(err, "set up the network of the container");
}

void epk_teardown(struct nl_sock *host_sk, const char *netns_path, char (*veths)[IFNAMSIZ],
		  size_t n_veths)
{
	for (size_t i = 0; i < n_veths; i++) {
		struct berth_error err = {0};
		if (link_delete(host_sk, veths[i], &err) < 0)
			log_warn("%s", err.msg);
	}
	if (netns_path)
		epk_netns_remove(netns_path);
}
