/* berth stop and berth restart: POST /containers/{id}/stop|restart for each argument, in
 * parallel, printing each. Both take -t and -s. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { F_TIME, F_SIGNAL };
static const struct cli_flag stop_flags[] = {
    [F_TIME] = {"time", 't', CLI_INT, "int", "Seconds to wait before killing the container"},
    [F_SIGNAL] = {"signal", 's', CLI_STRING, "string", "Signal to send to the container"},
    {0},
};

struct stop_request {
	struct cli_args *args;
	const char *action; /* "stop" or "restart" */
};

static int stop_one(struct cli *cli, const char *arg, void *data, struct berth_error *err)
{
	struct stop_request *r = data;
	struct cli_args *a = r->args;
	char path[1024];
	char *e = cli_escape(arg);
	int n = snprintf(path, sizeof(path), "/containers/%s/%s", e, r->action);
	char sep = '?';
	if (a->v[F_TIME].set) {
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%ct=%ld", sep, a->v[F_TIME].n);
		sep = '&';
	}
	if (a->v[F_SIGNAL].set) {
		char *s = cli_escape(a->v[F_SIGNAL].s);
		snprintf(path + n, sizeof(path) - (size_t)n, "%csignal=%s", sep, s);
		free(s);
	}
	free(e);
	return cli_api(cli, "POST", path, NULL, NULL, err);
}

static int stop_exec(struct cli *cli, struct cli_args *a)
{
	struct stop_request r = {a, "stop"};
	return cli_for_each(cli, a->pos, a->npos, true, stop_one, &r, NULL);
}

static int restart_exec(struct cli *cli, struct cli_args *a)
{
	struct stop_request r = {a, "restart"};
	return cli_for_each(cli, a->pos, a->npos, true, stop_one, &r, NULL);
}

const struct cli_command cli_cmd_stop = {
    .name = "stop",
    .usage = "stop [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Stop one or more running containers",
    .flags = stop_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = stop_exec,
};

const struct cli_command cli_cmd_restart = {
    .name = "restart",
    .usage = "restart [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Restart one or more containers",
    .flags = stop_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = restart_exec,
};
