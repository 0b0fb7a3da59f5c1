/* berth compose: the verbs' shared context (global compose flags), loading the project and
 * calling the scheduler. */
#ifndef BERTH_CLI_CMD_COMPOSE_H
#define BERTH_CLI_CMD_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cli.h"

struct compose_cli {
	const char **files; /* -f, in order */
	size_t n_files;
	const char *project_name; /* -p */
	const char **profiles;
	size_t n_profiles;
	const char *project_dir;
};
extern struct compose_cli compose_cli;

/* The canonical model from the compose file(s) (compose_load), or NULL after printing the
 * loader's error. */
json_t *compose_cli_load(void);
/* The project name: -p, else the loaded model's name (model may be NULL: then it is loaded). */
int compose_cli_name(json_t *model, char *out, size_t size);
/* A JSON call to the scheduler; on failure err->msg is what to print. */
int compose_cli_call(const char *method, const char *path, json_t *body, json_t **reply,
		     struct berth_error *err);
/* The project's containers from the agent (all, or running only), sorted by service order
 * then number; services filters when not empty. */
json_t *compose_cli_containers(struct cli *cli, const char *project, bool all, char **services,
			       int n_services, struct berth_error *err);
/* Follow the logs of the project's containers until interrupted (follow) or their end. */
int compose_cli_logs(struct cli *cli, const char *project, char **services, int n_services,
		     bool follow, bool timestamps, const char *tail);

extern const struct cli_command compose_cmd_up, compose_cmd_down, compose_cmd_ps, compose_cmd_logs,
    compose_cmd_scale, compose_cmd_stop, compose_cmd_start, compose_cmd_restart, compose_cmd_config;

#endif
