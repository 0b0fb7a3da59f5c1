/* berth compose: the verbs' shared context (global compose flags), loading the project and
 * calling the scheduler. */
#ifndef BERTH_CLI_CMD_COMPOSE_H
#define BERTH_CLI_CMD_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
/* Print a scheduler error: "no such service: X" as compose prints it, else as the daemon's. */
void compose_cli_print_error(const struct berth_error *err);
/* " Container demo-web-1  Started" lines (compose's plain progress) from a project status,
 * verb for running replicas, exited_verb (NULL: "Exited") for exited ones; only the services
 * named (all when n_services is 0); pending reasons and errors too. */
void compose_cli_print_progress(json_t *doc, const char *verb, const char *exited_verb,
				char **services, int n_services);
/* POST /projects/NAME/ACTION (stop, start, restart) for the services named (all when n is 0)
 * with a stop timeout (-1: the services' own); prints progress; returns the exit code. */
int compose_cli_action(const char *project, const char *action, char **services, int n,
		       long timeout);
/* The project's containers from the agent (all, or running only), sorted by service order
 * then number; services filters when not empty. */
json_t *compose_cli_containers(struct cli *cli, const char *project, bool all, char **services,
			       int n_services, struct berth_error *err);
struct compose_logs_opts {
	bool follow, timestamps, no_prefix;
	const char *tail; /* NULL: all */
	int64_t since_ns; /* not 0: only what was logged since (an up: its own run's output) */
	/* An attached up: print "web-1 exited with code N" as each container exits for good,
	 * return once none is left (follow must be set); the exit code is compose's. */
	bool watch_exits;
	bool abort_on_exit;	    /* the first exit calls on_abort (which stops the services) */
	const char *exit_code_from; /* return this service's exit code (implies abort) */
	void (*on_abort)(void *arg);
	void *abort_arg;
};
/* The logs of the project's containers (of services, all when n_services is 0), followed
 * until interrupted or, for an up, until every container has exited. Returns the exit code. */
int compose_cli_logs(struct cli *cli, const char *project, char **services, int n_services,
		     const struct compose_logs_opts *o);
/* Check the services against the project the scheduler has: "no such service: X" and -1 for
 * one it does not have (nothing is checked when the scheduler does not know the project). */
int compose_cli_check_services(const char *project, char **services, int n);

extern const struct cli_command compose_cmd_up, compose_cmd_down, compose_cmd_ps, compose_cmd_logs,
    compose_cmd_scale, compose_cmd_stop, compose_cmd_start, compose_cmd_restart, compose_cmd_config;

#endif
