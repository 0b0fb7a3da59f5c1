/* ARG and ENV scoping across stages, as Docker's builder resolves build variables. */
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

static struct dockerfile_var *find(const struct dockerfile_env *env, const char *name)
{
	for (size_t i = 0; i < env->n; i++)
		if (strcmp(env->vars[i].name, name) == 0)
			return &env->vars[i];
	return NULL;
}

void dockerfile_env_set(struct dockerfile_env *env, const char *name, const char *value,
			bool is_env)
{
	struct dockerfile_var *v = find(env, name);
	if (v) {
		if (v->is_env && !is_env)
			return; /* ENV beats ARG */
		free(v->value);
		v->value = xstrdup(value);
		v->is_env = is_env;
		return;
	}
	if (env->n == env->cap) {
		env->cap = env->cap ? env->cap * 2 : 8;
		struct dockerfile_var *nv = realloc(env->vars, env->cap * sizeof(*nv));
		if (!nv)
			abort();
		env->vars = nv;
	}
	env->vars[env->n++] = (struct dockerfile_var){xstrdup(name), xstrdup(value), is_env};
}

const char *dockerfile_env_lookup(void *env, const char *name)
{
	const struct dockerfile_var *v = find(env, name);
	return v ? v->value : NULL;
}

void dockerfile_env_free(struct dockerfile_env *env)
{
	for (size_t i = 0; i < env->n; i++) {
		free(env->vars[i].name);
		free(env->vars[i].value);
	}
	free(env->vars);
	memset(env, 0, sizeof(*env));
}

/* One ARG's pairs into env. fallback: where a pair with no default and no build arg looks. */
static int apply_arg(const struct dockerfile *df, const struct dockerfile_instr *in,
		     dockerfile_lookup_fn build_args, void *ctx,
		     const struct dockerfile_env *fallback, struct dockerfile_env *env,
		     struct berth_error *err)
{
	for (size_t k = 0; k < in->nkvs; k++) {
		const struct dockerfile_kv *kv = &in->kvs[k];
		const char *given = build_args ? build_args(ctx, kv->key) : NULL;
		if (given) {
			dockerfile_env_set(env, kv->key, given, false);
		} else if (kv->value) {
			char *v = dockerfile_expand_word(kv->value, df->escape,
							 dockerfile_env_lookup, env, err);
			if (!v)
				return berth_err_wrap(err, "dockerfile line %d", in->line);
			dockerfile_env_set(env, kv->key, v, false);
			free(v);
		} else if (fallback && find(fallback, kv->key)) {
			dockerfile_env_set(env, kv->key, find(fallback, kv->key)->value, false);
		}
	}
	return 0;
}

int dockerfile_meta_args(const struct dockerfile *df, dockerfile_lookup_fn build_args, void *ctx,
			 struct dockerfile_env *meta, struct berth_error *err)
{
	for (size_t i = 0; i < df->nmeta_args; i++)
		if (apply_arg(df, &df->instrs[i], build_args, ctx, NULL, meta, err) < 0)
			return -1;
	return 0;
}

char *dockerfile_stage_base(const struct dockerfile *df, size_t stage,
			    const struct dockerfile_env *meta, struct berth_error *err)
{
	if (stage >= df->nstages) {
		berth_err(err, 400, "no such stage %zu", stage);
		return NULL;
	}
	const struct dockerfile_instr *from = &df->instrs[df->stages[stage].from];
	char *base = dockerfile_expand_word(from->args[0], df->escape, dockerfile_env_lookup,
					    (void *)meta, err);
	if (!base)
		berth_err_wrap(err, "dockerfile line %d", from->line);
	else if (!*base) {
		free(base);
		berth_err(err, 400, "base name (%s) should not be blank", from->args[0]);
		return NULL;
	}
	return base;
}

int dockerfile_stage_arg(const struct dockerfile *df, const struct dockerfile_instr *arg,
			 dockerfile_lookup_fn build_args, void *ctx,
			 const struct dockerfile_env *meta, struct dockerfile_env *env,
			 struct berth_error *err)
{
	return apply_arg(df, arg, build_args, ctx, meta, env, err);
}
