/* libyaml's document into berth's compose node tree: marks, aliases, merge keys, duplicate keys. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

/* Alias expansion copies nodes: a bound keeps "billion laughs" files from eating the host. */
#define CNODE_BUDGET 200000
#define CNODE_DEPTH 100

struct yconv {
	yaml_document_t *doc;
	const char *file;
	size_t budget;
	int stack[CNODE_DEPTH + 2]; /* node ids being converted, to catch recursive aliases */
	struct berth_error *err;
};

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
}

long cnode_find(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CNODE_MAP)
		return -1;
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

static void set_mark(struct cnode *c, const struct yconv *y, const yaml_node_t *yn)
{
	c->file = y->file;
	c->line = (int)yn->start_mark.line + 1;
	c->col = (int)yn->start_mark.column + 1;
	const char *tag = (const char *)yn->tag;
	if (tag && strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
		c->tag = xstrdup(tag);
}

static struct cnode *convert(struct yconv *y, int id, const char *path, int depth);

static int add_pair(struct yconv *y, struct cnode *map, struct cnode *key, struct cnode *val,
		    bool explicit_key, const char *path)
{
	long i = cnode_find(map, key->value);
	if (i < 0) {
		cnode_map_set(map, key, val);
		return 0;
	}
	if (explicit_key) {
		cnode_err(y->err, key, path, "mapping key \"%s\" already defined at line %d",
			  key->value, map->keys[i]->line);
		cnode_free(key);
		cnode_free(val);
		return -1;
	}
	/* A key from a `<<` merge never overrides one written in the mapping itself. */
	cnode_free(key);
	cnode_free(val);
	return 0;
}

static int merge_from(struct yconv *y, struct cnode *map, const struct cnode *src, const char *path)
{
	if (src->kind != CNODE_MAP)
		return cnode_err(y->err, src, path,
				 "<<: a merge key takes a mapping or a sequence "
				 "of mappings");
	for (size_t i = 0; i < src->n; i++)
		add_pair(y, map, cnode_dup(src->keys[i]), cnode_dup(src->vals[i]), false, path);
	return 0;
}

static struct cnode *convert_map(struct yconv *y, yaml_node_t *yn, const char *path, int depth)
{
	struct cnode *map = cnode_new(CNODE_MAP, NULL);
	set_mark(map, y, yn);
	struct cnode *merges[64];
	size_t n_merges = 0;
	for (yaml_node_pair_t *p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		if (!kn || kn->type != YAML_SCALAR_NODE) {
			struct cnode mark = {.file = y->file};
			if (kn) {
				mark.line = (int)kn->start_mark.line + 1;
				mark.col = (int)kn->start_mark.column + 1;
			}
			cnode_err(y->err, &mark, path, "mapping keys must be strings");
			goto fail;
		}
		const char *kv = (const char *)kn->data.scalar.value;
		bool merge = kn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(kv, "<<");
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", merge ? "<<" : kv);
		struct cnode *val = convert(y, p->value, sub, depth + 1);
		if (!val)
			goto fail;
		if (merge) {
			if (n_merges == sizeof(merges) / sizeof(*merges)) {
				cnode_free(val);
				cnode_err(y->err, map, path, "too many merge keys");
				goto fail;
			}
			merges[n_merges++] = val;
			continue;
		}
		struct cnode *key = cnode_new_scalar(kv, false, NULL);
		set_mark(key, y, kn);
		if (add_pair(y, map, key, val, true, path) < 0)
			goto fail;
	}
	for (size_t m = 0; m < n_merges; m++) {
		struct cnode *v = merges[m];
		int rc = 0;
		if (v->kind == CNODE_SEQ) {
			for (size_t i = 0; i < v->n && rc == 0; i++)
				rc = merge_from(y, map, v->vals[i], path);
		} else {
			rc = merge_from(y, map, v, path);
		}
		if (rc < 0)
			goto fail;
	}
	for (size_t m = 0; m < n_merges; m++)
		cnode_free(merges[m]);
	return map;
fail:
	for (size_t m = 0; m < n_merges; m++)
		cnode_free(merges[m]);
	cnode_free(map);
	return NULL;
}

static struct cnode *convert(struct yconv *y, int id, const char *path, int depth)
{
	yaml_node_t *yn = yaml_document_get_node(y->doc, id);
	if (!yn) {
		berth_err(y->err, 400, "%s: %s: broken YAML document", y->file, path);
		return NULL;
	}
	struct cnode mark = {.file = y->file,
			     .line = (int)yn->start_mark.line + 1,
			     .col = (int)yn->start_mark.column + 1};
	if (depth > CNODE_DEPTH) {
		cnode_err(y->err, &mark, "", "nested more than %d levels deep", CNODE_DEPTH);
		return NULL;
	}
	for (int i = 0; i < depth; i++) {
		if (y->stack[i] == id) {
			cnode_err(y->err, &mark, path, "recursive alias");
			return NULL;
		}
	}
	y->stack[depth] = id;
	if (y->budget == 0) {
		cnode_err(y->err, &mark, path, "document too large after alias expansion");
		return NULL;
	}
	y->budget--;
	switch (yn->type) {
	case YAML_SCALAR_NODE: {
		struct cnode *c = cnode_new(CNODE_SCALAR, NULL);
		set_mark(c, y, yn);
		c->value = xstrdup((const char *)yn->data.scalar.value);
		c->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !c->tag;
		return c;
	}
	case YAML_SEQUENCE_NODE: {
		struct cnode *c = cnode_new(CNODE_SEQ, NULL);
		set_mark(c, y, yn);
		size_t i = 0;
		for (yaml_node_item_t *it = yn->data.sequence.items.start;
		     it < yn->data.sequence.items.top; it++, i++) {
			char sub[COMPOSE_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			struct cnode *v = convert(y, *it, sub, depth + 1);
			if (!v) {
				cnode_free(c);
				return NULL;
			}
			cnode_append(c, v);
		}
		return c;
	}
	case YAML_MAPPING_NODE:
		return convert_map(y, yn, path, depth);
	default:
		cnode_err(y->err, &mark, path, "empty YAML node");
		return NULL;
	}
}

static int parser_error(const yaml_parser_t *p, const char *file, struct berth_error *err)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_MEMORY_ERROR)
		return berth_err(err, 500, "%s: out of memory parsing YAML", file);
	if (p->context)
		return berth_err(err, 400, "%s:%zu:%zu: %s (%s at line %zu)", file,
				 p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
				 p->context, p->context_mark.line + 1);
	return berth_err(err, 400, "%s:%zu:%zu: %s", file, p->problem_mark.line + 1,
			 p->problem_mark.column + 1, problem);
}

