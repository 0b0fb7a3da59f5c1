/* berth run and berth create: build the create body, create (pulling a missing image), then
 * start detached or attach in the foreground. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "container_opts.h"
#include "hijack.h"

/* Split "repo:tag" / "repo@digest" for POST /images/create?fromImage=&tag=. */
static int pull_image(struct cli *cli, struct cli_conn *conn, const char *image,
		      struct berth_error *err)
{
	char ref[512], path[1200];
	cli_image_with_tag(image, ref, sizeof(ref));
	char *tag = "";
	char *at = strchr(ref, '@');
	char *slash = strrchr(ref, '/');
	char *colon = strrchr(slash ? slash : ref, ':');
	if (at) {
		*at = '\0';
		tag = at + 1;
	} else if (colon) {
		*colon = '\0';
		tag = colon + 1;
	}
	char *er = cli_escape(ref), *et = cli_escape(tag);
	snprintf(path, sizeof(path), CLI_API_PREFIX "/images/create?fromImage=%s&tag=%s", er, et);
	free(er);
	free(et);
	if (cli_conn_send(conn, "POST", path, NULL, NULL, 0, err) < 0)
		return -1;
	struct cli_resp_head h;
	char *body;
	size_t len;
	if (cli_conn_read_head(conn, &h, -1, err) != 0 ||
	    cli_conn_read_body(conn, &h, &body, &len, err) < 0)
		return -1;
	int rc = 0;
	if (h.status < 200 || h.status >= 300) {
		char *m = cli_error_message(body, len);
		rc = berth_err(err, h.status, "Error response from daemon: %s", m);
		free(m);
	} else {
		/* A JSON-lines progress stream; an {"error": ...} line means the pull failed. */
		for (char *line = body; line && *line;) {
			char *nl = strchr(line, '\n');
			json_t *j =
			    json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
			const char *e = json_string_value(json_object_get(j, "error"));
			if (e)
				rc = berth_err(err, 500, "%s", e);
			json_decref(j);
			line = nl ? nl + 1 : NULL;
		}
	}
	free(body);
	(void)cli;
	return rc;
}

/* POST /containers/create; on a missing image say so as docker does and try to pull it. */
static int create_container(struct cli *cli, struct cli_conn *conn, struct cli_args *a,
			    json_t *config, char id[80], struct berth_error *err)
{
	char path[600];
	const char *name = a->v[CO_NAME].s;
	if (name) {
		char *e = cli_escape(name);
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/create?name=%s", e);
		free(e);
	} else {
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/create");
	}
	const char *pull = a->v[CO_PULL].s ? a->v[CO_PULL].s : "missing";
	if (strcmp(pull, "always") && strcmp(pull, "missing") && strcmp(pull, "never"))
		return berth_err(
		    err, 125,
		    "invalid pull option: '%s': must be one of \"always\", \"missing\" "
		    "or \"never\"",
		    pull);
	json_t *reply = NULL;
	if (!strcmp(pull, "always") && pull_image(cli, conn, a->pos[0], err) < 0)
		return -1;
	int rc = cli_conn_json(conn, "POST", path, config, &reply, err);
	if (rc < 0 && err->status == 404 && strstr(err->msg, "No such image") &&
	    strcmp(pull, "never")) {
		char tagged[512];
		struct berth_error not_found = *err;
		cli_image_with_tag(a->pos[0], tagged, sizeof(tagged));
		fprintf(stderr, "Unable to find image '%s' locally\n", tagged);
		struct berth_error perr = {0};
		if (pull_image(cli, conn, a->pos[0], &perr) < 0) {
			/* No pull endpoint yet (404): the missing image is the real story. */
			const char *why = perr.msg;
			if (!strncmp(why, "Error response from daemon: ", 28))
				why = perr.msg + 28;
			if (perr.status == 404 || perr.status == 405 || !perr.msg[0]) {
				*err = not_found;
			} else if (perr.status == 501) {
				/* No pull in this agent: the missing image is the real story. */
				berth_err(err, 404, "%.400s (%.400s)", not_found.msg, why);
			} else if (strncmp(perr.msg, "Error response from daemon", 26)) {
				berth_err(err, perr.status, "Error response from daemon: %s",
					  perr.msg);
			} else {
				*err = perr;
			}
			return -1;
		}
		rc = cli_conn_json(conn, "POST", path, config, &reply, err);
	}
	if (rc < 0)
		return -1;
	const char *rid = json_string_value(json_object_get(reply, "Id"));
	if (!rid) {
		json_decref(reply);
		return berth_err(err, 500, "the agent's create reply has no Id");
	}
	snprintf(id, 80, "%s", rid);
	json_t *warnings = json_object_get(reply, "Warnings");
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w) if (json_string_value(w))
	    fprintf(stderr, "WARNING: %s\n", json_string_value(w));
	json_decref(reply);
	return 0;
}

