/* The embedded DNS server: listeners per bridge network, local answers, upstream forwarding
 * (UDP here; TCP in dns_tcp.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "dns.h"
#include "dns_msg.h"
#include "netd.h"

#define DNS_PENDING 1024   /* forwarded queries in flight; the low 10 bits of the upstream id */
#define DNS_MAX_ADDRS 1024 /* A records in one local answer (UDP truncates at ~30: TC) */

struct dns_listener {
	struct dns_server *srv;
	struct netd_network *net;
	int fd;
	struct event *ev;
	struct dns_tcp *tcp; /* the TCP side on the same address and port */
};

struct dns_pending {
	bool active;
	uint16_t client_id, upstream_id;
	int upstream; /* index into srv->upstreams */
	struct sockaddr_in client;
	struct dns_listener *via; /* the listener the query came in on (replies go out there) */
	uint8_t *query;		  /* kept to retry on the next upstream */
	size_t query_len;
	int64_t deadline_ms;
};

struct dns_server {
	struct netd *nd;
	struct sockaddr_in upstreams[4];
	int n_upstreams;
	int up_fd;
	struct event *up_ev, *timer;
	struct dns_pending pending[DNS_PENDING];
	unsigned n_pending, next_slot, rotate;
};

static int64_t dns_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dns_parse_upstream(const char *s, char out[64], struct berth_error *err)
{
	char ip[64];
	int port = 53;
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= sizeof(ip))
		return berth_err(err, 400, "invalid DNS upstream %s: expected IP[:PORT]", s);
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || p < 1 || p > 65535)
			return berth_err(err, 400, "invalid DNS upstream %s: bad port", s);
		port = (int)p;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return berth_err(err, 400, "invalid DNS upstream %s: expected an IPv4 address", s);
	snprintf(out, 64, "%s:%d", ip, port);
	return 0;
}

int dns_read_resolv_conf(const char *path, char out[][64], int max)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512], ip[256];
	int n = 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %255s", ip) == 1 &&
		    dns_parse_upstream(ip, out[n], NULL) == 0)
			n++;
	return n;
}

static void dns_send(int fd, const void *buf, size_t len, const struct sockaddr_in *to)
{
	if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
	    errno != EAGAIN)
		log_debug("dns: send: %s", strerror(errno));
}

static void dns_pending_clear(struct dns_server *s, struct dns_pending *p)
{
	free(p->query);
	memset(p, 0, sizeof(*p));
	s->n_pending--;
	if (s->n_pending == 0)
		evtimer_del(s->timer);
}

static void dns_reply_error(struct dns_pending *p, uint8_t rcode)
{
	uint8_t out[DNS_MAX_UDP];
	struct dns_query q;
	size_t n;
	if (dns_parse_query(p->query, p->query_len, &q) == 0)
		n = dns_build_reply(p->query, &q, rcode, NULL, 0, 0, out, sizeof(out));
	else
		n = dns_build_error(p->client_id, 0x0100, rcode, out, sizeof(out));
	dns_set_id(out, p->client_id);
	if (n)
		dns_send(p->via->fd, out, n, &p->client);
}

static void dns_forward_to(struct dns_server *s, struct dns_pending *p)
{
	dns_set_id(p->query, p->upstream_id);
	dns_send(s->up_fd, p->query, p->query_len, &s->upstreams[p->upstream]);
	p->deadline_ms = dns_now_ms() + DNS_UPSTREAM_TIMEOUT_MS;
}

static void dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_server *s = arg;
	int64_t now = dns_now_ms();
	for (unsigned i = 0; i < DNS_PENDING && s->n_pending; i++) {
		struct dns_pending *p = &s->pending[i];
		if (!p->active || p->deadline_ms > now)
			continue;
		if (p->upstream + 1 < s->n_upstreams) {
			p->upstream++;
			dns_forward_to(s, p);
			continue;
		}
		dns_reply_error(p, DNS_RCODE_SERVFAIL);
		dns_pending_clear(s, p);
	}
}

static void dns_on_upstream(evutil_socket_t fd, short what, void *arg)
{
	struct dns_server *s = arg;
	uint8_t buf[65536];
	for (int batch = 0; batch < 64; batch++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		int id = dns_reply_id(buf, (size_t)n);
		if (id < 0)
			continue;
		struct dns_pending *p = &s->pending[id % DNS_PENDING];
		/* Only the upstream we asked, with the id we gave it. */
		if (!p->active || p->upstream_id != id ||
		    from.sin_addr.s_addr != s->upstreams[p->upstream].sin_addr.s_addr ||
		    from.sin_port != s->upstreams[p->upstream].sin_port)
			continue;
		dns_set_id(buf, p->client_id);
		dns_send(p->via->fd, buf, (size_t)n, &p->client);
		dns_pending_clear(s, p);
	}
}

