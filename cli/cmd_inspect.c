/* berth inspect, container inspect, image inspect: the objects as a JSON array or --format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

enum { F_FORMAT, F_TYPE, F_SIZE };
static const struct cli_flag inspect_flags[] = {
    [F_FORMAT] = {"format", 'f', CLI_STRING, "string", "Format output using a custom template"},
    [F_TYPE] = {"type", 0, CLI_STRING, "string", "Only inspect objects of the given type"},
    [F_SIZE] = {"size", 's', CLI_BOOL, NULL, "Display total file sizes if the type is container"},
    {0},
};
static const struct cli_flag typed_flags[] = {
    [F_FORMAT] = {"format", 'f', CLI_STRING, "string", "Format output using a custom template"},
    {0},
};

/* Fetch one object; *not_found distinguishes a missing object from other failures. */
static json_t *fetch(struct cli *cli, const char *kind, const char *name, bool size,
		     bool *not_found, struct berth_error *err)
{
	char path[1024];
	char *e = cli_escape(name);
	snprintf(path, sizeof(path), "/%s/%s/json%s", kind, e, size ? "?size=1" : "");
	free(e);
	json_t *j = NULL;
	*not_found = false;
	if (cli_api(cli, "GET", path, NULL, &j, err) < 0) {
		*not_found = err->status == 404;
		return NULL;
	}
	return j;
}

static int inspect_objects(struct cli *cli, struct cli_args *a, const char *type)
{
	const char *format = a->v[F_FORMAT].s;
	bool size = !strcmp(type, "container") || !strcmp(type, "")
			? (a->nflags > F_SIZE && a->v[F_SIZE].b)
			: false;
	json_t *all = json_array();
	int rc = 0;
	char *errors = NULL;
	size_t elen = 0;
	FILE *ef = open_memstream(&errors, &elen);
	for (int i = 0; i < a->npos; i++) {
		struct berth_error err = {0};
		bool nf = false;
		json_t *j = NULL;
		if (strcmp(type, "image"))
			j = fetch(cli, "containers", a->pos[i], size, &nf, &err);
		if (!j && (nf || !strcmp(type, "image")) && strcmp(type, "container"))
			j = fetch(cli, "images", a->pos[i], false, &nf, &err);
		if (!j) {
			rc = 1;
			if (nf)
				fprintf(ef, "Error: No such %s: %s\n",
					!strcmp(type, "") ? "object" : type, a->pos[i]);
			else
				fprintf(ef, "%s\n", err.msg);
			continue;
		}
		json_array_append_new(all, j);
	}
	fclose(ef);
	if (format && *format) {
		size_t i;
		json_t *j;
		json_array_foreach(all, i, j)
		{
			struct berth_error err = {0};
			char *line = cli_template_render(format, j, NULL, &err);
			if (!line) {
				fprintf(stderr, "%s\n", err.msg);
				rc = 1;
				break;
			}
			printf("%s\n", line);
			free(line);
		}
	} else {
		char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	}
	fflush(stdout);
	fputs(errors, stderr);
	free(errors);
	json_decref(all);
	return rc;
}

static int inspect_exec(struct cli *cli, struct cli_args *a)
{
	const char *type = a->v[F_TYPE].s ? a->v[F_TYPE].s : "";
	if (*type && strcmp(type, "container") && strcmp(type, "image")) {
		fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
		return 1;
	}
	return inspect_objects(cli, a, type);
}

static int container_inspect_exec(struct cli *cli, struct cli_args *a)
{
	return inspect_objects(cli, a, "container");
}

static int image_inspect_exec(struct cli *cli, struct cli_args *a)
{
	return inspect_objects(cli, a, "image");
}

const struct cli_command cli_cmd_inspect = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] NAME|ID [NAME|ID...]",
    .summary = "Return low-level information on Docker objects",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = inspect_exec,
};

const struct cli_command cli_cmd_container_inspect = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Display detailed information on one or more containers",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = container_inspect_exec,
};

const struct cli_command cli_cmd_image_inspect = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] IMAGE [IMAGE...]",
    .summary = "Display detailed information on one or more images",
    .flags = typed_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = image_inspect_exec,
};
