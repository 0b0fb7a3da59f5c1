/* Typed readers over compose nodes: each wrong type is an error at the node's line and column. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/duration.h"
#include "compose_internal.h"

int cget_kind(const struct cnode *n, enum cnode_kind kind, const char *path,
	      struct berth_error *err)
{
	if (n && n->kind == kind && !(kind == CNODE_SCALAR && cnode_is_null(n)))
		return 0;
	const char *want = kind == CNODE_MAP   ? "a mapping"
			   : kind == CNODE_SEQ ? "a list"
					       : "a string";
	return cnode_err(err, n, path, "must be %s, not %s", want, cnode_kind_name(n));
}

int cget_string(const struct cnode *n, const char *path, const char **out, struct berth_error *err)
{
	if (cget_kind(n, CNODE_SCALAR, path, err) < 0)
		return -1;
	*out = n->value;
	return 0;
}

int cget_bool(const struct cnode *n, const char *path, bool *out, struct berth_error *err)
{
	if (n && n->kind == CNODE_SCALAR) {
		const char *v = n->value;
		if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) {
			*out = false;
			return 0;
		}
	}
	return cnode_err(err, n, path, "must be a boolean");
}

int cget_int(const struct cnode *n, const char *path, long long min, long long max, long long *out,
	     struct berth_error *err)
{
	if (n && n->kind == CNODE_SCALAR && *n->value) {
		char *end;
		errno = 0;
		long long v = strtoll(n->value, &end, 10);
		if (*end == '\0' && errno == 0 && !isspace((unsigned char)n->value[0])) {
			if (v < min || v > max)
				return cnode_err(err, n, path, "must be between %lld and %lld", min,
						 max);
			*out = v;
			return 0;
		}
	}
	return cnode_err(err, n, path, "must be an integer");
}

int cget_duration(const struct cnode *n, const char *path, int64_t *out, struct berth_error *err)
{
	if (n && n->kind == CNODE_SCALAR) {
		int64_t v = berth_parse_duration_ns(n->value);
		if (v >= 0) {
			*out = v;
			return 0;
		}
	}
	return cnode_err(err, n, path, "must be a duration (like 1m30s), not %s",
			 n && n->kind == CNODE_SCALAR ? n->value : cnode_kind_name(n));
}

int cget_bytes(const struct cnode *n, const char *path, int64_t *out, struct berth_error *err)
{
	if (n && n->kind == CNODE_SCALAR) {
		int64_t v = berth_parse_bytes(n->value);
		if (v >= 0) {
			*out = v;
			return 0;
		}
	}
	return cnode_err(err, n, path, "must be a byte size (like 512m), not %s",
			 n && n->kind == CNODE_SCALAR ? n->value : cnode_kind_name(n));
}

int cget_number(const struct cnode *n, const char *path, double *out, struct berth_error *err)
{
	if (n && n->kind == CNODE_SCALAR && *n->value) {
		char *end;
		double v = strtod(n->value, &end);
		if (*end == '\0' && v >= 0 && v < 1e9) {
			*out = v;
			return 0;
		}
	}
	return cnode_err(err, n, path, "must be a non-negative number");
}

json_t *cget_string_list(const struct cnode *n, const char *path, bool allow_string,
			 struct berth_error *err)
{
	json_t *a = json_array();
	if (allow_string && n && n->kind == CNODE_SCALAR && !cnode_is_null(n)) {
		json_array_append_new(a, json_string(n->value));
		return a;
	}
	if (!n || n->kind != CNODE_SEQ) {
		json_decref(a);
		cnode_err(err, n, path, "must be a list%s, not %s",
			  allow_string ? " or a string" : "", cnode_kind_name(n));
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const char *s;
		if (cget_string(n->vals[i], sub, &s, err) < 0) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(s));
	}
	return a;
}

json_t *cget_dict(const struct cnode *n, const char *path, bool allow_null, struct berth_error *err)
{
	json_t *o = json_object();
	if (n && n->kind == CNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			char sub[COMPOSE_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			const char *s;
			if (cget_string(n->vals[i], sub, &s, err) < 0)
				goto fail;
			const char *eq = strchr(s, '=');
			size_t klen = eq ? (size_t)(eq - s) : strlen(s);
			if (klen == 0) {
				cnode_err(err, n->vals[i], sub,
					  "invalid entry \"%s\": want KEY=VALUE", s);
				goto fail;
			}
			char *k = strndup(s, klen);
			json_object_set_new(o, k,
					    eq		 ? json_string(eq + 1)
					    : allow_null ? json_null()
							 : json_string(""));
			free(k);
		}
		return o;
	}
	if (!n || n->kind != CNODE_MAP) {
		cnode_err(err, n, path, "must be a mapping or a list of KEY=VALUE, not %s",
			  cnode_kind_name(n));
		goto fail;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *v = n->vals[i];
		const char *k = n->keys[i]->value;
		if (!*k) {
			cnode_err(err, n->keys[i], path, "empty key");
			goto fail;
		}
		if (cnode_is_null(v)) {
			json_object_set_new(o, k, allow_null ? json_null() : json_string(""));
		} else if (v->kind == CNODE_SCALAR) {
			json_object_set_new(o, k, json_string(v->value));
		} else {
			char sub[COMPOSE_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			cnode_err(err, v, sub, "must be a string, number, boolean or null, not %s",
				  cnode_kind_name(v));
			goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

int cget_fields(const struct cnode *map, const char *path, const struct cfield *fields, json_t *out,
		struct berth_error *err)
{
	for (const struct cfield *f = fields; f->key; f++) {
		const struct cnode *v = cnode_get(map, f->key);
		if (!v)
			continue;
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s.%s", path, f->key);
		json_t *j = NULL;
		const char *s;
		bool b;
		long long i;
		int64_t n = 0;
		double d = 0;
		switch (f->type) {
		case CF_STRING:
			if (cget_string(v, sub, &s, err) < 0)
				return -1;
			j = json_string(s);
			break;
		case CF_ENUM:
			if (cget_string(v, sub, &s, err) < 0)
				return -1;
			for (const char *const *c = f->choices; *c; c++)
				if (!strcmp(*c, s))
					j = json_string(s);
			if (!j) {
				char want[256] = "";
				for (const char *const *c = f->choices; *c; c++)
					snprintf(want + strlen(want), sizeof(want) - strlen(want),
						 "%s%s",
						 c == f->choices ? ""
						 : c[1]		 ? ", "
								 : " or ",
						 *c);
				return cnode_err(err, v, sub, "must be %s, not \"%s\"", want, s);
			}
			break;
		case CF_BOOL:
			if (cget_bool(v, sub, &b, err) < 0)
				return -1;
			j = json_boolean(b);
			break;
		case CF_INT:
			if (cget_int(v, sub, f->min, f->max, &i, err) < 0)
				return -1;
			j = json_integer(i);
			break;
		case CF_DURATION:
			if (cget_duration(v, sub, &n, err) < 0)
				return -1;
			j = json_integer(n);
			break;
		case CF_BYTES:
			if (cget_bytes(v, sub, &n, err) < 0)
				return -1;
			j = json_integer(n);
			break;
		case CF_NUMBER:
			if (cget_number(v, sub, &d, err) < 0)
				return -1;
			j = json_real(d);
			break;
		case CF_DICT:
			if (!(j = cget_dict(v, sub, f->min != 0, err)))
				return -1;
			break;
		case CF_LIST:
			if (!(j = cget_string_list(v, sub, f->min != 0, err)))
				return -1;
			break;
		}
		json_object_set_new(out, f->key, j);
	}
	return 0;
}
