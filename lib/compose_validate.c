/* Known keys per section, profiles, and the checks that span services: depends_on, cycles, names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

/* Keys berth implements, then keys the compose spec has and berth does not (yet). */
struct key_table {
	const char *const *supported;
	const char *const *unsupported;
};

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static const struct key_table tables[] = {
    [COMPOSE_SEC_TOP] = {KEYS("version", "name", "services", "networks", "volumes"),
			 KEYS("include", "secrets", "configs", "models")},
    [COMPOSE_SEC_SERVICE] =
	{KEYS("image", "build", "command", "entrypoint", "environment", "env_file", "ports",
	      "expose", "volumes", "networks", "depends_on", "healthcheck", "restart", "deploy",
	      "labels", "container_name", "hostname", "user", "working_dir", "init", "stop_signal",
	      "stop_grace_period", "profiles", "network_mode", "scale", "mem_limit",
	      "mem_reservation", "cpus", "cpuset", "pids_limit", "shm_size", "ulimits", "tmpfs",
	      "oom_score_adj", "cpu_shares", "memswap_limit", "privileged", "cap_add", "cap_drop",
	      "security_opt"),
	 KEYS("annotations", "attach", "blkio_config", "cgroup", "cgroup_parent", "configs",
	      "cpu_count", "cpu_percent", "cpu_quota", "cpu_period", "cpu_rt_period",
	      "cpu_rt_runtime", "credential_spec", "develop", "device_cgroup_rules", "devices",
	      "dns", "dns_opt", "dns_search", "domainname", "extends", "external_links",
	      "extra_hosts", "gpus", "group_add", "ipc", "isolation", "label_file", "links",
	      "logging", "mac_address", "mem_swappiness", "models", "oom_kill_disable", "pid",
	      "platform", "post_start", "pre_stop", "provider", "pull_policy", "pull_refresh_after",
	      "read_only", "runtime", "secrets", "stdin_open", "storage_opt", "sysctls", "tty",
	      "use_api_socket", "userns_mode", "uts", "volumes_from")},
    [COMPOSE_SEC_BUILD] = {KEYS("context", "dockerfile", "dockerfile_inline", "args", "target",
				"labels", "tags", "no_cache", "pull", "network"),
			   KEYS("additional_contexts", "cache_from", "cache_to", "entitlements",
				"extra_hosts", "isolation", "platforms", "privileged", "provenance",
				"sbom", "secrets", "shm_size", "ssh", "ulimits")},
    [COMPOSE_SEC_DEPLOY] = {KEYS("mode", "replicas", "labels", "resources", "restart_policy",
				 "update_config", "rollback_config"),
			    KEYS("placement", "endpoint_mode")},
    [COMPOSE_SEC_RESOURCES] = {KEYS("limits", "reservations"), NONE},
    [COMPOSE_SEC_RESOURCE] = {KEYS("cpus", "memory", "pids"), KEYS("devices", "generic_resources")},
    [COMPOSE_SEC_RESTART_POLICY] = {KEYS("condition", "delay", "max_attempts", "window"), NONE},
    [COMPOSE_SEC_UPDATE_CONFIG] = {KEYS("parallelism", "delay", "failure_action", "monitor",
					"max_failure_ratio", "order"),
				   NONE},
    [COMPOSE_SEC_HEALTHCHECK] = {KEYS("test", "interval", "timeout", "retries", "start_period",
				      "start_interval", "disable"),
				 NONE},
    [COMPOSE_SEC_PORT] = {KEYS("target", "published", "host_ip", "protocol", "mode", "name",
			       "app_protocol"),
			  NONE},
    [COMPOSE_SEC_VOLUME] = {KEYS("type", "source", "target", "read_only", "bind", "volume",
				 "consistency"),
			    KEYS("tmpfs", "image")},
    [COMPOSE_SEC_VOLUME_BIND] = {KEYS("propagation", "create_host_path", "selinux"),
				 KEYS("recursive")},
    [COMPOSE_SEC_VOLUME_VOLUME] = {KEYS("nocopy", "subpath"), NONE},
    [COMPOSE_SEC_VOLUME_TMPFS] = {NONE, KEYS("size", "mode")},
    [COMPOSE_SEC_SERVICE_NETWORK] = {KEYS("aliases", "ipv4_address"),
				     KEYS("ipv6_address", "link_local_ips", "mac_address",
					  "driver_opts", "priority", "gw_priority",
					  "interface_name")},
    [COMPOSE_SEC_DEPENDS_ON] = {KEYS("condition", "required", "restart"), NONE},
    [COMPOSE_SEC_ENV_FILE] = {KEYS("path", "required", "format"), NONE},
    [COMPOSE_SEC_NETWORK] = {KEYS("name", "driver", "driver_opts", "external", "labels", "ipam",
				  "internal", "attachable"),
			     KEYS("enable_ipv4", "enable_ipv6")},
    [COMPOSE_SEC_VOLUME_TOP] = {KEYS("name", "driver", "driver_opts", "external", "labels"), NONE},
    [COMPOSE_SEC_ULIMIT] = {KEYS("soft", "hard"), NONE},
};

