/* Calls to the agent: JSON over one keep-alive connection per thread, streams and uploads over
 * lib's libcurl client, error reporting, and docker's per-argument parallel operations. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/http_client.h"
#include "cli.h"
#include "hijack.h"

static __thread struct cli_conn api_conn = {.fd = -1};

static void api_close(void)
{
	cli_conn_close(&api_conn);
}

int cli_api(struct cli *cli, const char *method, const char *path, json_t *body, json_t **reply,
	    struct berth_error *err)
{
	char full[4096];
	snprintf(full, sizeof(full), CLI_API_PREFIX "%s", path);
	if (reply)
		*reply = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = api_conn.fd < 0;
		if (fresh && cli_conn_open(&api_conn, cli->sock, err) < 0)
			return -1;
		berth_err_clear(err);
		if (cli_conn_json(&api_conn, method, full, body, reply, err) == 0)
			return 0;
		/* An HTTP error: the connection is fine and the answer final. */
		if (err->status >= 300 && err->status != 500)
			return -1;
		if (!strncmp(err->msg, "Error response from daemon", 26))
			return -1;
		api_close();
		/* A kept-alive connection the agent closed: retry once on a new one. */
		if (fresh)
			return -1;
	}
	return -1;
}

/* lib's client reports the daemon's "message" without docker's prefix; add it when the
 * error is an HTTP reply (http_status != 0), not a transport failure. */
static void daemon_error(struct berth_error *err, long http_status)
{
	static const char prefix[] = "Error response from daemon: ";
	size_t plen = sizeof(prefix) - 1;
	if (http_status >= 300) {
		size_t len = strnlen(err->msg, sizeof(err->msg) - 1);
		if (len + plen >= sizeof(err->msg))
			len = sizeof(err->msg) - plen - 1;
		memmove(err->msg + plen, err->msg, len);
		memcpy(err->msg, prefix, plen);
		err->msg[plen + len] = '\0';
	}
}

int cli_api_stream(struct cli *cli, const char *method, const char *path,
		   int (*cb)(const char *data, size_t len, void *arg), void *arg,
		   struct berth_error *err)
{
	char full[4096];
	snprintf(full, sizeof(full), CLI_API_PREFIX "%s", path);
	long status = 0;
	if (berth_http_stream(cli->sock, method, full, NULL, 0, NULL, cb, arg, &status, err) < 0) {
		daemon_error(err, status);
		return -1;
	}
	return 0;
}

int cli_api_upload(struct cli *cli, const char *path, const char *file, const char *content_type,
		   char **out, struct berth_error *err)
{
	char full[4096];
	snprintf(full, sizeof(full), CLI_API_PREFIX "%s", path);
	struct berth_http_response r = {0};
	if (berth_http_upload_file(cli->sock, "POST", full, file, content_type, &r, err) < 0) {
		berth_http_response_free(&r);
		return -1;
	}
	if (r.status < 200 || r.status >= 300) {
		char *m = cli_error_message(r.body ? r.body : "", r.len);
		berth_err(err, (int)r.status, "Error response from daemon: %s", m);
		free(m);
		berth_http_response_free(&r);
		return -1;
	}
	*out = r.body ? r.body : strdup("");
	r.body = NULL;
	berth_http_response_free(&r);
	return 0;
}

char *cli_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *w = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-_.~", *p)) {
			*w++ = (char)*p;
		} else {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		}
	}
	*w = '\0';
	return out;
}

void cli_report_error(struct cli *cli, const char *msg, bool with_help)
{
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '.')
		n--;
	fprintf(stderr, "berth: %.*s.\n", (int)n, msg);
	if (with_help)
		fprintf(stderr, "See '%s --help'.\n", cli->cmd_path);
}

struct for_each_job {
	struct cli *cli;
	const char *arg;
	void *data;
	int (*op)(struct cli *cli, const char *arg, void *data, struct berth_error *err);
	struct berth_error err;
	int rc;
};

static void *for_each_thread(void *p)
{
	struct for_each_job *j = p;
	berth_err_clear(&j->err);
	j->rc = j->op(j->cli, j->arg, j->data, &j->err);
	api_close();
	return NULL;
}

int cli_for_each(struct cli *cli, char **args, int n, bool print_ok,
		 int (*op)(struct cli *cli, const char *arg, void *data, struct berth_error *err),
		 void *data, bool *failed)
{
	struct for_each_job *jobs = calloc((size_t)n + 1, sizeof(*jobs));
	pthread_t *threads = calloc((size_t)n + 1, sizeof(*threads));
	bool *started = calloc((size_t)n + 1, sizeof(*started));
	/* docker runs these in parallel (stop of several containers takes one timeout, not n). */
	const int batch = 32;
	for (int base = 0; base < n; base += batch) {
		int end = base + batch < n ? base + batch : n;
		for (int i = base; i < end; i++) {
			jobs[i] = (struct for_each_job){cli, args[i], data, op, {0}, 0};
			if (n == 1 || pthread_create(&threads[i], NULL, for_each_thread, &jobs[i]))
				for_each_thread(&jobs[i]);
			else
				started[i] = true;
		}
		for (int i = base; i < end; i++)
			if (started[i])
				pthread_join(threads[i], NULL);
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (failed)
			failed[i] = jobs[i].rc < 0;
		if (jobs[i].rc < 0) {
			fprintf(stderr, "%s\n", jobs[i].err.msg);
			rc = 1;
		} else if (print_ok) {
			printf("%s\n", args[i]);
		}
	}
	fflush(stdout);
	free(jobs);
	free(threads);
	free(started);
	return rc;
}

bool cli_confirm(const char *warning)
{
	fprintf(stdout, "%s\nAre you sure you want to continue? [y/N] ", warning);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	return (*p == 'y' || *p == 'Y') && (p[1] == '\0' || isspace((unsigned char)p[1]));
}
