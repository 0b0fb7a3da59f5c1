/* berth compose up, down, scale, config: the project's desired state
 * goes to the scheduler, which does the work; these print what it reports. */
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "berth/duration.h"
#include "berth/http_client.h"
#include "cmd_compose.h"

/* "web=3" → scale["web"] = 3 */
static int parse_scale(const char *spec, json_t *scale)
{
	const char *eq = strchr(spec, '=');
	char *end = NULL;
	errno = 0;
	long long n = eq ? strtoll(eq + 1, &end, 10) : -1;
	/* A count too large is the scheduler's to refuse: it says what the limit is. */
	if (!eq || eq == spec || !end || end == eq + 1 || *end || n < 0 || errno == ERANGE) {
		fprintf(stderr, "invalid scale option \"%s\": should be SERVICE=NUM\n", spec);
		return -1;
	}
	char svc[256];
	snprintf(svc, sizeof(svc), "%.*s", (int)(eq - spec), spec);
	json_object_set_new(scale, svc, json_integer(n));
	return 0;
}

static int put_project(json_t *model, const char *name, char **services, int n_services,
		       json_t *scale, bool detach_reply, json_t **doc_out)
{
	struct berth_error err = {0};
	json_t *list = json_array();
	for (int i = 0; i < n_services; i++)
		json_array_append_new(list, json_string(services[i]));
	_cleanup_json_ json_t *body =
	    json_pack("{s:O, s:o, s:O}", "project", model, "services", list, "scale", scale);
	char path[512];
	_cleanup_free_ char *e = berth_http_escape(name);
	snprintf(path, sizeof(path), "/projects/%s%s", e, detach_reply ? "?detach=1" : "");
	json_t *doc = NULL;
	if (compose_cli_call("PUT", path, body, &doc, &err) < 0) {
		compose_cli_print_error(&err);
		return 1;
	}
	compose_cli_print_progress(doc, "Started", NULL, NULL, 0);
	if (doc_out)
		*doc_out = doc;
	else
		json_decref(doc);
	return 0;
}

struct up_attach {
	const char *name;
	char **services;
	int n;
	long timeout;
	bool no_prefix, abort_on_exit;
	const char *exit_code_from;
	int64_t since_ns;
};

static void up_abort(void *arg)
{
	struct up_attach *u = arg;
	compose_cli_action(u->name, "stop", u->services, u->n, u->timeout);
}

/* Attached up: logs (and exits) in a child until every container has exited, or the first
 * with --abort-on-container-exit; at Ctrl-C the services are stopped, as compose does. */
