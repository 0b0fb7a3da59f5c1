/* berth image prune: remove dangling (or, with -a, unused) images after the prompt. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "objects.h"
#include "output.h"

enum { F_ALL, F_FORCE, F_FILTER };
static const struct cli_flag prune_flags[] = {
    [F_ALL] = {"all", 'a', CLI_BOOL, NULL, "Remove all unused images, not just dangling ones"},
    [F_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation"},
    [F_FILTER] = {"filter", 0, CLI_LIST, "filter",
		  "Provide filter values (e.g. \"until=<timestamp>\")"},
    {0},
};

static int image_prune_exec(struct cli *cli, struct cli_args *a)
{
	bool all = a->v[F_ALL].b;
	const char *warning =
	    all ? "WARNING! This will remove all images without at least one container "
		  "associated to them."
		: "WARNING! This will remove all dangling images.";
	if (!a->v[F_FORCE].b && !cli_confirm(warning)) {
		printf("Total reclaimed space: 0B\n");
		return 0;
	}
	json_t *reply = cli_objects_call(cli, "POST", "/images/prune", &a->v[F_FILTER], "dangling",
					 all ? "false" : "true");
	if (!reply)
		return 1;
	json_t *deleted = json_object_get(reply, "ImagesDeleted");
	long long space = 0;
	if (json_array_size(deleted)) {
		printf("Deleted Images:\n");
		size_t i;
		json_t *item;
		json_array_foreach(deleted, i, item)
		{
			const char *u = json_string_value(json_object_get(item, "Untagged"));
			const char *d = json_string_value(json_object_get(item, "Deleted"));
			if (u)
				printf("untagged: %s\n", u);
			if (d)
				printf("deleted: %s\n", d);
		}
		printf("\n");
		space = json_integer_value(json_object_get(reply, "SpaceReclaimed"));
	}
	cli_objects_print_reclaimed(space);
	json_decref(reply);
	return 0;
}

const struct cli_command cli_cmd_image_prune = {
    .name = "prune",
    .usage = "prune [OPTIONS]",
    .summary = "Remove unused images",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .interspersed = true,
    .exec = image_prune_exec,
};
