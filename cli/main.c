/* berth: global flags and the dispatch tables of verbs and groups (container, image, system). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/paths.h"
#include "cli.h"

static const struct cli_command *container_table[] = {
    &cli_cmd_ps,      &cli_cmd_create, &cli_cmd_exec, &cli_cmd_container_inspect,
    &cli_cmd_kill,    &cli_cmd_logs,   &cli_cmd_port, &cli_cmd_container_prune,
    &cli_cmd_restart, &cli_cmd_rm,     &cli_cmd_run,  &cli_cmd_start,
    &cli_cmd_stop,    &cli_cmd_wait,   NULL,
};

static const struct cli_command *image_table[] = {
    &cli_cmd_image_import, &cli_cmd_image_inspect,
    &cli_cmd_image_load,   &cli_cmd_image_ls,
    &cli_cmd_image_prune,  &cli_cmd_pull,
    &cli_cmd_image_rm,	   &cli_cmd_image_save,
    &cli_cmd_image_tag,	   NULL,
};

static const struct cli_command *system_table[] = {
    &cli_cmd_info, &cli_cmd_system_start, &cli_cmd_system_status, &cli_cmd_system_stop, NULL,
};

static const struct cli_command *network_table[] = {
    &cli_cmd_network_connect,	 &cli_cmd_network_create,
    &cli_cmd_network_disconnect, &cli_cmd_network_inspect,
    &cli_cmd_network_ls,	 &cli_cmd_network_prune,
    &cli_cmd_network_rm,	 NULL,
};

static const struct cli_command *top_table[] = {
    &cli_cmd_run,
    &cli_cmd_exec,
    &cli_cmd_ps,
    &cli_cmd_images,
    &cli_cmd_version,
    &cli_cmd_info,
    &cli_cmd_create,
    &cli_cmd_start,
    &cli_cmd_stop,
    &cli_cmd_restart,
    &cli_cmd_kill,
    &cli_cmd_rm,
    &cli_cmd_logs,
    &cli_cmd_inspect,
    &cli_cmd_wait,
    &cli_cmd_rmi,
    &cli_cmd_image_import,
    &cli_cmd_image_load,
    &cli_cmd_image_save,
    &cli_cmd_image_tag,
    &cli_cmd_port,
    &cli_cmd_compose,
    &cli_cmd_scale,
    &cli_cmd_pull,
    NULL,
};

struct group {
	const char *name;
	const char *summary;
	const struct cli_command **table;
	const char *const *names; /* the verb names inside the group when they differ */
};

/* Inside `berth container`, ps is listed as ls (alias ps, list) and prune is its own. */
static const char *const container_names[] = {"ls",   "create", "exec",	 "inspect", "kill",
					      "logs", "port",	"prune", "restart", "rm",
					      "run",  "start",	"stop",	 "wait",    NULL};
static const char *const image_names[] = {"import", "inspect", "load", "ls",  "prune",
					  "pull",   "rm",      "save", "tag", NULL};
static const char *const network_names[] = {"connect", "create", "disconnect", "inspect",
					    "ls",      "prune",	 "rm",	       NULL};
static const struct cli_command *volume_table[] = {
    &cli_cmd_volume_create, &cli_cmd_volume_inspect, &cli_cmd_volume_ls,
    &cli_cmd_volume_prune,  &cli_cmd_volume_rm,	     NULL,
};
static const char *const volume_names[] = {"create", "inspect", "ls", "prune", "rm", NULL};
static const char *const system_names[] = {"info", "start", "status", "stop", NULL};

static const struct group groups[] = {
    {"container", "Manage containers", container_table, container_names},
    {"image", "Manage images", image_table, image_names},
    {"network", "Manage networks", network_table, network_names},
    {"system", "Manage berth", system_table, system_names},
    {"volume", "Manage volumes", volume_table, volume_names},
};

