/* berth image load: a docker-save or OCI archive from -i FILE or stdin. A file goes to the
 * agent by path (its worker opens it: the agent runs on this host), so a large archive never
 * passes through the agent's memory; a pipe goes as the request body. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum { F_INPUT, F_QUIET };
static const struct cli_flag load_flags[] = {
    [F_INPUT] = {"input", 'i', CLI_STRING, "string",
		 "Read from tar archive file, instead of STDIN"},
    [F_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Suppress the load output"},
    {0},
};

char *cli_archive_path(const char *file)
{
	char path[PATH_MAX];
	struct stat named, opened;
	if (strcmp(file, "-") == 0) {
		/* stdin redirected from a file, and not read yet: the file itself. */
		ssize_t n = readlink("/proc/self/fd/0", path, sizeof(path) - 1);
		if (n <= 0 || fstat(STDIN_FILENO, &opened) < 0 || !S_ISREG(opened.st_mode) ||
		    lseek(STDIN_FILENO, 0, SEEK_CUR) != 0)
			return NULL;
		path[n] = '\0';
		if (path[0] != '/' || stat(path, &named) < 0 || named.st_dev != opened.st_dev ||
		    named.st_ino != opened.st_ino)
			return NULL;
		return strdup(path);
	}
	if (!realpath(file, path) || stat(path, &named) < 0 || !S_ISREG(named.st_mode))
		return NULL;
	return strdup(path);
}

int cli_archive_upload(struct cli *cli, const char *endpoint, const char *query, const char *file,
		       char **reply, struct berth_error *err)
{
	char *path = getenv("BERTH_UPLOAD_BODY") ? NULL : cli_archive_path(file);
	char *full = NULL;
	int rc;
	if (path) {
		char *e = cli_escape(path);
		if (asprintf(&full, "%s?fromSrc=%s%s", endpoint, e, query) < 0)
			abort();
		free(e);
		free(path);
		rc = cli_api_upload(cli, full, "/dev/null", "application/x-tar", reply, err);
		free(full);
		/* An agent in another mount namespace does not see our files: send the bytes. */
		if (rc == 0 || err->status != 400 || !strstr(err->msg, "No such file or directory"))
			return rc;
		berth_err_clear(err);
	}
	if (asprintf(&full, "%s?fromSrc=-%s", endpoint, query) < 0)
		abort();
	rc = cli_api_upload(cli, full, file, "application/x-tar", reply, err);
	free(full);
	if (rc < 0 && err->status == 413)
		berth_err(err, 413,
			  "Error response from daemon: the archive is larger than the agent takes "
			  "in a request body (berth-agent --max-body-size): give it as a file, "
			  "which the agent reads itself");
	return rc;
}

static int load_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	const char *file = a->v[F_INPUT].s ? a->v[F_INPUT].s : "-";
	if (file[0] == '-' && !file[1] && isatty(STDIN_FILENO)) {
		fprintf(stderr, "requested load from stdin, but stdin is empty\n");
		return 1;
	}
	char *reply = NULL;
	if (cli_archive_upload(cli, "/images/load", a->v[F_QUIET].b ? "&quiet=1" : "&quiet=0", file,
			       &reply, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int rc = cli_print_json_lines(reply, "stream");
	free(reply);
	return rc;
}

const struct cli_command cli_cmd_image_load = {
    .name = "load",
    .usage = "load [OPTIONS]",
    .summary = "Load an image from a tar archive or STDIN",
    .flags = load_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = load_exec,
};
