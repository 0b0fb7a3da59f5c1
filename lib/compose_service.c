/* One service's keys into the canonical model: dispatch, strings, environment, networks, deps. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/cpuset.h"
#include "berth/fsutil.h"
#include "compose_internal.h"

static int set_string(const struct cnode *v, const char *path, json_t *svc, const char *key,
		      struct berth_error *err)
{
	const char *s;
	if (cget_string(v, path, &s, err) < 0)
		return -1;
	json_object_set_new(svc, key, json_string(s));
	return 0;
}

static int h_image(const struct cnode *v, const char *path, json_t *svc,
		   const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cget_kind(v, CNODE_SCALAR, path, err) < 0)
		return -1;
	if (!*v->value)
		return cnode_err(err, v, path, "must not be empty");
	return set_string(v, path, svc, "image", err);
}

/* A string command is split into words as compose does (no sh -c); a list is taken as is. */
static int h_command(const struct cnode *v, const char *path, json_t *svc,
		     const struct compose_ctx *ctx, struct berth_error *err)
{
	const char *key = strrchr(path, '.') + 1;
	if (cnode_is_null(v))
		return 0;
	json_t *words;
	if (v->kind == CNODE_SCALAR) {
		const char *problem = NULL;
		words = json_array();
		if (compose_split_words(v->value, words, &problem) < 0) {
			json_decref(words);
			return cnode_err(err, v, path, "%s in \"%s\"", problem, v->value);
		}
	} else if (!(words = cget_string_list(v, path, false, err))) {
		return -1;
	}
	json_object_set_new(svc, key, words);
	return 0;
}

static int h_string(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err)
{
	return set_string(v, path, svc, strrchr(path, '.') + 1, err);
}

static int h_working_dir(const struct cnode *v, const char *path, json_t *svc,
			 const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cget_kind(v, CNODE_SCALAR, path, err) < 0)
		return -1;
	if (v->value[0] != '/')
		return cnode_err(err, v, path, "must be an absolute path, not \"%s\"", v->value);
	return set_string(v, path, svc, "working_dir", err);
}

static bool valid_name(const char *s, size_t min_len)
{
	if (strlen(s) < min_len || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static int h_container_name(const struct cnode *v, const char *path, json_t *svc,
			    const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cget_kind(v, CNODE_SCALAR, path, err) < 0)
		return -1;
	if (!valid_name(v->value, 2))
		return cnode_err(err, v, path,
				 "invalid container name \"%s\", only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				 "are allowed",
				 v->value);
	return set_string(v, path, svc, "container_name", err);
}

static int h_bool(const struct cnode *v, const char *path, json_t *svc,
		  const struct compose_ctx *ctx, struct berth_error *err)
{
	bool b;
	if (cget_bool(v, path, &b, err) < 0)
		return -1;
	json_object_set_new(svc, strrchr(path, '.') + 1, json_boolean(b));
	return 0;
}

static int h_duration(const struct cnode *v, const char *path, json_t *svc,
		      const struct compose_ctx *ctx, struct berth_error *err)
{
	int64_t ns;
	if (cget_duration(v, path, &ns, err) < 0)
		return -1;
	json_object_set_new(svc, strrchr(path, '.') + 1, json_integer(ns));
	return 0;
}

/* cpuset: "0-3,8" (or a plain number), checked and kept in the kernel's form; "" = none. */
static int h_cpuset(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err)
{
	const char *s;
	struct berth_cpuset set;
	if (cnode_is_null(v))
		return 0;
	if (cget_string(v, path, &s, err) < 0)
		return -1;
	if (!*s)
		return 0;
	if (strchr(s, '\n') || berth_cpuset_parse(s, &set) < 0)
		return cnode_err(err, v, path,
				 "invalid CPU list \"%s\": want numbers and ranges such as "
				 "\"0-3,8\"",
				 s);
	char canon[1024];
	if (berth_cpuset_format(&set, canon, sizeof(canon)) >= sizeof(canon))
		return cnode_err(err, v, path, "CPU list \"%s\" is too long", s);
	json_object_set_new(svc, "cpuset", json_string(canon));
	return 0;
}

static int h_labels(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *d = cget_dict(v, path, false, err);
	if (!d)
		return -1;
	json_object_set_new(svc, "labels", d);
	return 0;
}

static int h_profiles(const struct cnode *v, const char *path, json_t *svc,
		      const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *l = cget_string_list(v, path, false, err);
	if (!l)
		return -1;
	size_t i;
	json_t *p;
	json_array_foreach(l, i, p)
	{
		if (!valid_name(json_string_value(p), 1)) {
			json_decref(l);
			return cnode_err(err, v->vals[i], path, "invalid profile name \"%s\"",
					 v->vals[i]->value);
		}
	}
	json_object_set_new(svc, "profiles", l);
	return 0;
}

static int h_ports(const struct cnode *v, const char *path, json_t *svc,
		   const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *a = json_array();
	json_object_set_new(svc, "ports", a);
	return compose_ports(v, path, a, err);
}

static int h_expose(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *a = json_array();
	json_object_set_new(svc, "expose", a);
	return compose_expose(v, path, a, err);
}

static int h_volumes(const struct cnode *v, const char *path, json_t *svc,
		     const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cget_kind(v, CNODE_SEQ, path, err) < 0)
		return -1;
	json_t *a = json_array();
	json_object_set_new(svc, "volumes", a);
	for (size_t i = 0; i < v->n; i++) {
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (compose_volume(v->vals[i], sub, ctx, a, err) < 0)
			return -1;
	}
	return 0;
}

