/* Docker Engine API: /networks (list, inspect, create, remove, connect, disconnect, prune),
 * backed by berth-netd: netd's networks in Docker's shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_server.h"
#include "berth/log.h"
#include "agent.h"
#include "container.h"
#include "netd_client.h"

/* A request to netd on behalf of an API call. */
struct net_call {
	struct berth_http_call *call;
	char container[65]; /* connect/disconnect: the container's id */
	bool verbose;	    /* inspect: with Containers */
	json_t *filters;    /* list: {"name": [...], "id": [...], "driver": [...]} */
	json_t *deleted;    /* prune */
	size_t outstanding; /* prune */
};

static struct net_call *net_call_new(struct berth_http_call *call)
{
	struct net_call *nc = calloc(1, sizeof(*nc));
	if (!nc)
		abort();
	nc->call = call;
	return nc;
}

static void net_call_free(struct net_call *nc)
{
	json_decref(nc->filters);
	json_decref(nc->deleted);
	free(nc);
}

static struct netd_client *netd_of(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	return agent->containers->netd;
}

static bool is_predefined(const char *name)
{
	return strcmp(name, "bridge") == 0 || strcmp(name, "host") == 0 ||
	       strcmp(name, "none") == 0;
}

/* netd's network → Docker's. Containers only when with_containers (inspect). */
static json_t *docker_network(struct berth_http_call *call, const json_t *n, bool with_containers)
{
	struct agent *agent = call->ctx;
	const char *driver = json_string_value(json_object_get(n, "Driver"));
	const char *subnet = json_string_value(json_object_get(n, "Subnet"));
	const char *gateway = json_string_value(json_object_get(n, "Gateway"));
	const char *bridge = json_string_value(json_object_get(n, "Bridge"));
	json_t *ipam_config = json_array();
	if (subnet && *subnet)
		json_array_append_new(ipam_config, json_pack("{s:s, s:s}", "Subnet", subnet,
							     "Gateway", gateway ? gateway : ""));
	json_t *options = json_object();
	/* Only the predefined bridge reports its device, as Docker's does: a user network's
	 * Options are what its creator gave, and docker-compose recreates a network whose
	 * Options differ from its file's. */
	if (bridge && *bridge &&
	    strcmp(json_string_value(json_object_get(n, "Name")) ?: "", "bridge") == 0)
		json_object_set_new(options, "com.docker.network.bridge.name", json_string(bridge));
	json_t *containers = json_object();
	const char *key;
	json_t *val;
	if (with_containers) {
		json_object_foreach(json_object_get(n, "Endpoints"), key, val)
		{
			struct container *c = container_find(agent->containers, key, NULL);
			const char *name = json_string_value(json_object_get(val, "Name"));
			json_object_set_new(
			    containers, key,
			    json_pack("{s:s, s:s, s:O, s:O, s:s}", "Name",
				      c	     ? c->name + 1
				      : name ? name
					     : "",
				      "EndpointID", json_string_value(json_object_get(n, "Id")),
				      "MacAddress", json_object_get(val, "MacAddress"),
				      "IPv4Address", json_object_get(val, "IPAddress"),
				      "IPv6Address", ""));
		}
	}
	json_t *labels = json_object_get(n, "Labels");
	return json_pack(
	    "{s:O, s:O, s:O, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, "
	    "s:{s:s}, s:b, s:o, s:o, s:o}",
	    "Name", json_object_get(n, "Name"), "Id", json_object_get(n, "Id"), "Created",
	    json_object_get(n, "Created"), "Scope", "local", "Driver", driver ? driver : "bridge",
	    "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", ipam_config,
	    "Internal", json_is_true(json_object_get(n, "Internal")), "Attachable", 0, "Ingress", 0,
	    "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers", containers, "Options",
	    options, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
}

static bool filter_match(const json_t *filters, const json_t *n)
{
	const char *key;
	json_t *vals;
	json_object_foreach((json_t *)filters, key, vals)
	{
		const char *field = strcmp(key, "name") == 0	 ? "Name"
				    : strcmp(key, "id") == 0	 ? "Id"
				    : strcmp(key, "driver") == 0 ? "Driver"
								 : NULL;
		if (!field)
			continue;
		const char *have = json_string_value(json_object_get(n, field));
		bool any = false;
		/* {"name": ["x"]} or the docker CLI's {"name": {"x": true}} */
		_cleanup_json_ json_t *list = json_array();
		const char *k;
		json_t *v;
		if (json_is_object(vals))
			json_object_foreach(vals, k, v) json_array_append_new(list, json_string(k));
		else if (json_is_array(vals))
			json_array_extend(list, vals);
		size_t i;
		json_array_foreach(list, i, v)
		{
			const char *want = json_string_value(v);
			/* name and id match as substrings/prefixes, as Docker's do */
			if (want && have &&
			    (strcmp(key, "id") == 0 ? strncmp(have, want, strlen(want)) == 0
						    : strstr(have, want) != NULL))
				any = true;
		}
		if (!any)
			return false;
	}
	return true;
}

static void list_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	if (err) {
		berth_http_reply_error(nc->call, err);
	} else {
		json_t *out = json_array();
		size_t i;
		json_t *n;
		json_array_foreach(reply, i, n)
		{
			if (!nc->filters || filter_match(nc->filters, n))
				json_array_append_new(out, docker_network(nc->call, n, false));
		}
		berth_http_reply_json(nc->call, 200, out);
	}
	net_call_free(nc);
}

