/* A container's network as the agent sees it: the endpoint request sent to netd at create
 * (Docker's ports, mode and aliases), NetworkSettings in inspect, and the runtime spec's netns,
 * dns and hosts. netd owns the kernel side; the endpoint lives from create to removal. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "agent.h"
#include "container.h"
#include "netd_client.h"

int container_net_kind(const json_t *host, const char **network, enum container_net_kind *kind,
		       struct berth_error *err)
{
	const char *mode = json_string_value(json_object_get(host, "NetworkMode"));
	if (!mode || !*mode || strcmp(mode, "default") == 0)
		mode = "bridge";
	*network = mode;
	*kind = CONTAINER_NET_ENDPOINT;
	if (strcmp(mode, "none") == 0)
		*kind = CONTAINER_NET_NONE;
	else if (strcmp(mode, "host") == 0)
		*kind = CONTAINER_NET_HOST;
	else if (strncmp(mode, "container:", 10) == 0)
		return berth_err(err, 400, "network mode \"%s\" is not supported by berth", mode);
	return 0;
}

/* "8080" → 8080; -1 unless 1-65535 digits only. */
static long port_number(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return -1;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* A binding's HostPort: "" → 0 (allocate), "9000" or "9000-9005" (the first of the range). */
static long host_port(const char *s)
{
	if (!s || !*s)
		return 0;
	const char *dash = strchr(s, '-');
	size_t len = dash ? (size_t)(dash - s) : strlen(s);
	if (len == 1 && s[0] == '0' && !dash)
		return 0;
	long lo = port_number(s, len);
	if (lo < 0 || (dash && port_number(dash + 1, strlen(dash + 1)) < lo))
		return -1;
	return lo;
}

static int add_port(json_t *ports, long ctr, const char *proto, const json_t *binding,
		    struct berth_error *err)
{
	const char *ip = json_string_value(json_object_get(binding, "HostIp"));
	const char *hp = json_string_value(json_object_get(binding, "HostPort"));
	long h = host_port(hp);
	if (h < 0)
		return berth_err(err, 400, "invalid port specification: \"%s\"", hp);
	json_array_append_new(ports,
			      json_pack("{s:i, s:s, s:s, s:i}", "ContainerPort", (int)ctr, "Proto",
					proto, "HostIp", ip ? ip : "", "HostPort", (int)h));
	return 0;
}

static int ports_request(const json_t *config, const json_t *host, json_t *ports,
			 struct berth_error *err)
{
	json_t *exposed = json_object_get(config, "ExposedPorts");
	json_t *bindings = json_object_get(host, "PortBindings");
	bool all = json_is_true(json_object_get(host, "PublishAllPorts"));
	_cleanup_json_ json_t *keys = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(exposed, key, val) json_object_set_new(keys, key, json_true());
	json_object_foreach(bindings, key, val) json_object_set_new(keys, key, json_true());
	json_object_foreach(keys, key, val)
	{
		const char *slash = strchr(key, '/');
		size_t len = slash ? (size_t)(slash - key) : strlen(key);
		const char *proto = slash ? slash + 1 : "tcp";
		long ctr = port_number(key, len);
		if (ctr < 0)
			return berth_err(err, 400, "invalid port specification: \"%.*s\"", (int)len,
					 key);
		json_t *list = json_object_get(bindings, key);
		size_t i;
		json_t *b;
		if (json_array_size(list) > 0) {
			json_array_foreach(list, i, b) if (add_port(ports, ctr, proto, b, err) <
							   0) return -1;
		} else if (all) {
			if (add_port(ports, ctr, proto, NULL, err) < 0)
				return -1;
		}
	}
	return 0;
}

json_t *container_net_endpoint_request(const char *id, const char *name, const json_t *config,
				       const json_t *host, const json_t *networking,
				       const char *network, struct berth_error *err)
{
	_cleanup_json_ json_t *ports = json_array();
	if (ports_request(config, host, ports, err) < 0)
		return NULL;
	/* Replicas of a compose service share the ports published on a fixed host port: netd
	 * balances over them. A port without a host port gets one per replica. */
	json_t *labels = json_object_get(config, "Labels");
	const char *project =
	    json_string_value(json_object_get(labels, "com.docker.compose.project"));
	const char *service =
	    json_string_value(json_object_get(labels, "com.docker.compose.service"));
	if (project && *project && service && *service) {
		char svc[512];
		snprintf(svc, sizeof(svc), "%s/%s", project, service);
		size_t i;
		json_t *p;
		json_array_foreach(ports, i, p)
		{
			if (json_integer_value(json_object_get(p, "HostPort")) > 0)
				json_object_set_new(p, "Service", json_string(svc));
		}
	}
	/* The docker CLI names the default network "default" in EndpointsConfig. */
	json_t *eps = json_object_get(networking, "EndpointsConfig");
	json_t *ep = json_object_get(eps, network);
	if (!ep && strcmp(network, "bridge") == 0)
		ep = json_object_get(eps, "default");
	json_t *aliases = json_object_get(ep, "Aliases");
	const char *ip =
	    json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
	const char *hostname = json_string_value(json_object_get(config, "Hostname"));
	json_t *req = json_pack("{s:s, s:s, s:s, s:o, s:s, s:O}", "ContainerId", id, "Name",
				*name == '/' ? name + 1 : name, "Network", network, "Aliases",
				json_is_array(aliases) ? json_deep_copy(aliases) : json_array(),
				"Hostname", hostname ? hostname : "", "Ports", ports);
	if (ip && *ip)
		json_object_set_new(req, "IPAddress", json_string(ip));
	return req;
}

static json_t *empty_endpoint(void)
{
	return json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
			 "IPAMConfig", "Links", "Aliases", "NetworkID", "", "EndpointID", "",
			 "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
			 "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "MacAddress", "",
			 "DriverOpts");
}

