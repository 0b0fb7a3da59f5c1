/* ${VAR} interpolation as compose does it (defaults, required, alternates, $$), and .env files. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "compose_internal.h"

/* Nested ${A:-${B:-...}} recursion is bounded so a hostile value cannot exhaust the stack. */
#define INTERP_DEPTH 32

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t len)
{
	if (b->n + len + 1 > b->cap) {
		b->cap = (b->n + len + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->n, s, len);
	b->n += len;
	b->s[b->n] = '\0';
}

void compose_env_init(struct compose_env *env, char **environ_)
{
	memset(env, 0, sizeof(*env));
	for (char **e = environ_; e && *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		_cleanup_free_ char *key = strndup(*e, eq - *e);
		compose_env_set(env, key, eq + 1, true);
	}
}

void compose_env_free(struct compose_env *env)
{
	for (size_t i = 0; i < env->n; i++)
		free(env->vars[i]);
	free(env->vars);
	memset(env, 0, sizeof(*env));
}

static long env_find(const struct compose_env *env, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; env && i < env->n; i++)
		if (!strncmp(env->vars[i], key, klen) && env->vars[i][klen] == '=')
			return (long)i;
	return -1;
}

const char *compose_env_get(const struct compose_env *env, const char *key)
{
	long i = env_find(env, key);
	return i < 0 ? NULL : env->vars[i] + strlen(key) + 1;
}

void compose_env_set(struct compose_env *env, const char *key, const char *value, bool override)
{
	long i = env_find(env, key);
	if (i >= 0 && !override)
		return;
	char *kv = berth_strdupf("%s=%s", key, value);
	if (i >= 0) {
		free(env->vars[i]);
		env->vars[i] = kv;
		return;
	}
	if (env->n == env->cap) {
		env->cap = env->cap ? env->cap * 2 : 16;
		env->vars = realloc(env->vars, env->cap * sizeof(*env->vars));
		if (!env->vars)
			abort();
	}
	env->vars[env->n++] = kv;
}

struct interp {
	const struct compose_env *env, *fallback;
	json_t *unset; /* names used without a default and not set, for warnings; or NULL */
	bool changed;
	char *problem;
	size_t psize;
};

static const char *lookup(const struct interp *in, const char *name)
{
	const char *v = compose_env_get(in->env, name);
	return v ? v : compose_env_get(in->fallback, name);
}

static int interp_range(struct interp *in, const char *s, size_t len, struct sbuf *out, int depth);

/* The end of a ${...} body: the matching '}', skipping nested ${...} and $$. */
static const char *brace_end(const char *p, const char *end)
{
	int depth = 1;
	while (p < end) {
		if (p[0] == '$' && p + 1 < end && p[1] == '$') {
			p += 2;
		} else if (p[0] == '$' && p + 1 < end && p[1] == '{') {
			depth++;
			p += 2;
		} else if (*p == '}') {
			if (--depth == 0)
				return p;
			p++;
		} else {
			p++;
		}
	}
	return NULL;
}

static int invalid(struct interp *in, const char *s, size_t len)
{
	snprintf(in->problem, in->psize,
		 "invalid interpolation format in \"%.*s\": you may need to escape any $ with "
		 "another $",
		 (int)(len > 200 ? 200 : len), s);
	return -1;
}

