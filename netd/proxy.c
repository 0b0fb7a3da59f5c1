/* Published ports: the listener table, backends and their round-robin choice, stats, fd limits. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "berth/log.h"
#include "proxy_priv.h"

#define PROXY_DEFAULT_PIPE_SIZE (256 * 1024)
#define PROXY_DEFAULT_UDP_IDLE_MS 30000
#define PROXY_DEFAULT_UDP_MAX_FLOWS 4096

static int proxy_pipe_max_size(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? v : 1024 * 1024;
}

void proxy_set_pipe_size(struct proxy *p, int bytes)
{
	int max = proxy_pipe_max_size();
	p->pipe_size = bytes < 0 ? 0 : bytes > max ? max : bytes;
}

void proxy_set_udp_idle_timeout(struct proxy *p, unsigned idle_ms)
{
	p->udp_idle_ms = idle_ms ? idle_ms : 1;
}

void proxy_set_udp_max_flows(struct proxy *p, unsigned max_flows)
{
	p->udp_max_flows = max_flows;
}

void proxy_reserve_fd_refill(struct proxy *p)
{
	if (p->reserve_fd < 0)
		p->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int proxy_pipe_get(struct proxy *p, int out[2])
{
	if (p->n_pipes > 0) {
		p->n_pipes--;
		out[0] = p->pipes[p->n_pipes][0];
		out[1] = p->pipes[p->n_pipes][1];
		return 0;
	}
	if (pipe2(out, O_NONBLOCK | O_CLOEXEC) < 0) {
		out[0] = out[1] = -1;
		return -1;
	}
	/* A bigger pipe moves a large transfer in fewer splices; failure keeps the default. */
	if (p->pipe_size > 0)
		(void)fcntl(out[1], F_SETPIPE_SZ, p->pipe_size);
	return 0;
}

void proxy_pipe_put(struct proxy *p, int pipe[2])
{
	if (pipe[0] < 0)
		return;
	if (p->n_pipes < PROXY_PIPE_POOL) {
		p->pipes[p->n_pipes][0] = pipe[0];
		p->pipes[p->n_pipes][1] = pipe[1];
		p->n_pipes++;
	} else {
		close(pipe[0]);
		close(pipe[1]);
	}
	pipe[0] = pipe[1] = -1;
}

unsigned proxy_pipe_pool_drain(struct proxy *p)
{
	unsigned n = p->n_pipes;
	for (unsigned i = 0; i < n; i++) {
		close(p->pipes[i][0]);
		close(p->pipes[i][1]);
	}
	p->n_pipes = 0;
	return n;
}

void proxy_warn_no_fds(struct proxy *p, int port, const char *what, int errno_value)
{
	time_t now = time(NULL);
	if (now - p->fd_warned < 10) {
		p->fd_warn_skipped++;
		return;
	}
	log_warn("published port %d: %s: %s; refusing connections (%u more since the last "
		 "warning)",
		 port, what, strerror(errno_value), p->fd_warn_skipped);
	p->fd_warned = now;
	p->fd_warn_skipped = 0;
}

struct proxy *proxy_new(struct event_base *base)
{
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->base = base;
	p->reserve_fd = -1;
	proxy_reserve_fd_refill(p);
	proxy_set_pipe_size(p, PROXY_DEFAULT_PIPE_SIZE);
	p->udp_idle_ms = PROXY_DEFAULT_UDP_IDLE_MS;
	p->udp_max_flows = PROXY_DEFAULT_UDP_MAX_FLOWS;
	return p;
}

static void proxy_port_free(struct proxy_port *port)
{
	if (port->proto == PROXY_TCP)
		proxy_tcp_port_stop(port);
	else
		proxy_udp_port_stop(port);
	for (size_t i = 0; i < port->n_backends; i++)
		free(port->backends[i].id);
	free(port->backends);
	free(port);
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	while (p->ports) {
		struct proxy_port *port = p->ports;
		p->ports = port->next;
		proxy_port_free(port);
	}
	if (p->reserve_fd >= 0)
		close(p->reserve_fd);
	proxy_pipe_pool_drain(p);
	free(p->udp_buf);
	free(p);
}

/* "" and "0.0.0.0" mean every IPv4 address. */
static int proxy_parse_host(const char *host_ip, int host_port, struct sockaddr_in *out,
			    struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (host_port < 1 || host_port > 65535)
		return berth_err(err, 400, "invalid host port %d: must be between 1 and 65535",
				 host_port);
	out->sin_port = htons((uint16_t)host_port);
	if (!host_ip || !*host_ip)
		return 0;
	if (inet_pton(AF_INET, host_ip, &out->sin_addr) != 1) {
		if (strchr(host_ip, ':'))
			return berth_err(err, 400, "IPv6 host addresses are not supported: %s",
					 host_ip);
		return berth_err(err, 400, "invalid host IP address: %s", host_ip);
	}
	return 0;
}

static const char *proxy_proto_name(enum proxy_proto proto)
{
	return proto == PROXY_TCP ? "tcp" : "udp";
}

