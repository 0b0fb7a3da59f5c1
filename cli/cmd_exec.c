/* berth exec: create an exec instance, start it hijacked (or detached), return its exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "container_opts.h"
#include "hijack.h"

enum { F_DETACH, F_INTERACTIVE, F_TTY, F_ENV, F_WORKDIR, F_USER, F_PRIVILEGED, F_ENV_FILE };
static const struct cli_flag exec_flags[] = {
    [F_DETACH] = {"detach", 'd', CLI_BOOL, NULL, "Detached mode: run command in the background"},
    [F_INTERACTIVE] = {"interactive", 'i', CLI_BOOL, NULL, "Keep STDIN open even if not attached"},
    [F_TTY] = {"tty", 't', CLI_BOOL, NULL, "Allocate a pseudo-TTY"},
    [F_ENV] = {"env", 'e', CLI_LIST, "list", "Set environment variables"},
    [F_WORKDIR] = {"workdir", 'w', CLI_STRING, "string", "Working directory inside the container"},
    [F_USER] = {"user", 'u', CLI_STRING, "string",
		"Username or UID (format: \"<name|uid>[:<group|gid>]\")"},
    [F_PRIVILEGED] = {"privileged", 0, CLI_BOOL, NULL, "Give extended privileges to the command"},
    [F_ENV_FILE] = {"env-file", 0, CLI_LIST, "list", "Read in a file of environment variables"},
    {0},
};

static int exec_exec(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	struct berth_error err = {0};
	bool tty = v[F_TTY].b, in = v[F_INTERACTIVE].b, detach = v[F_DETACH].b;
	if (!detach && tty && in && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return 1;
	}
	json_t *cmd = json_array();
	for (int i = 1; i < a->npos; i++)
		json_array_append_new(cmd, json_string(a->pos[i]));
	json_t *env = json_array();
	for (size_t i = 0; i < v[F_ENV].count; i++)
		cli_env_add(env, v[F_ENV].list[i]);
	json_t *body = json_pack(
	    "{s:s,s:b,s:b,s:b,s:b,s:b,s:o,s:s,s:o,s:b}", "User", v[F_USER].s ? v[F_USER].s : "",
	    "Privileged", v[F_PRIVILEGED].b, "Tty", tty, "AttachStdin", in && !detach,
	    "AttachStderr", !detach, "AttachStdout", !detach, "Env", env, "WorkingDir",
	    v[F_WORKDIR].s ? v[F_WORKDIR].s : "", "Cmd", cmd, "Detach", detach);
	int rows = 0, cols = 0;
	if (tty && !cli_term_size(STDOUT_FILENO, &rows, &cols))
		cli_term_size(STDIN_FILENO, &rows, &cols);
	/* The size from the start, as docker does: a resize after start races the command. */
	if (rows > 0)
		json_object_set_new(body, "ConsoleSize", json_pack("[i, i]", rows, cols));
	char path[1024];
	char *e = cli_escape(a->pos[0]);
	snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/exec", e);
	free(e);
	struct cli_conn conn;
	json_t *reply = NULL;
	int rc = 1;
	if (cli_conn_open(&conn, cli->sock, &err) < 0 ||
	    cli_conn_json(&conn, "POST", path, body, &reply, &err) < 0) {
		json_decref(body);
		fprintf(stderr, "%s\n", err.msg);
		cli_conn_close(&conn);
		return err.status == 503		      ? 1
		       : cli_start_error_code(err.msg) == 125 ? 1
							      : cli_start_error_code(err.msg);
	}
	json_decref(body);
	char id[80];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(reply, "Id")));
	json_decref(reply);
	snprintf(path, sizeof(path), CLI_API_PREFIX "/exec/%s/start", id);
	json_t *start = json_pack("{s:b,s:b}", "Detach", detach, "Tty", tty);
	if (rows > 0)
		json_object_set_new(start, "ConsoleSize", json_pack("[i, i]", rows, cols));
	if (detach) {
		if (cli_conn_json(&conn, "POST", path, start, NULL, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			rc = cli_start_error_code(err.msg) == 125 ? 1
								  : cli_start_error_code(err.msg);
		} else {
			rc = 0;
		}
		json_decref(start);
		cli_conn_close(&conn);
		return rc;
	}
	/* exec start is hijacked on its own connection, like attach. */
	struct cli_conn att;
	char *text = json_dumps(start, JSON_COMPACT);
	json_decref(start);
	struct cli_resp_head h;
	if (cli_conn_open(&att, cli->sock, &err) < 0 ||
	    cli_conn_send(&att, "POST", path, "Connection: Upgrade\r\nUpgrade: tcp\r\n", text,
			  strlen(text), &err) < 0 ||
	    cli_conn_read_head(&att, &h, -1, &err) != 0) {
		free(text);
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	free(text);
	if (h.status != 101 && h.status != 200) {
		char *b;
		size_t len;
		if (cli_conn_read_body(&att, &h, &b, &len, &err) == 0) {
			char *m = cli_error_message(b, len);
			fprintf(stderr, "Error response from daemon: %s\n", m);
			rc = cli_start_error_code(m) == 125 ? 1 : cli_start_error_code(m);
			free(m);
			free(b);
		}
		goto out;
	}
	if (tty) {
		if (rows > 0) {
			char rpath[256];
			snprintf(rpath, sizeof(rpath), CLI_API_PREFIX "/exec/%s/resize?h=%d&w=%d",
				 id, rows, cols);
			struct berth_error ignored = {0};
			cli_conn_json(&conn, "POST", rpath, NULL, NULL, &ignored);
		}
		if (in && isatty(STDIN_FILENO))
			cli_term_raw(STDIN_FILENO);
	}
	struct cli_pump pump = {.tty = tty, .send_stdin = in, .signal_fd = -1};
	int prc = cli_conn_pump(&att, &pump, &err);
	cli_term_restore();
	if (prc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	snprintf(path, sizeof(path), CLI_API_PREFIX "/exec/%s/json", id);
	json_t *info = NULL;
	if (cli_conn_json(&conn, "GET", path, NULL, &info, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	rc = (int)json_integer_value(json_object_get(info, "ExitCode"));
	json_decref(info);
out:
	cli_conn_close(&att);
	cli_conn_close(&conn);
	return rc;
}

const struct cli_command cli_cmd_exec = {
    .name = "exec",
    .usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
    .summary = "Execute a command in a running container",
    .flags = exec_flags,
    .min_args = 2,
    .max_args = -1,
    .exec = exec_exec,
};
