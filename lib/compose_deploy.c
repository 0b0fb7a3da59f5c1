/* Service build, healthcheck, restart and deploy (replicas, resources, policies), and legacy keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

static const char *const restart_conditions[] = {"none", "on-failure", "any", NULL};
static const char *const failure_actions[] = {"continue", "rollback", "pause", NULL};
static const char *const update_orders[] = {"stop-first", "start-first", NULL};

static bool is_remote_context(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11);
}

int compose_build(const struct cnode *v, const char *path, json_t *svc,
		  const struct compose_ctx *ctx, struct berth_error *err)
{
	static const struct cfield fields[] = {
	    {.key = "dockerfile", .type = CF_STRING},
	    {.key = "dockerfile_inline", .type = CF_STRING},
	    {.key = "args", .type = CF_DICT, .min = 1},
	    {.key = "target", .type = CF_STRING},
	    {.key = "labels", .type = CF_DICT},
	    {.key = "tags", .type = CF_LIST},
	    {.key = "no_cache", .type = CF_BOOL},
	    {.key = "pull", .type = CF_BOOL},
	    {.key = "network", .type = CF_STRING},
	    {.key = NULL},
	};
	_cleanup_json_ json_t *b = json_object();
	const char *context = ".";
	if (v->kind == CNODE_SCALAR && !cnode_is_null(v)) {
		context = v->value;
	} else {
		if (cget_kind(v, CNODE_MAP, path, err) < 0 ||
		    compose_check_keys(v, COMPOSE_SEC_BUILD, path, err) < 0)
			return -1;
		const struct cnode *c = cnode_get(v, "context");
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s.context", path);
		if (c && cget_string(c, sub, &context, err) < 0)
			return -1;
		if (cget_fields(v, path, fields, b, err) < 0)
			return -1;
		if (json_object_get(b, "dockerfile") && json_object_get(b, "dockerfile_inline"))
			return cnode_err(err, v, path,
					 "dockerfile and dockerfile_inline cannot both be set");
	}
	if (is_remote_context(context)) {
		json_object_set_new(b, "context", json_string(context));
	} else {
		_cleanup_free_ char *abs = compose_abs_path(*context ? context : ".", ctx);
		json_object_set_new(b, "context", json_string(abs));
	}
	if (!json_object_get(b, "dockerfile") && !json_object_get(b, "dockerfile_inline"))
		json_object_set_new(b, "dockerfile", json_string("Dockerfile"));
	json_object_set_new(svc, "build", steal_pointer(&b));
	return 0;
}

/* The test forms the agent runs: NONE, CMD, CMD-SHELL, and its CMD-HTTP / CMD-TCP probes. */
static int check_test(json_t *l, const struct cnode *t, const char *path, struct berth_error *err)
{
	const char *first = json_string_value(json_array_get(l, 0));
	size_t n = json_array_size(l);
	if (!first ||
	    (strcmp(first, "CMD") && strcmp(first, "CMD-SHELL") && strcmp(first, "NONE") &&
	     strcmp(first, "CMD-HTTP") && strcmp(first, "CMD-TCP")))
		return cnode_err(
		    err, t, path,
		    "must start with \"CMD\", \"CMD-SHELL\", \"CMD-HTTP\", \"CMD-TCP\" or "
		    "\"NONE\"");
	if (strcmp(first, "NONE") && n < 2)
		return cnode_err(err, t, path, "%s needs a command", first);
	const char *arg = json_string_value(json_array_get(l, 1));
	if (!strcmp(first, "CMD-HTTP") && (n != 2 || strncmp(arg, "http://", 7)))
		return cnode_err(err, t, path, "CMD-HTTP takes one http:// URL");
	if (!strcmp(first, "CMD-TCP")) {
		const char *colon = strrchr(arg, ':');
		char *end;
		long port = strtol(colon ? colon + 1 : arg, &end, 10);
		if (n != 2 || *end || port < 1 || port > 65535 || end == (colon ? colon + 1 : arg))
			return cnode_err(err, t, path, "CMD-TCP takes one PORT or HOST:PORT");
	}
	return 0;
}

