/* The berth CLI's shared types: the command table entry, the flag parser and the API helpers. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "berth/error.h"

#define CLI_API_PREFIX "/v1.41"
#define CLI_VERSION "0.1.0"

/* --- flags (args.c) --- */

enum cli_flag_type {
	CLI_BOOL,   /* -d, --detach, --rm=false */
	CLI_STRING, /* --name x, --name=x; the last one wins */
	CLI_LIST,   /* -e A -e B: every value kept in order */
	CLI_INT,    /* -t 5 */
};

struct cli_flag {
	const char *name; /* long name without "--"; NULL ends a table */
	char shorthand;	  /* 0 when there is none */
	enum cli_flag_type type;
	const char *arg;  /* the value's name in --help ("string", "list", "int") */
	const char *help; /* one line for --help */
};

struct cli_value {
	bool set;
	bool b;
	long n;
	const char *s;
	const char **list; /* malloc'd array of pointers into argv */
	size_t count;
};

struct cli_args {
	const struct cli_flag *flags;
	struct cli_value *v; /* one per flag, same index */
	size_t nflags;
	char **pos; /* positional arguments (malloc'd array of pointers into argv) */
	int npos;
	bool help;
};

/* Parse argv (without the verb itself). interspersed=false stops at the first positional
 * argument (run, create, exec: everything after the image belongs to the container).
 * On a bad flag, err->msg is pflag's message ("unknown flag: --foo"). */
int cli_args_parse(struct cli_args *a, const struct cli_flag *flags, int argc, char **argv,
		   bool interspersed, struct berth_error *err);
void cli_args_free(struct cli_args *a);
size_t cli_flags_count(const struct cli_flag *flags);
/* The usage block Docker prints for --help: "Options:" and one aligned line per flag. */
void cli_flags_print(FILE *out, const struct cli_flag *flags);

/* --- commands (main.c) --- */

struct cli;
struct cli_command {
	const char *name;
	const char *alias;
	const char *usage;   /* after "berth ": "run [OPTIONS] IMAGE [COMMAND] [ARG...]" */
	const char *summary; /* one line */
	const struct cli_flag *flags;
	int min_args, max_args; /* max -1: unlimited */
	bool interspersed;	/* flags may follow positional arguments */
	int (*exec)(struct cli *cli, struct cli_args *args);
	const struct cli_command *sub; /* a group: container, image, system */
};

struct cli {
	const char *sock;     /* the agent's socket path */
	const char *cmd_path; /* "berth run" or "berth container run", for messages */
	const struct cli_command *cmd;
};

/* Print "berth: MSG.\nSee 'berth run --help'." the way docker's reportError does. */
void cli_report_error(struct cli *cli, const char *msg, bool with_help);

/* The verbs, one file each (cmd_<verb>.c), listed in main.c's tables. */
extern const struct cli_command cli_cmd_run, cli_cmd_create, cli_cmd_start, cli_cmd_stop,
    cli_cmd_restart, cli_cmd_kill, cli_cmd_rm, cli_cmd_ps, cli_cmd_logs, cli_cmd_exec,
    cli_cmd_inspect, cli_cmd_container_inspect, cli_cmd_wait, cli_cmd_container_prune,
    cli_cmd_version, cli_cmd_info, cli_cmd_images, cli_cmd_image_ls, cli_cmd_image_rm, cli_cmd_rmi,
    cli_cmd_image_import, cli_cmd_image_load, cli_cmd_image_save, cli_cmd_image_inspect,
    cli_cmd_image_prune, cli_cmd_image_tag, cli_cmd_system_start, cli_cmd_system_stop,
    cli_cmd_system_status, cli_cmd_port, cli_cmd_network_ls, cli_cmd_network_create,
    cli_cmd_network_rm, cli_cmd_network_inspect, cli_cmd_network_connect,
    cli_cmd_network_disconnect, cli_cmd_network_prune, cli_cmd_compose, cli_cmd_scale,
    cli_cmd_volume_ls, cli_cmd_volume_create, cli_cmd_volume_rm, cli_cmd_volume_inspect,
    cli_cmd_volume_prune, cli_cmd_pull;

/* Run a command entry with its arguments (flags parsed, --help and arity checked). */
int cli_run_command(struct cli *cli, const struct cli_command *cmd, const char *path, int argc,
		    char **argv);
void cli_print_usage(FILE *out, const char *path, const struct cli_command *cmd);

/* --- the agent's API (api.c) --- */

/* One JSON call to the agent; path without the /v1.41 prefix. On failure err->msg is what the
 * CLI prints: "Error response from daemon: ..." or "Cannot connect to the berth agent ...". */
int cli_api(struct cli *cli, const char *method, const char *path, json_t *body, json_t **reply,
	    struct berth_error *err);
/* A streamed GET/POST: cb gets the body as it arrives. */
int cli_api_stream(struct cli *cli, const char *method, const char *path,
		   int (*cb)(const char *data, size_t len, void *arg), void *arg,
		   struct berth_error *err);
/* Upload a file ("-" for stdin) as the body; the reply body is returned in *out (malloc'd). */
int cli_api_upload(struct cli *cli, const char *path, const char *file, const char *content_type,
		   char **out, struct berth_error *err);
/* Percent-encoding for query values; malloc'd. */
char *cli_escape(const char *s);
/* Run op(cli, arg, err) for every argument, in parallel (docker stop/rm/kill do), then print
 * each successful argument (when print_ok) in order and each error on stderr. failed (n
 * entries, or NULL) tells which failed. Returns 0 or 1. */
int cli_for_each(struct cli *cli, char **args, int n, bool print_ok,
		 int (*op)(struct cli *cli, const char *arg, void *data, struct berth_error *err),
		 void *data, bool *failed);

/* Per-row contexts of ps and images for --format (cmd_ps.c, cmd_images.c). */
json_t *cli_ps_row(json_t *c, bool trunc, long long now);
json_t *cli_image_rows(json_t *images, bool trunc);
/* "?filters={...}" from --filter values plus one extra key (cmd_prune.c); malloc'd. */
char *cli_filters_query(const struct cli_value *v, const char *extra_key, const char *extra_val);
/* An archive the user named ("-": stdin) as a path the agent's worker can open itself (the
 * agent runs on this host): absolute, of a regular file; NULL when it must go as a request
 * body (a pipe). malloc'd (cmd_image_load.c). */
char *cli_archive_path(const char *file);
/* POST an archive to endpoint?fromSrc=...query (query: "" or "&k=v..."): by path when
 * cli_archive_path gives one, else (or when the agent cannot see that path) as the body
 * (fromSrc=-). The reply as cli_api_upload. */
int cli_archive_upload(struct cli *cli, const char *endpoint, const char *query, const char *file,
		       char **reply, struct berth_error *err);
/* Print a JSON-lines progress reply's key lines; 1 if an error line came (cmd_image_import.c). */
int cli_print_json_lines(const char *body, const char *key);

/* Pull image through the agent, printing Docker's plain progress unless quiet
 * (cmd_pull.c). */
int cli_pull(struct cli *cli, const char *image, const char *platform, bool quiet,
	     struct berth_error *err);

/* Confirmation prompt on stdin: "Are you sure you want to continue? [y/N] " */
bool cli_confirm(const char *warning);

#endif
