/* Published UDP ports: a flow per client address, each a socket connected to one backend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_priv.h"

#define PROXY_FLOW_MIN_BUCKETS 16
#define PROXY_FLOW_MAX_BUCKETS 4096

/*
 * Replies go out of the listener socket with the address the client wrote to as their source
 * (IP_PKTINFO), so a client of 0.0.0.0:P sees answers from where it sent.
 */
struct proxy_flow {
	struct proxy_flow *next; /* bucket chain */
	struct proxy_port *port;
	struct sockaddr_in client;
	struct in_addr local; /* the address the client's datagram was sent to */
	struct sockaddr_in backend;
	int fd;
	struct event *ev;
	struct event *timer;
	struct timeval last; /* last datagram either way, from the loop's cached clock */
};

static size_t flow_hash(const struct sockaddr_in *a, size_t n_buckets)
{
	uint64_t h = ((uint64_t)a->sin_addr.s_addr << 16 | a->sin_port) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (n_buckets - 1);
}

static void flow_close(struct proxy_flow *f)
{
	struct proxy_port *port = f->port;
	struct proxy_flow **pp = &port->flows[flow_hash(&f->client, port->n_flow_buckets)];
	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	event_free(f->ev);
	event_free(f->timer);
	close(f->fd);
	port->n_flows--;
	port->p->stats.udp_flows--;
	free(f);
}

static void flow_touch(struct proxy_flow *f)
{
	event_base_gettimeofday_cached(f->port->p->base, &f->last);
}

/* The timer is not pushed back on every datagram: when it fires early it re-arms itself. */
static void flow_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_flow *f = arg;
	unsigned idle_ms = f->port->p->udp_idle_ms;
	struct timeval now, idle;
	event_base_gettimeofday_cached(f->port->p->base, &now);
	timersub(&now, &f->last, &idle);
	long long spent = (long long)idle.tv_sec * 1000 + idle.tv_usec / 1000;
	if (spent >= idle_ms) {
		flow_close(f);
		return;
	}
	long long left = idle_ms - spent;
	struct timeval tv = {left / 1000, left % 1000 * 1000};
	evtimer_add(f->timer, &tv);
}

static void flow_send_reply(struct proxy_flow *f, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {
	    .msg_name = &f->client,
	    .msg_namelen = sizeof(f->client),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	if (f->port->addr.sin_addr.s_addr == INADDR_ANY) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);
		pi->ipi_spec_dst = f->local;
	}
	/* A full socket buffer drops the datagram, as the network would. */
	if (sendmsg(f->port->fd, &msg, MSG_DONTWAIT) > 0)
		f->port->p->stats.bytes += len;
}

static void flow_on_reply(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_flow *f = arg;
	struct proxy *p = f->port->p;
	for (int i = 0; i < PROXY_UDP_BATCH; i++) {
		ssize_t n = recv(fd, p->udp_buf, PROXY_UDP_BUF, MSG_DONTWAIT);
		if (n < 0) {
			/* ECONNREFUSED: an ICMP error for an earlier datagram; keep going. */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return;
		}
		flow_touch(f);
		flow_send_reply(f, p->udp_buf, (size_t)n);
	}
}

static void flow_table_grow(struct proxy_port *port)
{
	size_t n = port->n_flow_buckets ? port->n_flow_buckets * 2 : PROXY_FLOW_MIN_BUCKETS;
	struct proxy_flow **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < port->n_flow_buckets; i++) {
		struct proxy_flow *f = port->flows[i];
		while (f) {
			struct proxy_flow *next = f->next;
			size_t h = flow_hash(&f->client, n);
			f->next = b[h];
			b[h] = f;
			f = next;
		}
	}
	free(port->flows);
	port->flows = b;
	port->n_flow_buckets = n;
}

static struct proxy_flow *flow_find(struct proxy_port *port, const struct sockaddr_in *client)
{
	if (!port->n_flow_buckets)
		return NULL;
	for (struct proxy_flow *f = port->flows[flow_hash(client, port->n_flow_buckets)]; f;
	     f = f->next)
		if (f->client.sin_addr.s_addr == client->sin_addr.s_addr &&
		    f->client.sin_port == client->sin_port)
			return f;
	return NULL;
}

