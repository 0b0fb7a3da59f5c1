/* berth compose logs [-f]: every replica's log, each line prefixed "web-1  | " as compose
 * prints it (or not, --no-log-prefix), one thread per container; with -f, containers that
 * start later (a restart, a scale-up) are followed too, found through the agent's events.
 * An attached `compose up` also watches the containers' exits here (compose_exits.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/http_client.h"
#include "cmd_compose.h"
#include "compose_exits.h"
#include "compose_follow.h"

struct logs_state {
	struct cli *cli;
	struct compose_followers fl;
	const struct compose_logs_opts *o;
	const char *project;
	char **services;
	int n_services;
	struct compose_exits exits;
	int64_t list_ns; /* events before the listing are in it already */
	char buf[65536];
	size_t buf_len;
};

static void prefix_of(json_t *labels, const char *name, char *out, size_t size)
{
	const char *svc = json_string_value(json_object_get(labels, "com.docker.compose.service"));
	const char *num =
	    json_string_value(json_object_get(labels, "com.docker.compose.container-number"));
	if (svc && num)
		snprintf(out, size, "%s-%s", svc, num);
	else
		snprintf(out, size, "%s", name ? name : "?");
}

/* The events stream's callback runs inside a request on this thread's HTTP handle: other
 * requests from it (an inspect, the stop of an abort) run on a thread of their own. */
struct aside {
	void (*fn)(void *arg);
	void *arg;
};

static void *aside_thread(void *arg)
{
	struct aside *a = arg;
	a->fn(a->arg);
	berth_http_client_thread_cleanup();
	return NULL;
}

static void run_aside(void (*fn)(void *arg), void *arg)
{
	struct aside a = {fn, arg};
	pthread_t t;
	if (pthread_create(&t, NULL, aside_thread, &a) != 0) {
		fn(arg);
		return;
	}
	pthread_join(t, NULL);
}

/* A container of the up exited and will not be restarted. */
static void on_exited(struct logs_state *st, const char *id, const char *service,
		      const char *prefix, int code)
{
	enum compose_exit_verdict v = compose_exits_exited(&st->exits, id, service, code);
	if (v == COMPOSE_EXIT_IGNORE)
		return;
	compose_follow_wait(&st->fl, id);
	char line[256];
	snprintf(line, sizeof(line), "%s exited with code %d", prefix, code);
	compose_follow_say(line, false);
	if (v == COMPOSE_EXIT_ABORT)
		compose_follow_say("Aborting on container exit...", true);
	if (v == COMPOSE_EXIT_ABORT && st->o->on_abort)
		run_aside(st->o->on_abort, st->o->abort_arg);
}

/* A die event: is the container gone for good, or being restarted by its policy (the agent
 * marks it restarting before it publishes the die)? */
struct inspect {
	struct cli *cli;
	const char *id;
	json_t *info;
};

static void inspect(void *arg)
{
	struct inspect *in = arg;
	struct berth_error err = {0};
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/json", in->id);
	if (cli_api(in->cli, "GET", path, NULL, &in->info, &err) < 0)
		in->info = NULL;
}

static void on_die(struct logs_state *st, const char *id, const char *service, const char *prefix,
		   json_t *attrs)
{
	struct inspect in = {st->cli, id, NULL};
	const char *code = json_string_value(json_object_get(attrs, "exitCode"));
	int exit_code = code ? atoi(code) : 0;
	run_aside(inspect, &in);
	_cleanup_json_ json_t *info = in.info;
	if (info) {
		json_t *state = json_object_get(info, "State");
		if (json_is_true(json_object_get(state, "Restarting")) ||
		    json_is_true(json_object_get(state, "Running")))
			return;
		exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	}
	on_exited(st, id, service, prefix, exit_code);
}

/* The project's events: start (follow the container from now), and for an attached up, die
 * and destroy. Returns non-zero (stop) once an up has nothing left to wait for. */