int compose_healthcheck(const struct cnode *v, const char *path, json_t *svc,
			const struct compose_ctx *ctx, struct berth_error *err)
{
	static const struct cfield fields[] = {
	    {.key = "interval", .type = CF_DURATION},
	    {.key = "timeout", .type = CF_DURATION},
	    {.key = "start_period", .type = CF_DURATION},
	    {.key = "start_interval", .type = CF_DURATION},
	    {.key = "retries", .type = CF_INT, .min = 0, .max = 1000000},
	    {.key = "disable", .type = CF_BOOL},
	    {.key = NULL},
	};
	if (cget_kind(v, CNODE_MAP, path, err) < 0 ||
	    compose_check_keys(v, COMPOSE_SEC_HEALTHCHECK, path, err) < 0)
		return -1;
	_cleanup_json_ json_t *h = json_object();
	const struct cnode *t = cnode_get(v, "test");
	char sub[COMPOSE_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s.test", path);
	if (t && t->kind == CNODE_SCALAR && !cnode_is_null(t)) {
		/* A string test runs through the container's shell, as compose does, except
		 * berth's probes from outside the container: "http://..." and "tcp:PORT". */
		const char *kind = !strncmp(t->value, "http://", 7) ? "CMD-HTTP"
				   : !strncmp(t->value, "tcp:", 4)  ? "CMD-TCP"
								    : "CMD-SHELL";
		const char *arg = !strcmp(kind, "CMD-TCP") ? t->value + 4 : t->value;
		json_object_set_new(h, "test", json_pack("[s, s]", kind, arg));
	} else if (t) {
		json_t *l = cget_string_list(t, sub, false, err);
		if (!l)
			return -1;
		json_object_set_new(h, "test", l);
	}
	if (t && check_test(json_object_get(h, "test"), t, sub, err) < 0)
		return -1;
	if (cget_fields(v, path, fields, h, err) < 0)
		return -1;
	json_object_set_new(svc, "healthcheck", steal_pointer(&h));
	return 0;
}

int compose_restart(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err)
{
	const char *s;
	if (cget_string(v, path, &s, err) < 0)
		return -1;
	bool ok = !strcmp(s, "no") || !strcmp(s, "always") || !strcmp(s, "unless-stopped") ||
		  !strcmp(s, "on-failure");
	if (!ok && !strncmp(s, "on-failure:", 11)) {
		char *end;
		long n = strtol(s + 11, &end, 10);
		ok = s[11] >= '0' && s[11] <= '9' && !*end && n >= 0;
	}
	if (!ok)
		return cnode_err(err, v, path,
				 "must be no, always, on-failure[:N] or unless-stopped, not \"%s\"",
				 s);
	json_object_set_new(svc, "restart", json_string(s));
	return 0;
}

static int sub_map(const struct cnode *parent, const char *key, const char *path,
		   enum compose_section sec, const struct cfield *fields, json_t *out,
		   struct berth_error *err)
{
	const struct cnode *v = cnode_get(parent, key);
	if (!v)
		return 0;
	char sub[COMPOSE_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s.%s", path, key);
	if (cget_kind(v, CNODE_MAP, sub, err) < 0 || compose_check_keys(v, sec, sub, err) < 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(out, key, o);
	return cget_fields(v, sub, fields, o, err);
}

int compose_deploy(const struct cnode *v, const char *path, json_t *svc,
		   const struct compose_ctx *ctx, struct berth_error *err)
{
	static const struct cfield fields[] = {
	    {.key = "replicas", .type = CF_INT, .min = 0, .max = 1000000},
	    {.key = "labels", .type = CF_DICT},
	    {.key = NULL},
	};
	static const struct cfield resource[] = {
	    {.key = "cpus", .type = CF_NUMBER},
	    {.key = "memory", .type = CF_BYTES},
	    {.key = "pids", .type = CF_INT, .min = -1, .max = 1LL << 31},
	    {.key = NULL},
	};
	static const struct cfield restart_policy[] = {
	    {.key = "condition", .type = CF_ENUM, .choices = restart_conditions},
	    {.key = "delay", .type = CF_DURATION},
	    {.key = "max_attempts", .type = CF_INT, .min = 0, .max = 1LL << 31},
	    {.key = "window", .type = CF_DURATION},
	    {.key = NULL},
	};
	static const struct cfield update[] = {
	    {.key = "parallelism", .type = CF_INT, .min = 0, .max = 1000000},
	    {.key = "delay", .type = CF_DURATION},
	    {.key = "failure_action", .type = CF_ENUM, .choices = failure_actions},
	    {.key = "monitor", .type = CF_DURATION},
	    {.key = "max_failure_ratio", .type = CF_NUMBER},
	    {.key = "order", .type = CF_ENUM, .choices = update_orders},
	    {.key = NULL},
	};
	if (cget_kind(v, CNODE_MAP, path, err) < 0 ||
	    compose_check_keys(v, COMPOSE_SEC_DEPLOY, path, err) < 0)
		return -1;
	_cleanup_json_ json_t *d = json_object();
	const struct cnode *mode = cnode_get(v, "mode");
	char sub[COMPOSE_PATH_MAX];
	if (mode) {
		snprintf(sub, sizeof(sub), "%s.mode", path);
		const char *s;
		if (cget_string(mode, sub, &s, err) < 0)
			return -1;
		if (!strcmp(s, "global"))
			return cnode_err(err, mode, sub,
					 "global is not supported by berth (one host: use "
					 "replicas)");
		if (strcmp(s, "replicated"))
			return cnode_err(err, mode, sub, "must be replicated, not \"%s\"", s);
		json_object_set_new(d, "mode", json_string(s));
	}
	if (cget_fields(v, path, fields, d, err) < 0)
		return -1;
	const struct cnode *res = cnode_get(v, "resources");
	if (res) {
		snprintf(sub, sizeof(sub), "%s.resources", path);
		if (cget_kind(res, CNODE_MAP, sub, err) < 0 ||
		    compose_check_keys(res, COMPOSE_SEC_RESOURCES, sub, err) < 0)
			return -1;
		json_t *r = json_object();
		json_object_set_new(d, "resources", r);
		if (sub_map(res, "limits", sub, COMPOSE_SEC_RESOURCE, resource, r, err) < 0 ||
		    sub_map(res, "reservations", sub, COMPOSE_SEC_RESOURCE, resource, r, err) < 0)
			return -1;
	}
	if (sub_map(v, "restart_policy", path, COMPOSE_SEC_RESTART_POLICY, restart_policy, d, err) <
		0 ||
	    sub_map(v, "update_config", path, COMPOSE_SEC_UPDATE_CONFIG, update, d, err) < 0 ||
	    sub_map(v, "rollback_config", path, COMPOSE_SEC_UPDATE_CONFIG, update, d, err) < 0)
		return -1;
	json_object_set_new(svc, "deploy", steal_pointer(&d));
	return 0;
}

/* Set deploy.<p1>[.<p2>[.<p3>]] unless it holds a different value. */
static int fold(json_t *svc, const struct cnode *mark, const char *path, json_t *val,
		const char *what, const char *p1, const char *p2, const char *p3,
		struct berth_error *err)
{
	json_t *o = json_object_get(svc, "deploy");
	if (!o) {
		o = json_object();
		json_object_set_new(svc, "deploy", o);
	}
	const char *parts[] = {p1, p2, p3};
	const char *last = p1;
	for (int i = 0; i < 2 && parts[i + 1]; i++) {
		json_t *next = json_object_get(o, parts[i]);
		if (!next) {
			next = json_object();
			json_object_set_new(o, parts[i], next);
		}
		o = next;
		last = parts[i + 1];
	}
	json_t *cur = json_object_get(o, last);
	if (cur && !json_equal(cur, val)) {
		json_decref(val);
		return cnode_err(err, mark, path, "conflicts with %s", what);
	}
	json_object_set_new(o, last, val);
	return 0;
}

int compose_fold_legacy(const struct cnode *svc, const char *path, json_t *out,
			struct berth_error *err)
{
	static const struct {
		const char *key, *what, *p1, *p2, *p3;
		enum cfield_type type;
	} legacy[] = {
	    {"scale", "deploy.replicas", "replicas", NULL, NULL, CF_INT},
	    {"mem_limit", "deploy.resources.limits.memory", "resources", "limits", "memory",
	     CF_BYTES},
	    {"mem_reservation", "deploy.resources.reservations.memory", "resources", "reservations",
	     "memory", CF_BYTES},
	    {"cpus", "deploy.resources.limits.cpus", "resources", "limits", "cpus", CF_NUMBER},
	    {"pids_limit", "deploy.resources.limits.pids", "resources", "limits", "pids", CF_INT},
	};
	for (size_t i = 0; i < sizeof(legacy) / sizeof(*legacy); i++) {
		const struct cnode *v = cnode_get(svc, legacy[i].key);
		if (!v)
			continue;
		long long min = !strcmp(legacy[i].key, "pids_limit") ? -1 : 0;
		struct cfield f[2] = {
		    {.key = legacy[i].key, .type = legacy[i].type, .min = min, .max = 1000000000},
		    {.key = NULL}};
		_cleanup_json_ json_t *tmp = json_object();
		if (cget_fields(svc, path, f, tmp, err) < 0)
			return -1;
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s.%s", path, legacy[i].key);
		if (fold(out, svc->keys[cnode_find(svc, legacy[i].key)], sub,
			 json_incref(json_object_get(tmp, legacy[i].key)), legacy[i].what,
			 legacy[i].p1, legacy[i].p2, legacy[i].p3, err) < 0)
			return -1;
	}
	return 0;
}