int cnode_parse(const char *file, const char *data, size_t len, struct cnode **out,
		struct berth_error *err)
{
	*out = NULL;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return berth_err(err, 500, "%s: cannot initialise the YAML parser", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_document_t doc;
	int rc = 0;
	if (!yaml_parser_load(&parser, &doc)) {
		rc = parser_error(&parser, file, err);
		yaml_parser_delete(&parser);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		struct yconv y = {.doc = &doc, .file = file, .budget = CNODE_BUDGET, .err = err};
		*out = convert(&y, 1, "", 0);
		if (!*out)
			rc = -1;
	}
	yaml_document_delete(&doc);
	if (rc == 0 && root) {
		/* A second document is an error, as a file holds one project. */
		yaml_document_t next;
		if (!yaml_parser_load(&parser, &next)) {
			rc = parser_error(&parser, file, err);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);
			if (r2)
				rc = berth_err(err, 400,
					       "%s:%zu:%zu: only one YAML document is "
					       "allowed in a compose file",
					       file, r2->start_mark.line + 1,
					       r2->start_mark.column + 1);
			yaml_document_delete(&next);
		}
		if (rc < 0) {
			cnode_free(*out);
			*out = NULL;
		}
	}
	yaml_parser_delete(&parser);
	return rc;
}