static bool in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

int compose_check_keys(const struct cnode *map, enum compose_section sec, const char *path,
		       struct berth_error *err)
{
	const struct key_table *t = &tables[sec];
	for (size_t i = 0; map && map->kind == CNODE_MAP && i < map->n; i++) {
		const char *k = map->keys[i]->value;
		if (!strncmp(k, "x-", 2) || in_list(t->supported, k))
			continue;
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
		if (in_list(t->unsupported, k))
			return cnode_err(err, map->keys[i], sub, "not supported by berth");
		return cnode_err(err, map->keys[i], sub, "unknown key");
	}
	return 0;
}

/* The node of services.NAME.KEY (or the service itself), for marks. */
static const struct cnode *service_node(const struct cnode *root, const char *name, const char *key)
{
	const struct cnode *s = cnode_get(cnode_get(root, "services"), name);
	return key ? cnode_get(s, key) : s;
}

static bool profile_enabled(const json_t *profiles, const struct compose_ctx *ctx)
{
	if (!profiles || json_array_size(profiles) == 0)
		return true;
	size_t i;
	json_t *p;
	json_array_foreach(profiles, i, p)
	{
		for (size_t j = 0; j < ctx->n_profiles; j++)
			if (!strcmp(ctx->profiles[j], "*") ||
			    !strcmp(ctx->profiles[j], json_string_value(p)))
				return true;
	}
	return false;
}

/* Depth-first walk; on a cycle, writes "a -> b -> a" into cycle. */
static int visit(const json_t *services, const char *name, json_t *state, json_t *stack,
		 json_t *order, char *cycle, size_t size)
{
	json_int_t st = json_integer_value(json_object_get(state, name));
	if (st == 2)
		return 0;
	if (st == 1) {
		size_t i, start = 0;
		json_t *v;
		json_array_foreach(stack, i, v)
		{
			if (!strcmp(json_string_value(v), name))
				start = i;
		}
		size_t off = 0;
		for (i = start; i < json_array_size(stack) && off < size; i++)
			off += snprintf(cycle + off, size - off, "%s -> ",
					json_string_value(json_array_get(stack, i)));
		if (off < size)
			snprintf(cycle + off, size - off, "%s", name);
		return -1;
	}
	json_object_set_new(state, name, json_integer(1));
	json_array_append_new(stack, json_string(name));
	const char *dep;
	json_t *v;
	json_t *deps = json_object_get(json_object_get(services, name), "depends_on");
	json_object_foreach(deps, dep, v)
	{
		if (json_object_get(services, dep) &&
		    visit(services, dep, state, stack, order, cycle, size) < 0)
			return -1;
	}
	json_array_remove(stack, json_array_size(stack) - 1);
	json_object_set_new(state, name, json_integer(2));
	json_array_append_new(order, json_string(name));
	return 0;
}

/* Services dependencies first; NULL on a cycle, described in cycle. */
static json_t *service_order(const json_t *project, char *cycle, size_t size)
{
	const json_t *services = json_object_get(project, "services");
	_cleanup_json_ json_t *state = json_object(), *stack = json_array();
	json_t *order = json_array();
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)services, name, v)
	{
		if (visit(services, name, state, stack, order, cycle, size) < 0) {
			json_decref(order);
			return NULL;
		}
	}
	return order;
}

