/* berth rm: DELETE /containers/{id} for each argument (-f kills first), printing each. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { F_FORCE, F_VOLUMES, F_LINK };
static const struct cli_flag rm_flags[] = {
    [F_FORCE] = {"force", 'f', CLI_BOOL, NULL,
		 "Force the removal of a running container (uses SIGKILL)"},
    [F_VOLUMES] = {"volumes", 'v', CLI_BOOL, NULL,
		   "Remove anonymous volumes associated with the container"},
    [F_LINK] = {"link", 'l', CLI_BOOL, NULL, "Remove the specified link"},
    {0},
};

static int rm_one(struct cli *cli, const char *arg, void *data, struct berth_error *err)
{
	struct cli_args *a = data;
	char path[1024];
	char *e = cli_escape(arg);
	snprintf(path, sizeof(path), "/containers/%s?force=%d&v=%d", e, a->v[F_FORCE].b ? 1 : 0,
		 a->v[F_VOLUMES].b ? 1 : 0);
	free(e);
	return cli_api(cli, "DELETE", path, NULL, NULL, err);
}

static int rm_exec(struct cli *cli, struct cli_args *a)
{
	return cli_for_each(cli, a->pos, a->npos, true, rm_one, a, NULL);
}

const struct cli_command cli_cmd_rm = {
    .name = "rm",
    .usage = "rm [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Remove one or more containers",
    .flags = rm_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = rm_exec,
};