/* Queue a query for the upstreams; false when it cannot be (then the caller answers). */
static bool dns_forward(struct dns_server *s, struct dns_listener *l, const uint8_t *buf,
			size_t len, const struct sockaddr_in *client)
{
	if (s->n_upstreams == 0 || s->n_pending >= DNS_PENDING)
		return false;
	struct dns_pending *p = NULL;
	unsigned slot = 0;
	for (unsigned i = 0; i < DNS_PENDING; i++) {
		slot = (s->next_slot + i) % DNS_PENDING;
		if (!s->pending[slot].active) {
			p = &s->pending[slot];
			break;
		}
	}
	if (!p)
		return false;
	s->next_slot = slot + 1;
	uint16_t salt = 0;
	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) != sizeof(salt))
		salt = (uint16_t)dns_now_ms();
	p->query = malloc(len);
	if (!p->query)
		return false;
	memcpy(p->query, buf, len);
	p->query_len = len;
	p->active = true;
	p->client_id = (uint16_t)(buf[0] << 8 | buf[1]);
	p->upstream_id = (uint16_t)((salt & ~(DNS_PENDING - 1)) | slot);
	p->upstream = 0;
	p->client = *client;
	p->via = l;
	if (s->n_pending++ == 0) {
		struct timeval tv = {0, 250 * 1000};
		evtimer_add(s->timer, &tv);
	}
	dns_forward_to(s, p);
	return true;
}

static bool dns_name_is(const char *q, const char *name, const char *suffix)
{
	if (!name || !*name)
		return false;
	if (*name == '/')
		name++;
	size_t nl = strlen(name), ql = strlen(q);
	if (ql == nl && strncasecmp(q, name, nl) == 0)
		return true;
	/* NAME.NETWORK, as Docker answers too */
	size_t sl = suffix ? strlen(suffix) : 0;
	return sl && ql == nl + 1 + sl && strncasecmp(q, name, nl) == 0 && q[nl] == '.' &&
	       strcasecmp(q + nl + 1, suffix) == 0;
}

size_t dns_lookup(struct dns_server *s, struct netd_network *net, const char *name,
		  uint32_t *addrs_be, size_t max)
{
	size_t n = 0;
	for (struct netd_endpoint *ep = s->nd->endpoints; ep && n < max; ep = ep->next) {
		for (size_t i = 0; i < ep->n_att && n < max; i++) {
			struct netd_attachment *a = &ep->att[i];
			if (a->net != net || !a->ip)
				continue;
			char shortid[13];
			snprintf(shortid, sizeof(shortid), "%.12s", ep->id);
			bool hit = dns_name_is(name, ep->name, net->name) ||
				   dns_name_is(name, shortid, net->name);
			size_t k;
			json_t *alias;
			json_array_foreach(a->aliases, k, alias)
			{
				if (hit)
					break;
				hit = dns_name_is(name, json_string_value(alias), net->name);
			}
			if (hit)
				addrs_be[n++] = htonl(a->ip);
		}
	}
	if (n > 1) {
		/* Round robin: rotate the set by one per answer. */
		uint32_t tmp[DNS_MAX_ADDRS];
		unsigned r = s->rotate++ % n;
		for (size_t i = 0; i < n; i++)
			tmp[i] = addrs_be[(i + r) % n];
		memcpy(addrs_be, tmp, n * sizeof(*tmp));
	}
	return n;
}

size_t dns_refused(const uint8_t *buf, size_t len, uint8_t *out, size_t max_len)
{
	struct dns_query q;
	if (dns_parse_query(buf, len, &q) < 0)
		return 0;
	return dns_build_reply(buf, &q, DNS_RCODE_REFUSED, NULL, 0, 0, out, max_len);
}

enum dns_verdict dns_answer(struct dns_server *s, struct netd_network *net, const uint8_t *buf,
			    size_t len, uint8_t *out, size_t max_len, size_t *out_len)
{
	struct dns_query q;
	*out_len = 0;
	if (dns_parse_query(buf, len, &q) < 0) {
		if (len < DNS_HEADER_LEN || (buf[2] & 0x80))
			return DNS_DROP; /* not a query at all: no answer */
		*out_len = dns_build_error(q.id, q.flags, DNS_RCODE_FORMERR, out, max_len);
		return DNS_REPLY;
	}
	uint32_t addrs[DNS_MAX_ADDRS];
	size_t n = q.qclass == DNS_CLASS_IN ? dns_lookup(s, net, q.name, addrs, DNS_MAX_ADDRS) : 0;
	if (n > 0) {
		/* Ours: A records for A/ANY, an empty NOERROR for other types (no AAAA here). */
		bool want_a = q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_ANY;
		*out_len = dns_build_reply(buf, &q, DNS_RCODE_OK, addrs, want_a ? n : 0, DNS_TTL,
					   out, max_len);
		return DNS_REPLY;
	}
	if (net && net->dns && !net->internal && s->n_upstreams > 0)
		return DNS_FORWARD;
	*out_len = dns_build_reply(buf, &q, DNS_RCODE_REFUSED, NULL, 0, 0, out, max_len);
	return DNS_REPLY;
}