static int braced(struct interp *in, const char *body, size_t len, struct sbuf *out, int depth)
{
	size_t nl = 0;
	if (!len || !(isalpha((unsigned char)body[0]) || body[0] == '_'))
		return invalid(in, body, len);
	while (nl < len && (isalnum((unsigned char)body[nl]) || body[nl] == '_'))
		nl++;
	_cleanup_free_ char *name = strndup(body, nl);
	const char *val = lookup(in, name);
	in->changed = true;
	if (nl == len) {
		if (val)
			sb_add(out, val, strlen(val));
		else if (in->unset)
			json_object_set_new(in->unset, name, json_true());
		return 0;
	}
	const char *op = body + nl;
	bool colon = *op == ':';
	if (colon)
		op++;
	if (op >= body + len || !strchr("-?+", *op))
		return invalid(in, body, len);
	const char *arg = op + 1;
	size_t alen = (size_t)(body + len - arg);
	bool unset = colon ? (!val || !*val) : !val;
	switch (*op) {
	case '-':
		if (unset)
			return interp_range(in, arg, alen, out, depth + 1);
		sb_add(out, val, strlen(val));
		return 0;
	case '+':
		if (!unset)
			return interp_range(in, arg, alen, out, depth + 1);
		return 0;
	default: /* '?' */
		if (!unset) {
			sb_add(out, val, strlen(val));
			return 0;
		}
		struct sbuf msg = {0};
		if (interp_range(in, arg, alen, &msg, depth + 1) < 0) {
			free(msg.s);
			return -1;
		}
		if (msg.n)
			snprintf(in->problem, in->psize,
				 "required variable %s is missing a value: %s", name, msg.s);
		else
			snprintf(in->problem, in->psize, "required variable %s is missing a value",
				 name);
		free(msg.s);
		return -1;
	}
}

static int interp_range(struct interp *in, const char *s, size_t len, struct sbuf *out, int depth)
{
	if (depth > INTERP_DEPTH) {
		snprintf(in->problem, in->psize, "interpolation nested too deeply");
		return -1;
	}
	const char *p = s, *end = s + len;
	sb_add(out, "", 0);
	while (p < end) {
		const char *dollar = memchr(p, '$', end - p);
		if (!dollar) {
			sb_add(out, p, end - p);
			break;
		}
		sb_add(out, p, dollar - p);
		p = dollar + 1;
		if (p < end && *p == '$') {
			sb_add(out, "$", 1);
			in->changed = true;
			p++;
		} else if (p < end && *p == '{') {
			const char *close = brace_end(p + 1, end);
			if (!close)
				return invalid(in, dollar, end - dollar);
			if (braced(in, p + 1, close - p - 1, out, depth) < 0)
				return -1;
			p = close + 1;
		} else if (p < end && (isalpha((unsigned char)*p) || *p == '_')) {
			const char *n = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			_cleanup_free_ char *name = strndup(n, p - n);
			const char *val = lookup(in, name);
			if (val)
				sb_add(out, val, strlen(val));
			else if (in->unset)
				json_object_set_new(in->unset, name, json_true());
			in->changed = true;
		} else {
			/* "$1", "$ " and a trailing "$" stay literal, as in compose. */
			sb_add(out, "$", 1);
		}
	}
	return 0;
}

static int interpolate(const char *s, const struct compose_env *env,
		       const struct compose_env *fallback, json_t *unset, char **out, bool *changed,
		       char *problem, size_t problem_size)
{
	struct interp in = {.env = env,
			    .fallback = fallback,
			    .unset = unset,
			    .problem = problem,
			    .psize = problem_size};
	struct sbuf b = {0};
	if (interp_range(&in, s, strlen(s), &b, 0) < 0) {
		free(b.s);
		return -1;
	}
	*out = b.s;
	if (changed)
		*changed = in.changed;
	return 0;
}

int compose_interpolate_str(const char *s, const struct compose_env *env,
			    const struct compose_env *fallback, char **out, bool *changed,
			    char *problem, size_t problem_size)
{
	return interpolate(s, env, fallback, NULL, out, changed, problem, problem_size);
}

static int interp_node(struct cnode *n, const struct compose_env *env, json_t *unset,
		       const char *path, struct berth_error *err)
{
	if (n->kind == CNODE_SCALAR) {
		if (!strchr(n->value, '$'))
			return 0;
		char problem[BERTH_ERROR_MAX / 2];
		char *v;
		bool changed;
		if (interpolate(n->value, env, NULL, unset, &v, &changed, problem,
				sizeof(problem)) < 0)
			return cnode_err(err, n, path, "%s", problem);
		free(n->value);
		n->value = v;
		if (changed)
			n->plain = false;
		return 0;
	}
	for (size_t i = 0; i < n->n; i++) {
		char sub[COMPOSE_PATH_MAX];
		if (n->kind == CNODE_MAP)
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
				 n->keys[i]->value);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (interp_node(n->vals[i], env, unset, sub, err) < 0)
			return -1;
	}
	return 0;
}

