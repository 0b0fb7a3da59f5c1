/* berth kill: POST /containers/{id}/kill?signal= for each argument, printing each. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { F_SIGNAL };
static const struct cli_flag kill_flags[] = {
    [F_SIGNAL] = {"signal", 's', CLI_STRING, "string", "Signal to send to the container"},
    {0},
};

static int kill_one(struct cli *cli, const char *arg, void *data, struct berth_error *err)
{
	struct cli_args *a = data;
	char path[1024];
	char *e = cli_escape(arg);
	if (a->v[F_SIGNAL].set) {
		char *s = cli_escape(a->v[F_SIGNAL].s);
		snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", e, s);
		free(s);
	} else {
		snprintf(path, sizeof(path), "/containers/%s/kill", e);
	}
	free(e);
	return cli_api(cli, "POST", path, NULL, NULL, err);
}

static int kill_exec(struct cli *cli, struct cli_args *a)
{
	return cli_for_each(cli, a->pos, a->npos, true, kill_one, a, NULL);
}

const struct cli_command cli_cmd_kill = {
    .name = "kill",
    .usage = "kill [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Kill one or more running containers",
    .flags = kill_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = kill_exec,
};