static int up_attached(struct cli *cli, struct up_attach *u)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
		struct compose_logs_opts o = {
		    .follow = true,
		    .no_prefix = u->no_prefix,
		    .since_ns = u->since_ns,
		    .watch_exits = true,
		    .abort_on_exit = u->abort_on_exit,
		    .exit_code_from = u->exit_code_from,
		    .on_abort = up_abort,
		    .abort_arg = u,
		};
		_exit(compose_cli_logs(cli, u->name, u->services, u->n, &o));
	}
	int rc = 130, status = 0;
	for (;;) {
		struct timespec tick = {0, 200000000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
			int stop_rc =
			    compose_cli_action(u->name, "stop", u->services, u->n, u->timeout);
			rc = stop_rc ? stop_rc : 130;
			break;
		}
		if (waitpid(child, &status, WNOHANG) == child) {
			child = -1;
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			break;
		}
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

enum {
	U_DETACH,
	U_SCALE,
	U_NO_START,
	U_REMOVE_ORPHANS,
	U_WAIT,
	U_BUILD,
	U_NO_BUILD,
	U_ABORT,
	U_EXIT_CODE_FROM,
	U_NO_LOG_PREFIX,
	U_TIMEOUT,
};
static const struct cli_flag up_flags[] = {
    [U_DETACH] = {"detach", 'd', CLI_BOOL, NULL, "Detached mode: Run containers in the background"},
    [U_SCALE] = {"scale", 0, CLI_LIST, "scale",
		 "Scale SERVICE to NUM instances. Overrides the scale setting in the Compose "
		 "file if present"},
    [U_NO_START] = {"no-start", 0, CLI_BOOL, NULL, "Don't start the services after creating them"},
    [U_REMOVE_ORPHANS] = {"remove-orphans", 0, CLI_BOOL, NULL,
			  "Remove containers for services not defined in the Compose file"},
    [U_WAIT] = {"wait", 0, CLI_BOOL, NULL, "Wait for services to be running|healthy"},
    [U_BUILD] = {"build", 0, CLI_BOOL, NULL, "Build images before starting containers"},
    [U_NO_BUILD] = {"no-build", 0, CLI_BOOL, NULL, "Don't build an image, even if it's policy"},
    [U_ABORT] = {"abort-on-container-exit", 0, CLI_BOOL, NULL,
		 "Stops all containers if any container was stopped. Incompatible with -d"},
    [U_EXIT_CODE_FROM] = {"exit-code-from", 0, CLI_STRING, "string",
			  "Return the exit code of the selected service container. Implies "
			  "--abort-on-container-exit"},
    [U_NO_LOG_PREFIX] = {"no-log-prefix", 0, CLI_BOOL, NULL, "Don't print prefix in logs"},
    [U_TIMEOUT] = {"timeout", 't', CLI_INT, "int",
		   "Use this timeout in seconds for container shutdown when attached"},
    {0},
};

static int up_exec(struct cli *cli, struct cli_args *a)
{
	_cleanup_json_ json_t *scale = json_object();
	for (size_t i = 0; i < a->v[U_SCALE].count; i++)
		if (parse_scale(a->v[U_SCALE].list[i], scale) < 0)
			return 1;
	if (a->v[U_NO_START].b) {
		fprintf(stderr, "berth compose up: --no-start is not supported\n");
		return 1;
	}
	const char *exit_code_from = a->v[U_EXIT_CODE_FROM].s;
	bool abort_on_exit = a->v[U_ABORT].b || exit_code_from;
	if (abort_on_exit && a->v[U_DETACH].b) {
		fprintf(stderr,
			"--abort-on-container-exit and --detach are incompatible options\n");
		return 1;
	}
	long timeout = a->v[U_TIMEOUT].set ? a->v[U_TIMEOUT].n : -1;
	if (a->v[U_TIMEOUT].set && (timeout < 0 || timeout > 86400)) {
		fprintf(stderr, "invalid timeout %ld: want 0-86400 seconds\n", timeout);
		return 1;
	}
	_cleanup_json_ json_t *model = compose_cli_load();
	if (!model)
		return 1;
	if (exit_code_from &&
	    !json_object_get(json_object_get(model, "services"), exit_code_from)) {
		fprintf(stderr, "no such service: %s\n", exit_code_from);
		return 1;
	}
	char name[256];
	if (compose_cli_name(model, name, sizeof(name)) < 0)
		return 1;
	int64_t since_ns = berth_now_ns();
	int rc = put_project(model, name, a->pos, a->npos, scale, false, NULL);
	if (rc || a->v[U_DETACH].b)
		return rc;
	struct up_attach u = {
	    .name = name,
	    .services = a->pos,
	    .n = a->npos,
	    .timeout = timeout,
	    .no_prefix = a->v[U_NO_LOG_PREFIX].b,
	    .abort_on_exit = abort_on_exit,
	    .exit_code_from = exit_code_from,
	    .since_ns = since_ns,
	};
	return up_attached(cli, &u);
}

const struct cli_command compose_cmd_up = {
    .name = "up",
    .usage = "up [OPTIONS] [SERVICE...]",
    .summary = "Create and start containers",
    .flags = up_flags,
    .max_args = -1,
    .interspersed = true,
    .exec = up_exec,
};

enum { D_VOLUMES, D_REMOVE_ORPHANS, D_TIMEOUT };
static const struct cli_flag down_flags[] = {
    [D_VOLUMES] = {"volumes", 'v', CLI_BOOL, NULL,
		   "Remove named volumes declared in the \"volumes\" section of the Compose "
		   "file"},
    [D_REMOVE_ORPHANS] = {"remove-orphans", 0, CLI_BOOL, NULL,
			  "Remove containers for services not defined in the Compose file"},
    [D_TIMEOUT] = {"timeout", 't', CLI_INT, "int", "Specify a shutdown timeout in seconds"},
    {0},
};

static int down_exec(struct cli *cli, struct cli_args *a)
{
	char name[256];
	struct berth_error err = {0};
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	long timeout = a->v[D_TIMEOUT].set ? a->v[D_TIMEOUT].n : -1;
	if (a->v[D_TIMEOUT].set && (timeout < 0 || timeout > 86400)) {
		fprintf(stderr, "invalid timeout %ld: want 0-86400 seconds\n", timeout);
		return 1;
	}
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s?volumes=%d", e, a->v[D_VOLUMES].b);
	if (timeout >= 0)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "&timeout=%ld", timeout);
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("DELETE", path, NULL, &doc, &err) < 0) {
		compose_cli_print_error(&err);
		return 1;
	}
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "removed"), i, r)
	{
		const char *type = json_string_value(json_object_get(r, "type"));
		fprintf(stderr, " %s %s  Removed\n",
			type && !strcmp(type, "network")  ? "Network"
			: type && !strcmp(type, "volume") ? "Volume"
							  : "Container",
			json_string_value(json_object_get(r, "name")));
	}
	return 0;
}

