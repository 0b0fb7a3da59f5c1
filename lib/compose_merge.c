/* Merging `-f` files in order, following the compose spec's merge rules (and !reset, !override). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose_internal.h"

enum merge_rule {
	MERGE_DEFAULT,
	MERGE_REPLACE,
	MERGE_DICT,
	MERGE_KEYED,
	MERGE_BY_TARGET,
	MERGE_APPEND
};

/* Paths with a rule of their own; "*" is any service, network or volume name. */
static const struct {
	const char *path;
	enum merge_rule rule;
} rules[] = {
    {"services.*.command", MERGE_REPLACE},
    {"services.*.entrypoint", MERGE_REPLACE},
    {"services.*.healthcheck.test", MERGE_REPLACE},
    {"services.*.environment", MERGE_DICT},
    {"services.*.labels", MERGE_DICT},
    {"services.*.annotations", MERGE_DICT},
    {"services.*.extra_hosts", MERGE_DICT},
    {"services.*.sysctls", MERGE_DICT},
    {"services.*.build.args", MERGE_DICT},
    {"services.*.build.labels", MERGE_DICT},
    {"services.*.deploy.labels", MERGE_DICT},
    {"networks.*.labels", MERGE_DICT},
    {"volumes.*.labels", MERGE_DICT},
    {"services.*.depends_on", MERGE_KEYED},
    {"services.*.networks", MERGE_KEYED},
    {"services.*.volumes", MERGE_BY_TARGET},
    {"services.*.env_file", MERGE_APPEND},
    {"services.*.dns", MERGE_APPEND},
    {"services.*.dns_search", MERGE_APPEND},
    {"services.*.tmpfs", MERGE_APPEND},
};

static enum merge_rule rule_for(const char *gpath)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (!strcmp(rules[i].path, gpath))
			return rules[i].rule;
	return MERGE_DEFAULT;
}

static bool cnode_equal(const struct cnode *a, const struct cnode *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == CNODE_SCALAR)
		return !strcmp(a->value, b->value);
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->kind == CNODE_SEQ) {
			if (!cnode_equal(a->vals[i], b->vals[i]))
				return false;
			continue;
		}
		const struct cnode *bv = cnode_get(b, a->keys[i]->value);
		if (!bv || !cnode_equal(a->vals[i], bv))
			return false;
	}
	return true;
}

/* ["K=V", "K"] into {K: V, K: null}, in place; strings ("a b") stay as they are. */
static void list_to_map(struct cnode **slot, bool keyed)
{
	struct cnode *seq = *slot;
	if (!seq || seq->kind != CNODE_SEQ)
		return;
	struct cnode *map = cnode_new(CNODE_MAP, seq);
	for (size_t i = 0; i < seq->n; i++) {
		struct cnode *it = seq->vals[i];
		if (it->kind != CNODE_SCALAR) {
			cnode_free(map);
			return; /* the normaliser reports the wrong type */
		}
		const char *eq = keyed ? NULL : strchr(it->value, '=');
		char *k = eq ? strndup(it->value, eq - it->value) : strdup(it->value);
		if (!k)
			abort();
		struct cnode *key = cnode_new_scalar(k, false, it);
		free(k);
		struct cnode *val =
		    eq ? cnode_new_scalar(eq + 1, false, it) : cnode_new_scalar("", true, it);
		cnode_map_set(map, key, val);
	}
	cnode_free(seq);
	*slot = map;
}

/* The container path of a service volume, short or long syntax. */
static const char *volume_target(const struct cnode *v, char *buf, size_t size)
{
	if (v->kind == CNODE_MAP) {
		const struct cnode *t = cnode_get(v, "target");
		return t && t->kind == CNODE_SCALAR ? t->value : NULL;
	}
	if (v->kind != CNODE_SCALAR)
		return NULL;
	const char *c1 = strchr(v->value, ':');
	if (!c1)
		return v->value;
	const char *c2 = strchr(c1 + 1, ':');
	size_t len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	snprintf(buf, size, "%.*s", (int)len, c1 + 1);
	return buf;
}

static void append_seq(struct cnode *base, const struct cnode *ov, bool unique, bool by_target)
{
	for (size_t i = 0; i < ov->n; i++) {
		const struct cnode *it = ov->vals[i];
		bool replaced = false;
		for (size_t j = 0; j < base->n && (unique || by_target); j++) {
			if (by_target) {
				char b1[512], b2[512];
				const char *t1 = volume_target(base->vals[j], b1, sizeof(b1));
				const char *t2 = volume_target(it, b2, sizeof(b2));
				if (t1 && t2 && !strcmp(t1, t2)) {
					cnode_free(base->vals[j]);
					base->vals[j] = cnode_dup(it);
					replaced = true;
					break;
				}
			} else if (cnode_equal(base->vals[j], it)) {
				replaced = true;
				break;
			}
		}
		if (!replaced)
			cnode_append(base, cnode_dup(it));
	}
}

