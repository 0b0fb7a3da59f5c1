/* The published-port proxy's internal structures, shared by proxy.c, proxy_tcp.c and proxy_udp.c.
 */
#ifndef BERTH_NETD_PROXY_PRIV_H
#define BERTH_NETD_PROXY_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "proxy.h"

/* A connect that has not finished by then is given up and the next backend tried. */
#define PROXY_CONNECT_TIMEOUT_MS 5000
/* Most backends one new connection tries before the client is closed. */
#define PROXY_CONNECT_ATTEMPTS 4
/* Work done per event callback before yielding to the other connections. */
#define PROXY_ACCEPT_BATCH 64
#define PROXY_SPLICE_ROUNDS 8
#define PROXY_SPLICE_LONG_READ (32 * 1024)
#define PROXY_UDP_BATCH 64
/* Empty pipes kept for the next connection (2 fds each): a keep-alive connection between
 * requests holds none. */
#define PROXY_PIPE_POOL 64
/* UDP flows over all ports (each holds a socket). */
#define PROXY_UDP_MAX_FLOWS_TOTAL 8192
/* Largest UDP payload over IPv4. */
#define PROXY_UDP_BUF 65535

struct proxy_backend {
	char *id;
	struct sockaddr_in addr;
	bool up;
	bool draining;	/* going away: no new connections until it is removed or undrained */
	unsigned conns; /* TCP connections to it (connecting or relaying) */
};

struct proxy_conn;
struct proxy_flow;

struct proxy_port {
	struct proxy *p;
	struct proxy_port *next;
	struct sockaddr_in addr; /* sin_addr INADDR_ANY for all addresses */
	enum proxy_proto proto;
	int fd;
	struct event *ev;	/* EV_READ on the listener */
	struct event *ev_retry; /* re-enables accept after running out of fds */
	struct proxy_backend *backends;
	size_t n_backends;
	size_t rr;		  /* round-robin cursor */
	struct proxy_conn *conns; /* TCP: doubly linked, for unlisten and backend removal */
	/* UDP: flows chained in buckets hashed by client address */
	struct proxy_flow **flows;
	size_t n_flow_buckets;
	unsigned n_flows;
};

struct proxy {
	struct event_base *base;
	struct proxy_port *ports;
	int pipe_size;		       /* bytes asked of F_SETPIPE_SZ; 0 keeps the kernel default */
	int reserve_fd;		       /* spent to refuse a connection when out of fds */
	unsigned udp_idle_ms;	       /* a flow without traffic this long is closed */
	unsigned udp_max_flows;	       /* per port; datagrams from new clients are dropped beyond */
	unsigned char *udp_buf;	       /* one datagram at a time: the loop is single-threaded */
	int pipes[PROXY_PIPE_POOL][2]; /* the pool: [0, n_pipes) are empty pipes */
	unsigned n_pipes;
	void (*on_idle)(void *arg, const char *id); /* proxy_set_on_drained */
	void *on_idle_arg;
	time_t fd_warned; /* rate limit for the out-of-fds warning */
	unsigned fd_warn_skipped;
	struct proxy_stats stats;
};

/* The next backend that is up and not draining, round-robin; NULL when none is. */
struct proxy_backend *proxy_port_pick(struct proxy_port *port);
/* Backends a new connection may use. */
size_t proxy_port_usable(const struct proxy_port *port);
/* A TCP connection to addr ended or moved on: one fewer on its backend (if it is still
 * there); tells on_idle when a draining backend has none left. */
void proxy_port_conn_gone(struct proxy_port *port, const struct sockaddr_in *addr);
void proxy_reserve_fd_refill(struct proxy *p);
/* An empty pipe from the pool or a new one; -1 (errno set) when none can be made. */
int proxy_pipe_get(struct proxy *p, int out[2]);
/* Back to the pool (it must be empty) or closed; out is set to -1. */
void proxy_pipe_put(struct proxy *p, int pipe[2]);
/* Closes the pooled pipes: they are fds someone else needs now. Returns how many. */
unsigned proxy_pipe_pool_drain(struct proxy *p);
/* Out of fds: warns at most every few seconds. */
void proxy_warn_no_fds(struct proxy *p, int port, const char *what, int errno_value);

int proxy_tcp_port_start(struct proxy_port *port);
void proxy_tcp_port_stop(struct proxy_port *port);
/* Closes the TCP connections to a backend address (it was removed). */
void proxy_tcp_close_backend(struct proxy_port *port, const struct sockaddr_in *addr);

int proxy_udp_port_start(struct proxy_port *port);
void proxy_udp_port_stop(struct proxy_port *port);
void proxy_udp_close_backend(struct proxy_port *port, const struct sockaddr_in *addr);

#endif
