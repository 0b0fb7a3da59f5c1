/* berth ps (container ls): GET /containers/json, printed as docker's table or --format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/duration.h"
#include "cli.h"
#include "objects.h"
#include "output.h"

enum { F_ALL, F_QUIET, F_NO_TRUNC, F_LAST, F_LATEST, F_SIZE, F_FORMAT, F_FILTER };
static const struct cli_flag ps_flags[] = {
    [F_ALL] = {"all", 'a', CLI_BOOL, NULL, "Show all containers (default shows just running)"},
    [F_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Only display container IDs"},
    [F_NO_TRUNC] = {"no-trunc", 0, CLI_BOOL, NULL, "Don't truncate output"},
    [F_LAST] = {"last", 'n', CLI_INT, "int",
		"Show n last created containers (includes all states) (default -1)"},
    [F_LATEST] = {"latest", 'l', CLI_BOOL, NULL,
		  "Show the latest created container (includes all states)"},
    [F_SIZE] = {"size", 's', CLI_BOOL, NULL, "Display total file sizes"},
    [F_FORMAT] = {"format", 0, CLI_STRING, "string", "Format output using a custom template"},
    [F_FILTER] = {"filter", 'f', CLI_LIST, "filter", "Filter output based on conditions provided"},
    {0},
};

static json_t *ps_headers(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
			 "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
			 "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE",
			 "Status", "STATUS", "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS",
			 "Mounts", "MOUNTS", "Networks", "NETWORKS", "LocalVolumes",
			 "LOCAL VOLUMES");
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of obj sorted and joined: "k=v,..." (with_values) or "k,...". */
static char *join_keys(json_t *obj, bool with_values)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s%s", i ? "," : "", keys[i]);
		if (with_values) {
			const char *s = json_string_value(json_object_get(obj, keys[i]));
			fprintf(f, "=%s", s ? s : "");
		}
	}
	fclose(f);
	free(keys);
	return out;
}

