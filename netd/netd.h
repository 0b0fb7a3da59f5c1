/* netd's shared state: networks, endpoints, port bindings, and the daemon context that holds
 * them. Everything here lives on the loop thread; the worker (worker.c) only touches the
 * kernel objects a job names. */
#ifndef BERTH_NETD_H
#define BERTH_NETD_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <event2/event.h>

#include "berth/error.h"
#include "berth/id.h"
#include "firewall.h"
#include "ipam.h"
#include "ports.h"
#include "proxy.h"

struct nl_sock;

#define NETD_MAX_ATTACH 8 /* networks per container: eth0 .. eth7 */
#define NETD_DEFAULT_SUBNET "10.88.0.0/16"
#define NETD_DEFAULT_BRIDGE "berth0"

enum netd_driver { NETD_DRIVER_BRIDGE, NETD_DRIVER_HOST, NETD_DRIVER_NULL };

struct netd_network {
	char id[BERTH_ID_LEN + 1];
	char *name;
	enum netd_driver driver;
	char bridge[IFNAMSIZ];
	struct ipam ipam; /* subnet, gateway and leases (bridge driver only) */
	bool internal;
	bool predefined; /* bridge, host, none: cannot be removed */
	json_t *labels;	 /* object */
	int64_t created_ns;
	struct dns_listener *dns;
	struct netd_network *next;
};

struct netd_attachment {
	struct netd_network *net;
	uint32_t ip;		  /* host order */
	char ifname[IFNAMSIZ];	  /* inside the container: eth0, eth1 ... */
	char host_veth[IFNAMSIZ]; /* vb<10 hex of the id>.<n> */
	json_t *aliases;	  /* array of strings */
	bool pending;		  /* being connected: not saved yet */
};

enum netd_mode { NETD_MODE_BRIDGE, NETD_MODE_NONE, NETD_MODE_HOST };

struct netd_port {
	int container_port;
	enum proxy_proto proto;
	char host_ip[16]; /* "0.0.0.0" or a literal IPv4 address */
	int host_port;
	char *service; /* "" or "project/service": shares the listener */
};

struct netd_endpoint {
	char id[BERTH_ID_LEN + 1];
	char *name;
	char *hostname;
	enum netd_mode mode;
	struct netd_attachment att[NETD_MAX_ATTACH];
	size_t n_att;
	struct netd_port *ports;
	size_t n_ports;
	bool busy;	    /* a worker job for it is in flight */
	bool creating;	    /* its first setup is in flight: not saved yet */
	bool create_saving; /* set up, its create answered once the state holding it is on disk */
	bool orphaned; /* POST /reconcile did not list it during that setup: dropped when done */
	bool draining; /* POST .../drain: its backends take no new connections (not saved) */

	bool unhealthy; /* POST .../health false: the same on balanced ports (saved) */
	struct firewall_port *fw_ports; /* its DNAT map elements in the kernel (port mode nat) */
	size_t n_fw_ports;
	struct netd_endpoint *next;
};

/* How published single-backend TCP ports reach their container: DNAT in berth's nftables
 * table (the proxy still holds the port), or netd's proxy. UDP and balanced ports always go
 * through the proxy. */
enum netd_port_mode { NETD_PORTS_NAT, NETD_PORTS_PROXY };

struct netd_config {
	char bridge_name[IFNAMSIZ];
	char bridge_subnet[64];
	int port_low, port_high;
	char upstreams[4][64]; /* "IP:PORT" */
	int n_upstreams;
	bool upstreams_given;
	bool no_firewall; /* --no-firewall: leave nftables alone (no NAT, no isolation) */
	enum netd_port_mode port_mode; /* --port-mode, $BERTH_PORT_MODE */
};

struct netd {
	struct event_base *base;
	struct netd_config cfg;
	struct proxy *proxy;
	struct netd_worker *worker;
	struct nl_sock *sk; /* the loop thread's netlink socket (bridges) */
	struct dns_server *dns;
	struct netd_network *networks;
	struct netd_endpoint *endpoints;
	struct port_table ports;
	struct netd_drain *drains; /* drain calls waiting for connections to close */
	struct event *drain_check;
	char state_path[PATH_MAX];
	char netns_dir[PATH_MAX];
	bool fw_defer; /* recovery: one firewall sync at its end, not one per endpoint */
	/* state.json's group commit (state_commit.c) */
	struct berth_writer *writer;
	struct event *writer_ev;
	struct netd_save_waiter *save_waiters; /* changes not yet in a write */
	bool save_busy;			       /* a write of the state is queued or running */
};

/* network.c */
struct netd_network *netd_network_find(struct netd *nd, const char *name_or_id);
struct netd_network *netd_network_by_id(struct netd *nd, const char *id);
/* Parse and check a create request, make the bridge, start its DNS listener, save. */
struct netd_network *netd_network_create(struct netd *nd, json_t *req, struct berth_error *err);
int netd_network_remove(struct netd *nd, struct netd_network *net, struct berth_error *err);
/* The predefined networks, and every bridge network's kernel objects (at start). */
int netd_networks_setup(struct netd *nd, struct berth_error *err);
json_t *netd_network_json(struct netd *nd, const struct netd_network *net);
void netd_network_free(struct netd_network *net);
/* Pick the next free /16 from 10.89.0.0 up. */
int netd_network_pick_subnet(struct netd *nd, uint32_t *subnet, int *prefix,
			     struct berth_error *err);

