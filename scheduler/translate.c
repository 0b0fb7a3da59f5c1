/* A compose service (canonical JSON) to the Docker create body of one replica, its name,
 * its networks and its config hash. Pure: no I/O, unit-tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "sched.h"

/* FNV-1a 64 over the service's sorted compact JSON: only ever compared with itself, and it
 * keeps libcrypto out of a daemon that should stay small. */
void sched_config_hash(const json_t *service, char hash[17])
{
	_cleanup_free_ char *text = json_dumps(service, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = text ? text : ""; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	snprintf(hash, 17, "%016llx", (unsigned long long)h);
}

void sched_container_name(const char *project, const char *service, const json_t *config,
			  int number, char *out, size_t size)
{
	const char *fixed = json_string_value(json_object_get(config, "container_name"));
	if (fixed && *fixed)
		snprintf(out, size, "%s", fixed);
	else
		snprintf(out, size, "%s-%s-%d", project, service, number);
}

void sched_network_name(const json_t *model, const char *project, const char *key, char *out,
			size_t size)
{
	json_t *net = json_object_get(json_object_get(model, "networks"), key);
	const char *name = json_string_value(json_object_get(net, "name"));
	if (name && *name)
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "%s_%s", project, key);
}

char **sched_service_networks(const json_t *model, const char *project, const char *service)
{
	json_t *svc = json_object_get(json_object_get(model, "services"), service);
	json_t *nets = json_object_get(svc, "networks");
	size_t n = json_object_size(nets);
	char **out = calloc(n + 2, sizeof(*out));
	char buf[512];
	size_t k = 0;
	const char *key;
	json_t *val;
	if (!out)
		abort();
	if (n == 0) {
		sched_network_name(model, project, "default", buf, sizeof(buf));
		out[k++] = strdup(buf);
		return out;
	}
	json_object_foreach(nets, key, val)
	{
		sched_network_name(model, project, key, buf, sizeof(buf));
		out[k++] = strdup(buf);
	}
	return out;
}

static json_t *strings_copy(json_t *v)
{
	return json_is_array(v) ? json_deep_copy(v) : NULL;
}

static json_t *env_list(json_t *env)
{
	json_t *out = json_array();
	const char *key;
	json_t *val;
	json_object_foreach(env, key, val)
	{
		if (json_is_string(val))
			json_array_append_new(out,
					      json_sprintf("%s=%s", key, json_string_value(val)));
		else if (json_is_integer(val))
			json_array_append_new(
			    out, json_sprintf("%s=%lld", key, (long long)json_integer_value(val)));
		else if (json_is_boolean(val))
			json_array_append_new(
			    out, json_sprintf("%s=%s", key, json_is_true(val) ? "true" : "false"));
		/* null: unset in the environment the file was read in; left out, as compose does */
	}
	return out;
}

static void add_ports(json_t *svc, json_t *config, json_t *host)
{
	json_t *exposed = json_object(), *bindings = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(svc, "ports"), i, p)
	{
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		const char *published = json_string_value(json_object_get(p, "published"));
		const char *ip = json_string_value(json_object_get(p, "host_ip"));
		char key[32];
		snprintf(key, sizeof(key), "%lld/%s",
			 (long long)json_integer_value(json_object_get(p, "target")),
			 proto && *proto ? proto : "tcp");
		json_object_set_new(exposed, key, json_object());
		json_t *list = json_object_get(bindings, key);
		if (!list) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip ? ip : "",
						      "HostPort", published ? published : ""));
	}
	json_array_foreach(json_object_get(svc, "expose"), i, p)
	{
		const char *s = json_string_value(p);
		if (!s)
			continue;
		char key[32];
		snprintf(key, sizeof(key), "%s%s", s, strchr(s, '/') ? "" : "/tcp");
		json_object_set_new(exposed, key, json_object());
	}
	if (json_object_size(exposed))
		json_object_set(config, "ExposedPorts", exposed);
	if (json_object_size(bindings))
		json_object_set(host, "PortBindings", bindings);
	json_decref(exposed);
	json_decref(bindings);
}

