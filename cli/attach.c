/* docker run's foreground sequence: attach (hijacked) → wait → start → stream → exit code. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "container_opts.h"
#include "output.h"

static int signal_pipe[2] = {-1, -1};

static void on_signal_handler(int sig)
{
	int saved = errno;
	if (write(signal_pipe[1], &sig, sizeof(sig)) < 0) {
		/* nothing to do: the pipe is full, a signal is already pending */
	}
	errno = saved;
}

struct signal_ctx {
	struct cli *cli;
	struct cli_conn *conn;
	const char *id;
	bool tty;
};

static void resize(struct cli_conn *conn, const char *id)
{
	int rows, cols;
	if (!cli_term_size(STDOUT_FILENO, &rows, &cols) &&
	    !cli_term_size(STDIN_FILENO, &rows, &cols))
		return;
	char path[256];
	snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/resize?h=%d&w=%d", id, rows,
		 cols);
	struct berth_error err = {0};
	cli_conn_json(conn, "POST", path, NULL, NULL, &err);
}

static void forward_signal(int sig, void *arg)
{
	struct signal_ctx *s = arg;
	if (sig == SIGWINCH) {
		resize(s->conn, s->id);
		return;
	}
	char path[256];
	snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/kill?signal=%d", s->id, sig);
	struct berth_error err = {0};
	cli_conn_json(s->conn, "POST", path, NULL, NULL, &err);
}

static int wait_status(struct cli_conn *wait, const struct cli_resp_head *head)
{
	struct berth_error err = {0};
	struct cli_resp_head h;
	if (head)
		h = *head;
	else if (cli_conn_read_head(wait, &h, -1, &err) != 0)
		return 125;
	char *body;
	size_t len;
	if (cli_conn_read_body(wait, &h, &body, &len, &err) < 0)
		return 125;
	json_t *j = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, NULL);
	free(body);
	int code = 125;
	if (json_is_object(j)) {
		const char *m =
		    json_string_value(json_object_get(json_object_get(j, "Error"), "Message"));
		if (m && *m)
			fprintf(stderr, "berth: Error response from daemon: %s\n", m);
		json_t *sc = json_object_get(j, "StatusCode");
		if (json_is_integer(sc))
			code = (int)json_integer_value(sc);
	}
	json_decref(j);
	return code;
}

int cli_attach_run(struct cli *cli, struct cli_conn *conn, const char *id,
		   const struct cli_attach_opts *o)
{
	struct berth_error err = {0};
	struct cli_conn att = {.fd = -1}, wait = {.fd = -1};
	char path[512];
	int rc = 125;
	if (cli_conn_open(&att, cli->sock, &err) < 0)
		goto report;
	snprintf(path, sizeof(path),
		 CLI_API_PREFIX "/containers/%s/attach?stream=1&stdout=1&stderr=1%s", id,
		 o->stdin ? "&stdin=1" : "");
	if (cli_conn_send(&att, "POST", path, "Connection: Upgrade\r\nUpgrade: tcp\r\n", NULL, 0,
			  &err) < 0)
		goto report;
	struct cli_resp_head h;
	if (cli_conn_read_head(&att, &h, -1, &err) != 0)
		goto report;
	if (h.status != 101 && h.status != 200) {
		char *body;
		size_t len;
		if (cli_conn_read_body(&att, &h, &body, &len, &err) == 0) {
			char *m = cli_error_message(body, len);
			berth_err(&err, h.status, "Error response from daemon: %s", m);
			free(m);
			free(body);
		}
		goto report;
	}
	bool wait_head = false;
	struct cli_resp_head wait_h = {0};
	if (o->start) {
		if (cli_conn_open(&wait, cli->sock, &err) < 0)
			goto report;
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/wait?condition=%s", id,
			 o->autoremove ? "removed" : "next-exit");
		if (cli_conn_send(&wait, "POST", path, NULL, NULL, 0, &err) < 0)
			goto report;
		/* The agent answers the head at once (as dockerd does) once the waiter is set up;
		 * reading it orders wait before start. Don't hang if it holds the head back. */
		int r = cli_conn_read_head(&wait, &wait_h, 2000, &err);
		if (r < 0)
			goto report;
		if (r == 0) {
			if (wait_h.status != 200) {
				char *body;
				size_t len;
				if (cli_conn_read_body(&wait, &wait_h, &body, &len, &err) == 0) {
					char *m = cli_error_message(body, len);
					berth_err(&err, wait_h.status,
						  "Error response from daemon: %s", m);
					free(m);
					free(body);
				}
				goto report;
			}
			wait_head = true;
		}
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/start", id);
		if (cli_conn_json(conn, "POST", path, NULL, NULL, &err) < 0) {
			rc = cli_start_error_code(err.msg);
			cli_report_error(cli, err.msg, false);
			if (o->autoremove) {
				snprintf(path, sizeof(path),
					 CLI_API_PREFIX "/containers/%s?force=1", id);
				struct berth_error ignored = {0};
				cli_conn_json(conn, "DELETE", path, NULL, NULL, &ignored);
			}
			goto out;
		}
	}
	struct signal_ctx sctx = {cli, conn, id, o->tty};
	struct cli_pump pump = {.tty = o->tty,
				.send_stdin = o->stdin,
				.signal_fd = -1,
				.on_signal = forward_signal,
				.arg = &sctx};
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		pump.signal_fd = signal_pipe[0];
		struct sigaction sa = {.sa_handler = on_signal_handler, .sa_flags = SA_RESTART};
		sigemptyset(&sa.sa_mask);
		if (o->sig_proxy && !o->tty) {
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
		}
		if (o->tty)
			sigaction(SIGWINCH, &sa, NULL);
	}
	if (o->tty && o->stdin && isatty(STDIN_FILENO))
		cli_term_raw(STDIN_FILENO);
	if (o->tty)
		resize(conn, id);
	if (cli_conn_pump(&att, &pump, &err) < 0) {
		cli_term_restore();
		goto report;
	}
	cli_term_restore();
	rc = o->start ? wait_status(&wait, wait_head ? &wait_h : NULL) : 0;
	if (!o->start) {
		/* attach to a running container: its exit code comes from inspect. */
		json_t *j = NULL;
		snprintf(path, sizeof(path), CLI_API_PREFIX "/containers/%s/json", id);
		if (cli_conn_json(conn, "GET", path, NULL, &j, &err) == 0)
			rc = (int)json_integer_value(
			    json_object_get(json_object_get(j, "State"), "ExitCode"));
		json_decref(j);
	}
	goto out;
report:
	cli_report_error(cli, err.msg, false);
	rc = 125;
out:
	cli_conn_close(&att);
	cli_conn_close(&wait);
	return rc;
}
