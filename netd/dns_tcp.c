/* DNS over TCP (RFC 7766) on each bridge network's gateway:53: length-prefixed queries,
 * several per connection (answers in the order they are ready), an idle timeout and bounded
 * buffers; names netd does not know go upstream over TCP, one connection per query. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "dns.h"
#include "dns_msg.h"
#include "netd.h"

#define DNS_TCP_MAX_CONNS 64	    /* per network: beyond, new connections are closed */
#define DNS_TCP_MAX_QUERY 4096	    /* a longer query closes the connection */
#define DNS_TCP_MAX_FWD 8	    /* forwarded queries in flight per connection */
#define DNS_TCP_MAX_OUT (64 * 1024) /* replies a client has not read before its queries wait */
#define DNS_TCP_IDLE_S 10	    /* RFC 7766 6.2.3: seconds, not minutes */

struct dns_tcp {
	struct dns_server *srv;
	struct netd_network *net;
	struct event_base *base;
	struct evconnlistener *lev;
	struct event *resume; /* re-enables accepting after running out of fds */
	struct dns_tcp_conn *conns;
	unsigned n_conns;
};

struct dns_tcp_fwd {
	struct dns_tcp_conn *c;
	struct bufferevent *up;
	int upstream;
	uint8_t *msg; /* the query with its length prefix */
	size_t len;
	struct dns_tcp_fwd *next;
};

struct dns_tcp_conn {
	struct dns_tcp *t;
	struct bufferevent *bev;
	struct dns_tcp_fwd *fwds;
	unsigned n_fwds;
	bool eof; /* the client is done sending: close once everything is answered */
	struct dns_tcp_conn *prev, *next;
};

static bool dns_tcp_fwd_connect(struct dns_tcp_fwd *f);
static size_t dns_tcp_servfail(const struct dns_tcp_fwd *f, uint8_t *out, size_t size);

static void dns_tcp_fwd_free(struct dns_tcp_fwd *f)
{
	struct dns_tcp_conn *c = f->c;
	for (struct dns_tcp_fwd **p = &c->fwds; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	c->n_fwds--;
	if (f->up)
		bufferevent_free(f->up);
	free(f->msg);
	free(f);
}

static void dns_tcp_conn_free(struct dns_tcp_conn *c)
{
	while (c->fwds)
		dns_tcp_fwd_free(c->fwds);
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->t->n_conns--;
	free(c);
}

static void dns_tcp_send(struct dns_tcp_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, prefix, 2);
	evbuffer_add(out, msg, len);
}

/* Answer (or forward) the whole queries waiting in the client's input, as far as the limits
 * allow; reading stops while they do not. Returns false when c was freed. */
static bool dns_tcp_process(struct dns_tcp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	static uint8_t reply[DNS_MAX_TCP]; /* the loop thread's only */
	bool paused = false;
	for (;;) {
		if (c->n_fwds >= DNS_TCP_MAX_FWD || evbuffer_get_length(out) >= DNS_TCP_MAX_OUT) {
			paused = true;
			break;
		}
		size_t avail = evbuffer_get_length(in), len;
		if (avail > DNS_TCP_MAX_QUERY + 2)
			avail = DNS_TCP_MAX_QUERY + 2;
		const uint8_t *buf = evbuffer_pullup(in, (ssize_t)avail);
		int rc = dns_tcp_frame(buf, avail, DNS_TCP_MAX_QUERY, &len);
		if (rc < 0) {
			log_debug("dns: tcp: a message of a bad length: closing");
			dns_tcp_conn_free(c);
			return false;
		}
		if (rc == 0)
			break;
		size_t n = 0;
		switch (dns_answer(c->t->srv, c->t->net, buf + 2, len, reply, sizeof(reply), &n)) {
		case DNS_DROP:
			break;
		case DNS_REPLY:
			if (n)
				dns_tcp_send(c, reply, n);
			break;
		case DNS_FORWARD: {
			struct dns_tcp_fwd *f = calloc(1, sizeof(*f));
			if (!f)
				abort();
			f->c = c;
			f->len = len + 2;
			f->msg = malloc(f->len);
			if (!f->msg)
				abort();
			memcpy(f->msg, buf, f->len);
			f->next = c->fwds;
			c->fwds = f;
			c->n_fwds++;
			if (!dns_tcp_fwd_connect(f)) {
				dns_tcp_send(c, reply, dns_tcp_servfail(f, reply, sizeof(reply)));
				dns_tcp_fwd_free(f);
			}
			break;
		}
		}
		evbuffer_drain(in, len + 2);
	}
	if (paused || c->eof)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
	return true;
}

