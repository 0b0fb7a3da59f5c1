/* The shared parts of the object commands (network and volume ls/create/rm/inspect, the
 * prunes): one place for the request, the error printing and the output format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "objects.h"
#include "output.h"

json_t *cli_objects_call(struct cli *cli, const char *method, const char *path,
			 const struct cli_value *filter, const char *extra_key,
			 const char *extra_val)
{
	struct berth_error err = {0};
	char *q = cli_filters_query(filter, extra_key, extra_val);
	char full[4096];
	snprintf(full, sizeof(full), "%s%s", path, q);
	free(q);
	json_t *reply = NULL;
	if (cli_api(cli, method, full, NULL, &reply, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return reply;
}

int cli_objects_print_rows(const char *format, const char *dflt, json_t *rows, json_t *headers)
{
	struct berth_error err = {0};
	int rc = 0;
	if (!format || !*format || !strcmp(format, "table"))
		format = dflt;
	if (cli_format_rows(stdout, format, rows, headers, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rc = 1;
	}
	json_decref(headers);
	return rc;
}

int cli_objects_create(struct cli *cli, const char *path, json_t *body, const char *key)
{
	struct berth_error err = {0};
	json_t *reply = NULL;
	int rc = cli_api(cli, "POST", path, body, &reply, &err);
	json_decref(body);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("%s\n", json_string_value(json_object_get(reply, key)));
	json_decref(reply);
	return 0;
}

int cli_objects_rm_one(struct cli *cli, const char *arg, void *data, struct berth_error *err)
{
	const struct cli_objects_rm *rm = data;
	char path[1024];
	char *e = cli_escape(arg);
	snprintf(path, sizeof(path), "/%s/%s%s", rm->collection, e, rm->query);
	free(e);
	return cli_api(cli, "DELETE", path, NULL, NULL, err);
}

int cli_objects_inspect(struct cli *cli, struct cli_args *a, const char *collection,
			const char *kind, const char *format)
{
	json_t *all = json_array();
	int rc = 0;
	for (int i = 0; i < a->npos; i++) {
		struct berth_error err = {0};
		char path[1024];
		char *e = cli_escape(a->pos[i]);
		snprintf(path, sizeof(path), "/%s/%s", collection, e);
		free(e);
		json_t *j = NULL;
		if (cli_api(cli, "GET", path, NULL, &j, &err) < 0) {
			rc = 1;
			if (err.status == 404)
				fprintf(stderr, "Error: No such %s: %s\n", kind, a->pos[i]);
			else
				fprintf(stderr, "%s\n", err.msg);
			continue;
		}
		if (format && *format) {
			char *line = cli_template_render(format, j, NULL, &err);
			json_decref(j);
			if (!line) {
				fprintf(stderr, "%s\n", err.msg);
				rc = 1;
				break;
			}
			printf("%s\n", line);
			free(line);
			continue;
		}
		json_array_append_new(all, j);
	}
	if (!format || !*format) {
		char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	}
	json_decref(all);
	return rc;
}

void cli_objects_print_reclaimed(long long space)
{
	char size[32];
	cli_human_size((double)space, 4, size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
}
