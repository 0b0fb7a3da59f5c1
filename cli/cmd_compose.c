/* berth compose: its global flags (-f, -p, --profile, --project-directory), the verb table,
 * loading the project with lib's compose loader, and calls to the scheduler. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "berth/fsutil.h"
#include "berth/http_client.h"
#include "berth/paths.h"
#include "cmd_compose.h"

struct compose_cli compose_cli;

/* A canonical JSON model (-f x.json, what `compose config --format json` prints) is read
 * as is: the scheduler tests use it. */

static json_t *load_json_model(const char *file, const char *dir)
{
	struct berth_error err = {0};
	json_t *model = berth_read_json(file, &err);
	if (!model) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	if (compose_cli.project_name)
		json_object_set_new(model, "name", json_string(compose_cli.project_name));
	if (!json_object_get(model, "name")) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", dir);
		json_object_set_new(model, "name", json_string(basename(tmp)));
	}
	return model;
}

enum { F_FILE, F_PROJECT, F_PROFILE, F_PROJECT_DIR };
static const struct cli_flag compose_flags[] = {
    [F_FILE] = {"file", 'f', CLI_LIST, "stringArray", "Compose configuration files"},
    [F_PROJECT] = {"project-name", 'p', CLI_STRING, "string", "Project name"},
    [F_PROFILE] = {"profile", 0, CLI_LIST, "stringArray", "Specify a profile to enable"},
    [F_PROJECT_DIR] = {"project-directory", 0, CLI_STRING, "string",
		       "Specify an alternate working directory"},
    {0},
};

static const struct cli_command *const compose_verbs[] = {
    &compose_cmd_config,  &compose_cmd_down,
    &compose_cmd_logs,	  &compose_cmd_ps,
    &compose_cmd_restart, &compose_cmd_scale,
    &compose_cmd_start,	  &compose_cmd_stop,
    &compose_cmd_up,	  NULL,
};

static void compose_usage(FILE *out)
{
	fprintf(out, "\nUsage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container "
		     "applications with berth\n");
	cli_flags_print(out, compose_flags);
	fprintf(out, "\nCommands:\n");
	for (size_t i = 0; compose_verbs[i]; i++)
		fprintf(out, "  %-10s %s\n", compose_verbs[i]->name, compose_verbs[i]->summary);
	fprintf(out, "\nRun 'berth compose COMMAND --help' for more information on a command.\n");
}

json_t *compose_cli_load(void)
{
	struct berth_error err = {0};
	char cwd[PATH_MAX], dir[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "getcwd: %s\n", strerror(errno));
		return NULL;
	}
	/* Files are given to the loader as absolute paths; the project directory is the first
	 * file's, as compose has it, unless --project-directory says otherwise. */
	const char **files = calloc(compose_cli.n_files + 1, sizeof(*files));
	char **owned = calloc(compose_cli.n_files + 1, sizeof(*owned));
	if (!files || !owned)
		abort();
	for (size_t i = 0; i < compose_cli.n_files; i++) {
		const char *f = compose_cli.files[i];
		owned[i] =
		    f[0] == '/' || !strcmp(f, "-") ? strdup(f) : berth_strdupf("%s/%s", cwd, f);
		files[i] = owned[i];
	}
	if (compose_cli.project_dir)
		snprintf(dir, sizeof(dir), "%s", compose_cli.project_dir);
	else if (compose_cli.n_files && strcmp(files[0], "-") != 0) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", files[0]);
		snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	} else
		snprintf(dir, sizeof(dir), "%s", cwd);
	struct compose_options o = {
	    .files = files,
	    .n_files = compose_cli.n_files,
	    .working_dir = dir,
	    .project_name = compose_cli.project_name,
	    .profiles = compose_cli.profiles,
	    .n_profiles = compose_cli.n_profiles,
	};
	size_t flen = compose_cli.n_files ? strlen(files[0]) : 0;
	json_t *model;
	if (flen > 5 && !strcmp(files[0] + flen - 5, ".json"))
		model = load_json_model(files[0], dir);
	else
		model = compose_load(&o, &err);
	for (size_t i = 0; i < compose_cli.n_files; i++)
		free(owned[i]);
	free(owned);
	free(files);
	if (!model && err.msg[0])
		fprintf(stderr, "%s\n", err.msg);
	return model;
}