static struct proxy_port *proxy_find(struct proxy *p, const struct sockaddr_in *addr,
				     enum proxy_proto proto)
{
	for (struct proxy_port *port = p->ports; port; port = port->next)
		if (port->proto == proto && port->addr.sin_port == addr->sin_port &&
		    port->addr.sin_addr.s_addr == addr->sin_addr.s_addr)
			return port;
	return NULL;
}

/* Another of our listeners on the same port whose addresses overlap this one's. */
static bool proxy_overlaps(struct proxy *p, const struct sockaddr_in *addr, enum proxy_proto proto)
{
	for (struct proxy_port *port = p->ports; port; port = port->next)
		if (port->proto == proto && port->addr.sin_port == addr->sin_port &&
		    (port->addr.sin_addr.s_addr == addr->sin_addr.s_addr ||
		     port->addr.sin_addr.s_addr == INADDR_ANY ||
		     addr->sin_addr.s_addr == INADDR_ANY))
			return true;
	return false;
}

/* Go's text for an errno, as docker-proxy prints it: strerror in lower case. */
static void proxy_go_strerror(int e, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(e));
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

static int proxy_bind_socket(const struct sockaddr_in *addr, enum proxy_proto proto, const char *ip,
			     struct berth_error *err)
{
	int type = proto == PROXY_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "Error starting userland proxy: socket");
	int one = 1;
	/* TCP only: on UDP, SO_REUSEADDR would let a second socket share the port. */
	if (proto == PROXY_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	const char *step = "bind";
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    (proto == PROXY_TCP && (step = "listen", listen(fd, SOMAXCONN) < 0))) {
		int e = errno;
		close(fd);
		char msg[128];
		proxy_go_strerror(e, msg, sizeof(msg));
		return berth_err(err, e == EADDRINUSE ? 409 : 500,
				 "Error starting userland proxy: listen %s4 %s:%d: %s: %s",
				 proxy_proto_name(proto), ip, ntohs(addr->sin_port),
				 e == EADDRINUSE ? "bind" : step, msg);
	}
	return fd;
}

int proxy_listen(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto,
		 struct berth_error *err)
{
	struct sockaddr_in addr;
	if (proxy_parse_host(host_ip, host_port, &addr, err) < 0)
		return -1;
	const char *ip = host_ip && *host_ip ? host_ip : "0.0.0.0";
	if (proxy_overlaps(p, &addr, proto))
		return berth_err(err, 409, "Bind for %s:%d failed: port is already allocated", ip,
				 host_port);
	struct proxy_port *port = calloc(1, sizeof(*port));
	if (!port)
		return berth_err(err, 500, "out of memory");
	port->p = p;
	port->addr = addr;
	port->proto = proto;
	port->fd = proxy_bind_socket(&addr, proto, ip, err);
	if (port->fd < 0) {
		free(port);
		return -1;
	}
	int rc = proto == PROXY_TCP ? proxy_tcp_port_start(port) : proxy_udp_port_start(port);
	if (rc < 0) {
		close(port->fd);
		free(port);
		return berth_err(err, 500, "Error starting userland proxy: out of memory");
	}
	port->next = p->ports;
	p->ports = port;
	p->stats.listeners++;
	return 0;
}

void proxy_unlisten(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto)
{
	struct sockaddr_in addr;
	if (proxy_parse_host(host_ip, host_port, &addr, NULL) < 0)
		return;
	for (struct proxy_port **pp = &p->ports; *pp; pp = &(*pp)->next) {
		struct proxy_port *port = *pp;
		if (port->proto == proto && port->addr.sin_port == addr.sin_port &&
		    port->addr.sin_addr.s_addr == addr.sin_addr.s_addr) {
			*pp = port->next;
			proxy_port_free(port);
			p->stats.listeners--;
			return;
		}
	}
}

bool proxy_is_listening(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto)
{
	struct sockaddr_in addr;
	if (proxy_parse_host(host_ip, host_port, &addr, NULL) < 0)
		return false;
	return proxy_find(p, &addr, proto) != NULL;
}

int proxy_backend_add(struct proxy *p, const char *host_ip, int host_port, enum proxy_proto proto,
		      const char *id, const char *backend_ip, int backend_port,
		      struct berth_error *err)
{
	struct sockaddr_in addr, baddr;
	if (proxy_parse_host(host_ip, host_port, &addr, err) < 0)
		return -1;
	struct proxy_port *port = proxy_find(p, &addr, proto);
	if (!port)
		return berth_err(err, 404, "no %s listener on %s:%d", proxy_proto_name(proto),
				 host_ip && *host_ip ? host_ip : "0.0.0.0", host_port);
	if (!backend_ip || !*backend_ip ||
	    proxy_parse_host(backend_ip, backend_port, &baddr, err) < 0)
		return berth_err(err, 400, "invalid backend address %s:%d",
				 backend_ip ? backend_ip : "", backend_port);
	for (size_t i = 0; i < port->n_backends; i++) {
		struct proxy_backend *old = &port->backends[i];
		if (strcmp(old->id, id) != 0)
			continue;
		if (old->addr.sin_addr.s_addr != baddr.sin_addr.s_addr ||
		    old->addr.sin_port != baddr.sin_port) {
			/* Connections to the old address would only hang; closing them while it
			 * is still the backend's keeps its count right. */
			struct sockaddr_in gone = old->addr;
			if (proto == PROXY_TCP)
				proxy_tcp_close_backend(port, &gone);
			else
				proxy_udp_close_backend(port, &gone);
			port->backends[i].addr = baddr;
		}
		return 0;
	}
	struct proxy_backend *b =
	    realloc(port->backends, (port->n_backends + 1) * sizeof(*port->backends));
	if (!b)
		return berth_err(err, 500, "out of memory");
	port->backends = b;
	char *dup = strdup(id);
	if (!dup)
		return berth_err(err, 500, "out of memory");
	b[port->n_backends++] = (struct proxy_backend){.id = dup, .addr = baddr, .up = true};
	return 0;
}