static void api_network_list(struct berth_http_call *call)
{
	struct net_call *nc = net_call_new(call);
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		nc->filters = json_loads(f, 0, NULL);
		if (!json_is_object(nc->filters)) {
			berth_http_reply_errorf(call, 400, "invalid filter: %s", f);
			net_call_free(nc);
			return;
		}
	}
	netd_request(netd_of(call), "GET", "/networks", NULL, list_done, nc);
}

static void inspect_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	if (err)
		berth_http_reply_error(nc->call, err);
	else
		berth_http_reply_json(nc->call, 200, docker_network(nc->call, reply, true));
	net_call_free(nc);
}

/* The network name or id as a netd path; 400 for characters a name cannot have. */
static int network_path(struct berth_http_call *call, const char *ref, const char *suffix,
			char *out, size_t size)
{
	for (const char *p = ref; *p; p++) {
		if (*p == '/' || *p == '?' || *p == '%' || *p == '#' || *p <= ' ') {
			berth_http_reply_errorf(call, 404, "network %s not found", ref);
			return -1;
		}
	}
	snprintf(out, size, "/networks/%s%s", ref, suffix);
	return 0;
}

static void api_network_inspect(struct berth_http_call *call)
{
	char path[512];
	if (network_path(call, call->params[0], "", path, sizeof(path)) < 0)
		return;
	netd_request(netd_of(call), "GET", path, NULL, inspect_done, net_call_new(call));
}

static void create_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	if (err)
		berth_http_reply_error(nc->call, err);
	else
		berth_http_reply_json(
		    nc->call, 201,
		    json_pack("{s:O, s:s}", "Id", json_object_get(reply, "Id"), "Warning", ""));
	net_call_free(nc);
}

/* berth's networks have one IPv4 subnet and gateway: refuse what would be ignored. */
static int ipam_config_check(const json_t *configs, struct berth_error *err)
{
	if (configs && !json_is_array(configs) && !json_is_null(configs))
		return berth_err(err, 400, "IPAM.Config must be a list");
	if (json_array_size(configs) > 1)
		return berth_err(err, 400,
				 "berth networks take one IPv4 subnet: IPAM.Config has %zu entries",
				 json_array_size(configs));
	const json_t *c = json_array_get(configs, 0);
	static const char *const keys[] = {"Subnet", "Gateway", "IPRange", "AuxiliaryAddresses"};
	for (size_t i = 0; i < 4; i++) {
		const json_t *v = json_object_get(c, keys[i]);
		if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
		    (json_is_object(v) && !json_object_size(v)))
			continue;
		if (i >= 2)
			return berth_err(err, 400, "IPAM %s is not supported by berth", keys[i]);
		if (!json_is_string(v))
			return berth_err(err, 400, "IPAM.Config %s must be a string", keys[i]);
	}
	return 0;
}

static void api_network_create(struct berth_http_call *call)
{
	struct berth_error err = {0};
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	const char *name = json_string_value(json_object_get(body, "Name"));
	if (!name || !*name) {
		berth_http_reply_errorf(call, 400, "network name cannot be empty");
		return;
	}
	const char *driver = json_string_value(json_object_get(body, "Driver"));
	json_t *req = json_pack("{s:s, s:s, s:b}", "Name", name, "Driver",
				driver && *driver ? driver : "bridge", "Internal",
				json_is_true(json_object_get(body, "Internal")));
	json_t *configs = json_object_get(json_object_get(body, "IPAM"), "Config");
	json_t *ipam = json_array_get(configs, 0);
	if (ipam_config_check(configs, &err) < 0) {
		json_decref(req);
		berth_http_reply_error(call, &err);
		return;
	}
	const char *subnet = json_string_value(json_object_get(ipam, "Subnet"));
	const char *gateway = json_string_value(json_object_get(ipam, "Gateway"));
	if (subnet && *subnet)
		json_object_set_new(req, "Subnet", json_string(subnet));
	if (gateway && *gateway)
		json_object_set_new(req, "Gateway", json_string(gateway));
	json_t *labels = json_object_get(body, "Labels");
	if (json_is_object(labels))
		json_object_set(req, "Labels", labels);
	netd_request(netd_of(call), "POST", "/networks", req, create_done, net_call_new(call));
	json_decref(req);
}

static void empty_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	if (err)
		berth_http_reply_error(nc->call, err);
	else
		berth_http_reply_empty(nc->call, 204);
	net_call_free(nc);
}