void container_net_apply(json_t *doc, const char *network, const json_t *endpoint)
{
	json_t *ns = json_object_get(doc, "NetworkSettings");
	json_t *config = json_object_get(doc, "Config");
	json_t *ports = json_object();
	const char *key;
	json_t *val;
	/* Exposed ports without a binding show as null, as Docker shows them. */
	json_object_foreach(json_object_get(config, "ExposedPorts"), key, val)
	    json_object_set_new(ports, key, json_null());
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(endpoint, "Ports"), i, p)
	{
		char k[32], hp[16];
		snprintf(k, sizeof(k), "%d/%s",
			 (int)json_integer_value(json_object_get(p, "ContainerPort")),
			 json_string_value(json_object_get(p, "Proto")));
		snprintf(hp, sizeof(hp), "%d",
			 (int)json_integer_value(json_object_get(p, "HostPort")));
		json_t *list = json_object_get(ports, k);
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(ports, k, list);
		}
		json_array_append_new(list,
				      json_pack("{s:O, s:s}", "HostIp",
						json_object_get(p, "HostIp"), "HostPort", hp));
	}
	json_object_set_new(ns, "Ports", ports);
	const char *netns = json_string_value(json_object_get(endpoint, "Netns"));
	json_object_set_new(ns, "SandboxKey", json_string(netns ? netns : ""));
	json_object_set_new(ns, "HairpinMode", json_false());
	json_object_set_new(ns, "LinkLocalIPv6PrefixLen", json_integer(0));
	json_object_set_new(ns, "SecondaryIPAddresses", json_null());
	json_object_set_new(ns, "SecondaryIPv6Addresses", json_null());
	json_t *networks = json_object();
	json_t *top = empty_endpoint();
	json_object_foreach(json_object_get(endpoint, "Networks"), key, val)
	{
		json_t *e = empty_endpoint();
		static const char *const copy[] = {"NetworkId", "IPAddress",  "IPPrefixLen",
						   "Gateway",	"MacAddress", NULL};
		static const char *const as[] = {"NetworkID", "IPAddress",  "IPPrefixLen",
						 "Gateway",   "MacAddress", NULL};
		for (int k = 0; copy[k]; k++) {
			json_t *v = json_object_get(val, copy[k]);
			if (v)
				json_object_set(e, as[k], v);
		}
		json_object_set(e, "EndpointID", json_object_get(val, "NetworkId"));
		json_t *aliases = json_object_get(val, "Aliases");
		if (json_array_size(aliases))
			json_object_set(e, "Aliases", aliases);
		/* The top-level fields describe the default bridge only, as in Docker. */
		if (strcmp(key, "bridge") == 0)
			json_object_update(top, e);
		json_object_set_new(networks, key, e);
	}
	if (!endpoint)
		json_object_set_new(networks, network, empty_endpoint());
	static const char *const top_keys[] = {
	    "EndpointID",	   "Gateway",	 "GlobalIPv6Address",
	    "GlobalIPv6PrefixLen", "IPAddress",	 "IPPrefixLen",
	    "IPv6Gateway",	   "MacAddress", NULL};
	for (int k = 0; top_keys[k]; k++)
		json_object_set(ns, top_keys[k], json_object_get(top, top_keys[k]));
	json_decref(top);
	json_object_set_new(ns, "Networks", networks);
}

