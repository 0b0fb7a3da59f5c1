/* berth image rm (rmi): DELETE /images/{name}, printing "Untagged: x" and "Deleted: sha256:…". */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { F_FORCE, F_NO_PRUNE };
static const struct cli_flag rmi_flags[] = {
    [F_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Force removal of the image"},
    [F_NO_PRUNE] = {"no-prune", 0, CLI_BOOL, NULL, "Do not delete untagged parents"},
    {0},
};

static int rmi_exec(struct cli *cli, struct cli_args *a)
{
	int rc = 0;
	for (int i = 0; i < a->npos; i++) {
		struct berth_error err = {0};
		char path[1024];
		char *e = cli_escape(a->pos[i]);
		snprintf(path, sizeof(path), "/images/%s?force=%d&noprune=%d", e,
			 a->v[F_FORCE].b ? 1 : 0, a->v[F_NO_PRUNE].b ? 1 : 0);
		free(e);
		json_t *reply = NULL;
		if (cli_api(cli, "DELETE", path, NULL, &reply, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			rc = 1;
			continue;
		}
		size_t k;
		json_t *item;
		json_array_foreach(reply, k, item)
		{
			const char *u = json_string_value(json_object_get(item, "Untagged"));
			const char *d = json_string_value(json_object_get(item, "Deleted"));
			if (u)
				printf("Untagged: %s\n", u);
			if (d)
				printf("Deleted: %s\n", d);
		}
		fflush(stdout);
		json_decref(reply);
	}
	return rc;
}

const struct cli_command cli_cmd_image_rm = {
    .name = "rm",
    .alias = "rmi",
    .usage = "rm [OPTIONS] IMAGE [IMAGE...]",
    .summary = "Remove one or more images",
    .flags = rmi_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = rmi_exec,
};

const struct cli_command cli_cmd_rmi = {
    .name = "rmi",
    .usage = "rmi [OPTIONS] IMAGE [IMAGE...]",
    .summary = "Remove one or more images",
    .flags = rmi_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = rmi_exec,
};