size_t dns_handle_query(struct dns_server *s, struct netd_network *net, const uint8_t *buf,
			size_t len, const void *client_addr, size_t client_len, int reply_fd,
			uint8_t *out, size_t out_size)
{
	size_t n;
	size_t max_len = out_size < DNS_MAX_UDP ? out_size : DNS_MAX_UDP;
	switch (dns_answer(s, net, buf, len, out, max_len, &n)) {
	case DNS_DROP:
		return 0;
	case DNS_REPLY:
		return n;
	case DNS_FORWARD:
		break;
	}
	if (client_len == sizeof(struct sockaddr_in) &&
	    dns_forward(s, net->dns, buf, len, client_addr))
		return 0;
	(void)reply_fd;
	return dns_refused(buf, len, out, max_len);
}

int dns_upstreams(struct dns_server *s, const struct sockaddr_in **out)
{
	*out = s->upstreams;
	return s->n_upstreams;
}

static void dns_on_query(evutil_socket_t fd, short what, void *arg)
{
	struct dns_listener *l = arg;
	uint8_t buf[4096], out[DNS_MAX_UDP];
	for (int batch = 0; batch < 64; batch++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		size_t r = dns_handle_query(l->srv, l->net, buf, (size_t)n, &from, fl, fd, out,
					    sizeof(out));
		if (r)
			dns_send(fd, out, r, &from);
	}
}

int dns_listen(struct dns_server *s, struct netd_network *net, struct berth_error *err)
{
	if (net->dns || net->driver != NETD_DRIVER_BRIDGE)
		return 0;
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "dns: socket");
	int one = 1;
	/* The bridge's address may still be settling; bind anyway. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(53),
				 .sin_addr.s_addr = htonl(net->ipam.gateway)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char g[16];
		ipam_format_ip(net->ipam.gateway, g);
		return berth_err_errno(err, 500, errno, "dns: bind %s:53", g);
	}
	struct dns_listener *l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->srv = s;
	l->net = net;
	l->fd = steal_fd(&fd);
	l->ev = event_new(s->nd->base, l->fd, EV_READ | EV_PERSIST, dns_on_query, l);
	event_add(l->ev, NULL);
	net->dns = l;
	/* TCP is the fallback for truncated answers: without it the names still resolve. */
	struct berth_error e = {0};
	l->tcp = dns_tcp_listen(s, net, s->nd->base, &e);
	if (!l->tcp)
		log_warn("network %s: no DNS over TCP: %s", net->name, e.msg);
	return 0;
}

void dns_unlisten(struct dns_server *s, struct netd_network *net)
{
	struct dns_listener *l = net->dns;
	if (!l)
		return;
	/* Forwarded queries that would answer through this listener are dropped. */
	for (unsigned i = 0; i < DNS_PENDING && s->n_pending; i++)
		if (s->pending[i].active && s->pending[i].via == l)
			dns_pending_clear(s, &s->pending[i]);
	dns_tcp_free(l->tcp);
	event_free(l->ev);
	close(l->fd);
	free(l);
	net->dns = NULL;
}

struct dns_server *dns_server_new(struct netd *nd, struct berth_error *err)
{
	struct dns_server *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->nd = nd;
	for (int i = 0; i < nd->cfg.n_upstreams && i < 4; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), "%s", nd->cfg.upstreams[i]);
		char *colon = strrchr(ip, ':');
		*colon = '\0';
		s->upstreams[i].sin_family = AF_INET;
		s->upstreams[i].sin_port = htons((uint16_t)atoi(colon + 1));
		inet_pton(AF_INET, ip, &s->upstreams[i].sin_addr);
		s->n_upstreams++;
	}
	s->up_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->up_fd < 0) {
		berth_err_errno(err, 500, errno, "dns: socket");
		free(s);
		return NULL;
	}
	s->up_ev = event_new(nd->base, s->up_fd, EV_READ | EV_PERSIST, dns_on_upstream, s);
	event_add(s->up_ev, NULL);
	s->timer = event_new(nd->base, -1, EV_PERSIST, dns_on_timer, s);
	return s;
}

void dns_server_free(struct dns_server *s)
{
	if (!s)
		return;
	for (struct netd_network *n = s->nd->networks; n; n = n->next)
		dns_unlisten(s, n);
	for (unsigned i = 0; i < DNS_PENDING; i++)
		free(s->pending[i].query);
	event_free(s->up_ev);
	event_free(s->timer);
	close(s->up_fd);
	free(s);
}
