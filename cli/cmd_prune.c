/* berth container prune: remove all stopped containers after docker's confirmation prompt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "objects.h"
#include "output.h"

enum { F_FORCE, F_FILTER };
static const struct cli_flag prune_flags[] = {
    [F_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation"},
    [F_FILTER] = {"filter", 0, CLI_LIST, "filter",
		  "Provide filter values (e.g. \"until=<timestamp>\")"},
    {0},
};

/* "?filters={...}" from --filter k=v, or "" without any. malloc'd. */
char *cli_filters_query(const struct cli_value *v, const char *extra_key, const char *extra_val)
{
	json_t *filters = json_object();
	for (size_t i = 0; v && i < v->count; i++) {
		const char *f = v->list[i];
		const char *eq = strchr(f, '=');
		char key[128];
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - f) : (int)strlen(f), f);
		json_t *vals = json_object_get(filters, key);
		if (!vals) {
			vals = json_object();
			json_object_set_new(filters, key, vals);
		}
		json_object_set_new(vals, eq ? eq + 1 : "", json_true());
	}
	if (extra_key)
		json_object_set_new(filters, extra_key, json_pack("{s:b}", extra_val, 1));
	char *out;
	if (!json_object_size(filters)) {
		out = strdup("");
	} else {
		char *text = json_dumps(filters, JSON_COMPACT);
		char *e = cli_escape(text);
		if (asprintf(&out, "?filters=%s", e) < 0)
			out = NULL;
		free(text);
		free(e);
	}
	json_decref(filters);
	return out;
}

static int prune_exec(struct cli *cli, struct cli_args *a)
{
	if (!a->v[F_FORCE].b && !cli_confirm("WARNING! This will remove all stopped containers.")) {
		printf("Total reclaimed space: 0B\n");
		return 0;
	}
	json_t *reply =
	    cli_objects_call(cli, "POST", "/containers/prune", &a->v[F_FILTER], NULL, NULL);
	if (!reply)
		return 1;
	json_t *deleted = json_object_get(reply, "ContainersDeleted");
	long long space = 0;
	if (json_array_size(deleted)) {
		printf("Deleted Containers:\n");
		size_t i;
		json_t *id;
		json_array_foreach(deleted, i, id) printf("%s\n", json_string_value(id));
		printf("\n");
		space = json_integer_value(json_object_get(reply, "SpaceReclaimed"));
	}
	cli_objects_print_reclaimed(space);
	json_decref(reply);
	return 0;
}

const struct cli_command cli_cmd_container_prune = {
    .name = "prune",
    .usage = "prune [OPTIONS]",
    .summary = "Remove all stopped containers",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = prune_exec,
};
