/* The daemons' HTTP connections at their limits: a listener that runs out of file descriptors
 * pauses instead of spinning on a level-triggered accept, and a connection idle between
 * requests is closed after BERTH_HTTP_IDLE_TIMEOUT seconds (never one with a request in
 * progress, a stream, or a hijacked one). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/listener.h>

#include "berth/log.h"
#include "http_internal.h"

#define ACCEPT_PAUSE_MS 100
#define IDLE_TIMEOUT_DEFAULT_S 60

/* Servers with listeners, to find a listener's server: libevent calls the error callback with
 * evhttp's own argument. All on the loop thread. */
static struct berth_http_server *servers;

int http_idle_timeout_s(void)
{
	const char *env = getenv("BERTH_HTTP_IDLE_TIMEOUT");
	char *end = NULL;
	long s = env && *env ? strtol(env, &end, 10) : -1;
	if (!env || !*env || *end || s < 0 || s > 86400)
		return IDLE_TIMEOUT_DEFAULT_S;
	return (int)s;
}

static struct http_listener *listener_of(struct evconnlistener *lev)
{
	for (struct berth_http_server *srv = servers; srv; srv = srv->next)
		for (struct http_listener *l = srv->listeners; l; l = l->next)
			if (l->lev == lev)
				return l;
	return NULL;
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_listener *l = arg;
	evconnlistener_enable(l->lev);
}

static void accept_error(struct evconnlistener *lev, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct http_listener *l = listener_of(lev);
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return; /* a connection that went away before it was accepted */
	log_warn("%s: cannot accept: %s: pausing", l ? l->name : "http", strerror(e));
	if (!l || !l->resume)
		return;
	evconnlistener_disable(lev);
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
	evtimer_add(l->resume, &tv);
}

int http_listener_add(struct berth_http_server *srv, struct evhttp_bound_socket *bound,
		      const char *name)
{
	struct http_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->lev = evhttp_bound_socket_get_listener(bound);
	l->resume = evtimer_new(srv->base, accept_resume, l);
	if (!l->resume) {
		free(l);
		return -1;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	evconnlistener_set_error_cb(l->lev, accept_error);
	if (!srv->listeners) {
		srv->next = servers;
		servers = srv;
	}
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

void http_listeners_free(struct berth_http_server *srv)
{
	if (!srv->listeners)
		return;
	while (srv->listeners) {
		struct http_listener *l = srv->listeners;
		srv->listeners = l->next;
		event_free(l->resume);
		free(l);
	}
	for (struct berth_http_server **p = &servers; *p; p = &(*p)->next)
		if (*p == srv) {
			*p = srv->next;
			break;
		}
}

static void idle_arm(struct evhttp_connection *evcon, int seconds)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (!bev)
		return;
	struct timeval tv = {seconds, 0};
	bufferevent_set_timeouts(bev, seconds > 0 ? &tv : NULL, NULL);
}

/* A new connection's bufferevent, idle until its first request. */
struct bufferevent *http_conn_bev(struct event_base *base, void *arg)
{
	struct berth_http_server *srv = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev && srv->idle_s > 0) {
		struct timeval tv = {srv->idle_s, 0};
		bufferevent_set_timeouts(bev, &tv, NULL);
	}
	return bev;
}

static void request_complete(struct evhttp_request *req, void *arg)
{
	struct berth_http_server *srv = arg;
	idle_arm(evhttp_request_get_connection(req), srv->idle_s);
}

void http_conn_busy(struct berth_http_server *srv, struct evhttp_request *req)
{
	if (srv->idle_s <= 0)
		return;
	/* evhttp keeps reading while a request runs (to see the client close): no read timeout
	 * until the reply is complete. */
	idle_arm(evhttp_request_get_connection(req), 0);
	evhttp_request_set_on_complete_cb(req, request_complete, srv);
}