/* Close a client that is done once nothing is left for it (after dns_tcp_process: what is
 * left in its input then is a partial query that can no longer complete). Returns false when
 * c was freed. */
static bool dns_tcp_maybe_close(struct dns_tcp_conn *c)
{
	if (!c->eof || c->n_fwds || evbuffer_get_length(bufferevent_get_output(c->bev)))
		return true;
	dns_tcp_conn_free(c);
	return false;
}

static void dns_tcp_on_read(struct bufferevent *bev, void *arg)
{
	struct dns_tcp_conn *c = arg;
	if (dns_tcp_process(c))
		dns_tcp_maybe_close(c);
}

/* The output drained: queries held back by DNS_TCP_MAX_OUT may go on. */
static void dns_tcp_on_write(struct bufferevent *bev, void *arg)
{
	struct dns_tcp_conn *c = arg;
	if (dns_tcp_process(c))
		dns_tcp_maybe_close(c);
}

static void dns_tcp_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct dns_tcp_conn *c = arg;
	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		if (dns_tcp_process(c))
			dns_tcp_maybe_close(c);
		return;
	}
	/* An error, or the idle timeout: nothing was read (or written) for DNS_TCP_IDLE_S. */
	dns_tcp_conn_free(c);
}

static void dns_tcp_fwd_reply(struct dns_tcp_fwd *f, const uint8_t *msg, size_t len)
{
	struct dns_tcp_conn *c = f->c;
	dns_tcp_send(c, msg, len);
	dns_tcp_fwd_free(f);
	if (dns_tcp_process(c))
		dns_tcp_maybe_close(c);
}

static size_t dns_tcp_servfail(const struct dns_tcp_fwd *f, uint8_t *out, size_t size)
{
	struct dns_query q;
	if (dns_parse_query(f->msg + 2, f->len - 2, &q) == 0)
		return dns_build_reply(f->msg + 2, &q, DNS_RCODE_SERVFAIL, NULL, 0, 0, out, size);
	return dns_build_error((uint16_t)(f->msg[2] << 8 | f->msg[3]), 0x0100, DNS_RCODE_SERVFAIL,
			       out, size);
}

/* This upstream failed: the next one, or SERVFAIL. */
static void dns_tcp_fwd_fail(struct dns_tcp_fwd *f)
{
	bufferevent_free(f->up);
	f->up = NULL;
	f->upstream++;
	if (dns_tcp_fwd_connect(f))
		return;
	uint8_t out[DNS_MAX_UDP];
	dns_tcp_fwd_reply(f, out, dns_tcp_servfail(f, out, sizeof(out)));
}

static void dns_tcp_fwd_on_read(struct bufferevent *bev, void *arg)
{
	struct dns_tcp_fwd *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t avail = evbuffer_get_length(in), len;
	const uint8_t *buf = evbuffer_pullup(in, (ssize_t)avail);
	int rc = dns_tcp_frame(buf, avail, DNS_MAX_TCP, &len);
	if (rc == 0)
		return;
	/* The reply to our query (same id, a response), or this upstream is no good. */
	if (rc < 0 || dns_reply_id(buf + 2, len) != (f->msg[2] << 8 | f->msg[3])) {
		dns_tcp_fwd_fail(f);
		return;
	}
	dns_tcp_fwd_reply(f, buf + 2, len);
}

