/* berth image save: GET /images/get as a tar stream to -o FILE or to a non-terminal stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

enum { F_OUTPUT };
static const struct cli_flag save_flags[] = {
    [F_OUTPUT] = {"output", 'o', CLI_STRING, "string", "Write to a file, instead of STDOUT"},
    {0},
};

static int save_cb(const char *data, size_t len, void *arg)
{
	return cli_write_all(*(int *)arg, data, len) < 0;
}

static int save_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	const char *out = a->v[F_OUTPUT].s;
	if (!out && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		return 1;
	}
	char *path = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&path, &len);
	fprintf(f, "/images/get");
	for (int i = 0; i < a->npos; i++) {
		char *e = cli_escape(a->pos[i]);
		fprintf(f, "%cnames=%s", i ? '&' : '?', e);
		free(e);
	}
	fclose(f);
	/* Write to a temporary name so a failed save leaves no half archive behind. */
	char tmp[4096];
	int fd = STDOUT_FILENO;
	if (out) {
		snprintf(tmp, sizeof(tmp), "%s.berth-tmp", out);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "failed to save image: open %s: %s\n", out,
				strerror(errno));
			free(path);
			return 1;
		}
	}
	int rc = cli_api_stream(cli, "GET", path, save_cb, &fd, &err);
	free(path);
	if (out) {
		if (fsync(fd) < 0 || close(fd) < 0)
			rc = berth_err_errno(&err, 500, errno, "failed to save image: write %s",
					     out);
		if (rc == 0 && rename(tmp, out) < 0)
			rc = berth_err_errno(&err, 500, errno, "failed to save image: rename %s",
					     out);
		if (rc < 0)
			unlink(tmp);
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

const struct cli_command cli_cmd_image_save = {
    .name = "save",
    .usage = "save [OPTIONS] IMAGE [IMAGE...]",
    .summary = "Save one or more images to a tar archive (streamed to STDOUT by default)",
    .flags = save_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = save_exec,
};