void proxy_backend_remove(struct proxy *p, const char *host_ip, int host_port,
			  enum proxy_proto proto, const char *id)
{
	struct sockaddr_in addr;
	if (proxy_parse_host(host_ip, host_port, &addr, NULL) < 0)
		return;
	struct proxy_port *port = proxy_find(p, &addr, proto);
	if (!port)
		return;
	for (size_t i = 0; i < port->n_backends; i++) {
		if (strcmp(port->backends[i].id, id) != 0)
			continue;
		struct sockaddr_in gone = port->backends[i].addr;
		char *gone_id = port->backends[i].id;
		bool draining = port->backends[i].draining;
		memmove(&port->backends[i], &port->backends[i + 1],
			(port->n_backends - i - 1) * sizeof(*port->backends));
		port->n_backends--;
		/* Its container is going away: connections to it would only hang. */
		if (proto == PROXY_TCP)
			proxy_tcp_close_backend(port, &gone);
		else
			proxy_udp_close_backend(port, &gone);
		if (draining && p->on_idle)
			p->on_idle(p->on_idle_arg, gone_id);
		free(gone_id);
		return;
	}
}

void proxy_backend_set_up(struct proxy *p, const char *id, bool up)
{
	for (struct proxy_port *port = p->ports; port; port = port->next)
		for (size_t i = 0; i < port->n_backends; i++)
			if (strcmp(port->backends[i].id, id) == 0)
				port->backends[i].up = up;
}

void proxy_backend_set_draining(struct proxy *p, const char *id, bool draining)
{
	for (struct proxy_port *port = p->ports; port; port = port->next)
		for (size_t i = 0; i < port->n_backends; i++)
			if (strcmp(port->backends[i].id, id) == 0)
				port->backends[i].draining = draining;
}

bool proxy_backend_draining(struct proxy *p, const char *id)
{
	for (struct proxy_port *port = p->ports; port; port = port->next)
		for (size_t i = 0; i < port->n_backends; i++)
			if (strcmp(port->backends[i].id, id) == 0 && port->backends[i].draining)
				return true;
	return false;
}

unsigned proxy_backend_connections(struct proxy *p, const char *id)
{
	unsigned n = 0;
	for (struct proxy_port *port = p->ports; port; port = port->next)
		for (size_t i = 0; i < port->n_backends; i++)
			if (strcmp(port->backends[i].id, id) == 0)
				n += port->backends[i].conns;
	return n;
}

void proxy_set_on_drained(struct proxy *p, void (*cb)(void *arg, const char *id), void *arg)
{
	p->on_idle = cb;
	p->on_idle_arg = arg;
}

static bool proxy_backend_usable(const struct proxy_backend *b)
{
	return b->up && !b->draining;
}

struct proxy_backend *proxy_port_pick(struct proxy_port *port)
{
	for (size_t tries = 0; tries < port->n_backends; tries++) {
		struct proxy_backend *b = &port->backends[port->rr++ % port->n_backends];
		if (proxy_backend_usable(b))
			return b;
	}
	return NULL;
}

size_t proxy_port_usable(const struct proxy_port *port)
{
	size_t n = 0;
	for (size_t i = 0; i < port->n_backends; i++)
		n += proxy_backend_usable(&port->backends[i]);
	return n;
}

void proxy_port_conn_gone(struct proxy_port *port, const struct sockaddr_in *addr)
{
	for (size_t i = 0; i < port->n_backends; i++) {
		struct proxy_backend *b = &port->backends[i];
		if (b->addr.sin_addr.s_addr != addr->sin_addr.s_addr ||
		    b->addr.sin_port != addr->sin_port || b->conns == 0)
			continue;
		if (--b->conns == 0 && b->draining && port->p->on_idle)
			port->p->on_idle(port->p->on_idle_arg, b->id);
		return;
	}
}

void proxy_get_stats(struct proxy *p, struct proxy_stats *out)
{
	*out = p->stats;
	out->pooled_pipes = p->n_pipes;
}

void proxy_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the open file limit from %llu to %llu: %s",
			 (unsigned long long)old, (unsigned long long)rl.rlim_max, strerror(errno));
}