static int service_network(const char *name, const struct cnode *mark, const struct cnode *v,
			   const char *path, const struct compose_ctx *ctx, json_t *out,
			   struct berth_error *err)
{
	char sub[COMPOSE_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s.%s", path, name);
	if (strcmp(name, "default") && cnode_find(ctx->networks, name) < 0)
		return cnode_err(err, mark, path,
				 "network \"%s\" is not declared in the top-level networks", name);
	if (cnode_is_null(v)) {
		json_object_set_new(out, name, json_null());
		return 0;
	}
	if (cget_kind(v, CNODE_MAP, sub, err) < 0 ||
	    compose_check_keys(v, COMPOSE_SEC_SERVICE_NETWORK, sub, err) < 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(out, name, o);
	const struct cnode *a = cnode_get(v, "aliases"), *ip = cnode_get(v, "ipv4_address");
	char sub2[COMPOSE_PATH_MAX];
	if (a) {
		snprintf(sub2, sizeof(sub2), "%s.aliases", sub);
		json_t *l = cget_string_list(a, sub2, false, err);
		if (!l)
			return -1;
		json_object_set_new(o, "aliases", l);
	}
	if (ip) {
		snprintf(sub2, sizeof(sub2), "%s.ipv4_address", sub);
		struct in_addr addr;
		if (cget_kind(ip, CNODE_SCALAR, sub2, err) < 0)
			return -1;
		if (inet_pton(AF_INET, ip->value, &addr) != 1)
			return cnode_err(err, ip, sub2, "invalid IPv4 address \"%s\"", ip->value);
		json_object_set_new(o, "ipv4_address", json_string(ip->value));
	}
	return 0;
}

static int h_networks(const struct cnode *v, const char *path, json_t *svc,
		      const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *out = json_object();
	json_object_set_new(svc, "networks", out);
	if (v->kind == CNODE_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			char sub[COMPOSE_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (cget_kind(v->vals[i], CNODE_SCALAR, sub, err) < 0 ||
			    service_network(v->vals[i]->value, v->vals[i], NULL, path, ctx, out,
					    err) < 0)
				return -1;
		}
		return 0;
	}
	if (cget_kind(v, CNODE_MAP, path, err) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (service_network(v->keys[i]->value, v->keys[i], v->vals[i], path, ctx, out,
				    err) < 0)
			return -1;
	return 0;
}

/* Modes the agent implements; "service:NAME" would need the scheduler to pick a replica. */
static int h_network_mode(const struct cnode *v, const char *path, json_t *svc,
			  const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cget_kind(v, CNODE_SCALAR, path, err) < 0)
		return -1;
	const char *m = v->value;
	if (!strncmp(m, "service:", 8))
		return cnode_err(err, v, path, "\"%s\": service: is not supported by berth", m);
	if (strcmp(m, "none") && strcmp(m, "host") && strcmp(m, "bridge") &&
	    !(strncmp(m, "container:", 10) == 0 && m[10]))
		return cnode_err(err, v, path,
				 "must be none, host, bridge or container:NAME, not \"%s\"", m);
	return set_string(v, path, svc, "network_mode", err);
}

static const char *const conditions[] = {"service_started", "service_healthy",
					 "service_completed_successfully", NULL};

static int h_depends_on(const struct cnode *v, const char *path, json_t *svc,
			const struct compose_ctx *ctx, struct berth_error *err)
{
	json_t *out = json_object();
	json_object_set_new(svc, "depends_on", out);
	if (v->kind == CNODE_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			char sub[COMPOSE_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (cget_kind(v->vals[i], CNODE_SCALAR, sub, err) < 0)
				return -1;
			json_object_set_new(
			    out, v->vals[i]->value,
			    json_pack("{s:s, s:b}", "condition", "service_started", "required", 1));
		}
		return 0;
	}
	if (cget_kind(v, CNODE_MAP, path, err) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		char sub[COMPOSE_PATH_MAX], sub2[COMPOSE_PATH_MAX];
		const struct cnode *d = v->vals[i], *c;
		snprintf(sub, sizeof(sub), "%s.%s", path, v->keys[i]->value);
		json_t *o = json_pack("{s:s, s:b}", "condition", "service_started", "required", 1);
		json_object_set_new(out, v->keys[i]->value, o);
		if (cnode_is_null(d))
			continue;
		if (cget_kind(d, CNODE_MAP, sub, err) < 0 ||
		    compose_check_keys(d, COMPOSE_SEC_DEPENDS_ON, sub, err) < 0)
			return -1;
		if ((c = cnode_get(d, "condition"))) {
			snprintf(sub2, sizeof(sub2), "%s.condition", sub);
			const char *s;
			if (cget_string(c, sub2, &s, err) < 0)
				return -1;
			size_t k = 0;
			while (conditions[k] && strcmp(conditions[k], s))
				k++;
			if (!conditions[k])
				return cnode_err(err, c, sub2,
						 "must be service_started, service_healthy or "
						 "service_completed_successfully, not \"%s\"",
						 s);
			json_object_set_new(o, "condition", json_string(s));
		}
		const char *flags[] = {"required", "restart"};
		for (int f = 0; f < 2; f++) {
			bool b;
			if (!(c = cnode_get(d, flags[f])))
				continue;
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, flags[f]);
			if (cget_bool(c, sub2, &b, err) < 0)
				return -1;
			json_object_set_new(o, flags[f], json_boolean(b));
		}
	}
	return 0;
}

static const struct {
	const char *key;
	int (*fn)(const struct cnode *v, const char *path, json_t *svc,
		  const struct compose_ctx *ctx, struct berth_error *err);
} handlers[] = {
    {"image", h_image},
    {"build", compose_build},
    {"command", h_command},
    {"entrypoint", h_command},
    {"ports", h_ports},
    {"expose", h_expose},
    {"volumes", h_volumes},
    {"networks", h_networks},
    {"network_mode", h_network_mode},
    {"depends_on", h_depends_on},
    {"healthcheck", compose_healthcheck},
    {"restart", compose_restart},
    {"deploy", compose_deploy},
    {"labels", h_labels},
    {"container_name", h_container_name},
    {"hostname", h_string},
    {"user", h_string},
    {"stop_signal", h_string},
    {"working_dir", h_working_dir},
    {"init", h_bool},
    {"cpuset", h_cpuset},
    {"stop_grace_period", h_duration},
    {"profiles", h_profiles},
    {"shm_size", compose_run_option},
    {"ulimits", compose_run_option},
    {"tmpfs", compose_run_option},
    {"oom_score_adj", compose_run_option},
    {"cpu_shares", compose_run_option},
    {"memswap_limit", compose_run_option},
    {"privileged", compose_security},
    {"cap_add", compose_security},
    {"cap_drop", compose_security},
    {"security_opt", compose_security},
};

json_t *compose_normalize_service(const char *name, const struct cnode *svc,
				  const struct compose_ctx *ctx, struct berth_error *err)
{
	char path[COMPOSE_PATH_MAX];
	snprintf(path, sizeof(path), "services.%s", name);
	if (cnode_is_null(svc)) {
		cnode_err(err, svc, path, "must be a mapping, not null");
		return NULL;
	}
	if (cget_kind(svc, CNODE_MAP, path, err) < 0 ||
	    compose_check_keys(svc, COMPOSE_SEC_SERVICE, path, err) < 0)
		return NULL;
	_cleanup_json_ json_t *out = json_object();
	for (size_t i = 0; i < svc->n; i++) {
		const char *key = svc->keys[i]->value;
		const struct cnode *v = svc->vals[i];
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (!strncmp(key, "x-", 2)) {
			json_object_set_new(out, key, cnode_to_json(v));
			continue;
		}
		for (size_t h = 0; h < sizeof(handlers) / sizeof(*handlers); h++) {
			if (strcmp(handlers[h].key, key))
				continue;
			if (handlers[h].fn(v, sub, out, ctx, err) < 0)
				return NULL;
			break;
		}
	}
	if (compose_environment(svc, path, out, ctx, err) < 0 ||
	    compose_fold_legacy(svc, path, out, err) < 0)
		return NULL;
	const struct cnode *mode = cnode_get(svc, "network_mode");
	if (mode && cnode_get(svc, "networks")) {
		snprintf(path + strlen(path), sizeof(path) - strlen(path), ".network_mode");
		cnode_err(err, mode, path, "cannot be used with networks");
		return NULL;
	}
	if (!mode && !json_object_get(out, "networks"))
		json_object_set_new(out, "networks", json_pack("{s:n}", "default"));
	return steal_pointer(&out);
}