json_t *compose_service_order(const json_t *project, struct berth_error *err)
{
	char cycle[512];
	json_t *order = service_order(project, cycle, sizeof(cycle));
	if (!order)
		berth_err(err, 400, "dependency cycle detected: %s", cycle);
	return order;
}

static int check_depends_on(json_t *services, json_t *all, const struct cnode *root,
			    const char *name, json_t *svc, struct berth_error *err)
{
	json_t *deps = json_object_get(svc, "depends_on");
	const char *dep;
	json_t *d, *tmp;
	json_object_foreach_safe(deps, tmp, dep, d)
	{
		const struct cnode *dn = service_node(root, name, "depends_on");
		const struct cnode *mark = NULL;
		if (dn && dn->kind == CNODE_MAP) {
			long at = cnode_find(dn, dep);
			mark = at >= 0 ? dn->keys[at] : NULL;
		} else if (dn && dn->kind == CNODE_SEQ) {
			for (size_t i = 0; i < dn->n; i++)
				if (!strcmp(dn->vals[i]->value, dep))
					mark = dn->vals[i];
		}
		char path[COMPOSE_PATH_MAX];
		snprintf(path, sizeof(path), "services.%s.depends_on", name);
		bool required = json_is_true(json_object_get(d, "required"));
		if (!json_object_get(all, dep) && !required) {
			/* compose only warns about an optional dependency that does not exist */
			json_object_del(deps, dep);
			continue;
		}
		if (!json_object_get(all, dep))
			return cnode_err(err, mark ? mark : dn, path,
					 "service \"%s\" depends on undefined service \"%s\"", name,
					 dep);
		if (json_object_get(services, dep))
			continue;
		if (required)
			return cnode_err(err, mark ? mark : dn, path,
					 "service \"%s\" depends on service \"%s\", which is "
					 "disabled by its profiles",
					 name, dep);
		json_object_del(deps, dep);
	}
	return 0;
}

int compose_validate(json_t *project, const struct cnode *root, const struct compose_ctx *ctx,
		     struct berth_error *err)
{
	json_t *services = json_object_get(project, "services");
	_cleanup_json_ json_t *all = json_copy(services);
	const char *name;
	json_t *svc, *tmp;
	json_object_foreach_safe(services, tmp, name, svc)
	{
		if (!profile_enabled(json_object_get(svc, "profiles"), ctx))
			json_object_del(services, name);
	}
	_cleanup_json_ json_t *container_names = json_object();
	json_object_foreach(services, name, svc)
	{
		char path[COMPOSE_PATH_MAX];
		if (!json_object_get(svc, "image") && !json_object_get(svc, "build")) {
			snprintf(path, sizeof(path), "services.%s", name);
			return cnode_err(err, service_node(root, name, NULL), path,
					 "service has neither an image nor a build context");
		}
		if (check_depends_on(services, all, root, name, svc, err) < 0)
			return -1;
		const char *cn = json_string_value(json_object_get(svc, "container_name"));
		json_int_t replicas =
		    json_integer_value(json_object_get(json_object_get(svc, "deploy"), "replicas"));
		snprintf(path, sizeof(path), "services.%s.container_name", name);
		if (cn && replicas > 1)
			return cnode_err(err, service_node(root, name, "container_name"), path,
					 "container name \"%s\" must be unique, so it cannot be "
					 "used with %lld replicas",
					 cn, (long long)replicas);
		if (cn && json_object_get(container_names, cn))
			return cnode_err(err, service_node(root, name, "container_name"), path,
					 "container name \"%s\" is already used by service \"%s\"",
					 cn,
					 json_string_value(json_object_get(container_names, cn)));
		if (cn)
			json_object_set_new(container_names, cn, json_string(name));
	}
	char cycle[512];
	json_t *order = service_order(project, cycle, sizeof(cycle));
	if (!order) {
		/* Report at the depends_on of the service the cycle starts from. */
		char path[COMPOSE_PATH_MAX], first[256];
		const char *arrow = strstr(cycle, " -> ");
		snprintf(first, sizeof(first), "%.*s", arrow ? (int)(arrow - cycle) : 0, cycle);
		snprintf(path, sizeof(path), "services.%s.depends_on", first);
		return cnode_err(err, service_node(root, first, "depends_on"), path,
				 "dependency cycle detected: %s", cycle);
	}
	json_decref(order);
	return 0;
}
