/* Hijacking a call's connection for attach and exec (Docker's raw stream), and reaping the
 * evhttp connection object left behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "berth/http_server.h"
#include "berth/log.h"
#include "http_internal.h"

static void zombie_unlink(struct http_zombie *z)
{
	for (struct http_zombie **p = &z->srv->zombies; *p; p = &(*p)->next) {
		if (*p == z) {
			*p = z->next;
			break;
		}
	}
}

/* Free evhttp's connection object without touching the socket we handed out: evhttp's free
 * does shutdown(SHUT_WR) on its fd, which would half-close our dup too, so first point its fd
 * number at a throwaway socket. This runs a loop turn after the hijack so that the old
 * bufferevent's epoll registration was removed while the number still meant the socket. */
void http_zombie_reap(struct http_zombie *z)
{
	struct bufferevent *old = evhttp_connection_get_bufferevent(z->evcon);
	evutil_socket_t fd = old ? bufferevent_getfd(old) : -1;
	int dummy = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && dummy >= 0)
		dup2(dummy, fd);
	if (dummy >= 0)
		close(dummy);
	evhttp_connection_free(z->evcon);
	event_free(z->ev);
	free(z);
}

static void zombie_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_zombie *z = arg;
	zombie_unlink(z);
	http_zombie_reap(z);
}

/* Move all of src to the end of dst. Bufferevents freeze the end of a buffer only they may
 * touch (an input's end, an output's start): thaw it for the move. */
static void move_buffer(struct evbuffer *dst, struct evbuffer *src, int output)
{
	if (evbuffer_get_length(src) == 0)
		return;
	if (output) {
		evbuffer_unfreeze(src, 1);
		evbuffer_add_buffer(dst, src);
		evbuffer_freeze(src, 1);
	} else {
		evbuffer_unfreeze(dst, 0);
		evbuffer_add_buffer(dst, src);
		evbuffer_freeze(dst, 0);
	}
}

struct bufferevent *berth_http_hijack(struct berth_http_call *pub, const char *content_type)
{
	struct http_call *call = http_call_of(pub);
	if (call->finished)
		return NULL;
	if (call->gone || !pub->req || !call->evcon) {
		http_call_done(call);
		return NULL;
	}
	struct evhttp_connection *evcon = call->evcon;
	struct bufferevent *old = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = old ? bufferevent_getfd(old) : -1;
	int newfd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	struct http_zombie *z = calloc(1, sizeof(*z));
	struct bufferevent *bev = NULL;
	if (newfd >= 0 && z)
		bev = bufferevent_socket_new(call->srv->base, newfd, BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		z->ev = event_new(call->srv->base, -1, 0, zombie_cb, z);
	if (!z || !z->ev) {
		log_error("http: cannot hijack the connection: %s", strerror(errno));
		if (bev)
			bufferevent_free(bev);
		else if (newfd >= 0)
			close(newfd);
		free(z);
		berth_http_reply_errorf(pub, 500, "cannot hijack the connection");
		return NULL;
	}
	bool upgrade = false;
	const char *up = berth_http_header(pub, "Upgrade");
	if (up && strcasecmp(up, "tcp") == 0)
		upgrade = true;

	http_call_unwatch(call);
	bufferevent_disable(old, EV_READ | EV_WRITE);
	struct evbuffer *out = bufferevent_get_output(bev);
	/* Anything evhttp still had queued goes first, then our status line. Bufferevents
	 * freeze the ends of their buffers that only they should touch: thaw them briefly. */
	move_buffer(out, bufferevent_get_output(old), 1);
	if (upgrade)
		evbuffer_add_printf(out,
				    "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\n"
				    "Connection: Upgrade\r\nUpgrade: tcp\r\n",
				    content_type ? content_type
						 : "application/vnd.docker.raw-stream");
	else
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n",
				    content_type ? content_type
						 : "application/vnd.docker.raw-stream");
	for (size_t i = 0; i < call->srv->n_headers; i++)
		evbuffer_add_printf(out, "%s: %s\r\n", call->srv->headers[i].name,
				    call->srv->headers[i].value);
	evbuffer_add(out, "\r\n", 2);
	/* Bytes the client sent after the request (stdin) that evhttp already read. */
	move_buffer(bufferevent_get_input(bev), bufferevent_get_input(old), 0);
	bufferevent_enable(bev, EV_WRITE);

	z->srv = call->srv;
	z->evcon = evcon;
	z->next = call->srv->zombies;
	call->srv->zombies = z;
	struct timeval zero = {0, 0};
	event_add(z->ev, &zero);

	call->evcon = NULL;
	pub->req = NULL; /* freed with evcon */
	http_call_done(call);
	return bev;
}
