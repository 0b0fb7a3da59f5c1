/* What the network, volume and prune commands share: listing with --filter, --format tables,
 * create, rm, inspect of named objects, and the reclaimed-space line (objects.c). */
#ifndef BERTH_CLI_OBJECTS_H
#define BERTH_CLI_OBJECTS_H

#include <stdbool.h>
#include <jansson.h>

#include "cli.h"

/* method path"?filters=..." from the --filter values (plus one extra key, or NULL). The reply,
 * or NULL after printing the error. */
json_t *cli_objects_call(struct cli *cli, const char *method, const char *path,
			 const struct cli_value *filter, const char *extra_key,
			 const char *extra_val);
/* Print rows with --format (dflt when it is unset or "table"); headers are taken. 0 or 1. */
int cli_objects_print_rows(const char *format, const char *dflt, json_t *rows, json_t *headers);
/* POST body (taken) to path and print the reply's key (the new object's Id or Name). 0 or 1. */
int cli_objects_create(struct cli *cli, const char *path, json_t *body, const char *key);

/* cli_for_each's op for rm: DELETE /collection/NAME plus query; data is this struct. */
struct cli_objects_rm {
	const char *collection; /* "networks" */
	const char *query;	/* "" or "?force=1" */
};
int cli_objects_rm_one(struct cli *cli, const char *arg, void *data, struct berth_error *err);

/* GET /collection/NAME for every argument and print them as a JSON array or with --format;
 * a missing one is "Error: No such kind: NAME". 0 or 1. */
int cli_objects_inspect(struct cli *cli, struct cli_args *a, const char *collection,
			const char *kind, const char *format);

/* "Total reclaimed space: 1.2MB" as docker's prune commands end. */
void cli_objects_print_reclaimed(long long space);

#endif
