/* libyaml's events into berth's compose node tree in one linear pass: anchors in a hash table,
 * aliases expanded as copies and counted where they are used, `<<` merge keys, duplicate keys,
 * and the limits that keep a hostile file from eating the host (see COMPOSE_MAX_*). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "berth/cleanup.h"
#include "compose_internal.h"

#define MAX_MERGES 64

struct anchor {
	char *name;
	struct cnode *node; /* in the tree (or the graveyard); NULL while still open */
	size_t size;	    /* nodes in it, aliases expanded */
};

/* One open sequence or mapping. */
struct frame {
	struct cnode *node;
	char *anchor;	   /* its anchor, registered when it closes */
	size_t first_node; /* the node count when it opened */
	struct cnode *key; /* maps: the key waiting for its value */
	bool merge;	   /* that key is `<<` */
	struct cnode *merges[MAX_MERGES];
	size_t n_merges;
	char path[COMPOSE_PATH_MAX];
};

struct loader {
	const char *file;
	struct berth_error *err;
	size_t nodes; /* made so far, every alias counted at its full size */
	struct anchor *anchors;
	size_t anchor_cap, n_anchors;
	struct frame *stack; /* COMPOSE_MAX_DEPTH + 1 frames */
	int depth;
	struct cnode *root;
	struct cnode **graveyard; /* merged-away values: anchors may still point into them */
	size_t n_graveyard, graveyard_cap;
};

static struct cnode mark_of(const struct loader *l, yaml_mark_t m)
{
	return (struct cnode){.file = l->file, .line = (int)m.line + 1, .col = (int)m.column + 1};
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct anchor *anchor_slot(struct loader *l, const char *name)
{
	size_t mask = l->anchor_cap - 1;
	for (size_t j = name_hash(name) & mask;; j = (j + 1) & mask)
		if (!l->anchors[j].name || strcmp(l->anchors[j].name, name) == 0)
			return &l->anchors[j];
}

/* A later anchor of the same name replaces the earlier one, as YAML says. */
static void anchor_set(struct loader *l, const char *name, struct cnode *node, size_t size)
{
	if ((l->n_anchors + 1) * 2 > l->anchor_cap) {
		struct anchor *old = l->anchors;
		size_t old_cap = l->anchor_cap;
		l->anchor_cap = old_cap ? old_cap * 2 : 64;
		l->anchors = calloc(l->anchor_cap, sizeof(*l->anchors));
		if (!l->anchors)
			abort();
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].name)
				*anchor_slot(l, old[i].name) = old[i];
		free(old);
	}
	struct anchor *a = anchor_slot(l, name);
	if (!a->name) {
		a->name = strdup(name);
		if (!a->name)
			abort();
		l->n_anchors++;
	}
	a->node = node;
	a->size = size;
}

static struct anchor *anchor_get(struct loader *l, const char *name)
{
	if (!l->anchor_cap)
		return NULL;
	struct anchor *a = anchor_slot(l, name);
	return a->name ? a : NULL;
}

static void bury(struct loader *l, struct cnode *n)
{
	if (l->n_graveyard == l->graveyard_cap) {
		l->graveyard_cap = l->graveyard_cap ? l->graveyard_cap * 2 : 16;
		l->graveyard = realloc(l->graveyard, l->graveyard_cap * sizeof(*l->graveyard));
		if (!l->graveyard)
			abort();
	}
	l->graveyard[l->n_graveyard++] = n;
}

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->anchor_cap; i++)
		free(l->anchors[i].name);
	free(l->anchors);
	for (int d = 0; d < l->depth; d++) {
		struct frame *f = &l->stack[d];
		cnode_free(f->node);
		cnode_free(f->key);
		free(f->anchor);
		for (size_t m = 0; m < f->n_merges; m++)
			cnode_free(f->merges[m]);
	}
	free(l->stack);
	for (size_t i = 0; i < l->n_graveyard; i++)
		cnode_free(l->graveyard[i]);
	free(l->graveyard);
	cnode_free(l->root);
}

static int count_node(struct loader *l, size_t n, yaml_mark_t m, const char *path)
{
	if (l->nodes + n <= COMPOSE_MAX_NODES) {
		l->nodes += n;
		return 0;
	}
	struct cnode mark = mark_of(l, m);
	return cnode_err(l->err, &mark, path,
			 "document too large after alias expansion (more than %d nodes)",
			 COMPOSE_MAX_NODES);
}

