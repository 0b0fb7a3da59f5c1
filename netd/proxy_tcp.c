/* Published TCP ports: accept, a nonblocking connect to a backend, then splice(2) both ways. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "berth/log.h"
#include "proxy_priv.h"

/*
 * One relayed connection. Side 0 is the client, side 1 the backend; direction d carries bytes
 * read from side d to side 1-d through pipe[d]. Events are added only while needed: a side's
 * read event while its direction's pipe is empty and no EOF was seen (so a full pipe stops the
 * reading: backpressure), the other side's write event while that pipe holds bytes the socket
 * would not take.
 */
struct proxy_conn {
	struct proxy_port *port;
	struct proxy_conn *prev, *next;
	struct sockaddr_in backend;
	int fd[2];
	int pipe[2][2]; /* [direction][0 = read end, 1 = write end] */
	size_t pending[2];
	bool eof[2];  /* side d reached EOF */
	bool shut[2]; /* direction d is finished: side 1-d got shutdown(SHUT_WR) */
	bool rd_on[2], wr_on[2];
	int attempts_left;
	bool counted; /* on its backend's count (proxy_port_conn_gone when it ends) */
	struct event *rd[2], *wr[2];
	struct event *connect_ev;
};

static void conn_connect_next(struct proxy_conn *c);

/* The connection no longer uses its backend (it closes, or its connect failed). */
static void conn_uncount(struct proxy_conn *c)
{
	if (!c->counted)
		return;
	c->counted = false;
	proxy_port_conn_gone(c->port, &c->backend);
}

static void conn_close(struct proxy_conn *c)
{
	struct proxy *p = c->port->p;
	for (int i = 0; i < 2; i++) {
		if (c->rd[i])
			event_free(c->rd[i]);
		if (c->wr[i])
			event_free(c->wr[i]);
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		if (c->pending[i] == 0) {
			proxy_pipe_put(p, c->pipe[i]);
		} else {
			close(c->pipe[i][0]);
			close(c->pipe[i][1]);
		}
	}
	if (c->connect_ev)
		event_free(c->connect_ev);
	conn_uncount(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->port->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->stats.tcp_connections--;
	free(c);
}

static void conn_want(struct event *ev, bool *on, bool want)
{
	if (want == *on)
		return;
	if (want)
		event_add(ev, NULL);
	else
		event_del(ev);
	*on = want;
}

/* Moves what it can in direction d; -1 when the connection is broken. */
static int conn_pump(struct proxy_conn *c, int d)
{
	const unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
	int src = c->fd[d], dst = c->fd[1 - d];
	if (c->shut[d])
		return 0;
	if (!c->eof[d] && c->pipe[d][0] < 0 && proxy_pipe_get(c->port->p, c->pipe[d]) < 0) {
		proxy_warn_no_fds(c->port->p, ntohs(c->port->addr.sin_port), "cannot make a pipe",
				  errno);
		return -1;
	}
	for (int round = 0; round < PROXY_SPLICE_ROUNDS; round++) {
		/* A short read most likely emptied the socket: rather than a splice that would
		 * only say EAGAIN, let the (level-triggered) read event say whether more came. */
		bool again = false;
		if (!c->eof[d]) {
			ssize_t n = splice(src, NULL, c->pipe[d][1], NULL, 1 << 20, flags);
			if (n > 0) {
				c->pending[d] += (size_t)n;
				again = n >= PROXY_SPLICE_LONG_READ;
			} else if (n == 0) {
				c->eof[d] = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (c->pending[d] > 0) {
			ssize_t n = splice(c->pipe[d][0], NULL, dst, NULL, c->pending[d], flags);
			if (n > 0) {
				c->pending[d] -= (size_t)n;
				c->port->p->stats.bytes += (unsigned long long)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			} else {
				break; /* the destination is full: wait until it is writable */
			}
		}
		if (!again)
			break;
	}
	if (c->pending[d] == 0)
		proxy_pipe_put(c->port->p, c->pipe[d]);
	if (c->eof[d] && c->pending[d] == 0) {
		shutdown(dst, SHUT_WR);
		c->shut[d] = true;
	}
	conn_want(c->rd[d], &c->rd_on[d], !c->eof[d] && c->pending[d] == 0);
	conn_want(c->wr[1 - d], &c->wr_on[1 - d], c->pending[d] > 0);
	return 0;
}

static void conn_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	int side = fd == c->fd[0] ? 0 : 1;
	/* Readable side s feeds direction s; writable side s drains direction 1-s. */
	int d = what & EV_READ ? side : 1 - side;
	if (conn_pump(c, d) < 0 || (c->shut[0] && c->shut[1]))
		conn_close(c);
}

/* The backend accepted: set up the pipes and events and start moving bytes. */
static void conn_start_relay(struct proxy_conn *c)
{
	struct event_base *base = c->port->p->base;
	if (c->connect_ev) {
		event_free(c->connect_ev);
		c->connect_ev = NULL;
	}
	int one = 1;
	setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int i = 0; i < 2; i++) {
		c->rd[i] = event_new(base, c->fd[i], EV_READ | EV_PERSIST, conn_on_event, c);
		c->wr[i] = event_new(base, c->fd[i], EV_WRITE | EV_PERSIST, conn_on_event, c);
		if (!c->rd[i] || !c->wr[i])
			goto fail;
	}
	/* Bytes may already wait on either side. */
	if (conn_pump(c, 0) < 0 || conn_pump(c, 1) < 0) {
		c->port->p->stats.refused++;
		conn_close(c);
	} else if (c->shut[0] && c->shut[1]) {
		conn_close(c);
	}
	return;
fail:
	c->port->p->stats.refused++;
	conn_close(c);
}

static void conn_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	int e = ETIMEDOUT;
	socklen_t len = sizeof(e);
	if ((what & EV_WRITE) && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e == 0) {
		conn_start_relay(c);
		return;
	}
	c->port->p->stats.connect_failures++;
	event_free(c->connect_ev);
	c->connect_ev = NULL;
	close(c->fd[1]);
	c->fd[1] = -1;
	conn_uncount(c);
	conn_connect_next(c);
}