/* endpoint.c */
struct netd_endpoint *netd_endpoint_find(struct netd *nd, const char *id);
void netd_endpoint_free(struct netd_endpoint *ep);
/* Releases addresses and ports of ep (not its kernel objects) and unlinks it from the list. */
void netd_endpoint_forget(struct netd *nd, struct netd_endpoint *ep);
json_t *netd_endpoint_json(struct netd *nd, const struct netd_endpoint *ep);
void netd_endpoint_netns_path(struct netd *nd, const char *id, char *out, size_t size);
/* vb<10 hex of id>.<n>, unique among the endpoints netd knows. */
void netd_attachment_veth_name(struct netd *nd, const char *id, size_t index, char out[IFNAMSIZ]);
/* 02:42 + the address, as Docker derives it. */
void netd_mac_from_ip(uint32_t ip, uint8_t mac[6]);
void netd_mac_format(uint32_t ip, char out[18]);

/* endpoint_api.c: the asynchronous create/remove/connect/disconnect. */
struct berth_http_call;
void netd_endpoint_create(struct netd *nd, struct berth_http_call *call, json_t *req);
void netd_endpoint_delete(struct netd *nd, struct berth_http_call *call, const char *id);
void netd_endpoint_connect(struct netd *nd, struct berth_http_call *call, const char *id,
			   json_t *req);
void netd_endpoint_disconnect(struct netd *nd, struct berth_http_call *call, const char *id,
			      json_t *req);
/* POST /endpoints/{id}/health {"Healthy": bool}: the container's backends on balanced ports
 * take (no) new connections. */
void netd_endpoint_health(struct netd *nd, struct berth_http_call *call, const char *id,
			  json_t *req);

/* drain.c: POST /endpoints/{id}/drain {"TimeoutMs"?} replies {"Connections": N} once the
 * container's TCP connections through published ports are closed or the timeout passed;
 * DELETE /endpoints/{id}/drain undoes it. */
int netd_drain_init(struct netd *nd);
/* Replies to the waiting drain calls (before the API server goes). */
void netd_drain_shutdown(struct netd *nd);
void netd_endpoint_drain(struct netd *nd, struct berth_http_call *call, const char *id,
			 json_t *req);
void netd_endpoint_undrain(struct netd *nd, struct berth_http_call *call, const char *id);

/* Queue the removal of ep's kernel objects: all of them, or only attachment *only. */
void netd_endpoint_teardown(struct netd *nd, const struct netd_endpoint *ep, const size_t *only);
/* Point ep's published ports at its first address (or remove it as a backend). */
void netd_endpoint_backends_sync(struct netd *nd, struct netd_endpoint *ep);

/* firewall.c: replace `table ip berth` with the rules of the current bridge networks
 * (outbound NAT, isolation, internal networks) in one nftables transaction. */
int netd_firewall_sync(struct netd *nd, struct berth_error *err);
/* Does p of ep go through DNAT (port mode nat, TCP, not balanced, ep set up on a bridge and
 * not draining: a drained port falls back to the proxy, which refuses new connections)? */
bool netd_port_natted(const struct netd *nd, const struct netd_endpoint *ep,
		      const struct netd_port *p);
bool netd_endpoint_natted(const struct netd *nd, const struct netd_endpoint *ep);
/* ep's DNAT map elements may have changed (set up, moved, drained, gone: ep no longer in the
 * list): replace its elements in one small transaction, or the whole table if that fails. A
 * failure of both is logged (the proxy, which still listens with ep as its backend, then
 * serves the port). */
void netd_firewall_ports_changed(struct netd *nd, struct netd_endpoint *ep, bool gone);
const char *netd_port_mode_name(enum netd_port_mode m);

/* recover.c */
int netd_recover(struct netd *nd, struct berth_error *err);
/* Drop endpoints whose container is not in ids (array of strings); returns the removed ids. */
json_t *netd_endpoints_reconcile(struct netd *nd, json_t *ids);

/* state.c */
/* Write the state now, on the calling thread (after any queued write: never older over newer). */
int netd_state_save(struct netd *nd, struct berth_error *err);
/* state_commit.c: fn(arg, 0 or errno) on the loop once a version of the state with every change
 * made so far is on disk. */
typedef void (*netd_saved_fn)(void *arg, int err);
void netd_state_save_then(struct netd *nd, netd_saved_fn fn, void *arg);
int netd_state_commit_init(struct netd *nd, struct berth_error *err);
void netd_state_commit_fini(struct netd *nd);
void netd_state_commit_flush(struct netd *nd);
int netd_state_load(struct netd *nd, struct berth_error *err);
json_t *netd_state_to_json(struct netd *nd);
int netd_state_from_json(struct netd *nd, json_t *root, struct berth_error *err);

/* api.c */
struct berth_http_server *netd_api_start(struct netd *nd, struct berth_error *err);

#endif
