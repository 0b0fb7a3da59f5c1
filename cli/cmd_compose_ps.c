/* berth compose ps: the project's containers as the agent lists them, in compose v2's
 * columns (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS), plus replicas the scheduler
 * holds pending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "cmd_compose.h"
#include "output.h"

static int container_order(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_t *lx = json_object_get(x, "Labels"), *ly = json_object_get(y, "Labels");
	const char *sx = json_string_value(json_object_get(lx, "com.docker.compose.service"));
	const char *sy = json_string_value(json_object_get(ly, "com.docker.compose.service"));
	int c = strcmp(sx ? sx : "", sy ? sy : "");
	if (c)
		return c;
	const char *nx =
	    json_string_value(json_object_get(lx, "com.docker.compose.container-number"));
	const char *ny =
	    json_string_value(json_object_get(ly, "com.docker.compose.container-number"));
	return (nx ? atoi(nx) : 0) - (ny ? atoi(ny) : 0);
}

json_t *compose_cli_containers(struct cli *cli, const char *project, bool all, char **services,
			       int n_services, struct berth_error *err)
{
	_cleanup_json_ json_t *filters =
	    json_pack("{s:[o]}", "label", json_sprintf("com.docker.compose.project=%s", project));
	_cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
	_cleanup_free_ char *q = berth_http_escape(text);
	char path[1024];
	snprintf(path, sizeof(path), "/containers/json?%sfilters=%s", all ? "all=1&" : "", q);
	json_t *list = NULL;
	if (cli_api(cli, "GET", path, NULL, &list, err) < 0)
		return NULL;
	size_t n = json_array_size(list);
	json_t **items = calloc(n + 1, sizeof(*items));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(list, i);
		json_t *labels = json_object_get(c, "Labels");
		const char *svc =
		    json_string_value(json_object_get(labels, "com.docker.compose.service"));
		const char *oneoff =
		    json_string_value(json_object_get(labels, "com.docker.compose.oneoff"));
		if (oneoff && !strcmp(oneoff, "True"))
			continue;
		bool want = n_services == 0;
		for (int s = 0; s < n_services && svc; s++)
			want |= !strcmp(services[s], svc);
		if (want)
			items[k++] = c;
	}
	qsort(items, k, sizeof(*items), container_order);
	json_t *out = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append(out, items[i]);
	free(items);
	json_decref(list);
	return out;
}

enum { P_ALL, P_QUIET, P_FORMAT, P_SERVICES };
static const struct cli_flag ps_flags[] = {
    [P_ALL] = {"all", 'a', CLI_BOOL, NULL, "Show all stopped containers"},
    [P_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Only display IDs"},
    [P_FORMAT] = {"format", 0, CLI_STRING, "string", "Format output using a custom template"},
    [P_SERVICES] = {"services", 0, CLI_BOOL, NULL, "Display services"},
    {0},
};

static int ps_exec(struct cli *cli, struct cli_args *a)
{
	char name[256];
	struct berth_error err = {0};
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	_cleanup_json_ json_t *list =
	    compose_cli_containers(cli, name, a->v[P_ALL].b, a->pos, a->npos, &err);
	if (!list) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	size_t i;
	json_t *c;
	if (a->v[P_SERVICES].b) {
		_cleanup_json_ json_t *seen = json_object();
		json_array_foreach(list, i, c)
		{
			const char *svc = json_string_value(json_object_get(
			    json_object_get(c, "Labels"), "com.docker.compose.service"));
			if (svc && !json_object_get(seen, svc)) {
				json_object_set_new(seen, svc, json_true());
				printf("%s\n", svc);
			}
		}
		return 0;
	}
	_cleanup_json_ json_t *rows = json_array();
	long long now = (long long)time(NULL);
	json_array_foreach(list, i, c)
	{
		json_t *row = cli_ps_row(c, true, now);
		const char *svc = json_string_value(
		    json_object_get(json_object_get(c, "Labels"), "com.docker.compose.service"));
		json_object_set_new(row, "Service", json_string(svc ? svc : ""));
		json_object_set_new(row, "Name", json_incref(json_object_get(row, "Names")));
		json_object_set_new(row, "Project", json_string(name));
		json_array_append_new(rows, row);
	}
	const char *format = a->v[P_FORMAT].s;
	if (a->v[P_QUIET].b)
		format = "{{.ID}}";
	else if (!format || !*format || !strcmp(format, "table"))
		format = "table {{.Names}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}"
			 "\t{{.Status}}\t{{.Ports}}";
	_cleanup_json_ json_t *headers = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Names", "NAME", "Name", "NAME",
	    "Image", "IMAGE", "Command", "COMMAND", "Service", "SERVICE", "RunningFor", "CREATED",
	    "Status", "STATUS", "Ports", "PORTS", "ID", "CONTAINER ID");
	if (cli_format_rows(stdout, format, rows, headers, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (a->v[P_QUIET].b || (a->v[P_FORMAT].s && strncmp(a->v[P_FORMAT].s, "table", 5)))
		return 0;
	/* Replicas the scheduler could not place yet. */
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s", e);
	_cleanup_json_ json_t *doc = NULL;
	struct berth_error ignored = {0};
	if (compose_cli_call("GET", path, NULL, &doc, &ignored) == 0) {
		const char *svc;
		json_t *s;
		json_object_foreach(json_object_get(doc, "services"), svc, s)
		{
			json_int_t pending = json_integer_value(json_object_get(s, "pending"));
			const char *waiting = json_string_value(json_object_get(s, "waiting"));
			const char *error = json_string_value(json_object_get(s, "error"));
			if (pending)
				printf("%s: %lld replica%s pending: %s\n", svc, (long long)pending,
				       pending == 1 ? "" : "s",
				       json_string_value(json_object_get(s, "pending_reason")));
			if (waiting)
				printf("%s: %s\n", svc, waiting);
			if (error)
				printf("%s: error: %s\n", svc, error);
		}
	}
	return 0;
}

const struct cli_command compose_cmd_ps = {
    .name = "ps",
    .usage = "ps [OPTIONS] [SERVICE...]",
    .summary = "List containers",
    .flags = ps_flags,
    .max_args = -1,
    .interspersed = true,
    .exec = ps_exec,
};
