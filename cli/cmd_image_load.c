/* berth image load: a docker-save or OCI archive from -i FILE or stdin. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

enum { F_INPUT, F_QUIET };
static const struct cli_flag load_flags[] = {
    [F_INPUT] = {"input", 'i', CLI_STRING, "string",
		 "Read from tar archive file, instead of STDIN"},
    [F_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Suppress the load output"},
    {0},
};

static int load_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	const char *file = a->v[F_INPUT].s ? a->v[F_INPUT].s : "-";
	if (file[0] == '-' && !file[1] && isatty(STDIN_FILENO)) {
		fprintf(stderr, "requested load from stdin, but stdin is empty\n");
		return 1;
	}
	char *reply = NULL;
	if (cli_api_upload(cli, a->v[F_QUIET].b ? "/images/load?quiet=1" : "/images/load?quiet=0",
			   file, "application/x-tar", &reply, &err) < 0) {
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
