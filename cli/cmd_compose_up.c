/* berth compose up, down, scale, stop, start, restart, config: the project's desired state
 * goes to the scheduler, which does the work; these print what it reports. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "berth/http_client.h"
#include "cmd_compose.h"

static void print_error(const struct berth_error *err)
{
	if (!strncmp(err->msg, "Cannot connect", 14) || !strncmp(err->msg, "Error response", 14))
		fprintf(stderr, "%s\n", err->msg);
	else
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
}

/* " Container demo-web-1  Started" lines (compose's plain progress), pending reasons too. */
static void print_progress(json_t *doc, const char *verb)
{
	const char *name;
	json_t *svc;
	json_object_foreach(json_object_get(doc, "services"), name, svc)
	{
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(svc, "containers"), i, c)
		{
			const char *state = json_string_value(json_object_get(c, "state"));
			fprintf(stderr, " Container %s  %s\n",
				json_string_value(json_object_get(c, "name")),
				state && !strcmp(state, "running")  ? verb
				: state && !strcmp(state, "exited") ? "Exited"
				: state				    ? state
								    : "");
		}
		json_int_t pending = json_integer_value(json_object_get(svc, "pending"));
		if (pending)
			fprintf(stderr, " Service %s  %lld replica%s pending: %s\n", name,
				(long long)pending, pending == 1 ? "" : "s",
				json_string_value(json_object_get(svc, "pending_reason")));
		const char *error = json_string_value(json_object_get(svc, "error"));
		if (error)
			fprintf(stderr, " Service %s  Error: %s\n", name, error);
	}
}

/* "web=3" → scale["web"] = 3 */
static int parse_scale(const char *spec, json_t *scale)
{
	const char *eq = strchr(spec, '=');
	char *end = NULL;
	long n = eq ? strtol(eq + 1, &end, 10) : -1;
	if (!eq || eq == spec || !end || end == eq + 1 || *end || n < 0 || n > 10000) {
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
		print_error(&err);
		return 1;
	}
	print_progress(doc, "Started");
	if (doc_out)
		*doc_out = doc;
	else
		json_decref(doc);
	return 0;
}

static int project_action(const char *name, const char *action, json_t *body, const char *verb)
{
	struct berth_error err = {0};
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s/%s", e, action);
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("POST", path, body, &doc, &err) < 0) {
		print_error(&err);
		return 1;
	}
	print_progress(doc, verb);
	return 0;
}

/* Attached up: logs in a child until Ctrl-C, then the project is stopped, as compose does. */
static int up_attached(struct cli *cli, const char *name, char **services, int n)
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
		_exit(compose_cli_logs(cli, name, services, n, true, false, "all"));
	}
	int rc = 0;
	for (;;) {
		struct timespec tick = {0, 200000000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
			rc = project_action(name, "stop", NULL, "Stopped");
			break;
		}
		if (waitpid(child, NULL, WNOHANG) == child) {
			child = -1;
			break;
		}
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc ? rc : 130;
}

enum { U_DETACH, U_SCALE, U_NO_START, U_REMOVE_ORPHANS, U_WAIT, U_BUILD, U_NO_BUILD };
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
	_cleanup_json_ json_t *model = compose_cli_load();
	if (!model)
		return 1;
	char name[256];
	if (compose_cli_name(model, name, sizeof(name)) < 0)
		return 1;
	int rc = put_project(model, name, a->pos, a->npos, scale, false, NULL);
	if (rc || a->v[U_DETACH].b)
		return rc;
	return up_attached(cli, name, a->pos, a->npos);
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
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s%s", e, a->v[D_VOLUMES].b ? "?volumes=1" : "");
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("DELETE", path, NULL, &doc, &err) < 0) {
		print_error(&err);
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
		print_progress(doc, "Running");
		return 0;
	}
	if (err.status != 404 || strncmp(err.msg, "no such project", 15) != 0) {
		print_error(&err);
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

static int action_exec(struct cli_args *a, const char *action, const char *verb)
{
	char name[256];
	if (a->npos > 0) {
		fprintf(stderr,
			"berth compose %s: selecting services is not supported; it acts on "
			"the whole project\n",
			action);
		return 1;
	}
	if (compose_cli_name(NULL, name, sizeof(name)) < 0)
		return 1;
	return project_action(name, action, NULL, verb);
}

static int stop_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "stop", "Stopped");
}
static int start_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "start", "Started");
}
static int restart_exec(struct cli *cli, struct cli_args *a)
{
	return action_exec(a, "restart", "Started");
}

const struct cli_command compose_cmd_stop = {
    .name = "stop",
    .usage = "stop [SERVICE...]",
    .summary = "Stop services",
    .max_args = -1,
    .exec = stop_exec,
};
const struct cli_command compose_cmd_start = {
    .name = "start",
    .usage = "start [SERVICE...]",
    .summary = "Start services",
    .max_args = -1,
    .exec = start_exec,
};
const struct cli_command compose_cmd_restart = {
    .name = "restart",
    .usage = "restart [SERVICE...]",
    .summary = "Restart service containers",
    .max_args = -1,
    .exec = restart_exec,
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
