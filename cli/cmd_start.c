/* berth start: start containers, or with -a attach to one and return its exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "hijack.h"

enum { F_ATTACH, F_INTERACTIVE };
static const struct cli_flag start_flags[] = {
    [F_ATTACH] = {"attach", 'a', CLI_BOOL, NULL, "Attach STDOUT/STDERR and forward signals"},
    [F_INTERACTIVE] = {"interactive", 'i', CLI_BOOL, NULL, "Attach container's STDIN"},
    {0},
};

static int start_one(struct cli *cli, const char *arg, void *data, struct berth_error *err)
{
	char path[1024];
	char *e = cli_escape(arg);
	snprintf(path, sizeof(path), "/containers/%s/start", e);
	free(e);
	return cli_api(cli, "POST", path, NULL, NULL, err);
}

static int start_attached(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	if (a->npos > 1) {
		fprintf(stderr, "you cannot start and attach multiple containers at once\n");
		return 1;
	}
	json_t *info = NULL;
	char path[1024];
	char *e = cli_escape(a->pos[0]);
	snprintf(path, sizeof(path), "/containers/%s/json", e);
	free(e);
	if (cli_api(cli, "GET", path, NULL, &info, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	json_t *config = json_object_get(info, "Config");
	char id[80];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(info, "Id")));
	struct cli_attach_opts o = {
	    .tty = json_is_true(json_object_get(config, "Tty")),
	    .stdin = a->v[F_INTERACTIVE].b && json_is_true(json_object_get(config, "OpenStdin")),
	    .autoremove =
		json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove")),
	    .sig_proxy = true,
	    .start = true,
	};
	json_decref(info);
	struct cli_conn conn;
	if (cli_conn_open(&conn, cli->sock, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int rc = cli_attach_run(cli, &conn, id, &o);
	cli_conn_close(&conn);
	return rc;
}

static int start_exec(struct cli *cli, struct cli_args *a)
{
	if (a->v[F_ATTACH].b || a->v[F_INTERACTIVE].b)
		return start_attached(cli, a);
	bool *failed = calloc((size_t)a->npos + 1, sizeof(bool));
	int rc = cli_for_each(cli, a->pos, a->npos, true, start_one, NULL, failed);
	if (rc) {
		/* docker ends with one line naming every container that failed. */
		fprintf(stderr, "Error: failed to start containers: ");
		bool first = true;
		for (int i = 0; i < a->npos; i++) {
			if (!failed[i])
				continue;
			fprintf(stderr, "%s%s", first ? "" : ", ", a->pos[i]);
			first = false;
		}
		fprintf(stderr, "\n");
	}
	free(failed);
	return rc;
}

const struct cli_command cli_cmd_start = {
    .name = "start",
    .usage = "start [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Start one or more stopped containers",
    .flags = start_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = start_exec,
};
