/* berth compose stop, start, restart [SERVICE...]: the scheduler keeps a stopped flag per
 * service (persisted, so reconcile leaves a stopped service stopped) and does the work; these
 * print what it reports, for the services named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "cmd_compose.h"

int compose_cli_action(const char *project, const char *action, char **services, int n,
		       long timeout)
{
	struct berth_error err = {0};
	_cleanup_free_ char *e = berth_http_escape(project);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s/%s", e, action);
	json_t *names = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(names, json_string(services[i]));
	_cleanup_json_ json_t *body = json_pack("{s:o}", "services", names);
	if (timeout >= 0)
		json_object_set_new(body, "timeout", json_integer(timeout));
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("POST", path, body, &doc, &err) < 0) {
		compose_cli_print_error(&err);
		return 1;
	}
	bool stop = !strcmp(action, "stop");
	compose_cli_print_progress(doc, stop ? "Stopped" : "Started", stop ? "Stopped" : NULL,
				   services, n);
	return 0;
}

enum { A_TIMEOUT };
static const struct cli_flag timeout_flags[] = {
    [A_TIMEOUT] = {"timeout", 't', CLI_INT, "int", "Specify a shutdown timeout in seconds"},
    {0},
};

static int action_exec(struct cli_args *a, const char *action)
{
	char name[256];
	long timeout = -1;
	if (a->flags == timeout_flags && a->v[A_TIMEOUT].set) {
		timeout = a->v[A_TIMEOUT].n;
		if (timeout < 0 || timeout > 86400) {
			fprintf(stderr, "invalid timeout %ld: want 0-86400 seconds\n", timeout);
			return 1;
		}
	}
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	return compose_cli_action(name, action, a->pos, a->npos, timeout);
}

static int stop_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "stop");
}
static int start_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "start");
}
static int restart_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "restart");
}

const struct cli_command compose_cmd_stop = {
    .name = "stop",
    .usage = "stop [OPTIONS] [SERVICE...]",
    .summary = "Stop services",
    .flags = timeout_flags,
    .max_args = -1,
    .interspersed = true,
    .exec = stop_exec,
};
const struct cli_command compose_cmd_start = {
    .name = "start",
    .usage = "start [SERVICE...]",
    .summary = "Start services",
    .max_args = -1,
    .interspersed = true,
    .exec = start_exec,
};
const struct cli_command compose_cmd_restart = {
    .name = "restart",
    .usage = "restart [OPTIONS] [SERVICE...]",
    .summary = "Restart service containers",
    .flags = timeout_flags,
    .max_args = -1,
    .interspersed = true,
    .exec = restart_exec,
};
