/* The stage graph: which stages a build of --target needs (FROM <stage>, --from, mounts). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

int dockerfile_stage_find(const struct dockerfile *df, const char *name)
{
	if (!name || !*name)
		return -1;
	for (size_t i = 0; i < df->nstages; i++)
		if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Digits only (what strconv.ParseInt accepts, without sign); -1 otherwise or when huge. */
static long stage_index(const char *ref)
{
	if (!ref || !*ref || strlen(ref) > 9)
		return -1;
	for (const char *p = ref; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	return strtol(ref, NULL, 10);
}

/* A --from value: a stage name or a stage index before `self`; -1 when it names an image. */
static int stage_ref(const struct dockerfile *df, const char *ref, size_t self)
{
	int i = dockerfile_stage_find(df, ref);
	if (i >= 0)
		return (size_t)i < self ? i : -1;
	long n = stage_index(ref);
	return n >= 0 && n < (long)self ? (int)n : -1;
}

static int check_index(const char *ref, size_t self, struct berth_error *err)
{
	bool digits = *ref != 0;
	for (const char *p = ref; *p; p++)
		digits = digits && (isdigit((unsigned char)*p) || (p == ref && *p == '-'));
	if (!digits)
		return 0;
	long i = stage_index(ref[0] == '-' ? "x" : ref);
	if (i == (long)self)
		return berth_err(err, 400,
				 "invalid from flag value %s: refers to current build stage", ref);
	if (i < 0 || i > (long)self)
		return berth_err(err, 400, "invalid from flag value %s: index out of bounds", ref);
	return 0;
}

int dockerfile_check_from_indexes(const struct dockerfile *df, struct berth_error *err)
{
	for (size_t s = 0; s < df->nstages; s++) {
		const struct dockerfile_stage *st = &df->stages[s];
		for (size_t i = st->from; i < st->from + st->ninstrs; i++) {
			const struct dockerfile_instr *in = &df->instrs[i];
			if (in->copy_from && dockerfile_stage_find(df, in->copy_from) < 0 &&
			    check_index(in->copy_from, s, err) < 0)
				return -1;
			for (size_t m = 0; m < in->nmounts; m++)
				if (in->mounts[m].from &&
				    dockerfile_stage_find(df, in->mounts[m].from) < 0 &&
				    check_index(in->mounts[m].from, s, err) < 0)
					return -1;
		}
	}
	return 0;
}

int dockerfile_stages_needed(const struct dockerfile *df, const char *target,
			     const struct dockerfile_env *meta, bool *needed,
			     struct berth_error *err)
{
	int t = (int)df->nstages - 1;
	if (target && *target) {
		t = dockerfile_stage_find(df, target);
		if (t < 0)
			return berth_err(err, 400, "failed to reach build target %s in Dockerfile",
					 target);
	}
	memset(needed, 0, df->nstages * sizeof(*needed));
	needed[t] = true;
	/* A stage only refers to earlier ones, so one backward sweep reaches them all. */
	for (int s = t; s >= 0; s--) {
		if (!needed[s])
			continue;
		const struct dockerfile_stage *st = &df->stages[s];
		for (size_t i = st->from; i < st->from + st->ninstrs; i++) {
			const struct dockerfile_instr *in = &df->instrs[i];
			int r = -1;
			if (in->kind == DF_FROM && in->nargs >= 1 && meta) {
				char *base = dockerfile_expand_word(in->args[0], df->escape,
								    dockerfile_env_lookup,
								    (void *)meta, err);
				if (!base)
					return berth_err_wrap(err, "dockerfile line %d", in->line);
				r = stage_ref(df, base, (size_t)s);
				free(base);
			} else if (in->kind == DF_FROM && in->nargs >= 1) {
				r = stage_ref(df, in->args[0], (size_t)s);
			} else if ((in->kind == DF_COPY || in->kind == DF_ADD) && in->copy_from)
				r = stage_ref(df, in->copy_from, (size_t)s);
			if (r >= 0)
				needed[r] = true;
			for (size_t m = 0; in->kind == DF_RUN && m < in->nmounts; m++) {
				r = in->mounts[m].from
					? stage_ref(df, in->mounts[m].from, (size_t)s)
					: -1;
				if (r >= 0)
					needed[r] = true;
			}
		}
	}
	return t;
}
