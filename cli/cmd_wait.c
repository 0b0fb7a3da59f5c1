/* berth wait: block until each container stops, then print its exit code. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int wait_exec(struct cli *cli, struct cli_args *a)
{
	int rc = 0;
	for (int i = 0; i < a->npos; i++) {
		struct berth_error err = {0};
		char path[1024];
		char *e = cli_escape(a->pos[i]);
		snprintf(path, sizeof(path), "/containers/%s/wait", e);
		free(e);
		json_t *reply = NULL;
		if (cli_api(cli, "POST", path, NULL, &reply, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
			continue;
		}
		printf("%lld\n",
		       (long long)json_integer_value(json_object_get(reply, "StatusCode")));
		fflush(stdout);
		json_decref(reply);
	}
	return rc;
}

const struct cli_command cli_cmd_wait = {
    .name = "wait",
    .usage = "wait CONTAINER [CONTAINER...]",
    .summary = "Block until one or more containers stop, then print their exit codes",
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = wait_exec,
};