static void api_network_delete(struct berth_http_call *call)
{
	char path[512];
	if (network_path(call, call->params[0], "", path, sizeof(path)) < 0)
		return;
	netd_request(netd_of(call), "DELETE", path, NULL, empty_done, net_call_new(call));
}

/* connect/disconnect: netd answers with the endpoint, which becomes NetworkSettings. */
static void attach_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	struct agent *agent = nc->call->ctx;
	if (err) {
		berth_http_reply_error(nc->call, err);
		net_call_free(nc);
		return;
	}
	struct container *c = container_find(agent->containers, nc->container, NULL);
	if (c) {
		const char *mode = json_string_value(
		    json_object_get(json_object_get(c->config, "HostConfig"), "NetworkMode"));
		container_net_apply(c->config, mode ? mode : "bridge", reply);
		struct berth_error e = {0};
		if (container_save_config(c, &e) < 0)
			log_warn("container %.12s: %s", c->id, e.msg);
	}
	berth_http_reply_empty(nc->call, 200);
	net_call_free(nc);
}

static void connect_or_disconnect(struct berth_http_call *call, bool connect)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	const char *ref = json_string_value(json_object_get(body, "Container"));
	struct container *c = container_find(agent->containers, ref ? ref : "", &err);
	if (!c) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *ns = json_object_get(c->config, "NetworkSettings");
	const char *sandbox = json_string_value(json_object_get(ns, "SandboxKey"));
	if (!sandbox || !*sandbox) {
		berth_http_reply_errorf(call, 400,
					"container %s has no network of its own (network mode "
					"none or host) and cannot be %s",
					c->name + 1, connect ? "connected" : "disconnected");
		return;
	}
	json_t *req = json_pack("{s:s}", "Network", call->params[0]);
	if (connect) {
		json_t *ep = json_object_get(body, "EndpointConfig");
		json_t *aliases = json_object_get(ep, "Aliases");
		const char *ip = json_string_value(
		    json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
		if (json_is_array(aliases))
			json_object_set(req, "Aliases", aliases);
		if (ip && *ip)
			json_object_set_new(req, "IPAddress", json_string(ip));
	}
	struct net_call *nc = net_call_new(call);
	memcpy(nc->container, c->id, sizeof(nc->container));
	char path[160];
	snprintf(path, sizeof(path), "/endpoints/%s/%s", c->id, connect ? "connect" : "disconnect");
	netd_request(netd_of(call), "POST", path, req, attach_done, nc);
	json_decref(req);
}

static void api_network_connect(struct berth_http_call *call)
{
	connect_or_disconnect(call, true);
}

static void api_network_disconnect(struct berth_http_call *call)
{
	connect_or_disconnect(call, false);
}

static void prune_one_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	(void)reply;
	(void)err; /* a network that gained an endpoint meanwhile stays */
	if (--nc->outstanding > 0)
		return;
	berth_http_reply_json(nc->call, 200, json_pack("{s:O}", "NetworksDeleted", nc->deleted));
	net_call_free(nc);
}

struct prune_item {
	struct net_call *nc;
	char *name;
};

static void prune_item_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct prune_item *it = arg;
	if (!err)
		json_array_append_new(it->nc->deleted, json_string(it->name));
	struct net_call *nc = it->nc;
	free(it->name);
	free(it);
	prune_one_done(nc, status, reply, err);
}

static void prune_list_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_call *nc = arg;
	if (err) {
		berth_http_reply_error(nc->call, err);
		net_call_free(nc);
		return;
	}
	nc->deleted = json_array();
	nc->outstanding = 1; /* held until every delete is queued */
	size_t i;
	json_t *n;
	json_array_foreach(reply, i, n)
	{
		const char *name = json_string_value(json_object_get(n, "Name"));
		if (!name || is_predefined(name) ||
		    json_object_size(json_object_get(n, "Endpoints")) > 0)
			continue;
		struct prune_item *it = calloc(1, sizeof(*it));
		if (!it)
			abort();
		it->nc = nc;
		it->name = strdup(name);
		char path[512];
		snprintf(path, sizeof(path), "/networks/%s",
			 json_string_value(json_object_get(n, "Id")));
		nc->outstanding++;
		netd_request(netd_of(nc->call), "DELETE", path, NULL, prune_item_done, it);
	}
	prune_one_done(nc, 200, NULL, NULL);
}

static void api_network_prune(struct berth_http_call *call)
{
	netd_request(netd_of(call), "GET", "/networks", NULL, prune_list_done, net_call_new(call));
}

const struct berth_http_route api_networks_routes[] = {
    {"GET", "/networks", api_network_list},
    {"POST", "/networks/create", api_network_create},
    {"POST", "/networks/prune", api_network_prune},
    {"GET", "/networks/{id}", api_network_inspect},
    {"DELETE", "/networks/{id}", api_network_delete},
    {"POST", "/networks/{id}/connect", api_network_connect},
    {"POST", "/networks/{id}/disconnect", api_network_disconnect},
};
const size_t api_networks_routes_len = sizeof(api_networks_routes) / sizeof(api_networks_routes[0]);
