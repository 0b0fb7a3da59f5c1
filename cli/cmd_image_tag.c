/* berth image tag SOURCE TARGET: POST /images/{source}/tag?repo=&tag=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int tag_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	char target[1024];
	snprintf(target, sizeof(target), "%s", a->pos[1]);
	const char *tag = "latest";
	char *slash = strrchr(target, '/');
	char *colon = strrchr(slash ? slash : target, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
	}
	char *src = cli_escape(a->pos[0]), *repo = cli_escape(target), *t = cli_escape(tag);
	char path[4096];
	snprintf(path, sizeof(path), "/images/%s/tag?repo=%s&tag=%s", src, repo, t);
	free(src);
	free(repo);
	free(t);
	if (cli_api(cli, "POST", path, NULL, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

static const struct cli_flag no_flags[] = {{0}};

const struct cli_command cli_cmd_image_tag = {
    .name = "tag",
    .usage = "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    .summary = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    .flags = no_flags,
    .min_args = 2,
    .max_args = 2,
    .interspersed = true,
    .exec = tag_exec,
};
