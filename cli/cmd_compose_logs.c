/* berth compose logs [-f]: every replica's log, each line prefixed "web-1  | " as compose
 * prints it, one thread per container; with -f, containers that start later (a restart, a
 * scale-up) are followed too, found through the agent's events. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "cmd_compose.h"

#define LOGS_MAX_FOLLOWED 4096

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int prefix_width;

struct follower {
	struct cli *cli;
	char id[65];
	char prefix[128];
	char query[128];
	unsigned char hdr[8];
	size_t hdr_have, remaining;
	int stream;
	char *line[3];
	size_t line_len[3];
	pthread_t thread;
	bool done;
};

static void emit(struct follower *f, int stream, const char *text, size_t len)
{
	pthread_mutex_lock(&out_lock);
	FILE *out = stream == 2 ? stderr : stdout;
	fprintf(out, "%-*s | %.*s\n", prefix_width, f->prefix, (int)len, text);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
}

static void take(struct follower *f, int stream, const char *data, size_t len)
{
	int s = stream == 2 ? 2 : 1;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (!nl) {
			f->line[s] = realloc(f->line[s], f->line_len[s] + n + 1);
			memcpy(f->line[s] + f->line_len[s], data, n);
			f->line_len[s] += n;
			return;
		}
		if (f->line_len[s]) {
			f->line[s] = realloc(f->line[s], f->line_len[s] + n + 1);
			memcpy(f->line[s] + f->line_len[s], data, n);
			emit(f, s, f->line[s], f->line_len[s] + n);
			f->line_len[s] = 0;
		} else {
			emit(f, s, data, n);
		}
		data += n + 1;
		len -= n + 1;
	}
}

/* The 8-byte frame headers of a non-tty log stream. */
static int on_data(const char *data, size_t len, void *arg)
{
	struct follower *f = arg;
	while (len) {
		if (f->remaining == 0) {
			size_t want = 8 - f->hdr_have, n = len < want ? len : want;
			memcpy(f->hdr + f->hdr_have, data, n);
			f->hdr_have += n;
			data += n;
			len -= n;
			if (f->hdr_have < 8)
				return 0;
			f->hdr_have = 0;
			f->stream = f->hdr[0];
			f->remaining = ((size_t)f->hdr[4] << 24) | ((size_t)f->hdr[5] << 16) |
				       ((size_t)f->hdr[6] << 8) | f->hdr[7];
			continue;
		}
		size_t n = len < f->remaining ? len : f->remaining;
		take(f, f->stream, data, n);
		f->remaining -= n;
		data += n;
		len -= n;
	}
	return 0;
}

static void *follow_thread(void *arg)
{
	struct follower *f = arg;
	char path[512];
	struct berth_error err = {0};
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&%s", f->id, f->query);
	if (cli_api_stream(f->cli, "GET", path, on_data, f, &err) < 0 && err.status != 404) {
		pthread_mutex_lock(&out_lock);
		fprintf(stderr, "%s: %s\n", f->prefix, err.msg);
		pthread_mutex_unlock(&out_lock);
	}
	for (int s = 1; s <= 2; s++)
		if (f->line_len[s])
			emit(f, s, f->line[s], f->line_len[s]);
	berth_http_client_thread_cleanup();
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

struct logs_state {
	struct cli *cli;
	struct follower *f[LOGS_MAX_FOLLOWED];
	size_t n;
	bool follow, timestamps;
	const char *project;
	char **services;
	int n_services;
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

static void start_follower(struct logs_state *st, const char *id, const char *prefix,
			   const char *query)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->f[i]->id, id) &&
		    !__atomic_load_n(&st->f[i]->done, __ATOMIC_ACQUIRE))
			return; /* still streaming */
	if (st->n >= LOGS_MAX_FOLLOWED)
		return;
	struct follower *f = calloc(1, sizeof(*f));
	f->cli = st->cli;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->prefix, sizeof(f->prefix), "%s", prefix);
	snprintf(f->query, sizeof(f->query), "%s%s%s", query, st->follow ? "&follow=1" : "",
		 st->timestamps ? "&timestamps=1" : "");
	if ((int)strlen(prefix) + 1 > prefix_width)
		prefix_width = (int)strlen(prefix) + 1;
	st->f[st->n++] = f;
	pthread_create(&f->thread, NULL, follow_thread, f);
}