json_t *cli_ps_row(json_t *c, bool trunc, long long now)
{
	const char *id = json_string_value(json_object_get(c, "Id"));
	const char *image = json_string_value(json_object_get(c, "Image"));
	const char *command = json_string_value(json_object_get(c, "Command"));
	long long created = json_integer_value(json_object_get(c, "Created"));
	char idbuf[80], imgbuf[512], ago[64], created_at[64], size[96];
	snprintf(idbuf, sizeof(idbuf), "%.*s", trunc ? 12 : 64, id ? id : "");
	image = image ? image : "";
	if (trunc && !strncmp(image, "sha256:", 7))
		snprintf(imgbuf, sizeof(imgbuf), "%.12s", image + 7);
	else
		snprintf(imgbuf, sizeof(imgbuf), "%s", image);
	char *cmd =
	    trunc ? cli_ellipsis(command ? command : "", 20) : strdup(command ? command : "");
	char *quoted = cli_go_quote(cmd);
	free(cmd);
	char d[48];
	double secs = (double)(now - created);
	berth_human_duration(secs < 0 ? 0 : secs, d, sizeof(d));
	snprintf(ago, sizeof(ago), "%s ago", d);
	time_t t = (time_t)created;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(created_at, sizeof(created_at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	char rw[32], root[32];
	cli_human_size((double)json_integer_value(json_object_get(c, "SizeRw")), 3, rw, sizeof(rw));
	cli_human_size((double)json_integer_value(json_object_get(c, "SizeRootFs")), 3, root,
		       sizeof(root));
	snprintf(size, sizeof(size), "%s (virtual %s)", rw, root);
	/* NAMES: without "/", and only the container's own name when truncating (not links). */
	char *names = NULL;
	size_t nlen = 0;
	FILE *nf = open_memstream(&names, &nlen);
	size_t i;
	json_t *n;
	bool first = true;
	json_array_foreach(json_object_get(c, "Names"), i, n)
	{
		const char *s = json_string_value(n);
		if (!s)
			continue;
		if (*s == '/')
			s++;
		if (trunc && strchr(s, '/'))
			continue;
		fprintf(nf, "%s%s", first ? "" : ",", s);
		first = false;
		if (trunc)
			break;
	}
	fclose(nf);
	char *ports = cli_format_ports(json_object_get(c, "Ports"));
	json_t *labels = json_object_get(c, "Labels");
	char *label_text = join_keys(labels, true);
	char *networks =
	    join_keys(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), false);
	char *mounts = NULL;
	size_t mlen = 0;
	FILE *mf = open_memstream(&mounts, &mlen);
	json_t *m;
	int local = 0;
	json_array_foreach(json_object_get(c, "Mounts"), i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		if (!name || !*name)
			name = json_string_value(json_object_get(m, "Source"));
		char *e = trunc ? cli_ellipsis(name ? name : "", 15) : strdup(name ? name : "");
		fprintf(mf, "%s%s", i ? "," : "", e);
		free(e);
		const char *driver = json_string_value(json_object_get(m, "Driver"));
		local += driver && !strcmp(driver, "local");
	}
	fclose(mf);
	const char *state = json_string_value(json_object_get(c, "State"));
	const char *status = json_string_value(json_object_get(c, "Status"));
	json_t *row = json_pack(
	    "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "Command", quoted,
	    "CreatedAt", created_at, "ID", idbuf, "Image", imgbuf, "Labels", label_text,
	    "LocalVolumes", "0", "Mounts", mounts, "Names", names, "Networks", networks, "Ports",
	    ports, "RunningFor", ago, "Size", size, "State", state ? state : "", "Status",
	    status ? status : "", "_labels", labels ? json_incref(labels) : json_object());
	char lv[16];
	snprintf(lv, sizeof(lv), "%d", local);
	json_object_set_new(row, "LocalVolumes", json_string(lv));
	free(quoted);
	free(names);
	free(ports);
	free(label_text);
	free(networks);
	free(mounts);
	return row;
}

static int ps_exec(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	struct berth_error err = {0};
	json_t *filters = json_object();
	for (size_t i = 0; i < v[F_FILTER].count; i++) {
		const char *f = v[F_FILTER].list[i];
		const char *eq = strchr(f, '=');
		if (!eq) {
			fprintf(stderr, "bad format of filter (expected name=value)\n");
			json_decref(filters);
			return 1;
		}
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - f), f);
		json_t *vals = json_object_get(filters, key);
		if (!vals) {
			vals = json_object();
			json_object_set_new(filters, key, vals);
		}
		json_object_set_new(vals, eq + 1, json_true());
	}
	char path[4096];
	int n = snprintf(path, sizeof(path), "/containers/json?");
	long limit = v[F_LATEST].b ? 1 : v[F_LAST].set ? v[F_LAST].n : -1;
	if (v[F_ALL].b)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "all=1&");
	if (limit > 0)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "limit=%ld&", limit);
	if (v[F_SIZE].b)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "size=1&");
	if (json_object_size(filters)) {
		char *text = json_dumps(filters, JSON_COMPACT);
		char *e = cli_escape(text);
		n += snprintf(path + n, sizeof(path) - (size_t)n, "filters=%s&", e);
		free(text);
		free(e);
	}
	json_decref(filters);
	path[n - 1] = '\0';
	json_t *list = NULL;
	if (cli_api(cli, "GET", path, NULL, &list, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	bool trunc = !v[F_NO_TRUNC].b;
	json_t *rows = json_array();
	size_t i;
	json_t *c;
	long long now = (long long)time(NULL);
	json_array_foreach(list, i, c) json_array_append_new(rows, cli_ps_row(c, trunc, now));
	json_decref(list);
	int rc = cli_objects_print_rows(
	    v[F_QUIET].b ? "{{.ID}}" : v[F_FORMAT].s,
	    v[F_SIZE].b ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t"
			  "{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
			: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t"
			  "{{.Status}}\t{{.Ports}}\t{{.Names}}",
	    rows, ps_headers());
	json_decref(rows);
	return rc;
}

const struct cli_command cli_cmd_ps = {
    .name = "ps",
    .alias = "ps",
    .usage = "ps [OPTIONS]",
    .summary = "List containers",
    .flags = ps_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = ps_exec,
};