int compose_cli_name(json_t *model, char *out, size_t size)
{
	if (compose_cli.project_name && *compose_cli.project_name) {
		snprintf(out, size, "%s", compose_cli.project_name);
		return 0;
	}
	_cleanup_json_ json_t *loaded = model ? json_incref(model) : compose_cli_load();
	const char *name = json_string_value(json_object_get(loaded, "name"));
	if (!name)
		return -1;
	snprintf(out, size, "%s", name);
	return 0;
}

int compose_cli_call(const char *method, const char *path, json_t *body, json_t **reply,
		     struct berth_error *err)
{
	const char *sock = berth_scheduler_sock();
	if (berth_http_json(sock, method, path, body, reply, err) == 0)
		return 0;
	if (err->status == 0 || err->status == 503 || !strncmp(err->msg, "Cannot connect", 14))
		berth_err(err, 503,
			  "Cannot connect to the berth scheduler at unix://%s. Is the berth "
			  "scheduler running?",
			  sock);
	return -1;
}

void compose_cli_print_error(const struct berth_error *err)
{
	/* compose's own wording for a service the project does not have. */
	if (!strncmp(err->msg, "Cannot connect", 14) || !strncmp(err->msg, "Error response", 14) ||
	    !strncmp(err->msg, "no such service: ", 17))
		fprintf(stderr, "%s\n", err->msg);
	else
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
}

int compose_cli_check_services(const char *project, char **services, int n)
{
	if (n == 0)
		return 0;
	struct berth_error err = {0};
	_cleanup_free_ char *e = berth_http_escape(project);
	char path[512];
	snprintf(path, sizeof(path), "/projects/%s", e);
	_cleanup_json_ json_t *doc = NULL;
	if (compose_cli_call("GET", path, NULL, &doc, &err) < 0)
		return 0;
	json_t *known = json_object_get(doc, "services");
	for (int i = 0; i < n; i++) {
		if (!json_object_get(known, services[i])) {
			fprintf(stderr, "no such service: %s\n", services[i]);
			return -1;
		}
	}
	return 0;
}

static bool service_wanted(const char *name, char **services, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(services[i], name))
			return true;
	return n == 0;
}

void compose_cli_print_progress(json_t *doc, const char *verb, const char *exited_verb,
				char **services, int n_services)
{
	const char *name;
	json_t *svc;
	json_object_foreach(json_object_get(doc, "services"), name, svc)
	{
		if (!service_wanted(name, services, n_services))
			continue;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(svc, "containers"), i, c)
		{
			const char *state = json_string_value(json_object_get(c, "state"));
			fprintf(stderr, " Container %s  %s\n",
				json_string_value(json_object_get(c, "name")),
				state && !strcmp(state, "running") ? verb
				: state && !strcmp(state, "exited")
				    ? exited_verb ? exited_verb : "Exited"
				: state ? state
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

static int compose_exec(struct cli *cli, struct cli_args *a)
{
	compose_cli.files = a->v[F_FILE].list;
	compose_cli.n_files = a->v[F_FILE].count;
	compose_cli.project_name = a->v[F_PROJECT].s;
	compose_cli.profiles = a->v[F_PROFILE].list;
	compose_cli.n_profiles = a->v[F_PROFILE].count;
	compose_cli.project_dir = a->v[F_PROJECT_DIR].s;
	if (a->npos == 0) {
		compose_usage(stdout);
		return 0;
	}
	const char *verb = a->pos[0];
	for (size_t i = 0; compose_verbs[i]; i++) {
		if (strcmp(compose_verbs[i]->name, verb) != 0)
			continue;
		char path[128];
		snprintf(path, sizeof(path), "berth compose %s", verb);
		return cli_run_command(cli, compose_verbs[i], path, a->npos - 1, a->pos + 1);
	}
	fprintf(stderr, "unknown docker command: \"compose %s\"\nSee 'berth compose --help'\n",
		verb);
	return 1;
}

const struct cli_command cli_cmd_compose = {
    .name = "compose",
    .usage = "compose [OPTIONS] COMMAND",
    .summary = "Define and run multi-container applications",
    .flags = compose_flags,
    .min_args = 0,
    .max_args = -1,
    .interspersed = false,
    .exec = compose_exec,
};