/* A start event of one of the project's containers: follow it from now. */
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
		const char *svc =
		    json_string_value(json_object_get(attrs, "com.docker.compose.service"));
		if (!id || !svc)
			continue;
		bool want = st->n_services == 0;
		for (int s = 0; s < st->n_services; s++)
			want |= !strcmp(st->services[s], svc);
		if (!want)
			continue;
		char prefix[128], query[64];
		prefix_of(attrs, json_string_value(json_object_get(attrs, "name")), prefix,
			  sizeof(prefix));
		snprintf(query, sizeof(query), "since=%lld",
			 (long long)json_integer_value(json_object_get(ev, "time")));
		start_follower(st, id, prefix, query);
	}
	return 0;
}

int compose_cli_logs(struct cli *cli, const char *project, char **services, int n_services,
		     bool follow, bool timestamps, const char *tail)
{
	struct berth_error err = {0};
	static struct logs_state st;
	st.cli = cli;
	st.follow = follow;
	st.timestamps = timestamps;
	st.project = project;
	st.services = services;
	st.n_services = n_services;
	_cleanup_json_ json_t *list =
	    compose_cli_containers(cli, project, true, services, n_services, &err);
	if (!list) {
		fprintf(stderr, "%s\n", err.msg);
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
		if ((int)strlen(prefix) + 1 > prefix_width)
			prefix_width = (int)strlen(prefix) + 1;
	}
	char query[64];
	snprintf(query, sizeof(query), "tail=%s", tail && *tail ? tail : "all");
	long long since = (long long)time(NULL);
	json_array_foreach(list, i, c)
	{
		char prefix[128];
		const char *name =
		    json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		prefix_of(json_object_get(c, "Labels"), name, prefix, sizeof(prefix));
		start_follower(&st, json_string_value(json_object_get(c, "Id")), prefix, query);
	}
	if (follow) {
		_cleanup_json_ json_t *filters =
		    json_pack("{s:[s], s:[s], s:[o]}", "type", "container", "event", "start",
			      "label", json_sprintf("com.docker.compose.project=%s", project));
		_cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
		_cleanup_free_ char *q = berth_http_escape(text);
		char path[1024];
		snprintf(path, sizeof(path), "/events?since=%lld&filters=%s", since, q);
		if (cli_api_stream(cli, "GET", path, on_event, &st, &err) < 0)
			fprintf(stderr, "%s\n", err.msg);
	}
	for (size_t k = 0; k < st.n; k++)
		pthread_join(st.f[k]->thread, NULL);
	return 0;
}

enum { L_FOLLOW, L_TIMESTAMPS, L_TAIL, L_NO_PREFIX };
static const struct cli_flag logs_flags[] = {
    [L_FOLLOW] = {"follow", 'f', CLI_BOOL, NULL, "Follow log output"},
    [L_TIMESTAMPS] = {"timestamps", 't', CLI_BOOL, NULL, "Show timestamps"},
    [L_TAIL] = {"tail", 'n', CLI_STRING, "string",
		"Number of lines to show from the end of the logs for each container"},
    [L_NO_PREFIX] = {"no-log-prefix", 0, CLI_BOOL, NULL, "Don't print prefix in logs"},
    {0},
};

static int logs_exec(struct cli *cli, struct cli_args *a)
{
	char name[256];
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	return compose_cli_logs(cli, name, a->pos, a->npos, a->v[L_FOLLOW].b, a->v[L_TIMESTAMPS].b,
				a->v[L_TAIL].s);
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
