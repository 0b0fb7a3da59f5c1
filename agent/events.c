/* Docker events: agent_event() publishes, GET /events streams them as JSON lines, with a
 * short history for ?since. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "agent.h"
#include "api_containers.h"

#define EVENTS_HISTORY 256

struct event_sub {
	struct event_sub *next;
	struct agent *agent;
	struct berth_http_call *call;
	json_t *filters;
	struct event *until_timer;
};

struct agent_events {
	json_t *ring[EVENTS_HISTORY];
	size_t next; /* slot the next event goes to */
	size_t count;
	struct event_sub *subs;
};

static struct agent_events *events_get(struct agent *agent)
{
	if (!agent->events) {
		agent->events = calloc(1, sizeof(*agent->events));
		if (!agent->events)
			abort();
	}
	return agent->events;
}

static bool value_in(json_t *values, const char *s)
{
	size_t i;
	json_t *v;
	if (!s)
		return false;
	if (json_is_object(values))
		return json_object_get(values, s) != NULL;
	json_array_foreach(values, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static bool event_matches(json_t *ev, json_t *filters)
{
	const char *key;
	json_t *values;
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
	const char *type = json_string_value(json_object_get(ev, "Type"));
	json_object_foreach(filters, key, values)
	{
		if ((json_is_array(values) && json_array_size(values) == 0) ||
		    (json_is_object(values) && json_object_size(values) == 0))
			continue;
		bool ok = true;
		if (strcmp(key, "type") == 0) {
			ok = value_in(values, type);
		} else if (strcmp(key, "event") == 0) {
			ok = value_in(values, json_string_value(json_object_get(ev, "Action")));
		} else if (strcmp(key, "container") == 0 || strcmp(key, "image") == 0) {
			const char *want_type = key;
			ok = type && strcmp(type, want_type) == 0;
			if (ok) {
				bool any = false;
				size_t i;
				json_t *v;
				json_array_foreach(values, i, v)
				{
					const char *s = json_string_value(v);
					if (!s)
						continue;
					const char *name =
					    json_string_value(json_object_get(attrs, "name"));
					const char *image =
					    json_string_value(json_object_get(attrs, "image"));
					any |= (id && strncmp(id, s, strlen(s)) == 0) ||
					       (name && strcmp(name, s) == 0) ||
					       (image && strcmp(image, s) == 0);
				}
				ok = any;
			}
		} else if (strcmp(key, "label") == 0) {
			size_t i;
			json_t *v;
			json_array_foreach(values, i, v)
			{
				const char *s = json_string_value(v);
				const char *eq = s ? strchr(s, '=') : NULL;
				char k[256];
				if (!s)
					continue;
				snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - s) : (int)strlen(s),
					 s);
				json_t *have = json_object_get(attrs, k);
				if (!have ||
				    (eq &&
				     strcmp(json_string_value(have) ? json_string_value(have) : "",
					    eq + 1) != 0))
					ok = false;
			}
		} else if (strcmp(key, "scope") == 0) {
			ok = value_in(values, "local");
		}
		if (!ok)
			return false;
	}
	return true;
}

static void sub_send(struct event_sub *sub, json_t *ev)
{
	_cleanup_free_ char *line = json_dumps(ev, JSON_COMPACT);
	if (!line)
		return;
	size_t len = strlen(line);
	line[len] = '\0';
	berth_http_stream_send(sub->call, line, len);
	berth_http_stream_send(sub->call, "\n", 1);
}

