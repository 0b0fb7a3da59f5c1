/* berth network connect|disconnect|prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { C_ALIAS, C_IP };
static const struct cli_flag connect_flags[] = {
    [C_ALIAS] = {"alias", 0, CLI_LIST, "strings", "Add network-scoped alias for the container"},
    [C_IP] = {"ip", 0, CLI_STRING, "string", "IPv4 address (e.g., \"172.30.100.104\")"},
    {0},
};

static int post(struct cli *cli, const char *network, const char *verb, json_t *body)
{
	struct berth_error err = {0};
	char path[1024];
	char *e = cli_escape(network);
	snprintf(path, sizeof(path), "/networks/%s/%s", e, verb);
	free(e);
	int rc = cli_api(cli, "POST", path, body, NULL, &err);
	json_decref(body);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

static int network_connect(struct cli *cli, struct cli_args *a)
{
	json_t *ep = json_object();
	if (a->v[C_ALIAS].count) {
		json_t *aliases = json_array();
		for (size_t i = 0; i < a->v[C_ALIAS].count; i++)
			json_array_append_new(aliases, json_string(a->v[C_ALIAS].list[i]));
		json_object_set_new(ep, "Aliases", aliases);
	}
	if (a->v[C_IP].s)
		json_object_set_new(ep, "IPAMConfig",
				    json_pack("{s:s}", "IPv4Address", a->v[C_IP].s));
	return post(cli, a->pos[0], "connect",
		    json_pack("{s:s, s:o}", "Container", a->pos[1], "EndpointConfig", ep));
}

enum { D_FORCE };
static const struct cli_flag disconnect_flags[] = {
    [D_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Force the container to disconnect from a network"},
    {0},
};

static int network_disconnect(struct cli *cli, struct cli_args *a)
{
	return post(cli, a->pos[0], "disconnect",
		    json_pack("{s:s, s:b}", "Container", a->pos[1], "Force", a->v[D_FORCE].b));
}

enum { P_FORCE, P_FILTER };
static const struct cli_flag prune_flags[] = {
    [P_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation"},
    [P_FILTER] = {"filter", 0, CLI_LIST, "filter",
		  "Provide filter values (e.g. \"until=<timestamp>\")"},
    {0},
};

static int network_prune(struct cli *cli, struct cli_args *a)
{
	if (!a->v[P_FORCE].b &&
	    !cli_confirm("WARNING! This will remove all custom networks not used by at least one "
			 "container."))
		return 0;
	struct berth_error err = {0};
	json_t *reply = NULL;
	if (cli_api(cli, "POST", "/networks/prune", NULL, &reply, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	json_t *deleted = json_object_get(reply, "NetworksDeleted");
	if (json_array_size(deleted) > 0) {
		printf("Deleted Networks:\n");
		size_t i;
		json_t *n;
		json_array_foreach(deleted, i, n) printf("%s\n", json_string_value(n));
	}
	json_decref(reply);
	return 0;
}

const struct cli_command cli_cmd_network_connect = {
    .name = "connect",
    .usage = "connect [OPTIONS] NETWORK CONTAINER",
    .summary = "Connect a container to a network",
    .flags = connect_flags,
    .min_args = 2,
    .max_args = 2,
    .interspersed = true,
    .exec = network_connect,
};

const struct cli_command cli_cmd_network_disconnect = {
    .name = "disconnect",
    .usage = "disconnect [OPTIONS] NETWORK CONTAINER",
    .summary = "Disconnect a container from a network",
    .flags = disconnect_flags,
    .min_args = 2,
    .max_args = 2,
    .interspersed = true,
    .exec = network_disconnect,
};

const struct cli_command cli_cmd_network_prune = {
    .name = "prune",
    .usage = "prune [OPTIONS]",
    .summary = "Remove all unused networks",
    .flags = prune_flags,
    .max_args = 0,
    .interspersed = true,
    .exec = network_prune,
};
