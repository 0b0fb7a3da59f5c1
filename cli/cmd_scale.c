/* berth scale SERVICE=N...: compose scale of the project in the current directory (or -p). */
#include <stdio.h>

#include "cmd_compose.h"

int compose_cli_scale(struct cli *cli, char **specs, int n);

enum { S_FILE, S_PROJECT };
static const struct cli_flag scale_flags[] = {
    [S_FILE] = {"file", 'f', CLI_LIST, "stringArray", "Compose configuration files"},
    [S_PROJECT] = {"project-name", 'p', CLI_STRING, "string", "Project name"},
    {0},
};

static int scale_exec(struct cli *cli, struct cli_args *a)
{
	compose_cli.files = a->v[S_FILE].list;
	compose_cli.n_files = a->v[S_FILE].count;
	compose_cli.project_name = a->v[S_PROJECT].s;
	return compose_cli_scale(cli, a->pos, a->npos);
}

const struct cli_command cli_cmd_scale = {
    .name = "scale",
    .usage = "scale [OPTIONS] SERVICE=REPLICAS [SERVICE=REPLICAS...]",
    .summary = "Scale services of a compose project",
    .flags = scale_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = scale_exec,
};
