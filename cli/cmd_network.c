/* berth network ls|create|rm|inspect: the agent's /networks, printed as docker network does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "objects.h"

enum { L_QUIET, L_NO_TRUNC, L_FILTER, L_FORMAT };
static const struct cli_flag ls_flags[] = {
    [L_QUIET] = {"quiet", 'q', CLI_BOOL, NULL, "Only display network IDs"},
    [L_NO_TRUNC] = {"no-trunc", 0, CLI_BOOL, NULL, "Do not truncate the output"},
    [L_FILTER] = {"filter", 'f', CLI_LIST, "filter",
		  "Provide filter values (e.g. \"driver=bridge\")"},
    [L_FORMAT] = {"format", 0, CLI_STRING, "string", "Format output using a custom template"},
    {0},
};

static int cmp_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "Name"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "Name"));
	return strcmp(x ? x : "", y ? y : "");
}

static int network_ls(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	json_t *list = cli_objects_call(cli, "GET", "/networks", &v[L_FILTER], NULL, NULL);
	if (!list)
		return 1;
	size_t n = json_array_size(list);
	json_t **sorted = calloc(n + 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(list, i);
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	bool trunc = !v[L_NO_TRUNC].b;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *net = sorted[i];
		const char *id = json_string_value(json_object_get(net, "Id"));
		char idbuf[80];
		snprintf(idbuf, sizeof(idbuf), trunc ? "%.12s" : "%s", id ? id : "");
		if (v[L_QUIET].b) {
			printf("%s\n", idbuf);
			continue;
		}
		json_array_append_new(
		    rows,
		    json_pack("{s:s, s:O, s:O, s:O, s:s, s:s, s:s}", "ID", idbuf, "Name",
			      json_object_get(net, "Name"), "Driver",
			      json_object_get(net, "Driver"), "Scope",
			      json_object_get(net, "Scope"), "IPv6", "false", "Internal",
			      json_is_true(json_object_get(net, "Internal")) ? "true" : "false",
			      "CreatedAt", json_string_value(json_object_get(net, "Created"))));
	}
	free(sorted);
	json_decref(list);
	int rc = 0;
	if (!v[L_QUIET].b)
		rc = cli_objects_print_rows(
		    v[L_FORMAT].s, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows,
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "NETWORK ID", "Name", "NAME",
			      "Driver", "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6", "Internal",
			      "INTERNAL", "CreatedAt", "CREATED AT"));
	json_decref(rows);
	return rc;
}

enum { C_DRIVER, C_SUBNET, C_GATEWAY, C_INTERNAL, C_LABEL, C_ATTACHABLE, C_OPT, C_IP_RANGE };
static const struct cli_flag create_flags[] = {
    [C_DRIVER] = {"driver", 'd', CLI_STRING, "string",
		  "Driver to manage the Network (default \"bridge\")"},
    [C_SUBNET] = {"subnet", 0, CLI_LIST, "strings",
		  "Subnet in CIDR format that represents a network segment"},
    [C_GATEWAY] = {"gateway", 0, CLI_LIST, "strings", "IPv4 or IPv6 Gateway for the master subnet"},
    [C_INTERNAL] = {"internal", 0, CLI_BOOL, NULL, "Restrict external access to the network"},
    [C_LABEL] = {"label", 0, CLI_LIST, "list", "Set metadata on a network"},
    [C_ATTACHABLE] = {"attachable", 0, CLI_BOOL, NULL, "Enable manual container attachment"},
    [C_OPT] = {"opt", 'o', CLI_LIST, "map", "Set driver specific options"},
    [C_IP_RANGE] = {"ip-range", 0, CLI_LIST, "strings", "Allocate container ip from a sub-range"},
    {0},
};

static int network_create(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	if (v[C_GATEWAY].count > v[C_SUBNET].count) {
		fprintf(stderr, "every ip-range or gateway must have a corresponding subnet\n");
		return 1;
	}
	if (v[C_IP_RANGE].count) {
		fprintf(stderr, "berth: --ip-range is not supported\n");
		return 1;
	}
	json_t *labels = json_object();
	for (size_t i = 0; i < v[C_LABEL].count; i++) {
		const char *l = v[C_LABEL].list[i], *eq = strchr(l, '=');
		char key[256];
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - l) : (int)strlen(l), l);
		json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
	}
	json_t *config = json_array();
	for (size_t i = 0; i < v[C_SUBNET].count; i++) {
		json_t *c = json_pack("{s:s}", "Subnet", v[C_SUBNET].list[i]);
		if (i < v[C_GATEWAY].count)
			json_object_set_new(c, "Gateway", json_string(v[C_GATEWAY].list[i]));
		json_array_append_new(config, c);
	}
	json_t *body =
	    json_pack("{s:s, s:s, s:{s:s, s:o, s:{}}, s:b, s:b, s:o, s:{}}", "Name", a->pos[0],
		      "Driver", v[C_DRIVER].s ? v[C_DRIVER].s : "bridge", "IPAM", "Driver",
		      "default", "Config", config, "Options", "Internal", v[C_INTERNAL].b,
		      "Attachable", v[C_ATTACHABLE].b, "Labels", labels, "Options");
	return cli_objects_create(cli, "/networks/create", body, "Id");
}

static int network_rm(struct cli *cli, struct cli_args *a)
{
	struct cli_objects_rm rm = {"networks", ""};
	return cli_for_each(cli, a->pos, a->npos, true, cli_objects_rm_one, &rm, NULL);
}

enum { I_FORMAT, I_VERBOSE };
static const struct cli_flag inspect_flags[] = {
    [I_FORMAT] = {"format", 'f', CLI_STRING, "string", "Format output using a custom template"},
    [I_VERBOSE] = {"verbose", 'v', CLI_BOOL, NULL, "Verbose output for diagnostics"},
    {0},
};

static int network_inspect(struct cli *cli, struct cli_args *a)
{
	return cli_objects_inspect(cli, a, "networks", "network", a->v[I_FORMAT].s);
}

const struct cli_command cli_cmd_network_ls = {
    .name = "ls",
    .alias = "list",
    .usage = "ls [OPTIONS]",
    .summary = "List networks",
    .flags = ls_flags,
    .max_args = 0,
    .interspersed = true,
    .exec = network_ls,
};

const struct cli_command cli_cmd_network_create = {
    .name = "create",
    .usage = "create [OPTIONS] NETWORK",
    .summary = "Create a network",
    .flags = create_flags,
    .min_args = 1,
    .max_args = 1,
    .interspersed = true,
    .exec = network_create,
};

const struct cli_command cli_cmd_network_rm = {
    .name = "rm",
    .alias = "remove",
    .usage = "rm NETWORK [NETWORK...]",
    .summary = "Remove one or more networks",
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = network_rm,
};

const struct cli_command cli_cmd_network_inspect = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] NETWORK [NETWORK...]",
    .summary = "Display detailed information on one or more networks",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .interspersed = true,
    .exec = network_inspect,
};