/* Tries backends until one connects or starts connecting; closes c when none can. */
static void conn_connect_next(struct proxy_conn *c)
{
	struct proxy *p = c->port->p;
	while (c->attempts_left-- > 0) {
		struct proxy_backend *b = proxy_port_pick(c->port);
		if (!b)
			break;
		c->backend = b->addr;
		b->conns++;
		c->counted = true;
		c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd[1] < 0 && (errno == EMFILE || errno == ENFILE) &&
		    proxy_pipe_pool_drain(p) > 0)
			c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd[1] < 0) {
			proxy_warn_no_fds(p, ntohs(c->port->addr.sin_port),
					  "cannot make a socket to a backend", errno);
			conn_uncount(c);
			break; /* out of fds: trying another backend will not help */
		}
		if (connect(c->fd[1], (struct sockaddr *)&b->addr, sizeof(b->addr)) == 0) {
			conn_start_relay(c);
			return;
		}
		if (errno == EINPROGRESS) {
			struct timeval tv = {PROXY_CONNECT_TIMEOUT_MS / 1000,
					     PROXY_CONNECT_TIMEOUT_MS % 1000 * 1000};
			c->connect_ev = event_new(p->base, c->fd[1], EV_WRITE, conn_on_connect, c);
			if (c->connect_ev && event_add(c->connect_ev, &tv) == 0)
				return;
		}
		p->stats.connect_failures++;
		close(c->fd[1]);
		c->fd[1] = -1;
		conn_uncount(c);
	}
	p->stats.refused++;
	conn_close(c);
}

static void conn_new(struct proxy_port *port, int cfd)
{
	struct proxy *p = port->p;
	struct proxy_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		p->stats.refused++;
		return;
	}
	c->port = port;
	c->fd[0] = cfd;
	c->fd[1] = -1;
	for (int i = 0; i < 2; i++)
		c->pipe[i][0] = c->pipe[i][1] = -1;
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = port->conns;
	if (c->next)
		c->next->prev = c;
	port->conns = c;
	p->stats.tcp_connections++;
	size_t up = proxy_port_usable(port);
	c->attempts_left = up < PROXY_CONNECT_ATTEMPTS ? (int)up : PROXY_CONNECT_ATTEMPTS;
	conn_connect_next(c);
}

static void port_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_port *port = arg;
	proxy_reserve_fd_refill(port->p);
	event_add(port->ev, NULL);
}

/*
 * Out of fds (accept says so even with nobody waiting): a level-triggered listener would spin
 * on a waiting connection. Spend the reserve fd to accept and close it (the client sees EOF,
 * not a hang), or, without one, pause accepting for a moment. Returns whether to go on
 * accepting.
 */
static bool port_refuse(struct proxy_port *port)
{
	struct proxy *p = port->p;
	if (p->reserve_fd >= 0) {
		close(p->reserve_fd);
		p->reserve_fd = -1;
		int fd = accept4(port->fd, NULL, NULL, SOCK_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			close(fd);
			p->stats.refused++;
			proxy_warn_no_fds(p, ntohs(port->addr.sin_port), "cannot accept", EMFILE);
		}
		proxy_reserve_fd_refill(p);
		if (p->reserve_fd >= 0)
			return fd >= 0 || e == ECONNABORTED;
	}
	if (!port->ev_retry)
		port->ev_retry = evtimer_new(p->base, port_on_retry, port);
	if (port->ev_retry) {
		struct timeval tv = {0, 100 * 1000};
		event_del(port->ev);
		evtimer_add(port->ev_retry, &tv);
	}
	return false;
}

static void port_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_port *port = arg;
	for (int i = 0; i < PROXY_ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && proxy_pipe_pool_drain(port->p))
				continue;
			if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			     errno == ENOMEM) &&
			    port_refuse(port))
				continue;
			return; /* EAGAIN, or an error to retry on the next event */
		}
		port->p->stats.accepted++;
		conn_new(port, cfd);
	}
}

int proxy_tcp_port_start(struct proxy_port *port)
{
	port->ev = event_new(port->p->base, port->fd, EV_READ | EV_PERSIST, port_on_accept, port);
	if (!port->ev || event_add(port->ev, NULL) < 0) {
		if (port->ev)
			event_free(port->ev);
		port->ev = NULL;
		return -1;
	}
	return 0;
}

void proxy_tcp_port_stop(struct proxy_port *port)
{
	while (port->conns)
		conn_close(port->conns);
	if (port->ev)
		event_free(port->ev);
	if (port->ev_retry)
		event_free(port->ev_retry);
	close(port->fd);
}

void proxy_tcp_close_backend(struct proxy_port *port, const struct sockaddr_in *addr)
{
	struct proxy_conn *c = port->conns;
	while (c) {
		struct proxy_conn *next = c->next;
		if (c->fd[1] >= 0 && c->backend.sin_addr.s_addr == addr->sin_addr.s_addr &&
		    c->backend.sin_port == addr->sin_port)
			conn_close(c);
		c = next;
	}
}
