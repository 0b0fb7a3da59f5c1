/* A raw HTTP/1.1 connection to the agent's unix socket: keep-alive requests for the run path
 * (fewer round trips than libcurl setups) and hijacked attach/exec streams. */
#ifndef BERTH_CLI_HIJACK_H
#define BERTH_CLI_HIJACK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "berth/error.h"

struct cli_conn {
	int fd;
	char *buf; /* bytes read but not consumed: buf[off..len) */
	size_t off, len, cap;
};

struct cli_resp_head {
	int status;
	bool chunked;
	long long content_length; /* -1 when absent */
};

int cli_conn_open(struct cli_conn *c, const char *sock, struct berth_error *err);
void cli_conn_close(struct cli_conn *c);
/* Send one request; path is the full path (with /v1.41). extra_headers end with "\r\n". */
int cli_conn_send(struct cli_conn *c, const char *method, const char *path,
		  const char *extra_headers, const char *body, size_t body_len,
		  struct berth_error *err);
/* Read a response's status line and headers. timeout_ms < 0 waits forever; returns 1 on
 * timeout (nothing consumed), 0 when the head was read. */
int cli_conn_read_head(struct cli_conn *c, struct cli_resp_head *h, int timeout_ms,
		       struct berth_error *err);
/* Read the whole body (Content-Length, chunked, or until EOF); malloc'd, NUL-terminated. */
int cli_conn_read_body(struct cli_conn *c, const struct cli_resp_head *h, char **body, size_t *len,
		       struct berth_error *err);
/* A JSON request on this connection. Non-2xx: err->msg is "Error response from daemon: MSG",
 * err->status the HTTP status. reply may be NULL. */
int cli_conn_json(struct cli_conn *c, const char *method, const char *path, json_t *body,
		  json_t **reply, struct berth_error *err);
/* The daemon's message from an error body ({"message": ...} or plain text). malloc'd. */
char *cli_error_message(const char *body, size_t len);

/* Pump a hijacked stream until the container's output ends: socket → stdout/stderr
 * (demultiplexed unless tty), and stdin → socket when send_stdin (half-closing the socket
 * at EOF). Without send_stdin the write side is half-closed at once, as docker does.
 * stop_fd (or -1): when readable, stop pumping (a signal's self-pipe is handled by the
 * caller through on_signal). */
struct cli_pump {
	bool tty;
	bool send_stdin;
	int signal_fd; /* -1 or a self-pipe; on_signal is called when it fires */
	void (*on_signal)(int sig, void *arg);
	void *arg;
};
int cli_conn_pump(struct cli_conn *c, const struct cli_pump *p, struct berth_error *err);

/* Raw terminal mode for -it; restored at exit. */
int cli_term_raw(int fd);
void cli_term_restore(void);
/* The terminal size of fd (0 on failure). */
int cli_term_size(int fd, int *rows, int *cols);

#endif