static int run_or_create(struct cli *cli, struct cli_args *a, bool run)
{
	struct cli_value *v = a->v;
	struct berth_error err = {0};
	bool detach = !run || v[CO_DETACH].b;
	if (run && !detach && v[CO_TTY].b && v[CO_INTERACTIVE].b && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return 1;
	}
	json_t *config = cli_container_config(a, run ? detach : true, &err);
	if (!config) {
		cli_report_error(cli, err.msg, true);
		return 125;
	}
	int rows, cols;
	if (v[CO_TTY].b && (cli_term_size(STDOUT_FILENO, &rows, &cols) ||
			    cli_term_size(STDIN_FILENO, &rows, &cols))) {
		/* The terminal's size from the start: a resize after start races the command. */
		json_t *host = json_object_get(config, "HostConfig");
		if (!json_is_object(host)) {
			host = json_object();
			json_object_set_new(config, "HostConfig", host);
		}
		json_object_set_new(host, "ConsoleSize", json_pack("[i, i]", rows, cols));
	}
	struct cli_conn conn;
	char id[80];
	if (cli_conn_open(&conn, cli->sock, &err) < 0 ||
	    create_container(cli, &conn, a, config, id, &err) < 0) {
		json_decref(config);
		cli_report_error(cli, err.msg, true);
		cli_conn_close(&conn);
		/* A failed create is berth's failure, whatever its text says. */
		return 125;
	}
	json_decref(config);
	int rc = 0;
	if (!run) {
		printf("%s\n", id);
	} else if (detach) {
		char path[256];
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/start", id);
		if (cli_conn_json(&conn, "POST", path, NULL, NULL, &err) < 0) {
			cli_report_error(cli, err.msg, false);
			rc = cli_start_error_code(err.msg);
		} else {
			printf("%s\n", id);
		}
	} else {
		struct cli_attach_opts o = {
		    .tty = v[CO_TTY].b,
		    .stdin = v[CO_INTERACTIVE].b,
		    .autoremove = v[CO_RM].b,
		    .sig_proxy = !v[CO_SIG_PROXY].set || v[CO_SIG_PROXY].b,
		    .start = true,
		};
		fflush(stdout);
		rc = cli_attach_run(cli, &conn, id, &o);
	}
	cli_conn_close(&conn);
	return rc;
}

static int run_exec(struct cli *cli, struct cli_args *a)
{
	return run_or_create(cli, a, true);
}

static int create_exec(struct cli *cli, struct cli_args *a)
{
	return run_or_create(cli, a, false);
}

const struct cli_command cli_cmd_run = {
    .name = "run",
    .usage = "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
    .summary = "Create and run a new container from an image",
    .flags = cli_container_flags,
    .min_args = 1,
    .max_args = -1,
    .exec = run_exec,
};

const struct cli_command cli_cmd_create = {
    .name = "create",
    .usage = "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
    .summary = "Create a new container",
    .flags = cli_container_flags,
    .min_args = 1,
    .max_args = -1,
    .exec = create_exec,
};