static void add_volumes(const json_t *model, const char *project, json_t *svc, json_t *config,
			json_t *host)
{
	json_t *binds = json_array(), *anon = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(svc, "volumes"), i, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *src = json_string_value(json_object_get(v, "source"));
		const char *target = json_string_value(json_object_get(v, "target"));
		const char *ro = json_is_true(json_object_get(v, "read_only")) ? ":ro" : "";
		if (!target)
			continue;
		if (!src || !*src) {
			json_object_set_new(anon, target, json_object());
			continue;
		}
		if (type && strcmp(type, "volume") == 0) {
			json_t *top = json_object_get(json_object_get(model, "volumes"), src);
			const char *name = json_string_value(json_object_get(top, "name"));
			if (name && *name)
				json_array_append_new(binds,
						      json_sprintf("%s:%s%s", name, target, ro));
			else
				json_array_append_new(
				    binds, json_sprintf("%s_%s:%s%s", project, src, target, ro));
		} else {
			json_array_append_new(binds, json_sprintf("%s:%s%s", src, target, ro));
		}
	}
	if (json_array_size(binds))
		json_object_set(host, "Binds", binds);
	if (json_object_size(anon))
		json_object_set(config, "Volumes", anon);
	json_decref(binds);
	json_decref(anon);
}

static json_t *restart_policy(json_t *svc)
{
	const char *r = json_string_value(json_object_get(svc, "restart"));
	json_t *rp = json_object_get(json_object_get(svc, "deploy"), "restart_policy");
	if (!r && rp) {
		const char *cond = json_string_value(json_object_get(rp, "condition"));
		json_int_t max = json_integer_value(json_object_get(rp, "max_attempts"));
		if (!cond || strcmp(cond, "any") == 0)
			return json_pack("{s:s, s:I}", "Name", "always", "MaximumRetryCount", max);
		if (strcmp(cond, "on-failure") == 0)
			return json_pack("{s:s, s:I}", "Name", "on-failure", "MaximumRetryCount",
					 max);
		return json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0);
	}
	if (!r || !*r)
		r = "no";
	if (strncmp(r, "on-failure", 10) == 0)
		return json_pack("{s:s, s:i}", "Name", "on-failure", "MaximumRetryCount",
				 r[10] == ':' ? atoi(r + 11) : 0);
	return json_pack("{s:s, s:i}", "Name", r, "MaximumRetryCount", 0);
}

static json_t *healthcheck(json_t *hc)
{
	if (!hc)
		return NULL;
	if (json_is_true(json_object_get(hc, "disable")))
		return json_pack("{s:[s]}", "Test", "NONE");
	json_t *out = json_object();
	json_t *test = json_object_get(hc, "test");
	if (test)
		json_object_set(out, "Test", test);
	static const char *const from[] = {"interval",	     "timeout", "start_period",
					   "start_interval", "retries", NULL};
	static const char *const to[] = {"Interval",	  "Timeout", "StartPeriod",
					 "StartInterval", "Retries", NULL};
	for (int i = 0; from[i]; i++) {
		json_t *v = json_object_get(hc, from[i]);
		if (json_is_integer(v))
			json_object_set(out, to[i], v);
	}
	return out;
}

static void add_resources(json_t *svc, json_t *host)
{
	json_t *resources = json_object_get(json_object_get(svc, "deploy"), "resources");
	json_t *limits = json_object_get(resources, "limits");
	json_t *v;
	/* as docker compose: a memory reservation is the container's soft limit too */
	v = json_object_get(json_object_get(resources, "reservations"), "memory");
	if (json_integer_value(v) > 0)
		json_object_set(host, "MemoryReservation", v);
	if ((v = json_object_get(limits, "memory")) && json_integer_value(v) > 0)
		json_object_set(host, "Memory", v);
	if ((v = json_object_get(limits, "cpus")) && json_number_value(v) > 0)
		json_object_set_new(host, "NanoCpus",
				    json_integer((json_int_t)(json_number_value(v) * 1e9 + 0.5)));
	if ((v = json_object_get(limits, "pids")) && json_integer_value(v) > 0)
		json_object_set(host, "PidsLimit", v);
}

/* shm_size, ulimits, tmpfs, oom_score_adj, cpu_shares, memswap_limit: HostConfig's fields, as
 * docker compose sends them. */