static struct proxy_flow *flow_new(struct proxy_port *port, const struct sockaddr_in *client,
				   struct in_addr local)
{
	struct proxy *p = port->p;
	/* Each flow is an fd: all ports together must leave room for TCP connections. */
	if (port->n_flows >= p->udp_max_flows || p->stats.udp_flows >= PROXY_UDP_MAX_FLOWS_TOTAL)
		return NULL;
	const struct proxy_backend *b = proxy_port_pick(port);
	if (!b)
		return NULL;
	if (port->n_flows >= port->n_flow_buckets * 2 &&
	    port->n_flow_buckets < PROXY_FLOW_MAX_BUCKETS)
		flow_table_grow(port);
	if (!port->n_flow_buckets)
		return NULL;
	struct proxy_flow *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->port = port;
	f->client = *client;
	f->local = local;
	f->backend = b->addr;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		goto fail;
	if (connect(f->fd, (const struct sockaddr *)&b->addr, sizeof(b->addr)) < 0)
		goto fail;
	f->ev = event_new(p->base, f->fd, EV_READ | EV_PERSIST, flow_on_reply, f);
	f->timer = evtimer_new(p->base, flow_on_timer, f);
	struct timeval tv = {p->udp_idle_ms / 1000, p->udp_idle_ms % 1000 * 1000};
	if (!f->ev || !f->timer || event_add(f->ev, NULL) < 0 || evtimer_add(f->timer, &tv) < 0)
		goto fail;
	size_t h = flow_hash(client, port->n_flow_buckets);
	f->next = port->flows[h];
	port->flows[h] = f;
	port->n_flows++;
	p->stats.udp_flows++;
	return f;
fail:
	if (f->ev)
		event_free(f->ev);
	if (f->timer)
		event_free(f->timer);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return NULL;
}

static void port_on_datagram(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_port *port = arg;
	struct proxy *p = port->p;
	for (int i = 0; i < PROXY_UDP_BATCH; i++) {
		struct sockaddr_in client;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} control;
		struct iovec iov = {p->udp_buf, PROXY_UDP_BUF};
		struct msghdr msg = {
		    .msg_name = &client,
		    .msg_namelen = sizeof(client),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = control.buf,
		    .msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (msg.msg_namelen < sizeof(client) || client.sin_family != AF_INET)
			continue;
		struct in_addr local = port->addr.sin_addr;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO)
				local = ((struct in_pktinfo *)CMSG_DATA(cm))->ipi_addr;
		struct proxy_flow *f = flow_find(port, &client);
		if (!f)
			f = flow_new(port, &client, local);
		if (!f) {
			p->stats.udp_dropped++;
			continue;
		}
		flow_touch(f);
		if (send(f->fd, p->udp_buf, (size_t)n, MSG_DONTWAIT) > 0)
			p->stats.bytes += (unsigned long long)n;
		else
			p->stats.udp_dropped++;
	}
}

int proxy_udp_port_start(struct proxy_port *port)
{
	struct proxy *p = port->p;
	if (!p->udp_buf && !(p->udp_buf = malloc(PROXY_UDP_BUF)))
		return -1;
	port->ev = event_new(p->base, port->fd, EV_READ | EV_PERSIST, port_on_datagram, port);
	if (!port->ev || event_add(port->ev, NULL) < 0) {
		if (port->ev)
			event_free(port->ev);
		port->ev = NULL;
		return -1;
	}
	return 0;
}

static void flows_close_matching(struct proxy_port *port, const struct sockaddr_in *backend)
{
	for (size_t i = 0; i < port->n_flow_buckets; i++) {
		struct proxy_flow *f = port->flows[i];
		while (f) {
			struct proxy_flow *next = f->next;
			if (!backend || (f->backend.sin_addr.s_addr == backend->sin_addr.s_addr &&
					 f->backend.sin_port == backend->sin_port))
				flow_close(f);
			f = next;
		}
	}
}

void proxy_udp_port_stop(struct proxy_port *port)
{
	flows_close_matching(port, NULL);
	free(port->flows);
	port->flows = NULL;
	port->n_flow_buckets = 0;
	if (port->ev)
		event_free(port->ev);
	close(port->fd);
}

void proxy_udp_close_backend(struct proxy_port *port, const struct sockaddr_in *backend)
{
	flows_close_matching(port, backend);
}