static int on_event(const char *data, size_t len, void *arg)
{
	struct logs_state *st = arg;
	if (st->buf_len + len > sizeof(st->buf))
		st->buf_len = 0;
	memcpy(st->buf + st->buf_len, data, len);
	st->buf_len += len;
	char *nl;
	while ((nl = memchr(st->buf, '\n', st->buf_len))) {
		size_t n = (size_t)(nl - st->buf);
		_cleanup_json_ json_t *ev = json_loadb(st->buf, n, 0, NULL);
		memmove(st->buf, nl + 1, st->buf_len - n - 1);
		st->buf_len -= n + 1;
		json_t *actor = json_object_get(ev, "Actor");
		json_t *attrs = json_object_get(actor, "Attributes");
		const char *id = json_string_value(json_object_get(actor, "ID"));
		const char *action = json_string_value(json_object_get(ev, "Action"));
		const char *svc =
		    json_string_value(json_object_get(attrs, "com.docker.compose.service"));
		json_int_t time_ns = json_integer_value(json_object_get(ev, "timeNano"));
		if (!id || !svc || !action || (time_ns && time_ns < st->list_ns))
			continue;
		bool want = st->n_services == 0;
		for (int s = 0; s < st->n_services; s++)
			want |= !strcmp(st->services[s], svc);
		if (!want)
			continue;
		char prefix[128], query[64];
		prefix_of(attrs, json_string_value(json_object_get(attrs, "name")), prefix,
			  sizeof(prefix));
		if (!strcmp(action, "start")) {
			snprintf(query, sizeof(query), "since=%lld",
				 (long long)json_integer_value(json_object_get(ev, "time")));
			compose_follow_start(&st->fl, id, prefix, query);
			compose_exits_track(&st->exits, id, svc);
		} else if (!strcmp(action, "die")) {
			on_die(st, id, svc, prefix, attrs);
		} else if (!strcmp(action, "destroy")) {
			compose_exits_gone(&st->exits, id);
		}
	}
	return st->o->watch_exits && compose_exits_all_done(&st->exits);
}

/* A container listed at the start: wait for it (attached up) unless it has exited already. */
static void track_listed(struct logs_state *st, json_t *c, const char *prefix)
{
	const char *id = json_string_value(json_object_get(c, "Id"));
	const char *svc = json_string_value(
	    json_object_get(json_object_get(c, "Labels"), "com.docker.compose.service"));
	const char *state = json_string_value(json_object_get(c, "State"));
	const char *status = json_string_value(json_object_get(c, "Status"));
	compose_exits_track(&st->exits, id, svc);
	if (state && (!strcmp(state, "exited") || !strcmp(state, "dead"))) {
		const char *paren = status ? strchr(status, '(') : NULL;
		on_exited(st, id, svc, prefix, paren ? atoi(paren + 1) : 0);
	}
}