void agent_event(struct agent *agent, const char *type, const char *action, const char *id,
		 struct json_t *attributes)
{
	struct agent_events *evs = events_get(agent);
	int64_t now = berth_now_ns();
	json_t *attrs = attributes ? json_deep_copy(attributes) : json_object();
	json_t *ev =
	    json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action", action,
		      "Actor", "ID", id ? id : "", "Attributes", attrs, "scope", "local", "time",
		      (json_int_t)(now / 1000000000LL), "timeNano", (json_int_t)now);
	if (!ev)
		return;
	if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
		/* The legacy fields older clients read. */
		json_object_set_new(ev, "status", json_string(action));
		json_object_set_new(ev, "id", json_string(id ? id : ""));
		const char *from = json_string_value(json_object_get(attrs, "image"));
		if (from && strcmp(type, "container") == 0)
			json_object_set_new(ev, "from", json_string(from));
	}
	json_decref(evs->ring[evs->next]);
	evs->ring[evs->next] = ev;
	evs->next = (evs->next + 1) % EVENTS_HISTORY;
	if (evs->count < EVENTS_HISTORY)
		evs->count++;
	for (struct event_sub *s = evs->subs; s; s = s->next)
		if (event_matches(ev, s->filters))
			sub_send(s, ev);
}

static void sub_unlink_free(struct event_sub *sub)
{
	struct agent_events *evs = events_get(sub->agent);
	for (struct event_sub **p = &evs->subs; *p; p = &(*p)->next) {
		if (*p == sub) {
			*p = sub->next;
			break;
		}
	}
	if (sub->until_timer)
		event_free(sub->until_timer);
	json_decref(sub->filters);
	free(sub);
}

static void sub_closed(struct berth_http_call *call, void *arg)
{
	sub_unlink_free(arg);
}

static void sub_until(evutil_socket_t fd, short what, void *arg)
{
	struct event_sub *sub = arg;
	struct berth_http_call *call = sub->call;
	sub_unlink_free(sub);
	berth_http_stream_end(call);
}

/* Docker's since/until: unix seconds with an optional fraction, or RFC 3339. */
static int64_t parse_time(const char *s)
{
	if (!s || !*s)
		return 0;
	char *end;
	double v = strtod(s, &end);
	if (*end == '\0')
		return (int64_t)(v * 1e9);
	return berth_parse_rfc3339(s);
}

void api_events(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct agent_events *evs = events_get(agent);
	struct berth_error err = {0};
	int64_t since = parse_time(berth_http_query(call, "since"));
	int64_t until = parse_time(berth_http_query(call, "until"));
	json_t *filters = NULL;
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		filters = json_loads(f, 0, NULL);
		if (!json_is_object(filters)) {
			json_decref(filters);
			berth_http_reply_errorf(call, 400, "invalid filter: %s", f);
			return;
		}
	}
	(void)err;
	struct event_sub *sub = calloc(1, sizeof(*sub));
	if (!sub)
		abort();
	sub->agent = agent;
	sub->call = call;
	sub->filters = filters ? filters : json_object();
	berth_http_stream_on_close(call, sub_closed, sub);
	berth_http_stream_start(call, 200, "application/json");
	if (since > 0) {
		size_t start = (evs->next + EVENTS_HISTORY - evs->count) % EVENTS_HISTORY;
		for (size_t i = 0; i < evs->count; i++) {
			json_t *ev = evs->ring[(start + i) % EVENTS_HISTORY];
			int64_t t = json_integer_value(json_object_get(ev, "timeNano"));
			if (t < since || (until > 0 && t > until))
				continue;
			if (event_matches(ev, sub->filters))
				sub_send(sub, ev);
		}
	}
	int64_t now = berth_now_ns();
	sub->next = evs->subs;
	evs->subs = sub;
	if (until > 0) {
		int64_t left = until > now ? until - now : 0;
		struct timeval tv = {left / 1000000000LL, (left % 1000000000LL) / 1000};
		sub->until_timer = evtimer_new(agent->base, sub_until, sub);
		evtimer_add(sub->until_timer, &tv);
	}
}

void agent_events_free(struct agent *agent)
{
	struct agent_events *evs = agent->events;
	if (!evs)
		return;
	while (evs->subs) {
		struct event_sub *s = evs->subs;
		evs->subs = s->next;
		if (s->until_timer)
			event_free(s->until_timer);
		json_decref(s->filters);
		free(s);
	}
	for (size_t i = 0; i < EVENTS_HISTORY; i++)
		json_decref(evs->ring[i]);
	free(evs);
	agent->events = NULL;
}
