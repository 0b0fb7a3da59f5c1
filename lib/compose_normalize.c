/* The merged tree into the canonical model: services, top-level networks and volumes, names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/volume_name.h"
#include "compose_internal.h"

static bool valid_service_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

/* Top-level networks: and volumes: entries; name is PROJECT_KEY unless external or given. */
static int resource(const char *section, enum compose_section sec, const char *key,
		    const struct cnode *v, const struct compose_ctx *ctx, json_t *out,
		    struct berth_error *err)
{
	static const struct cfield net_fields[] = {
	    {.key = "name", .type = CF_STRING},
	    {.key = "driver", .type = CF_STRING},
	    {.key = "driver_opts", .type = CF_DICT},
	    {.key = "labels", .type = CF_DICT},
	    {.key = "internal", .type = CF_BOOL},
	    {.key = "attachable", .type = CF_BOOL},
	    {.key = NULL},
	};
	static const struct cfield vol_fields[] = {
	    {.key = "name", .type = CF_STRING},
	    {.key = "driver", .type = CF_STRING},
	    {.key = "driver_opts", .type = CF_DICT},
	    {.key = "labels", .type = CF_DICT},
	    {.key = NULL},
	};
	char path[COMPOSE_PATH_MAX];
	snprintf(path, sizeof(path), "%s.%s", section, key);
	_cleanup_json_ json_t *o = json_object();
	bool external = false;
	if (!cnode_is_null(v)) {
		if (cget_kind(v, CNODE_MAP, path, err) < 0 ||
		    compose_check_keys(v, sec, path, err) < 0 ||
		    cget_fields(v, path, sec == COMPOSE_SEC_NETWORK ? net_fields : vol_fields, o,
				err) < 0)
			return -1;
		const struct cnode *ext = cnode_get(v, "external"), *ipam = cnode_get(v, "ipam");
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s.external", path);
		if (ext && ext->kind == CNODE_MAP) {
			/* The old form external: {name: x}. */
			const struct cnode *n = cnode_get(ext, "name");
			const char *s;
			if (!n || ext->n != 1)
				return cnode_err(err, ext, sub, "must be a boolean");
			if (cget_string(n, sub, &s, err) < 0)
				return -1;
			json_object_set_new(o, "name", json_string(s));
			external = true;
		} else if (ext && cget_bool(ext, sub, &external, err) < 0) {
			return -1;
		}
		if (ipam) {
			snprintf(sub, sizeof(sub), "%s.ipam", path);
			if (cget_kind(ipam, CNODE_MAP, sub, err) < 0)
				return -1;
			json_object_set_new(o, "ipam", cnode_to_json(ipam));
		}
		for (size_t i = 0; i < v->n; i++)
			if (!strncmp(v->keys[i]->value, "x-", 2))
				json_object_set_new(o, v->keys[i]->value,
						    cnode_to_json(v->vals[i]));
	}
	if (!json_object_get(o, "name")) {
		if (external)
			json_object_set_new(o, "name", json_string(key));
		else
			json_object_set_new(o, "name", json_pack("s++", ctx->project, "_", key));
	}
	if (external)
		json_object_set_new(o, "external", json_true());
	/* the agent would refuse it at create: say so where it is written */
	struct berth_error e = {0};
	if (sec == COMPOSE_SEC_VOLUME_TOP &&
	    volume_name_check(json_string_value(json_object_get(o, "name")), &e) < 0)
		return cnode_err(err, v, path, "%s", e.msg);
	json_object_set_new(out, key, steal_pointer(&o));
	return 0;
}

static int resources(const struct cnode *root, const char *section, enum compose_section sec,
		     const struct compose_ctx *ctx, json_t *project, struct berth_error *err)
{
	const struct cnode *v = cnode_get(root, section);
	json_t *out = json_object();
	json_object_set_new(project, section, out);
	if (cnode_is_null(v))
		return 0;
	if (cget_kind(v, CNODE_MAP, section, err) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		const char *key = v->keys[i]->value;
		if (!strncmp(key, "x-", 2))
			continue;
		if (resource(section, sec, key, v->vals[i], ctx, out, err) < 0)
			return -1;
	}
	return 0;
}

json_t *compose_normalize(const struct cnode *root, const struct compose_ctx *ctx,
			  struct berth_error *err)
{
	if (compose_check_keys(root, COMPOSE_SEC_TOP, "", err) < 0)
		return NULL;
	_cleanup_json_ json_t *p = json_pack("{s:s}", "name", ctx->project);
	json_t *services = json_object();
	json_object_set_new(p, "services", services);
	const struct cnode *sv = cnode_get(root, "services");
	if (sv && !cnode_is_null(sv)) {
		if (cget_kind(sv, CNODE_MAP, "services", err) < 0)
			return NULL;
		for (size_t i = 0; i < sv->n; i++) {
			const char *name = sv->keys[i]->value;
			if (!strncmp(name, "x-", 2))
				continue;
			if (!valid_service_name(name)) {
				cnode_err(err, sv->keys[i], "services",
					  "invalid service name \"%s\": only [a-zA-Z0-9._-] are "
					  "allowed",
					  name);
				return NULL;
			}
			json_t *s = compose_normalize_service(name, sv->vals[i], ctx, err);
			if (!s)
				return NULL;
			json_object_set_new(services, name, s);
		}
	}
	if (resources(root, "networks", COMPOSE_SEC_NETWORK, ctx, p, err) < 0 ||
	    resources(root, "volumes", COMPOSE_SEC_VOLUME_TOP, ctx, p, err) < 0)
		return NULL;
	/* The default network exists when a service is on it, as compose creates it. */
	json_t *nets = json_object_get(p, "networks");
	const char *name;
	json_t *s;
	json_object_foreach(services, name, s)
	{
		if (json_object_get(json_object_get(s, "networks"), "default") &&
		    !json_object_get(nets, "default"))
			json_object_set_new(nets, "default",
					    json_pack("{s:s+}", "name", ctx->project, "_default"));
	}
	if (!json_object_size(nets))
		json_object_del(p, "networks");
	if (!json_object_size(json_object_get(p, "volumes")))
		json_object_del(p, "volumes");
	for (size_t i = 0; root && i < root->n; i++)
		if (!strncmp(root->keys[i]->value, "x-", 2))
			json_object_set_new(p, root->keys[i]->value, cnode_to_json(root->vals[i]));
	return steal_pointer(&p);
}