int compose_cli_logs(struct cli *cli, const char *project, char **services, int n_services,
		     const struct compose_logs_opts *o)
{
	struct berth_error err = {0};
	static struct logs_state st;
	st.cli = cli;
	st.o = o;
	st.project = project;
	st.services = services;
	st.n_services = n_services;
	st.fl.cli = cli;
	st.fl.follow = o->follow;
	st.fl.timestamps = o->timestamps;
	st.fl.no_prefix = o->no_prefix;
	compose_exits_init(&st.exits, o->abort_on_exit, o->exit_code_from);
	st.list_ns = berth_now_ns();
	long long since = (long long)time(NULL);
	_cleanup_json_ json_t *list =
	    compose_cli_containers(cli, project, true, services, n_services, &err);
	if (!list) {
		fprintf(stderr, "%s\n", err.msg);
		compose_exits_free(&st.exits);
		return 1;
	}
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		char prefix[128];
		const char *name =
		    json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		prefix_of(json_object_get(c, "Labels"), name, prefix, sizeof(prefix));
		compose_follow_widen(prefix);
	}
	char query[64];
	if (o->since_ns)
		snprintf(query, sizeof(query), "since=%lld.%09lld",
			 (long long)(o->since_ns / 1000000000LL),
			 (long long)(o->since_ns % 1000000000LL));
	else
		snprintf(query, sizeof(query), "tail=%s", o->tail && *o->tail ? o->tail : "all");
	json_array_foreach(list, i, c)
	{
		char prefix[128];
		const char *name =
		    json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		prefix_of(json_object_get(c, "Labels"), name, prefix, sizeof(prefix));
		compose_follow_start(&st.fl, json_string_value(json_object_get(c, "Id")), prefix,
				     query);
	}
	if (o->watch_exits)
		json_array_foreach(list, i, c)
		{
			char prefix[128];
			const char *name =
			    json_string_value(json_array_get(json_object_get(c, "Names"), 0));
			prefix_of(json_object_get(c, "Labels"), name, prefix, sizeof(prefix));
			track_listed(&st, c, prefix);
		}
	bool done = o->watch_exits && compose_exits_all_done(&st.exits);
	if (o->follow && !done) {
		_cleanup_json_ json_t *filters = json_pack(
		    "{s:[s], s:[s,s,s], s:[o]}", "type", "container", "event", "start", "die",
		    "destroy", "label", json_sprintf("com.docker.compose.project=%s", project));
		if (!o->watch_exits)
			json_object_set_new(filters, "event", json_pack("[s]", "start"));
		_cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
		_cleanup_free_ char *q = berth_http_escape(text);
		char path[1024];
		snprintf(path, sizeof(path), "/events?since=%lld&filters=%s", since, q);
		if (cli_api_stream(cli, "GET", path, on_event, &st, &err) < 0)
			fprintf(stderr, "%s\n", err.msg);
	}
	compose_follow_join(&st.fl);
	int rc = o->watch_exits ? compose_exits_code(&st.exits) : 0;
	compose_exits_free(&st.exits);
	return rc;
}

enum { L_FOLLOW, L_TIMESTAMPS, L_TAIL, L_NO_PREFIX, L_NO_COLOR };
static const struct cli_flag logs_flags[] = {
    [L_FOLLOW] = {"follow", 'f', CLI_BOOL, NULL, "Follow log output"},
    [L_TIMESTAMPS] = {"timestamps", 't', CLI_BOOL, NULL, "Show timestamps"},
    [L_TAIL] = {"tail", 'n', CLI_STRING, "string",
		"Number of lines to show from the end of the logs for each container"},
    [L_NO_PREFIX] = {"no-log-prefix", 0, CLI_BOOL, NULL, "Don't print prefix in logs"},
    [L_NO_COLOR] = {"no-color", 0, CLI_BOOL, NULL, "Produce monochrome output"},
    {0},
};

static int logs_exec(struct cli *cli, struct cli_args *a)
{
	char name[256];
	const char *tail = a->v[L_TAIL].s;
	if (tail && strcmp(tail, "all") != 0) {
		char *end;
		long n = strtol(tail, &end, 10);
		if (!*tail || *end || n < 0) {
			fprintf(stderr, "invalid value \"%s\" for --tail: want a number or all\n",
				tail);
			return 1;
		}
	}
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	if (compose_cli_check_services(name, a->pos, a->npos) < 0)
		return 1;
	struct compose_logs_opts o = {
	    .follow = a->v[L_FOLLOW].b,
	    .timestamps = a->v[L_TIMESTAMPS].b,
	    .no_prefix = a->v[L_NO_PREFIX].b,
	    .tail = tail,
	};
	return compose_cli_logs(cli, name, a->pos, a->npos, &o);
}

const struct cli_command compose_cmd_logs = {
    .name = "logs",
    .usage = "logs [OPTIONS] [SERVICE...]",
    .summary = "View output from containers",
    .flags = logs_flags,
    .max_args = -1,
    .interspersed = true,
    .exec = logs_exec,
};