static void add_run_options(json_t *svc, json_t *host)
{
	static const char *const ints[][2] = {{"shm_size", "ShmSize"},
					      {"oom_score_adj", "OomScoreAdj"},
					      {"cpu_shares", "CpuShares"},
					      {"memswap_limit", "MemorySwap"}};
	json_t *v;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if ((v = json_object_get(svc, ints[i][0])) && json_is_integer(v))
			json_object_set(host, ints[i][1], v);
	const char *name;
	json_t *ulimits = json_array();
	json_object_foreach(json_object_get(svc, "ulimits"), name, v) json_array_append_new(
	    ulimits, json_pack("{s:s, s:O, s:O}", "Name", name, "Soft", json_object_get(v, "soft"),
			       "Hard", json_object_get(v, "hard")));
	if (json_array_size(ulimits))
		json_object_set_new(host, "Ulimits", ulimits);
	else
		json_decref(ulimits);
	json_t *tmpfs = json_object();
	size_t i;
	json_array_foreach(json_object_get(svc, "tmpfs"), i, v)
	{
		const char *s = json_string_value(v), *colon = s ? strchr(s, ':') : NULL;
		if (!s)
			continue;
		char *target = strndup(s, colon ? (size_t)(colon - s) : strlen(s));
		if (!target)
			abort();
		json_object_set_new(tmpfs, target, json_string(colon ? colon + 1 : ""));
		free(target);
	}
	if (json_object_size(tmpfs))
		json_object_set_new(host, "Tmpfs", tmpfs);
	else
		json_decref(tmpfs);
}

/* privileged, cap_add, cap_drop, security_opt as docker compose sends them: seccomp=FILE as
 * seccomp=<the content read at load time>, systempaths=unconfined as empty MaskedPaths and
 * ReadonlyPaths. A FILE without content (a hand-written JSON model) goes as written, for the
 * agent to refuse. */
static void add_security(json_t *svc, json_t *host)
{
	if (json_is_true(json_object_get(svc, "privileged")))
		json_object_set_new(host, "Privileged", json_true());
	json_t *v;
	if (json_is_array(v = json_object_get(svc, "cap_add")) && json_array_size(v))
		json_object_set(host, "CapAdd", v);
	if (json_is_array(v = json_object_get(svc, "cap_drop")) && json_array_size(v))
		json_object_set(host, "CapDrop", v);
	json_t *profiles = json_object_get(svc, COMPOSE_SECCOMP_PROFILES);
	json_t *out = json_array();
	size_t i;
	json_array_foreach(json_object_get(svc, "security_opt"), i, v)
	{
		const char *opt = json_string_value(v), *content;
		if (!opt)
			continue;
		if (!strcmp(opt, "systempaths=unconfined")) {
			json_object_set_new(host, "MaskedPaths", json_array());
			json_object_set_new(host, "ReadonlyPaths", json_array());
			continue;
		}
		if ((!strncmp(opt, "seccomp=", 8) || !strncmp(opt, "seccomp:", 8)) &&
		    (content = json_string_value(json_object_get(profiles, opt + 8)))) {
			size_t len = strlen(content) + sizeof("seccomp=");
			char *s = malloc(len);
			if (!s)
				abort();
			snprintf(s, len, "seccomp=%s", content);
			json_array_append_new(out, json_string(s));
			free(s);
			continue;
		}
		json_array_append(out, v);
	}
	if (json_array_size(out))
		json_object_set_new(host, "SecurityOpt", out);
	else
		json_decref(out);
}

void sched_create_body_pin(json_t *body, const char *cpus)
{
	json_t *labels = json_object_get(body, "Labels");
	if (!labels) {
		labels = json_object();
		json_object_set_new(body, "Labels", labels);
	}
	json_object_set_new(json_object_get(body, "HostConfig"), "CpusetCpus", json_string(cpus));
	json_object_set_new(labels, SCHED_LABEL_CPUSET, json_string(cpus));
}

static void set_string(json_t *to, const char *key, json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);
	if (json_is_string(v) && *json_string_value(v))
		json_object_set(to, key, v);
}