static int merge_slot(struct cnode **slot, const struct cnode *ov, const char *gpath, int depth,
		      struct berth_error *err);

static int merge_map(struct cnode *base, const struct cnode *ov, const char *gpath, int depth,
		     struct berth_error *err)
{
	for (size_t i = 0; i < ov->n; i++) {
		const char *k = ov->keys[i]->value;
		const struct cnode *v = ov->vals[i];
		long at = cnode_find(base, k);
		if (cnode_has_tag(v, "!reset")) {
			if (at >= 0)
				cnode_map_remove(base, at);
			continue;
		}
		if (at < 0) {
			cnode_map_set(base, cnode_dup(ov->keys[i]), cnode_dup(v));
			continue;
		}
		char sub[COMPOSE_PATH_MAX];
		/* Names of services, networks and volumes match "*" in the rule table. */
		bool named =
		    depth == 1 && (!strcmp(gpath, "services") || !strcmp(gpath, "networks") ||
				   !strcmp(gpath, "volumes"));
		snprintf(sub, sizeof(sub), "%s%s%s", gpath, *gpath ? "." : "", named ? "*" : k);
		if (merge_slot(&base->vals[at], v, sub, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

static int merge_slot(struct cnode **slot, const struct cnode *ov, const char *gpath, int depth,
		      struct berth_error *err)
{
	if (depth > 64)
		return cnode_err(err, ov, gpath, "nested too deeply to merge");
	enum merge_rule rule = rule_for(gpath);
	if (cnode_has_tag(ov, "!override") || rule == MERGE_REPLACE || cnode_is_null(*slot)) {
		cnode_free(*slot);
		*slot = cnode_dup(ov);
		free((*slot)->tag);
		(*slot)->tag = NULL;
		return 0;
	}
	if (!strcmp(gpath, "services.*.build")) {
		/* build: DIR is short for build: {context: DIR} */
		for (int side = 0; side < 2; side++) {
			const struct cnode *s = side ? ov : *slot;
			if (s->kind != CNODE_SCALAR)
				continue;
			struct cnode *m = cnode_new(CNODE_MAP, s);
			cnode_map_set(m, cnode_new_scalar("context", false, s), cnode_dup(s));
			if (side) {
				int rc = merge_slot(slot, m, gpath, depth, err);
				cnode_free(m);
				return rc;
			}
			cnode_free(*slot);
			*slot = m;
		}
	}
	if (rule == MERGE_DICT || rule == MERGE_KEYED) {
		list_to_map(slot, rule == MERGE_KEYED);
		struct cnode *o = cnode_dup(ov);
		list_to_map(&o, rule == MERGE_KEYED);
		int rc = 0;
		if ((*slot)->kind == CNODE_MAP && o->kind == CNODE_MAP)
			rc = merge_map(*slot, o, gpath, depth, err);
		else
			rc = merge_slot(slot, o, "", depth + 1, err);
		cnode_free(o);
		return rc;
	}
	if (rule == MERGE_APPEND && (*slot)->kind == CNODE_SCALAR) {
		struct cnode *seq = cnode_new(CNODE_SEQ, *slot);
		cnode_append(seq, *slot);
		*slot = seq;
	}
	if ((*slot)->kind == CNODE_MAP && ov->kind == CNODE_MAP)
		return merge_map(*slot, ov, gpath, depth, err);
	if ((*slot)->kind == CNODE_SEQ && ov->kind == CNODE_SEQ) {
		append_seq(*slot, ov, rule != MERGE_APPEND, rule == MERGE_BY_TARGET);
		return 0;
	}
	if ((*slot)->kind == CNODE_SEQ && ov->kind == CNODE_SCALAR && rule == MERGE_APPEND) {
		cnode_append(*slot, cnode_dup(ov));
		return 0;
	}
	cnode_free(*slot);
	*slot = cnode_dup(ov);
	return 0;
}

int compose_merge(struct cnode *base, struct cnode *overlay, struct berth_error *err)
{
	if (!overlay)
		return 0;
	if (base->kind != CNODE_MAP || overlay->kind != CNODE_MAP)
		return cnode_err(err, overlay, "", "a compose file must be a mapping");
	return merge_map(base, overlay, "", 0, err);
}
