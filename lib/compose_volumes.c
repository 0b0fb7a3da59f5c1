/* Service volumes, short ("SRC:DST:ro") and long syntax, into the canonical mount objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

static bool is_bind_source(const char *s)
{
	return s[0] == '.' || s[0] == '/' || s[0] == '~';
}

static int check_named(const char *name, const struct cnode *n, const char *path,
		       const struct compose_ctx *ctx, struct berth_error *err)
{
	if (cnode_find(ctx->volumes, name) >= 0)
		return 0;
	return cnode_err(err, n, path, "volume \"%s\" is not declared in the top-level volumes",
			 name);
}

static json_t *mount(const char *type, const char *source, const char *target, bool ro)
{
	json_t *m = json_pack("{s:s}", "type", type);
	if (source)
		json_object_set_new(m, "source", json_string(source));
	json_object_set_new(m, "target", json_string(target));
	json_object_set_new(m, "read_only", json_boolean(ro));
	return m;
}

static json_t *sub_object(json_t *m, const char *key)
{
	json_t *o = json_object_get(m, key);
	if (!o) {
		o = json_object();
		json_object_set_new(m, key, o);
	}
	return o;
}

static int short_volume(const char *spec, const struct cnode *n, const char *path,
			const struct compose_ctx *ctx, json_t *out, struct berth_error *err)
{
	char *parts[3] = {0};
	int np = 0;
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		abort();
	for (char *p = copy, *tok; (tok = strsep(&p, ":"));) {
		if (np == 3)
			return cnode_err(err, n, path, "invalid volume \"%s\": too many colons",
					 spec);
		parts[np++] = tok;
	}
	const char *source = np >= 2 ? parts[0] : NULL;
	const char *target = np >= 2 ? parts[1] : parts[0];
	if (!*target || target[0] != '/')
		return cnode_err(err, n, path,
				 "invalid volume \"%s\": the target must be an absolute path",
				 spec);
	if (source && !*source)
		return cnode_err(err, n, path, "invalid volume \"%s\": empty source", spec);
	bool bind = source && is_bind_source(source);
	if (source && !bind && check_named(source, n, path, ctx, err) < 0)
		return -1;
	_cleanup_free_ char *abs = bind ? compose_abs_path(source, ctx) : NULL;
	json_t *m = mount(bind ? "bind" : "volume", bind ? abs : source, target, false);
	if (bind)
		json_object_set_new(sub_object(m, "bind"), "create_host_path", json_true());
	for (char *opts = np == 3 ? parts[2] : NULL, *o; opts && (o = strsep(&opts, ","));) {
		if (!strcmp(o, "ro") || !strcmp(o, "rw")) {
			json_object_set_new(m, "read_only", json_boolean(o[1] == 'o'));
		} else if (bind && (!strcmp(o, "z") || !strcmp(o, "Z"))) {
			json_object_set_new(sub_object(m, "bind"), "selinux", json_string(o));
		} else if (bind && (!strcmp(o, "shared") || !strcmp(o, "rshared") ||
				    !strcmp(o, "slave") || !strcmp(o, "rslave") ||
				    !strcmp(o, "private") || !strcmp(o, "rprivate"))) {
			json_object_set_new(sub_object(m, "bind"), "propagation", json_string(o));
		} else if (!bind && !strcmp(o, "nocopy")) {
			json_object_set_new(sub_object(m, "volume"), "nocopy", json_true());
		} else if (strcmp(o, "cached") && strcmp(o, "delegated") &&
			   strcmp(o, "consistent")) {
			json_decref(m);
			return cnode_err(err, n, path,
					 "invalid volume \"%s\": unknown option \"%s\"", spec, o);
		}
	}
	json_array_append_new(out, m);
	return 0;
}

static int get_str(const struct cnode *map, const char *key, const char *path, const char **out,
		   struct berth_error *err)
{
	const struct cnode *v = cnode_get(map, key);
	if (!v)
		return 0;
	char sub[COMPOSE_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s.%s", path, key);
	return cget_string(v, sub, out, err);
}

static int get_bool(const struct cnode *map, const char *key, const char *path, json_t *o,
		    struct berth_error *err)
{
	const struct cnode *v = cnode_get(map, key);
	bool b;
	if (!v)
		return 0;
	char sub[COMPOSE_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s.%s", path, key);
	if (cget_bool(v, sub, &b, err) < 0)
		return -1;
	json_object_set_new(o, key, json_boolean(b));
	return 0;
}

static int long_volume(const struct cnode *n, const char *path, const struct compose_ctx *ctx,
		       json_t *out, struct berth_error *err)
{
	if (compose_check_keys(n, COMPOSE_SEC_VOLUME, path, err) < 0)
		return -1;
	const char *type = "volume", *source = NULL, *target = NULL;
	char sub[COMPOSE_PATH_MAX];
	if (get_str(n, "type", path, &type, err) < 0 ||
	    get_str(n, "source", path, &source, err) < 0 ||
	    get_str(n, "target", path, &target, err) < 0)
		return -1;
	if (strcmp(type, "bind") && strcmp(type, "volume")) {
		snprintf(sub, sizeof(sub), "%s.type", path);
		if (!strcmp(type, "tmpfs") || !strcmp(type, "npipe") || !strcmp(type, "cluster") ||
		    !strcmp(type, "image"))
			return cnode_err(err, cnode_get(n, "type"), sub,
					 "volume type %s is not supported by berth", type);
		return cnode_err(err, cnode_get(n, "type"), sub, "unknown volume type \"%s\"",
				 type);
	}
	if (!target || target[0] != '/')
		return cnode_err(err, target ? cnode_get(n, "target") : n, path,
				 "target must be an absolute path");
	bool bind = !strcmp(type, "bind");
	if (bind && (!source || !*source))
		return cnode_err(err, n, path, "a bind mount needs a source");
	if (!bind && source && *source && check_named(source, n, path, ctx, err) < 0)
		return -1;
	_cleanup_free_ char *abs = bind ? compose_abs_path(source, ctx) : NULL;
	json_t *m = mount(type, bind ? abs : (source && *source ? source : NULL), target, false);
	const struct cnode *v;
	if (get_bool(n, "read_only", path, m, err) < 0)
		goto fail;
	const char *subkey = bind ? "bind" : "volume";
	enum compose_section sec = bind ? COMPOSE_SEC_VOLUME_BIND : COMPOSE_SEC_VOLUME_VOLUME;
	if ((v = cnode_get(n, bind ? "volume" : "bind"))) {
		snprintf(sub, sizeof(sub), "%s.%s", path, bind ? "volume" : "bind");
		cnode_err(err, v, sub, "does not apply to a %s mount", type);
		goto fail;
	}
	if ((v = cnode_get(n, subkey))) {
		snprintf(sub, sizeof(sub), "%s.%s", path, subkey);
		if (cget_kind(v, CNODE_MAP, sub, err) < 0 ||
		    compose_check_keys(v, sec, sub, err) < 0)
			goto fail;
		json_t *o = sub_object(m, subkey);
		const char *s;
		if (bind) {
			if (get_bool(v, "create_host_path", sub, o, err) < 0)
				goto fail;
			const char *keys[] = {"propagation", "selinux"};
			for (int i = 0; i < 2; i++) {
				s = NULL;
				if (get_str(v, keys[i], sub, &s, err) < 0)
					goto fail;
				if (s)
					json_object_set_new(o, keys[i], json_string(s));
			}
		} else {
			if (get_bool(v, "nocopy", sub, o, err) < 0)
				goto fail;
			s = NULL;
			if (get_str(v, "subpath", sub, &s, err) < 0)
				goto fail;
			if (s)
				json_object_set_new(o, "subpath", json_string(s));
		}
	}
	json_array_append_new(out, m);
	return 0;
fail:
	json_decref(m);
	return -1;
}

int compose_volume(const struct cnode *n, const char *path, const struct compose_ctx *ctx,
		   json_t *out, struct berth_error *err)
{
	if (n->kind == CNODE_MAP)
		return long_volume(n, path, ctx, out, err);
	if (n->kind == CNODE_SCALAR && !cnode_is_null(n))
		return short_volume(n->value, n, path, ctx, out, err);
	return cnode_err(err, n, path, "must be a string or a mapping, not %s", cnode_kind_name(n));
}
