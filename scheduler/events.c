/* The agent's /events stream (a long-lived chunked GET of JSON lines), followed for container
 * events of compose projects and reconnected with backoff when the agent goes away. Every
 * (re)connection starts a pass of every project: whatever happened meanwhile is seen then. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

enum events_state { EV_DOWN, EV_HEAD, EV_CHUNK_SIZE, EV_CHUNK_DATA, EV_RAW };

struct sched_events {
	struct sched *s;
	struct bufferevent *bev;
	struct event *retry;
	enum events_state state;
	size_t chunk_left;
	struct evbuffer *line; /* the event being assembled */
	int backoff_ms;
	bool warned;
};

static void events_connect(struct sched_events *e);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	events_connect(arg);
}

static void events_down(struct sched_events *e, const char *why)
{
	if (e->bev) {
		bufferevent_free(e->bev);
		e->bev = NULL;
	}
	if (!e->warned)
		log_warn("agent events: %s; reconnecting", why);
	e->warned = true;
	e->state = EV_DOWN;
	evbuffer_drain(e->line, evbuffer_get_length(e->line));
	e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : 50;
	if (e->backoff_ms > 2000)
		e->backoff_ms = 2000;
	struct timeval tv = {e->backoff_ms / 1000, (e->backoff_ms % 1000) * 1000};
	evtimer_add(e->retry, &tv);
}

static void dispatch(struct sched_events *e, const char *text, size_t len)
{
	_cleanup_json_ json_t *ev = json_loadb(text, len, 0, NULL);
	if (!ev)
		return;
	json_t *actor = json_object_get(ev, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	const char *project = json_string_value(json_object_get(attrs, SCHED_LABEL_PROJECT));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *id = json_string_value(json_object_get(actor, "ID"));
	if (!project || !action)
		return;
	struct sched_project *p = sched_project_find(e->s, project);
	if (p)
		sched_on_container_event(p, action, id ? id : "", attrs);
}

/* Feed body bytes; complete lines are events. */
static void take_body(struct sched_events *e, struct evbuffer *in, size_t n)
{
	evbuffer_remove_buffer(in, e->line, n);
	for (;;) {
		struct evbuffer_ptr nl = evbuffer_search(e->line, "\n", 1, NULL);
		if (nl.pos < 0)
			break;
		size_t len = (size_t)nl.pos;
		char *text = (char *)evbuffer_pullup(e->line, (ssize_t)len + 1);
		dispatch(e, text, len);
		evbuffer_drain(e->line, len + 1);
	}
	if (evbuffer_get_length(e->line) > (1 << 20))
		evbuffer_drain(e->line, evbuffer_get_length(e->line));
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct sched_events *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		if (e->state == EV_HEAD) {
			struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (end.pos < 0)
				return;
			char *head = (char *)evbuffer_pullup(in, end.pos + 4);
			int status = 0;
			if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
				events_down(e, "the agent refused the events stream");
				return;
			}
			head[end.pos] = '\0';
			bool chunked = strcasestr(head, "transfer-encoding: chunked") != NULL;
			evbuffer_drain(in, (size_t)end.pos + 4);
			e->state = chunked ? EV_CHUNK_SIZE : EV_RAW;
			if (e->warned)
				log_info("agent events: connected");
			e->warned = false;
			e->backoff_ms = 0;
			/* Anything may have happened while we were not listening. */
			sched_agent_back(e->s);
		} else if (e->state == EV_CHUNK_SIZE) {
			size_t len;
			char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
			if (!line)
				return;
			e->chunk_left = strtoul(line, NULL, 16);
			free(line);
			if (e->chunk_left == 0) {
				events_down(e, "the agent ended the events stream");
				return;
			}
			e->state = EV_CHUNK_DATA;
		} else if (e->state == EV_CHUNK_DATA) {
			size_t have = evbuffer_get_length(in);
			if (e->chunk_left > 0) {
				size_t n = have < e->chunk_left ? have : e->chunk_left;
				if (n == 0)
					return;
				take_body(e, in, n);
				e->chunk_left -= n;
				continue;
			}
			if (have < 2)
				return;
			evbuffer_drain(in, 2); /* the chunk's CRLF */
			e->state = EV_CHUNK_SIZE;
		} else if (e->state == EV_RAW) {
			size_t have = evbuffer_get_length(in);
			if (have == 0)
				return;
			take_body(e, in, have);
		} else {
			return;
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sched_events *e = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	events_down(e, what & BEV_EVENT_EOF ? "the agent closed the stream"
					    : "connection to the agent failed");
}

static void events_connect(struct sched_events *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->s->agent_sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char why[300];
		snprintf(why, sizeof(why), "connect %s: %s", e->s->agent_sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		events_down(e, why);
		return;
	}
	e->bev = bufferevent_socket_new(e->s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!e->bev)
		abort();
	bufferevent_setcb(e->bev, on_read, NULL, on_event, e);
	_cleanup_free_ char *q =
	    berth_http_escape("{\"type\":[\"container\"],\"label\":[\"" SCHED_LABEL_PROJECT "\"]}");
	char req[1024];
	snprintf(req, sizeof(req),
		 "GET /events?filters=%s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: "
		 "berth-scheduler\r\n\r\n",
		 q);
	bufferevent_write(e->bev, req, strlen(req));
	bufferevent_enable(e->bev, EV_READ | EV_WRITE);
	e->state = EV_HEAD;
}

struct sched_events *sched_events_start(struct sched *s)
{
	struct sched_events *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->s = s;
	e->line = evbuffer_new();
	e->retry = evtimer_new(s->base, retry_cb, e);
	events_connect(e);
	return e;
}

void sched_events_free(struct sched_events *e)
{
	if (!e)
		return;
	if (e->bev)
		bufferevent_free(e->bev);
	event_free(e->retry);
	evbuffer_free(e->line);
	free(e);
}
