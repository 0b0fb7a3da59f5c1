/* The daemons' HTTP server: evhttp on a unix socket (and optionally TCP), the headers sent with
 * every reply, and shutdown. Calls, routing, replies and hijack are in the other lib/http_*.c. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/http_server.h"
#include "http_internal.h"

/* Does a live daemon serve addr? A connect alone cannot tell: the socket of an owner that is
 * being killed (kill -9 just now) still takes connections until the kernel has closed its
 * files. So ask: a live server answers anything at all; a dying one resets the connection once
 * it is gone. No answer within the bound counts as alive, a hung daemon is not ours to replace. */
static bool unix_socket_alive(const struct sockaddr_un *addr)
{
	static const char req[] = "GET /_ping HTTP/1.0\r\n\r\n";
	/* (the timeout bounds a connect that waits for room in a full backlog) */
	struct timeval tv = {5, 0};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
		return errno == EAGAIN; /* a backlog that stays full: someone owns it */
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
		return false;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, 5000);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return true;
	char c;
	return recv(fd, &c, 1, MSG_DONTWAIT) == 1;
}

static int unix_listen(const char *path, int mode, struct stat *st, struct berth_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return berth_err(err, 500, "socket path too long: %s", path);
	strcpy(addr.sun_path, path);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "socket");
	/* A socket that still answers belongs to a running daemon; one that does not is stale. */
	if (unix_socket_alive(&addr))
		return berth_err(err, 409, "%s is in use by a running daemon", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_err_errno(err, 500, errno, "remove stale socket %s", path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return berth_err_errno(err, 500, errno, "bind %s", path);
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0 || stat(path, st) < 0) {
		int e = errno;
		unlink(path);
		return berth_err_errno(err, 500, e, "listen on %s", path);
	}
	return steal_fd(&fd);
}

struct berth_http_server *berth_http_server_new(struct event_base *base, const char *sock_path,
						int mode, const struct berth_http_route *routes,
						size_t n_routes, void *ctx, struct berth_error *err)
{
	struct berth_http_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		berth_err(err, 500, "out of memory");
		return NULL;
	}
	srv->base = base;
	srv->routes = routes;
	srv->n_routes = n_routes;
	srv->ctx = ctx;
	srv->http = evhttp_new(base);
	if (!srv->http) {
		berth_err(err, 500, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						  EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT);
	evhttp_set_default_content_type(srv->http, NULL);
	evhttp_set_max_headers_size(srv->http, 1 << 20);
	evhttp_set_gencb(srv->http, http_dispatch, srv);
	srv->idle_s = http_idle_timeout_s();
	evhttp_set_bevcb(srv->http, http_conn_bev, srv);
	if (sock_path) {
		struct stat st;
		int fd = unix_listen(sock_path, mode, &st, err);
		if (fd < 0)
			goto fail;
		struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(srv->http, fd);
		if (!bound || http_listener_add(srv, bound, sock_path) < 0) {
			if (!bound)
				close(fd);
			unlink(sock_path);
			berth_err(err, 500, "cannot serve %s", sock_path);
			goto fail;
		}
		srv->sock_path = strdup(sock_path);
		srv->sock_dev = st.st_dev;
		srv->sock_ino = st.st_ino;
	}
	return srv;
fail:
	if (srv->http)
		evhttp_free(srv->http);
	http_listeners_free(srv);
	free(srv);
	return NULL;
}

int berth_http_server_listen_tcp(struct berth_http_server *srv, const char *addr,
				 struct berth_error *err)
{
	_cleanup_free_ char *host = strdup(addr);
	if (!host)
		return berth_err(err, 500, "out of memory");
	char *colon = strrchr(host, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == host || !end || *end || end == colon + 1 || port < 0 || port > 65535)
		return berth_err(err, 400, "invalid listen address %s: want HOST:PORT", addr);
	*colon = '\0';
	if (host[0] == '[' && colon[-1] == ']') { /* [::1]:7878 */
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	errno = 0;
	struct evhttp_bound_socket *bound =
	    evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port);
	if (!bound)
		return berth_err_errno(err, 500, errno ? errno : EADDRINUSE, "listen on %s", addr);
	if (http_listener_add(srv, bound, addr) < 0) {
		evhttp_del_accept_socket(srv->http, bound);
		return berth_err(err, 500, "out of memory");
	}
	return 0;
}

void berth_http_server_set_max_body(struct berth_http_server *srv, size_t max)
{
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)max);
	/* Drop the rest of a body that is too large, then answer 413: a client still sending
	 * reads the answer instead of a reset connection. */
	evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
}

void berth_http_server_add_header(struct berth_http_server *srv, const char *name,
				  const char *value)
{
	struct http_header *h = realloc(srv->headers, (srv->n_headers + 1) * sizeof(*h));
	if (!h)
		return;
	srv->headers = h;
	h[srv->n_headers].name = strdup(name);
	h[srv->n_headers].value = strdup(value);
	if (!h[srv->n_headers].name || !h[srv->n_headers].value) {
		free(h[srv->n_headers].name);
		free(h[srv->n_headers].value);
		return;
	}
	srv->n_headers++;
}

void berth_http_server_free(struct berth_http_server *srv)
{
	if (!srv)
		return;
	while (srv->zombies) {
		struct http_zombie *z = srv->zombies;
		srv->zombies = z->next;
		http_zombie_reap(z);
	}
	/* Frees every connection; calls still held by handlers are marked gone. */
	evhttp_free(srv->http);
	http_listeners_free(srv);
	if (srv->sock_path) {
		struct stat st;
		if (stat(srv->sock_path, &st) == 0 && st.st_dev == srv->sock_dev &&
		    st.st_ino == srv->sock_ino)
			unlink(srv->sock_path);
		free(srv->sock_path);
	}
	for (size_t i = 0; i < srv->n_headers; i++) {
		free(srv->headers[i].name);
		free(srv->headers[i].value);
	}
	free(srv->headers);
	free(srv);
}