static int add_pair(struct loader *l, struct cnode *map, struct cnode *key, struct cnode *val,
		    bool explicit_key, const char *path)
{
	long i = cnode_find(map, key->value);
	if (i < 0) {
		if (map->n >= COMPOSE_MAX_KEYS) {
			cnode_err(l->err, key, path, "more than %d keys in one mapping",
				  COMPOSE_MAX_KEYS);
			cnode_free(key);
			cnode_free(val);
			return -1;
		}
		cnode_map_set(map, key, val);
		return 0;
	}
	if (explicit_key) {
		cnode_err(l->err, key, path, "mapping key \"%s\" already defined at line %d",
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

static int merge_from(struct loader *l, struct cnode *map, const struct cnode *src,
		      const char *path)
{
	if (src->kind != CNODE_MAP)
		return cnode_err(l->err, src, path,
				 "<<: a merge key takes a mapping or a sequence "
				 "of mappings");
	for (size_t i = 0; i < src->n; i++)
		if (add_pair(l, map, cnode_dup(src->keys[i]), cnode_dup(src->vals[i]), false,
			     path) < 0)
			return -1;
	return 0;
}

/* The path of the next child of the innermost open node. */
static void child_path(const struct loader *l, char *out, size_t size)
{
	if (l->depth == 0) {
		*out = '\0';
		return;
	}
	const struct frame *f = &l->stack[l->depth - 1];
	if (f->node->kind == CNODE_SEQ)
		snprintf(out, size, "%s[%zu]", f->path, f->node->n);
	else
		snprintf(out, size, "%s%s%s", f->path, *f->path ? "." : "",
			 f->merge ? "<<"
			 : f->key ? f->key->value
				  : "");
}

/* A complete node goes to its parent: the root, a sequence item, a key or a value. */
static int attach(struct loader *l, struct cnode *n)
{
	if (l->depth == 0) {
		l->root = n;
		return 0;
	}
	struct frame *f = &l->stack[l->depth - 1];
	if (f->node->kind == CNODE_SEQ) {
		cnode_append(f->node, n);
		return 0;
	}
	if (!f->key) {
		if (n->kind != CNODE_SCALAR) {
			cnode_err(l->err, n, f->path, "mapping keys must be strings");
			cnode_free(n);
			return -1;
		}
		f->merge = n->plain && strcmp(n->value, "<<") == 0;
		n->plain = false;
		f->key = n;
		return 0;
	}
	struct cnode *key = f->key;
	bool merge = f->merge;
	f->key = NULL;
	f->merge = false;
	if (merge) {
		bury(l, key); /* an anchor may name it */
		if (f->n_merges == MAX_MERGES) {
			cnode_free(n);
			return cnode_err(l->err, f->node, f->path, "too many merge keys");
		}
		f->merges[f->n_merges++] = n;
		return 0;
	}
	return add_pair(l, f->node, key, n, true, f->path);
}

static int open_node(struct loader *l, enum cnode_kind kind, const yaml_event_t *ev,
		     const char *anchor, const char *tag)
{
	struct cnode mark = mark_of(l, ev->start_mark);
	char path[COMPOSE_PATH_MAX];
	child_path(l, path, sizeof(path));
	if (l->depth >= COMPOSE_MAX_DEPTH)
		return cnode_err(l->err, &mark, "", "nested more than %d levels deep",
				 COMPOSE_MAX_DEPTH);
	if (l->depth > 0 && l->stack[l->depth - 1].node->kind == CNODE_MAP &&
	    !l->stack[l->depth - 1].key)
		return cnode_err(l->err, &mark, l->stack[l->depth - 1].path,
				 "mapping keys must be strings");
	if (count_node(l, 1, ev->start_mark, path) < 0)
		return -1;
	struct frame *f = &l->stack[l->depth++];
	memset(f, 0, offsetof(struct frame, path));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->node = cnode_new(kind, &mark);
	if (tag && strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
		f->node->tag = strdup(tag);
	f->first_node = l->nodes - 1;
	if (anchor) {
		f->anchor = strdup(anchor);
		anchor_set(l, anchor, NULL, 0); /* open: an alias to it now is recursive */
	}
	return 0;
}

static int close_node(struct loader *l)
{
	struct frame *f = &l->stack[l->depth - 1];
	int rc = 0;
	for (size_t m = 0; m < f->n_merges && rc == 0; m++) {
		struct cnode *v = f->merges[m];
		if (v->kind == CNODE_SEQ) {
			for (size_t i = 0; i < v->n && rc == 0; i++)
				rc = merge_from(l, f->node, v->vals[i], f->path);
		} else {
			rc = merge_from(l, f->node, v, f->path);
		}
	}
	if (rc < 0)
		return -1;
	for (size_t m = 0; m < f->n_merges; m++)
		bury(l, f->merges[m]);
	f->n_merges = 0;
	struct cnode *n = steal_pointer(&f->node);
	if (f->anchor)
		anchor_set(l, f->anchor, n, l->nodes - f->first_node);
	free(f->anchor);
	f->anchor = NULL;
	l->depth--;
	return attach(l, n);
}

static int scalar(struct loader *l, const yaml_event_t *ev)
{
	char path[COMPOSE_PATH_MAX];
	child_path(l, path, sizeof(path));
	struct cnode mark = mark_of(l, ev->start_mark);
	const char *v = (const char *)ev->data.scalar.value;
	if (strlen(v) != ev->data.scalar.length)
		return cnode_err(l->err, &mark, path, "a string may not hold a NUL character");
	if (count_node(l, 1, ev->start_mark, path) < 0)
		return -1;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct cnode *c = cnode_new(CNODE_SCALAR, &mark);
	if (tag && strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
		c->tag = strdup(tag);
	c->value = strdup(v);
	if (!c->value)
		abort();
	c->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !c->tag;
	if (ev->data.scalar.anchor)
		anchor_set(l, (const char *)ev->data.scalar.anchor, c, 1);
	return attach(l, c);
}

static int alias(struct loader *l, const yaml_event_t *ev)
{
	char path[COMPOSE_PATH_MAX];
	child_path(l, path, sizeof(path));
	struct cnode mark = mark_of(l, ev->start_mark);
	struct anchor *a = anchor_get(l, (const char *)ev->data.alias.anchor);
	if (!a)
		return cnode_err(l->err, &mark, "", "found undefined alias");
	if (!a->node) {
		/* the anchored node, where the loop starts */
		for (int d = 0; d < l->depth; d++)
			if (l->stack[d].anchor && !strcmp(l->stack[d].anchor, a->name))
				mark = *l->stack[d].node;
		return cnode_err(l->err, &mark, path, "recursive alias");
	}
	if (count_node(l, a->size, ev->start_mark, path) < 0)
		return -1;
	return attach(l, cnode_dup(a->node));
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

/* One event of the first document; *done at its end. */
static int load_event(struct loader *l, const yaml_event_t *ev, bool *done)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar(l, ev);
	case YAML_ALIAS_EVENT:
		return alias(l, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_node(l, CNODE_SEQ, ev, (const char *)ev->data.sequence_start.anchor,
				 (const char *)ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return open_node(l, CNODE_MAP, ev, (const char *)ev->data.mapping_start.anchor,
				 (const char *)ev->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_node(l);
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	default:
		return 0;
	}
}

int cnode_parse(const char *file, const char *data, size_t len, struct cnode **out,
		struct berth_error *err)
{
	*out = NULL;
	if (len > COMPOSE_MAX_BYTES)
		return berth_err(err, 400, "%s: %zu bytes: a compose file may have at most %d MiB",
				 file, len, COMPOSE_MAX_BYTES >> 20);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return berth_err(err, 500, "%s: cannot initialise the YAML parser", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	struct loader l = {.file = file, .err = err};
	l.stack = calloc(COMPOSE_MAX_DEPTH + 1, sizeof(*l.stack));
	if (!l.stack)
		abort();
	int rc = 0;
	bool done = false, second = false, end = false;
	while (rc == 0 && !end) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(&parser, file, err);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			end = true;
		} else if (!done) {
			rc = load_event(&l, &ev, &done);
		} else if (ev.type == YAML_DOCUMENT_START_EVENT) {
			second = true;
		} else if (second && ev.type != YAML_DOCUMENT_END_EVENT) {
			/* A second document with content is an error, as a file holds one project.
			 */
			rc = berth_err(err, 400,
				       "%s:%zu:%zu: only one YAML document is allowed in a compose "
				       "file",
				       file, ev.start_mark.line + 1, ev.start_mark.column + 1);
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (rc == 0)
		*out = steal_pointer(&l.root);
	loader_free(&l);
	return rc;
}
