/* berth pull / berth image pull: POST /images/create?fromImage=&tag= and Docker's plain
 * progress lines ("ID: Status") as they come, then the full reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/image_ref.h"
#include "cli.h"

enum { F_ALL_TAGS, F_PLATFORM, F_QUIET };
static const struct cli_flag pull_flags[] = {
    [F_ALL_TAGS] = {"all-tags", 'a', CLI_BOOL, NULL,
		    "Download all tagged images in the repository"},
    [F_PLATFORM] = {"platform", 0, CLI_STRING, "string",
		    "Set platform if server is multi-platform capable"},
    [F_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Suppress verbose output"},
    {0},
};

struct pull_out {
	bool quiet;
	char line[8192];
	size_t len;
	char error[1024];
};

static void pull_line(struct pull_out *o, const char *line, size_t n)
{
	json_t *j = json_loadb(line, n, 0, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *status = json_string_value(json_object_get(j, "status"));
	const char *id = json_string_value(json_object_get(j, "id"));
	if (e)
		snprintf(o->error, sizeof(o->error), "%s", e);
	else if (status && !o->quiet && id)
		printf("%s: %s\n", id, status);
	else if (status && !o->quiet)
		printf("%s\n", status);
	fflush(stdout);
	json_decref(j);
}

static int pull_cb(const char *data, size_t len, void *arg)
{
	struct pull_out *o = arg;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			pull_line(o, o->line, o->len);
			o->len = 0;
		} else if (o->len < sizeof(o->line) - 1) {
			o->line[o->len++] = data[i];
		}
	}
	return 0;
}

int cli_pull(struct cli *cli, const char *image, const char *platform, bool quiet,
	     struct berth_error *err)
{
	struct image_ref r;
	char path[4096];
	if (image_ref_parse(image, &r, err) < 0)
		return -1;
	const char *ref = r.familiar;
	const char *tag = r.digest[0] ? r.digest : r.tag;
	char *er = cli_escape(ref), *et = cli_escape(tag);
	char *ep = platform ? cli_escape(platform) : NULL;
	snprintf(path, sizeof(path), "/images/create?fromImage=%s&tag=%s%s%s", er, et,
		 ep ? "&platform=" : "", ep ? ep : "");
	free(er);
	free(et);
	free(ep);
	struct pull_out *o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	o->quiet = quiet;
	int rc = cli_api_stream(cli, "POST", path, pull_cb, o, err);
	if (rc == 0 && o->len)
		pull_line(o, o->line, o->len);
	if (rc == 0 && o->error[0])
		rc = berth_err(err, 500, "%s", o->error);
	free(o);
	return rc;
}

static int pull_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	if (a->v[F_ALL_TAGS].b) {
		fprintf(stderr, "berth: --all-tags is not supported yet\n");
		return 1;
	}
	if (cli_pull(cli, a->pos[0], a->v[F_PLATFORM].s, a->v[F_QUIET].b, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	struct image_ref r;
	char full[1100];
	if (image_ref_parse(a->pos[0], &r, &err) == 0) {
		image_ref_full(&r, full, sizeof(full));
		printf("%s\n", full);
	}
	return 0;
}

const struct cli_command cli_cmd_pull = {
    .name = "pull",
    .usage = "pull [OPTIONS] NAME[:TAG|@DIGEST]",
    .summary = "Download an image from a registry",
    .flags = pull_flags,
    .min_args = 1,
    .max_args = 1,
    .interspersed = true,
    .exec = pull_exec,
};