int compose_interpolate(struct cnode *root, const struct compose_env *env, json_t *unset,
			struct berth_error *err)
{
	return root ? interp_node(root, env, unset, "", err) : 0;
}

/* One value after '=': quotes, escapes, comments; returns the position after it. */
static const char *dotenv_value(const char *p, struct sbuf *v, bool *interpolate, bool *ok)
{
	*ok = true;
	*interpolate = true;
	if (*p == '\'' || *p == '"') {
		char q = *p++;
		*interpolate = q == '"';
		while (*p && *p != q) {
			if (q == '"' && *p == '\\' && p[1]) {
				char c = p[1];
				const char *rep = c == 'n'   ? "\n"
						  : c == 't' ? "\t"
						  : c == 'r' ? "\r"
						  : c == '$' ? "$$"
							     : NULL;
				if (rep)
					sb_add(v, rep, strlen(rep));
				else
					sb_add(v, &p[1], 1);
				p += 2;
				continue;
			}
			if (q == '"' && *p == '$' && p[1] != '{' && !isalpha((unsigned char)p[1]) &&
			    p[1] != '_' && p[1] != '$')
				sb_add(v, "$", 1); /* keep a lone $ literal through interpolation */
			sb_add(v, p, 1);
			p++;
		}
		if (*p != q) {
			*ok = false;
			return p;
		}
		p++;
		while (*p && *p != '\n')
			p++;
		return p;
	}
	const char *start = p;
	while (*p && *p != '\n' && !(*p == '#' && p > start && isspace((unsigned char)p[-1])))
		p++;
	const char *e = p;
	while (e > start && isspace((unsigned char)e[-1]))
		e--;
	sb_add(v, start, e - start);
	while (*p && *p != '\n')
		p++;
	return p;
}

int compose_dotenv_parse(const char *file, const char *data, const struct compose_env *lookup,
			 struct compose_env *out, struct berth_error *err)
{
	const char *p = data;
	int line = 1;
	while (*p) {
		int this_line = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p) {
			while (*p && *p != '\n')
				p++;
			if (*p == '\n')
				p++, line++;
			continue;
		}
		if (!strncmp(p, "export ", 7))
			p += 7;
		const char *k = p;
		while (*p && (isalnum((unsigned char)*p) || strchr("_.-", *p)))
			p++;
		_cleanup_free_ char *key = strndup(k, p - k);
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*key || (*p != '=' && *p != '\n' && *p != '\r' && *p)) {
			return berth_err(err, 400, "%s:%d: invalid line, want KEY=VALUE", file,
					 this_line);
		}
		if (*p != '=') {
			/* A bare KEY takes its value from the environment, if it has one. */
			const char *v = compose_env_get(lookup, key);
			if (v)
				compose_env_set(out, key, v, true);
			continue;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		struct sbuf v = {0};
		sb_add(&v, "", 0);
		bool interpolate, ok;
		const char *next = dotenv_value(p, &v, &interpolate, &ok);
		for (const char *c = p; c < next; c++)
			line += *c == '\n';
		p = next;
		if (!ok) {
			free(v.s);
			return berth_err(err, 400, "%s:%d: unterminated quoted value", file,
					 this_line);
		}
		if (v.n && v.s[v.n - 1] == '\r')
			v.s[--v.n] = '\0';
		if (interpolate) {
			char problem[BERTH_ERROR_MAX / 2];
			char *iv;
			if (compose_interpolate_str(v.s, lookup, out, &iv, NULL, problem,
						    sizeof(problem)) < 0) {
				free(v.s);
				return berth_err(err, 400, "%s:%d: %s", file, this_line, problem);
			}
			free(v.s);
			v.s = iv;
		}
		compose_env_set(out, key, v.s, true);
		free(v.s);
	}
	return 0;
}