static void dns_tcp_fwd_on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		return;
	dns_tcp_fwd_fail(arg);
}

/* Send f's query to its upstream or the next ones; false when none could be tried. Never
 * calls back at once: a refused connect is reported on a later loop turn. */
static bool dns_tcp_fwd_connect(struct dns_tcp_fwd *f)
{
	const struct sockaddr_in *ups;
	int n = dns_upstreams(f->c->t->srv, &ups);
	struct timeval tv = {DNS_UPSTREAM_TIMEOUT_MS / 1000,
			     (DNS_UPSTREAM_TIMEOUT_MS % 1000) * 1000};
	for (; f->upstream < n; f->upstream++) {
		f->up = bufferevent_socket_new(f->c->t->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (!f->up)
			return false;
		bufferevent_setcb(f->up, dns_tcp_fwd_on_read, NULL, dns_tcp_fwd_on_event, f);
		bufferevent_setwatermark(f->up, EV_READ, 0, DNS_MAX_TCP + 2);
		/* Covers the connect, the write and the wait for the reply. */
		bufferevent_set_timeouts(f->up, &tv, &tv);
		bufferevent_write(f->up, f->msg, f->len);
		bufferevent_enable(f->up, EV_READ);
		if (bufferevent_socket_connect(f->up, (const struct sockaddr *)&ups[f->upstream],
					       sizeof(ups[f->upstream])) == 0)
			return true;
		bufferevent_free(f->up);
		f->up = NULL;
	}
	return false;
}

static void dns_tcp_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
			      int salen, void *arg)
{
	struct dns_tcp *t = arg;
	if (t->n_conns >= DNS_TCP_MAX_CONNS) {
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct dns_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->t = t;
	c->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->n_conns++;
	struct timeval idle = {DNS_TCP_IDLE_S, 0};
	bufferevent_setcb(c->bev, dns_tcp_on_read, dns_tcp_on_write, dns_tcp_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, DNS_TCP_MAX_QUERY + 2);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ);
}

static void dns_tcp_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct dns_tcp *t = arg;
	evconnlistener_enable(t->lev);
}

/* accept failed (out of fds): pause instead of spinning on a level-triggered listener. */
static void dns_tcp_on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct dns_tcp *t = arg;
	log_debug("dns: tcp: accept: %s", strerror(errno));
	evconnlistener_disable(lev);
	struct timeval tv = {0, 100 * 1000};
	evtimer_add(t->resume, &tv);
}

struct dns_tcp *dns_tcp_listen(struct dns_server *s, struct netd_network *net,
			       struct event_base *base, struct berth_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		berth_err_errno(err, 500, errno, "dns: tcp socket");
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(53),
				 .sin_addr.s_addr = htonl(net->ipam.gateway)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		char g[16];
		ipam_format_ip(net->ipam.gateway, g);
		berth_err_errno(err, 500, errno, "dns: tcp bind %s:53", g);
		return NULL;
	}
	struct dns_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->srv = s;
	t->net = net;
	t->base = base;
	t->resume = evtimer_new(base, dns_tcp_on_resume, t);
	t->lev = evconnlistener_new(base, dns_tcp_on_accept, t, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!t->lev) {
		event_free(t->resume);
		free(t);
		berth_err(err, 500, "dns: tcp listener");
		return NULL;
	}
	steal_fd(&fd);
	evconnlistener_set_error_cb(t->lev, dns_tcp_on_accept_error);
	return t;
}

void dns_tcp_free(struct dns_tcp *t)
{
	if (!t)
		return;
	while (t->conns)
		dns_tcp_conn_free(t->conns);
	evconnlistener_free(t->lev);
	event_free(t->resume);
	free(t);
}