static void print_main_usage(FILE *out)
{
	fprintf(out, "\nUsage:  berth [OPTIONS] COMMAND\n\nA lightweight container engine "
		     "with Docker's commands\n\nCommon Commands:\n");
	for (size_t i = 0; top_table[i]; i++)
		fprintf(out, "  %-10s %s\n", top_table[i]->name, top_table[i]->summary);
	fprintf(out, "\nManagement Commands:\n");
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(out, "  %-10s %s\n", groups[i].name, groups[i].summary);
	fprintf(out, "\nGlobal Options:\n"
		     "  -H, --host string   Daemon socket to connect to (unix://PATH)\n"
		     "  -h, --help          Print usage\n"
		     "  -v, --version       Print version information and quit\n"
		     "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

static void print_group_usage(FILE *out, const struct group *g)
{
	fprintf(out, "\nUsage:  berth %s COMMAND\n\n%s\n\nCommands:\n", g->name, g->summary);
	for (size_t i = 0; g->table[i]; i++)
		fprintf(out, "  %-10s %s\n", g->names[i], g->table[i]->summary);
	fprintf(out, "\nRun 'berth %s COMMAND --help' for more information on a command.\n",
		g->name);
}

void cli_print_usage(FILE *out, const char *path, const struct cli_command *cmd)
{
	const char *usage = strchr(cmd->usage, ' ');
	fprintf(out, "\nUsage:  %s%s\n\n%s\n", path, usage ? usage : "", cmd->summary);
	if (cmd->flags && cmd->flags[0].name)
		cli_flags_print(out, cmd->flags);
}

static int arity_error(struct cli *cli, const struct cli_command *cmd, int n)
{
	char what[128];
	int min = cmd->min_args, max = cmd->max_args;
	if (max == 0)
		snprintf(what, sizeof(what), "accepts no arguments");
	else if (min == max)
		snprintf(what, sizeof(what), "requires exactly %d argument%s", min,
			 min == 1 ? "" : "s");
	else if (n < min && max < 0)
		snprintf(what, sizeof(what), "requires at least %d argument%s", min,
			 min == 1 ? "" : "s");
	else if (n < min)
		snprintf(what, sizeof(what), "requires at least %d and at most %d arguments", min,
			 max);
	else
		snprintf(what, sizeof(what), "requires at most %d argument%s", max,
			 max == 1 ? "" : "s");
	fprintf(stderr, "\"%s\" %s.\nSee '%s --help'.\n", cli->cmd_path, what, cli->cmd_path);
	const char *usage = strchr(cmd->usage, ' ');
	fprintf(stderr, "\nUsage:  %s%s\n\n%s\n", cli->cmd_path, usage ? usage : "", cmd->summary);
	return 1;
}

int cli_run_command(struct cli *cli, const struct cli_command *cmd, const char *path, int argc,
		    char **argv)
{
	cli->cmd = cmd;
	cli->cmd_path = path;
	struct cli_args args;
	struct berth_error err = {0};
	if (cli_args_parse(&args, cmd->flags, argc, argv, cmd->interspersed, &err) < 0) {
		fprintf(stderr, "%s\nSee '%s --help'.\n", err.msg, path);
		cli_args_free(&args);
		return 125;
	}
	if (args.help) {
		cli_print_usage(stdout, path, cmd);
		cli_args_free(&args);
		return 0;
	}
	if (args.npos < cmd->min_args || (cmd->max_args >= 0 && args.npos > cmd->max_args)) {
		cli_args_free(&args);
		return arity_error(cli, cmd, args.npos);
	}
	int rc = cmd->exec(cli, &args);
	cli_args_free(&args);
	return rc;
}

static const struct cli_command *find_in(const struct cli_command **table, const char *const *names,
					 const char *name)
{
	for (size_t i = 0; table[i]; i++) {
		const char *n = names ? names[i] : table[i]->name;
		if (!strcmp(n, name) || (table[i]->alias && !strcmp(table[i]->alias, name)))
			return table[i];
	}
	/* `berth container list` and `berth image list` as docker accepts them. */
	if (!strcmp(name, "list"))
		return find_in(table, names, "ls");
	return NULL;
}

static const char *host_socket(const char *host)
{
	if (!strncmp(host, "unix://", 7))
		return host + 7;
	if (host[0] == '/')
		return host;
	fprintf(stderr, "berth: unsupported host %s: only unix://PATH is supported\n", host);
	exit(125);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	struct cli cli = {.sock = berth_agent_sock(), .cmd_path = "berth"};
	const char *env_host = getenv("BERTH_HOST");
	if (env_host && *env_host)
		cli.sock = host_socket(env_host);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-H") || !strcmp(a, "--host")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n",
					a);
				return 125;
			}
			cli.sock = host_socket(argv[++i]);
		} else if (!strncmp(a, "--host=", 7)) {
			cli.sock = host_socket(a + 7);
		} else if (!strncmp(a, "-H", 2)) {
			cli.sock = host_socket(a + 2);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_main_usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("Berth version %s, build berth\n", CLI_VERSION);
			return 0;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
			return 125;
		}
	}
	if (i >= argc) {
		print_main_usage(stdout);
		return 0;
	}
	const char *verb = argv[i];
	char path[128];
	if (!strcmp(verb, "help")) {
		print_main_usage(stdout);
		return 0;
	}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (strcmp(verb, groups[g].name))
			continue;
		if (i + 1 >= argc || !strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h")) {
			print_group_usage(stdout, &groups[g]);
			return 0;
		}
		const struct cli_command *cmd =
		    find_in(groups[g].table, groups[g].names, argv[i + 1]);
		if (!cmd) {
			fprintf(stderr,
				"berth: '%s %s' is not a berth command.\nSee 'berth %s --help'\n",
				verb, argv[i + 1], verb);
			return 1;
		}
		snprintf(path, sizeof(path), "berth %s %s", verb, argv[i + 1]);
		return cli_run_command(&cli, cmd, path, argc - i - 2, argv + i + 2);
	}
	const struct cli_command *cmd = find_in(top_table, NULL, verb);
	if (!cmd) {
		fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", verb);
		return 1;
	}
	snprintf(path, sizeof(path), "berth %s", verb);
	return cli_run_command(&cli, cmd, path, argc - i - 1, argv + i + 1);
}
