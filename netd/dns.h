/* The embedded DNS server: a UDP and a TCP socket on each bridge network's gateway address,
 * port 53.
 * It answers A queries for the names of the endpoints on the asking client's network
 * (container names, aliases, short ids; a name shared by several endpoints answers all their
 * addresses, rotated), and forwards everything else to the upstream resolvers without blocking:
 * an id map and a timeout. */
#ifndef BERTH_NETD_DNS_H
#define BERTH_NETD_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

struct event_base;
struct sockaddr_in;
struct netd;
struct netd_network;
struct dns_server;

#define DNS_TTL 600
#define DNS_UPSTREAM_TIMEOUT_MS 2000

struct dns_server *dns_server_new(struct netd *nd, struct berth_error *err);
void dns_server_free(struct dns_server *s);
/* "IP" or "IP:PORT" (53 by default). */
int dns_parse_upstream(const char *s, char out[64], struct berth_error *err);
/* Nameserver lines of a resolv.conf (IPv4 only), as "IP:53"; returns how many. */
int dns_read_resolv_conf(const char *path, char out[][64], int max);

int dns_listen(struct dns_server *s, struct netd_network *net, struct berth_error *err);
void dns_unlisten(struct dns_server *s, struct netd_network *net);

/* Addresses (network order) of name for a client on net: how many were written (at most
 * max), rotated by one on every call. 0: not a name of this network. */
size_t dns_lookup(struct dns_server *s, struct netd_network *net, const char *name,
		  uint32_t *addrs_be, size_t max);

enum dns_verdict { DNS_DROP, DNS_REPLY, DNS_FORWARD };
/* Answer a query from a client on net into out (at most max_len bytes): a local name, FORMERR,
 * or REFUSED when it cannot go upstream (*out_len set; DNS_REPLY). DNS_FORWARD: it is for the
 * upstreams. DNS_DROP: not a query, no answer. */
enum dns_verdict dns_answer(struct dns_server *s, struct netd_network *net, const uint8_t *buf,
			    size_t len, uint8_t *out, size_t max_len, size_t *out_len);
/* REFUSED for a query (0 if it does not parse). */
size_t dns_refused(const uint8_t *buf, size_t len, uint8_t *out, size_t max_len);
/* The upstream resolvers' addresses; returns how many. */
int dns_upstreams(struct dns_server *s, const struct sockaddr_in **out);

/* dns_tcp.c: DNS over TCP on net's gateway:53 (RFC 7766). */
struct dns_tcp;
struct dns_tcp *dns_tcp_listen(struct dns_server *s, struct netd_network *net,
			       struct event_base *base, struct berth_error *err);
void dns_tcp_free(struct dns_tcp *t);

/* Handle one query datagram from a client on net; writes the reply to out and returns its
 * length, 0 when the query was forwarded (the reply comes later) or dropped. */
size_t dns_handle_query(struct dns_server *s, struct netd_network *net, const uint8_t *buf,
			size_t len, const void *client_addr, size_t client_len, int reply_fd,
			uint8_t *out, size_t out_size);

#endif
