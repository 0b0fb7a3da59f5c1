/* berth image import: a rootfs tarball (or stdin) → a one-layer image; prints sha256:<id>. A
 * file goes by path, a pipe as the request body (cli_archive_upload). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { F_CHANGE, F_MESSAGE, F_PLATFORM };
static const struct cli_flag import_flags[] = {
    [F_CHANGE] = {"change", 'c', CLI_LIST, "list",
		  "Apply Dockerfile instruction to the created image"},
    [F_MESSAGE] = {"message", 'm', CLI_STRING, "string", "Set commit message for imported image"},
    [F_PLATFORM] = {"platform", 0, CLI_STRING, "string",
		    "Set platform if server is multi-platform capable"},
    {0},
};

/* Print a JSON-lines progress reply: "status"/"stream" lines, or fail on an "error" line. */
int cli_print_json_lines(const char *body, const char *key)
{
	int rc = 0;
	for (const char *line = body; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		json_t *j = json_loadb(line, len, 0, NULL);
		const char *e = json_string_value(json_object_get(j, "error"));
		json_t *detail = json_object_get(j, "errorDetail");
		if (!e)
			e = json_string_value(json_object_get(detail, "message"));
		const char *s = json_string_value(json_object_get(j, key));
		if (e) {
			fprintf(stderr, "%s\n", e);
			rc = 1;
		} else if (s) {
			size_t sl = strlen(s);
			printf("%s%s", s, sl && s[sl - 1] == '\n' ? "" : "\n");
		}
		json_decref(j);
		line = nl ? nl + 1 : NULL;
	}
	fflush(stdout);
	return rc;
}

static int import_exec(struct cli *cli, struct cli_args *a)
{
	struct berth_error err = {0};
	char *query = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&query, &len);
	if (a->npos > 1) {
		char *e = cli_escape(a->pos[1]);
		fprintf(f, "&repo=%s", e);
		free(e);
	}
	if (a->v[F_MESSAGE].s) {
		char *e = cli_escape(a->v[F_MESSAGE].s);
		fprintf(f, "&message=%s", e);
		free(e);
	}
	for (size_t i = 0; i < a->v[F_CHANGE].count; i++) {
		char *e = cli_escape(a->v[F_CHANGE].list[i]);
		fprintf(f, "&changes=%s", e);
		free(e);
	}
	fclose(f);
	char *reply = NULL;
	int rc = cli_archive_upload(cli, "/images/create", query, a->pos[0], &reply, &err);
	free(query);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	rc = cli_print_json_lines(reply, "status");
	free(reply);
	return rc;
}

const struct cli_command cli_cmd_image_import = {
    .name = "import",
    .usage = "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    .summary = "Import the contents from a tarball to create a filesystem image",
    .flags = import_flags,
    .min_args = 1,
    .max_args = 2,
    .interspersed = true,
    .exec = import_exec,
};
