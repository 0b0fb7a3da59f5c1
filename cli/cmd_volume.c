/* berth volume ls|create|rm|inspect|prune: the agent's /volumes, printed as docker volume
 * does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "objects.h"

enum { L_QUIET, L_FILTER, L_FORMAT };
static const struct cli_flag ls_flags[] = {
    [L_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Only display volume names"},
    [L_FILTER] = {"filter", 'f', CLI_LIST, "filter",
		  "Provide filter values (e.g. \"dangling=true\")"},
    [L_FORMAT] = {"format", 0, CLI_STRING, "string", "Format output using a custom template"},
    {0},
};

static int volume_ls(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	json_t *reply = cli_objects_call(cli, "GET", "/volumes", &v[L_FILTER], NULL, NULL);
	if (!reply)
		return 1;
	json_t *rows = json_array();
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(reply, "Volumes"), i, vol)
	{
		const char *name = json_string_value(json_object_get(vol, "Name"));
		if (v[L_QUIET].b) {
			printf("%s\n", name ? name : "");
			continue;
		}
		json_array_append_new(rows, json_pack("{s:O, s:O, s:O, s:O, s:O}", "Driver",
						      json_object_get(vol, "Driver"), "Name",
						      json_object_get(vol, "Name"), "Mountpoint",
						      json_object_get(vol, "Mountpoint"), "Scope",
						      json_object_get(vol, "Scope"), "Labels",
						      json_object_get(vol, "Labels")));
	}
	json_decref(reply);
	int rc = 0;
	if (!v[L_QUIET].b)
		rc = cli_objects_print_rows(v[L_FORMAT].s, "table {{.Driver}}\t{{.Name}}", rows,
					    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Driver",
						      "DRIVER", "Name", "VOLUME NAME", "Mountpoint",
						      "MOUNTPOINT", "Scope", "SCOPE", "Labels",
						      "LABELS"));
	json_decref(rows);
	return rc;
}

enum { C_DRIVER, C_LABEL, C_OPT, C_NAME };
static const struct cli_flag create_flags[] = {
    [C_DRIVER] = {"driver", 'd', CLI_STRING, "string",
		  "Specify volume driver name (default \"local\")"},
    [C_LABEL] = {"label", 0, CLI_LIST, "list", "Set metadata for a volume"},
    [C_OPT] = {"opt", 'o', CLI_LIST, "map", "Set driver specific options"},
    [C_NAME] = {"name", 0, CLI_STRING, "string", "Specify volume name"},
    {0},
};

/* "k=v" items as an object; "k" alone gives an empty value, as docker's opts do. */
static json_t *key_values(const struct cli_value *v)
{
	json_t *out = json_object();
	for (size_t i = 0; i < v->count; i++) {
		const char *l = v->list[i], *eq = strchr(l, '=');
		char *key = eq ? strndup(l, (size_t)(eq - l)) : strdup(l);
		json_object_set_new(out, key, json_string(eq ? eq + 1 : ""));
		free(key);
	}
	return out;
}

static int volume_create(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	const char *name = a->npos ? a->pos[0] : v[C_NAME].s;
	if (a->npos && v[C_NAME].s && strcmp(v[C_NAME].s, a->pos[0]) != 0) {
		fprintf(stderr, "Conflicting options: either specify --name or provide positional "
				"arg, not both\n");
		return 1;
	}
	json_t *body = json_pack("{s:s, s:s, s:o, s:o}", "Name", name ? name : "", "Driver",
				 v[C_DRIVER].s ? v[C_DRIVER].s : "local", "DriverOpts",
				 key_values(&v[C_OPT]), "Labels", key_values(&v[C_LABEL]));
	return cli_objects_create(cli, "/volumes/create", body, "Name");
}

enum { R_FORCE };
static const struct cli_flag rm_flags[] = {
    [R_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Force the removal of one or more volumes"},
    {0},
};

static int volume_rm(struct cli *cli, struct cli_args *a)
{
	struct cli_objects_rm rm = {"volumes", a->v[R_FORCE].b ? "?force=1" : ""};
	return cli_for_each(cli, a->pos, a->npos, true, cli_objects_rm_one, &rm, NULL);
}

enum { I_FORMAT };
static const struct cli_flag inspect_flags[] = {
    [I_FORMAT] = {"format", 'f', CLI_STRING, "string", "Format output using a custom template"},
    {0},
};

static int volume_inspect(struct cli *cli, struct cli_args *a)
{
	return cli_objects_inspect(cli, a, "volumes", "volume", a->v[I_FORMAT].s);
}

enum { P_FORCE, P_FILTER };
static const struct cli_flag prune_flags[] = {
    [P_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation"},
    [P_FILTER] = {"filter", 0, CLI_LIST, "filter",
		  "Provide filter values (e.g. \"label=<label>\")"},
    {0},
};

static int volume_prune(struct cli *cli, struct cli_args *a)
{
	if (!a->v[P_FORCE].b &&
	    !cli_confirm("WARNING! This will remove all local volumes not used by at least one "
			 "container."))
		return 0;
	json_t *reply =
	    cli_objects_call(cli, "POST", "/volumes/prune", &a->v[P_FILTER], NULL, NULL);
	if (!reply)
		return 1;
	json_t *deleted = json_object_get(reply, "VolumesDeleted");
	if (json_array_size(deleted) > 0) {
		printf("Deleted Volumes:\n");
		size_t i;
		json_t *n;
		json_array_foreach(deleted, i, n) printf("%s\n", json_string_value(n));
		printf("\n");
	}
	cli_objects_print_reclaimed(json_integer_value(json_object_get(reply, "SpaceReclaimed")));
	json_decref(reply);
	return 0;
}

const struct cli_command cli_cmd_volume_ls = {
    .name = "ls",
    .alias = "list",
    .usage = "ls [OPTIONS]",
    .summary = "List volumes",
    .flags = ls_flags,
    .max_args = 0,
    .interspersed = true,
    .exec = volume_ls,
};

const struct cli_command cli_cmd_volume_create = {
    .name = "create",
    .usage = "create [OPTIONS] [VOLUME]",
    .summary = "Create a volume",
    .flags = create_flags,
    .max_args = 1,
    .interspersed = true,
    .exec = volume_create,
};

const struct cli_command cli_cmd_volume_rm = {
    .name = "rm",
    .alias = "remove",
    .usage = "rm [OPTIONS] VOLUME [VOLUME...]",
    .summary = "Remove one or more volumes",
    .flags = rm_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = volume_rm,
};

const struct cli_command cli_cmd_volume_inspect = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] VOLUME [VOLUME...]",
    .summary = "Display detailed information on one or more volumes",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = volume_inspect,
};

const struct cli_command cli_cmd_volume_prune = {
    .name = "prune",
    .usage = "prune [OPTIONS]",
    .summary = "Remove all unused local volumes",
    .flags = prune_flags,
    .max_args = 0,
    .interspersed = true,
    .exec = volume_prune,
};