const struct cli_command compose_cmd_down = {
    .name = "down",
    .usage = "down [OPTIONS]",
    .summary = "Stop and remove containers, networks",
    .flags = down_flags,
    .max_args = 0,
    .exec = down_exec,
};

/* Shared by `compose scale` and the top-level `berth scale`. */
int compose_cli_scale(struct cli *cli, char **specs, int n);
int compose_cli_scale(struct cli *cli, char **specs, int n)
{
	_cleanup_json_ json_t *scale = json_object();
	for (int i = 0; i < n; i++)
		if (parse_scale(specs[i], scale) < 0)
			return 1;
	char name[256];
	_cleanup_json_ json_t *model = NULL;
	if (!compose_cli.project_name) {
		model = compose_cli_load();
		if (!model)
			return 1;
	}
	if (compose_cli_name(model, name, sizeof(name)) < 0)
		return 1;
	struct berth_error err = {0};
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s/scale", e);
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("POST", path, scale, &doc, &err) == 0) {
		compose_cli_print_progress(doc, "Running", NULL, NULL, 0);
		return 0;
	}
	if (err.status != 404 || strncmp(err.msg, "no such project", 15) != 0) {
		compose_cli_print_error(&err);
		return 1;
	}
	/* Not up yet: bring up the named services at that scale. */
	if (!model && !(model = compose_cli_load()))
		return 1;
	char **services = calloc((size_t)n + 1, sizeof(*services));
	const char *key;
	json_t *v;
	int k = 0;
	json_object_foreach(scale, key, v) services[k++] = (char *)key;
	int rc = put_project(model, name, services, k, scale, false, NULL);
	free(services);
	return rc;
}

static int scale_exec(struct cli *cli, struct cli_args *a)
{
	return compose_cli_scale(cli, a->pos, a->npos);
}

const struct cli_command compose_cmd_scale = {
    .name = "scale",
    .usage = "scale [SERVICE=REPLICAS...]",
    .summary = "Scale services",
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = scale_exec,
};

static int config_exec(struct cli *cli, struct cli_args *a)
{
	_cleanup_json_ json_t *model = compose_cli_load();
	struct berth_error err = {0};
	if (!model)
		return 1;
	if (compose_write_yaml(model, stdout, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

const struct cli_command compose_cmd_config = {
    .name = "config",
    .usage = "config [OPTIONS]",
    .summary = "Parse, resolve and render compose file in canonical format",
    .max_args = 0,
    .exec = config_exec,
};
