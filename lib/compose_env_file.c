/* A service's environment: env_file files in order, then environment (list or map) over them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "compose_internal.h"

static int read_env_file(const char *file, bool required, const struct cnode *mark,
			 const char *path, const struct compose_ctx *ctx, json_t *env,
			 struct berth_error *err)
{
	_cleanup_free_ char *abs = compose_abs_path(file, ctx);
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct berth_error e = {0};
	if (access(abs, F_OK) < 0 && errno == ENOENT) {
		if (!required)
			return 0;
		return cnode_err(err, mark, path, "env file %s not found", abs);
	}
	if (berth_read_file_max(abs, BERTH_ENV_FILE_MAX, true, &data, &len, &e) < 0)
		return cnode_err(err, mark, path, "env file %s", e.msg);
	struct compose_env vars = {0};
	if (compose_dotenv_parse(abs, data, ctx->env, &vars, &e) < 0) {
		compose_env_free(&vars);
		return cnode_err(err, mark, path, "%s", e.msg);
	}
	for (size_t i = 0; i < vars.n; i++) {
		char *eq = strchr(vars.vars[i], '=');
		*eq = '\0';
		json_object_set_new(env, vars.vars[i], json_string(eq + 1));
		*eq = '=';
	}
	compose_env_free(&vars);
	return 0;
}

static int env_files(const struct cnode *v, const char *path, const struct compose_ctx *ctx,
		     json_t *env, struct berth_error *err)
{
	if (v->kind == CNODE_SCALAR && !cnode_is_null(v))
		return read_env_file(v->value, true, v, path, ctx, env, err);
	if (cget_kind(v, CNODE_SEQ, path, err) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		const struct cnode *it = v->vals[i];
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (it->kind == CNODE_SCALAR && !cnode_is_null(it)) {
			if (read_env_file(it->value, true, it, sub, ctx, env, err) < 0)
				return -1;
			continue;
		}
		static const struct cfield fields[] = {
		    {.key = "path", .type = CF_STRING},
		    {.key = "required", .type = CF_BOOL},
		    {.key = "format", .type = CF_STRING},
		    {.key = NULL},
		};
		_cleanup_json_ json_t *o = json_object();
		if (cget_kind(it, CNODE_MAP, sub, err) < 0 ||
		    compose_check_keys(it, COMPOSE_SEC_ENV_FILE, sub, err) < 0 ||
		    cget_fields(it, sub, fields, o, err) < 0)
			return -1;
		const char *file = json_string_value(json_object_get(o, "path"));
		const char *format = json_string_value(json_object_get(o, "format"));
		json_t *req = json_object_get(o, "required");
		if (!file)
			return cnode_err(err, it, sub, "path is required");
		if (format && strcmp(format, "raw") && strcmp(format, "dotenv"))
			return cnode_err(err, cnode_get(it, "format"), sub,
					 "format \"%s\" is not supported by berth", format);
		if (read_env_file(file, !req || json_is_true(req), it, sub, ctx, env, err) < 0)
			return -1;
	}
	return 0;
}

int compose_environment(const struct cnode *svc, const char *path, json_t *out,
			const struct compose_ctx *ctx, struct berth_error *err)
{
	const struct cnode *files = cnode_get(svc, "env_file");
	const struct cnode *envn = cnode_get(svc, "environment");
	if (!files && !envn)
		return 0;
	_cleanup_json_ json_t *env = json_object();
	char sub[COMPOSE_PATH_MAX];
	if (files) {
		snprintf(sub, sizeof(sub), "%s.env_file", path);
		if (env_files(files, sub, ctx, env, err) < 0)
			return -1;
	}
	if (envn && !cnode_is_null(envn)) {
		snprintf(sub, sizeof(sub), "%s.environment", path);
		_cleanup_json_ json_t *d = cget_dict(envn, sub, true, err);
		if (!d)
			return -1;
		const char *k;
		json_t *v;
		json_object_foreach(d, k, v)
		{
			/* A bare KEY takes the value from the environment compose runs in. */
			const char *from = json_is_null(v) ? compose_env_get(ctx->env, k) : NULL;
			json_object_set_new(env, k, from ? json_string(from) : json_incref(v));
		}
	}
	json_object_set_new(out, "environment", steal_pointer(&env));
	return 0;
}
