/* berth's compose node tree: nodes, maps with a hash index, errors with marks, JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);
	if (!q)
		abort();
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

struct cnode *cnode_new(enum cnode_kind kind, const struct cnode *mark)
{
	struct cnode *n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->kind = kind;
	if (mark) {
		n->file = mark->file;
		n->line = mark->line;
		n->col = mark->col;
	}
	return n;
}

struct cnode *cnode_new_scalar(const char *value, bool plain, const struct cnode *mark)
{
	struct cnode *n = cnode_new(CNODE_SCALAR, mark);
	n->value = xstrdup(value);
	n->plain = plain;
	return n;
}

void cnode_free(struct cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			cnode_free(n->keys[i]);
		cnode_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	free(n->index);
	free(n->value);
	free(n->tag);
	free(n);
}

struct cnode *cnode_dup(const struct cnode *n)
{
	struct cnode *d = cnode_new(n->kind, n);
	d->plain = n->plain;
	d->value = n->value ? xstrdup(n->value) : NULL;
	d->tag = n->tag ? xstrdup(n->tag) : NULL;
	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == CNODE_MAP)
			cnode_map_set(d, cnode_dup(n->keys[i]), cnode_dup(n->vals[i]));
		else
			cnode_append(d, cnode_dup(n->vals[i]));
	}
	return d;
}

static void cnode_grow(struct cnode *c)
{
	if (c->n < c->cap)
		return;
	c->cap = c->cap ? c->cap * 2 : 4;
	c->vals = xrealloc(c->vals, c->cap * sizeof(*c->vals));
	if (c->kind == CNODE_MAP)
		c->keys = xrealloc(c->keys, c->cap * sizeof(*c->keys));
}

void cnode_append(struct cnode *seq, struct cnode *v)
{
	cnode_grow(seq);
	seq->vals[seq->n++] = v;
}

/* Maps up to this size are searched in order; bigger ones keep a hash index, so that a
 * mapping of n keys is built in O(n), not O(n^2). */
#define CNODE_INDEX_MIN 16

static uint32_t key_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void index_put(struct cnode *map, size_t pos)
{
	size_t mask = map->index_cap - 1;
	for (size_t j = key_hash(map->keys[pos]->value) & mask;; j = (j + 1) & mask) {
		if (map->index[j] == 0) {
			map->index[j] = (uint32_t)pos + 1;
			return;
		}
	}
}

/* (Re)build the index at twice the room the keys need. */
static void index_build(struct cnode *map)
{
	size_t cap = 64;
	while (cap < map->n * 2 + 2)
		cap *= 2;
	free(map->index);
	map->index = calloc(cap, sizeof(*map->index));
	if (!map->index)
		abort();
	map->index_cap = cap;
	for (size_t i = 0; i < map->n; i++)
		index_put(map, i);
}

void cnode_map_set(struct cnode *map, struct cnode *key, struct cnode *v)
{
	long i = cnode_find(map, key->value);
	if (i >= 0) {
		cnode_free(map->keys[i]);
		cnode_free(map->vals[i]);
		map->keys[i] = key;
		map->vals[i] = v;
		return;
	}
	cnode_grow(map);
	map->keys[map->n] = key;
	map->vals[map->n++] = v;
	if (map->n < CNODE_INDEX_MIN)
		return;
	if (!map->index || map->n * 2 + 2 > map->index_cap)
		index_build(map);
	else
		index_put(map, map->n - 1);
}

long cnode_find(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CNODE_MAP)
		return -1;
	if (map->index) {
		size_t mask = map->index_cap - 1;
		for (size_t j = key_hash(key) & mask; map->index[j]; j = (j + 1) & mask) {
			size_t pos = map->index[j] - 1;
			if (strcmp(map->keys[pos]->value, key) == 0)
				return (long)pos;
		}
		return -1;
	}
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return (long)i;
	return -1;
}

struct cnode *cnode_get(const struct cnode *map, const char *key)
{
	long i = cnode_find(map, key);
	return i < 0 ? NULL : map->vals[i];
}

void cnode_map_remove(struct cnode *map, size_t i)
{
	cnode_free(map->keys[i]);
	cnode_free(map->vals[i]);
	memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof(*map->keys));
	memmove(map->vals + i, map->vals + i + 1, (map->n - i - 1) * sizeof(*map->vals));
	map->n--;
	/* positions moved: rebuild (removals are rare: !reset and the like) */
	if (map->index && map->n >= CNODE_INDEX_MIN) {
		index_build(map);
	} else {
		free(map->index);
		map->index = NULL;
		map->index_cap = 0;
	}
}

bool cnode_has_tag(const struct cnode *n, const char *tag)
{
	return n && n->tag && strcmp(n->tag, tag) == 0;
}

bool cnode_is_null(const struct cnode *n)
{
	if (!n)
		return true;
	if (n->kind != CNODE_SCALAR || !n->plain)
		return false;
	const char *v = n->value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

const char *cnode_kind_name(const struct cnode *n)
{
	if (cnode_is_null(n))
		return "null";
	return n->kind == CNODE_MAP   ? "a mapping"
	       : n->kind == CNODE_SEQ ? "a sequence"
				      : "a string";
}

int cnode_err(struct berth_error *err, const struct cnode *n, const char *path, const char *fmt,
	      ...)
{
	char msg[BERTH_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char where[COMPOSE_PATH_MAX + 64] = "";
	if (n && n->file)
		snprintf(where, sizeof(where), "%s:%d:%d: ", n->file, n->line, n->col);
	return berth_err(err, 400, "%s%s%s%s", where, path && *path ? path : "",
			 path && *path ? ": " : "", msg);
}

static json_t *scalar_to_json(const struct cnode *n)
{
	if (!n->plain)
		return json_string(n->value);
	const char *v = n->value;
	if (cnode_is_null(n))
		return json_null();
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		return json_true();
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return json_false();
	char *end;
	errno = 0;
	long long i = strtoll(v, &end, 0);
	if (*end == '\0' && errno == 0 && end != v)
		return json_integer(i);
	double d = strtod(v, &end);
	if (*end == '\0' && end != v && strspn(v, "0123456789.eE+-") == strlen(v))
		return json_real(d);
	return json_string(v);
}

json_t *cnode_to_json(const struct cnode *n)
{
	if (!n)
		return json_null();
	if (n->kind == CNODE_SCALAR) {
		json_t *j = scalar_to_json(n);
		/* A string that is not UTF-8 cannot be JSON; keep the key, drop the bytes. */
		return j ? j : json_string("");
	}
	json_t *j = n->kind == CNODE_MAP ? json_object() : json_array();
	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == CNODE_MAP)
			json_object_set_new(j, n->keys[i]->value, cnode_to_json(n->vals[i]));
		else
			json_array_append_new(j, cnode_to_json(n->vals[i]));
	}
	return j;
}