void container_net_spec(struct container *c, json_t *spec)
{
	json_t *ns = json_object_get(c->config, "NetworkSettings");
	json_t *host = json_object_get(c->config, "HostConfig");
	const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
	const char *hostname =
	    json_string_value(json_object_get(json_object_get(c->config, "Config"), "Hostname"));
	json_t *dns = json_array();
	json_t *hosts = json_array();
	const char *key;
	json_t *val;
	if (netns && *netns) {
		json_object_set_new(spec, "netns", json_string(netns));
		/* netd serves DNS on each bridge's gateway address. */
		json_object_foreach(json_object_get(ns, "Networks"), key, val)
		{
			const char *gw = json_string_value(json_object_get(val, "Gateway"));
			const char *ip = json_string_value(json_object_get(val, "IPAddress"));
			if (gw && *gw)
				json_array_append_new(dns, json_string(gw));
			if (ip && *ip && hostname && json_array_size(hosts) == 0)
				json_array_append_new(hosts, json_sprintf("%s\t%s", ip, hostname));
		}
	}
	json_t *user_dns = json_object_get(host, "Dns");
	if (json_array_size(user_dns) > 0) {
		json_decref(dns);
		dns = json_deep_copy(user_dns);
	}
	size_t i;
	json_t *h;
	/* --add-host name:ip */
	json_array_foreach(json_object_get(host, "ExtraHosts"), i, h)
	{
		const char *s = json_string_value(h);
		const char *colon = s ? strchr(s, ':') : NULL;
		if (colon)
			json_array_append_new(
			    hosts, json_sprintf("%s\t%.*s", colon + 1, (int)(colon - s), s));
	}
	if (json_array_size(dns) > 0)
		json_object_set_new(spec, "dns", dns);
	else
		json_decref(dns);
	if (json_array_size(hosts) > 0)
		json_object_set_new(spec, "hosts", hosts);
	else
		json_decref(hosts);
}

void container_net_release(struct container *c)
{
	json_t *ns = json_object_get(c->config, "NetworkSettings");
	const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
	if (netns && *netns && c->store->netd)
		netd_release_endpoint(c->store->netd, c->id);
}

/* Re-making a missing endpoint before a start. */
struct ensure_req {
	struct container_store *store;
	char id[65];
	char network[256];
	container_done_cb done;
	void *arg;
};

static void ensure_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct ensure_req *r = arg;
	struct container_store *store = r->store;
	struct container *c = container_find(store, r->id, NULL);
	container_done_cb done = r->done;
	void *done_arg = r->arg;
	char network[256], id[65];
	snprintf(network, sizeof(network), "%s", r->network);
	memcpy(id, r->id, sizeof(id));
	free(r);
	if (!c) {
		if (!err)
			netd_release_endpoint(store->netd, id);
		struct berth_error e = {0};
		berth_err(&e, 404, "No such container: %s", id);
		done(done_arg, 404, &e);
		return;
	}
	c->starting = false;
	if (err) {
		struct berth_error e = *err;
		berth_err_wrap(&e, "container %.12s: its network endpoint", c->id);
		done(done_arg, e.status ? e.status : 500, &e);
		return;
	}
	container_net_apply(c->config, network, reply);
	struct berth_error e = {0};
	if (container_save_config(c, &e) < 0)
		log_warn("container %.12s: %s", c->id, e.msg);
	if (c->status == CONTAINER_RESTARTING)
		container_start_policy(c, done, done_arg);
	else
		container_start(c, done, done_arg);
}

int container_net_ensure(struct container *c, container_done_cb done, void *arg)
{
	json_t *ns = json_object_get(c->config, "NetworkSettings");
	const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
	if (!netns || !*netns || access(netns, F_OK) == 0 || errno != ENOENT || !c->store->netd)
		return 0;
	/* netd lost it (a reboot emptied $BERTH_RUN, or netd dropped it at start): ask again
	 * with the ports and aliases the container was created with. */
	json_t *host = json_object_get(c->config, "HostConfig");
	json_t *config = json_object_get(c->config, "Config");
	const char *network;
	enum container_net_kind kind;
	struct berth_error err = {0};
	if (container_net_kind(host, &network, &kind, &err) < 0 || kind != CONTAINER_NET_ENDPOINT)
		return 0;
	json_t *aliases =
	    json_object_get(json_object_get(json_object_get(ns, "Networks"), network), "Aliases");
	_cleanup_json_ json_t *networking =
	    json_pack("{s:{s:{s:O}}}", "EndpointsConfig", network, "Aliases",
		      json_is_array(aliases) ? aliases : json_null());
	_cleanup_json_ json_t *req =
	    container_net_endpoint_request(c->id, c->name, config, host, networking, network, &err);
	if (!req)
		return 0; /* the start reports what is wrong */
	log_info("container %.12s: its network namespace is gone; asking netd again", c->id);
	struct ensure_req *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->store = c->store;
	memcpy(r->id, c->id, sizeof(r->id));
	snprintf(r->network, sizeof(r->network), "%s", network);
	r->done = done;
	r->arg = arg;
	c->starting = true;
	netd_request(c->store->netd, "POST", "/endpoints", req, ensure_done, r);
	return 1;
}