json_t *sched_create_body(const json_t *model, const char *project, const char *service, int number,
			  const char *hash, struct berth_error *err)
{
	json_t *svc = json_object_get(json_object_get(model, "services"), service);
	if (!svc) {
		berth_err(err, 404, "no such service: %s", service);
		return NULL;
	}
	const char *image = json_string_value(json_object_get(svc, "image"));
	if (!image || !*image) {
		if (json_object_get(svc, "build"))
			berth_err(err, 400,
				  "service \"%s\": build is not supported yet (no image builder); "
				  "give it an image",
				  service);
		else
			berth_err(err, 400, "service \"%s\" has neither an image nor a build",
				  service);
		return NULL;
	}
	json_t *body = json_pack("{s:s}", "Image", image);
	json_t *host = json_object();
	json_t *labels = json_object();
	json_object_set_new(body, "HostConfig", host);
	json_t *v;
	if ((v = strings_copy(json_object_get(svc, "command"))))
		json_object_set_new(body, "Cmd", v);
	if ((v = strings_copy(json_object_get(svc, "entrypoint"))))
		json_object_set_new(body, "Entrypoint", v);
	if ((v = json_object_get(svc, "environment")))
		json_object_set_new(body, "Env", env_list(v));
	add_ports(svc, body, host);
	add_volumes(model, project, svc, body, host);
	add_resources(svc, host);
	add_run_options(svc, host);
	add_security(svc, host);
	json_object_set_new(host, "RestartPolicy", restart_policy(svc));
	if (json_is_true(json_object_get(svc, "init")))
		json_object_set_new(host, "Init", json_true());
	if ((v = healthcheck(json_object_get(svc, "healthcheck"))))
		json_object_set_new(body, "Healthcheck", v);
	set_string(body, "Hostname", svc, "hostname");
	set_string(body, "User", svc, "user");
	set_string(body, "WorkingDir", svc, "working_dir");
	set_string(body, "StopSignal", svc, "stop_signal");
	if ((v = json_object_get(svc, "stop_grace_period")) && json_is_integer(v))
		json_object_set_new(body, "StopTimeout",
				    json_integer(json_integer_value(v) / 1000000000LL));

	const char *key;
	json_object_foreach(json_object_get(svc, "labels"), key, v) json_object_set(labels, key, v);
	json_object_set_new(labels, SCHED_LABEL_PROJECT, json_string(project));
	json_object_set_new(labels, SCHED_LABEL_SERVICE, json_string(service));
	json_object_set_new(labels, SCHED_LABEL_NUMBER, json_sprintf("%d", number));
	json_object_set_new(labels, SCHED_LABEL_ONEOFF, json_string("False"));
	json_object_set_new(labels, SCHED_LABEL_HASH, json_string(hash ? hash : ""));
	json_object_set_new(body, "Labels", labels);
	/* The whole pool (Docker's meaning); a replica pinned by pinning.c gets its share. */
	if ((v = json_object_get(svc, "cpuset")) && json_is_string(v))
		sched_create_body_pin(body, json_string_value(v));

	const char *mode = json_string_value(json_object_get(svc, "network_mode"));
	if (mode && *mode) {
		json_object_set_new(host, "NetworkMode", json_string(mode));
		return body;
	}
	/* The first network at create (Docker's API takes one); the others are connected
	 * before start. The service name is an alias on each, so DNS answers it with every
	 * replica. */
	_cleanup_strv_ char **nets = sched_service_networks(model, project, service);
	json_object_set_new(host, "NetworkMode", json_string(nets[0]));
	json_t *aliases = json_pack("[s]", service);
	json_t *first = json_object_get(svc, "networks");
	const char *first_key = NULL;
	json_object_foreach(first, key, v)
	{
		first_key = key;
		break;
	}
	size_t i;
	json_t *a;
	json_array_foreach(
	    json_object_get(json_object_get(first, first_key ? first_key : ""), "aliases"), i, a)
	    json_array_append(aliases, a);
	json_object_set_new(
	    body, "NetworkingConfig",
	    json_pack("{s:{s:{s:o}}}", "EndpointsConfig", nets[0], "Aliases", aliases));
	return body;
}
