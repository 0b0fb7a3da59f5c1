/*
 * Published host ports: one libevent loop serves every listener; TCP bytes move between the
 * client and a backend with splice(2) through a pipe per direction, UDP datagrams through a
 * per-client flow table with an idle timeout. A port may have several backends (the replicas of
 * a service): new TCP connections and new UDP flows are spread over the healthy ones.
 */
#ifndef BERTH_NETD_PROXY_H
#define BERTH_NETD_PROXY_H

#include <stdbool.h>
#include <netinet/in.h>
#include <event2/event.h>

#include "berth/error.h"

enum proxy_proto { PROXY_TCP, PROXY_UDP };

struct proxy;

struct proxy *proxy_new(struct event_base *base);
/* Closes every listener and connection. */
void proxy_free(struct proxy *p);

/*
 * Listen on host_ip:host_port (host_ip "" or "0.0.0.0" = all IPv4 addresses). When the port
 * is already bound by something else: 409 with Docker's text,
 * "Bind for 0.0.0.0:9000 failed: port is already allocated" if berth holds it, else
 * "Error starting userland proxy: listen tcp4 0.0.0.0:9000: bind: address already in use".
 */
int proxy_listen(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto,
		 struct berth_error *err);
/* Stop listening and close the port's connections. */
void proxy_unlisten(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto);
bool proxy_is_listening(struct proxy *p, const char *host_ip, int host_port,
			enum proxy_proto proto);

/* Backends of a listening port. id names the backend (the container id) so it can be removed
 * or marked down; adding an existing id updates its address. */
int proxy_backend_add(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto,
		      const char *id, const char *backend_ip, int backend_port,
		      struct berth_error *err);
void proxy_backend_remove(struct proxy *p, const char *host_ip, int host_port,
			  enum proxy_proto proto, const char *id);
/* A backend that is down gets no new connections (its open ones are left alone). */
void proxy_backend_set_up(struct proxy *p, const char *id, bool up);
/* Draining is like down (no new TCP connections or UDP flows, open ones left alone) but set
 * apart from health: the container is about to go away, and a health change must not put it
 * back. On every port the id is a backend of. */
void proxy_backend_set_draining(struct proxy *p, const char *id, bool draining);
bool proxy_backend_draining(struct proxy *p, const char *id);
/* Open TCP connections (connecting or relaying) to the id's backends, over all ports. */
unsigned proxy_backend_connections(struct proxy *p, const char *id);
/* cb(arg, id) runs when a draining backend's last TCP connection closes, and when a draining
 * backend is removed. It may run inside any proxy call that closes connections: it must not
 * call back into the proxy. NULL clears it. */
void proxy_set_on_drained(struct proxy *p, void (*cb)(void *arg, const char *id), void *arg);

struct proxy_stats {
	unsigned listeners;
	unsigned tcp_connections; /* open now */
	unsigned udp_flows;	  /* open now */
	unsigned long long accepted;
	/* added after the first version: */
	unsigned long long refused; /* closed at once: out of fds, or no backend up/reachable */
	unsigned long long connect_failures; /* backend connects that failed or timed out */
	unsigned long long udp_dropped;	     /* datagrams dropped: flow table full, no backend */
	unsigned long long bytes;	     /* relayed, both directions, TCP and UDP */
	unsigned pooled_pipes;		     /* empty pipes kept for reuse (2 fds each) */
};
void proxy_get_stats(struct proxy *p, struct proxy_stats *out);

/* Raise the soft RLIMIT_NOFILE to the hard limit (each TCP connection holds 6 fds: two sockets
 * and two pipes). Call once at daemon start, before the loop. */
void proxy_raise_nofile(void);

/* Tuning; the defaults suit netd. UDP flows idle for idle_ms are closed (default 30 s); at most
 * max_flows flows per port (default 4096). pipe_size is the F_SETPIPE_SZ request per direction
 * (default 256 KiB, capped at /proc/sys/fs/pipe-max-size; 0 = the kernel's 64 KiB). */
void proxy_set_udp_idle_timeout(struct proxy *p, unsigned idle_ms);
void proxy_set_udp_max_flows(struct proxy *p, unsigned max_flows);
void proxy_set_pipe_size(struct proxy *p, int bytes);

#endif
