/* Start-up reconciliation after a restart or a crash: state against the kernel. Endpoints
 * whose namespace file vanished are dropped; veths and namespace files that no endpoint owns
 * are removed; missing bridges and veths are re-made; every port listens again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "endpoint_kernel.h"
#include "link.h"
#include "netd.h"

static bool recover_owned_veth(struct netd *nd, const char *name)
{
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		for (size_t i = 0; i < ep->n_att; i++)
			if (strcmp(ep->att[i].host_veth, name) == 0)
				return true;
	return false;
}

struct recover_veths {
	struct netd *nd;
	char (*stray)[IFNAMSIZ];
	size_t n, cap;
};

static void recover_veth_seen(const char *name, void *arg)
{
	struct recover_veths *r = arg;
	/* Only names netd makes (vb<10 hex>.<n>): never someone else's vboxnet0. */
	size_t len = strlen(name);
	if (len < 14 || !berth_is_hex(name + 2, 10) || name[12] != '.' ||
	    strspn(name + 13, "0123456789") != len - 13)
		return;
	if (recover_owned_veth(r->nd, name))
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->stray = realloc(r->stray, r->cap * sizeof(*r->stray));
		if (!r->stray)
			abort();
	}
	snprintf(r->stray[r->n++], IFNAMSIZ, "%s", name);
}

static void recover_drop(struct netd *nd, struct netd_endpoint *ep, const char *why)
{
	log_info("endpoint %.12s dropped: %s", ep->id, why);
	netd_endpoint_forget(nd, ep);
	netd_endpoint_teardown(nd, ep, NULL);
	netd_endpoint_free(ep);
}

/* Re-make attachments whose host veth is gone while the namespace lives on. */
static void recover_endpoint(struct netd *nd, struct netd_endpoint *ep, int host_ns_fd)
{
	char path[PATH_MAX];
	netd_endpoint_netns_path(nd, ep->id, path, sizeof(path));
	for (size_t i = 0; i < ep->n_att; i++) {
		struct netd_attachment *a = &ep->att[i];
		if (!a->host_veth[0] || link_index(nd->sk, a->host_veth, NULL) > 0)
			continue;
		struct epk_attach k = {0};
		snprintf(k.bridge, sizeof(k.bridge), "%s", a->net->bridge);
		snprintf(k.host_veth, sizeof(k.host_veth), "%s", a->host_veth);
		snprintf(k.ifname, sizeof(k.ifname), "%s", a->ifname);
		k.ip = a->ip;
		k.gateway = a->net->ipam.gateway;
		k.prefix = a->net->ipam.prefix;
		k.default_route = i == 0;
		struct berth_error err = {0};
		if (epk_setup(nd->sk, host_ns_fd, path, false, &k, 1, &err) < 0)
			log_warn("endpoint %.12s: re-make %s: %s", ep->id, a->ifname, err.msg);
		else
			log_info("endpoint %.12s: %s re-made", ep->id, a->ifname);
	}
}

int netd_recover(struct netd *nd, struct berth_error *err)
{
	_cleanup_close_ int host_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_ns_fd < 0)
		return berth_err_errno(err, 500, errno, "open /proc/self/ns/net");
	/* One table at the end rather than one per endpoint. */
	nd->fw_defer = true;
	struct netd_endpoint *next;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = next) {
		next = ep->next;
		char path[PATH_MAX];
		netd_endpoint_netns_path(nd, ep->id, path, sizeof(path));
		if (ep->mode != NETD_MODE_HOST && !epk_netns_alive(path))
			recover_drop(nd, ep, "its network namespace is gone");
		else
			recover_endpoint(nd, ep, host_ns_fd);
	}
	/* Veths of endpoints that were never recorded, or were being removed. */
	struct recover_veths r = {.nd = nd};
	if (link_foreach(nd->sk, "vb", recover_veth_seen, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.n; i++) {
		log_info("removing stray veth %s", r.stray[i]);
		link_delete(nd->sk, r.stray[i], NULL);
	}
	free(r.stray);
	_cleanup_closedir_ DIR *d = opendir(nd->netns_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct netd_endpoint *ep = netd_endpoint_find(nd, de->d_name);
		if (ep && ep->mode != NETD_MODE_HOST)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", nd->netns_dir, de->d_name);
		log_info("removing stray network namespace %s", path);
		epk_netns_remove(path);
	}
	/* Listen again on every port, then point them at their endpoints. */
	for (struct port_binding *b = nd->ports.head; b; b = b->next) {
		struct berth_error e = {0};
		if (nd->ports.ops.listen(nd->ports.ops.ctx, b->host_ip, b->host_port, b->proto,
					 &e) < 0)
			log_error("port %s:%d/%s: %s", b->host_ip, b->host_port,
				  port_proto_name(b->proto), e.msg);
		else
			b->listening = true;
	}
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = ep->next)
		netd_endpoint_backends_sync(nd, ep);
	nd->fw_defer = false;
	if (netd_firewall_sync(nd, err) < 0)
		return -1;
	return netd_state_save(nd, err);
}

json_t *netd_endpoints_reconcile(struct netd *nd, json_t *ids)
{
	json_t *removed = json_array();
	struct netd_endpoint *next;
	for (struct netd_endpoint *ep = nd->endpoints; ep; ep = next) {
		next = ep->next;
		bool alive = false;
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
		{
			const char *s = json_string_value(v);
			if (s && strcmp(s, ep->id) == 0) {
				alive = true;
				break;
			}
		}
		if (alive)
			continue;
		/* A create the agent no longer knows (its requester died with it): dropped once its
		 * setup is done and saved (also when the setup is done and only the save is left:
		 * missing that phase kept such endpoints, and their namespaces, for good). Other
		 * busy endpoints are left to their job. */
		if (ep->busy) {
			ep->orphaned = ep->creating || ep->create_saving;
			continue;
		}
		json_array_append_new(removed, json_string(ep->id));
		recover_drop(nd, ep, "its container is gone");
	}
	struct berth_error err = {0};
	if (json_array_size(removed) && netd_state_save(nd, &err) < 0)
		log_error("%s", err.msg);
	return removed;
}
