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

/* A --from value: a stage name or a stage index before `self`; -1 when it names an image. */
static int stage_ref(const struct dockerfile *df, const char *ref, size_t self)
{
	int i = dockerfile_stage_find(df, ref);
	if (i >= 0)
		return (size_t)i < self ? i : -1;
	if (!ref || !*ref || strlen(ref) > 6)
		return -1;
	for (const char *p = ref; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	long n = strtol(ref, NULL, 10);
	return n < (long)self ? (int)n : -1;
}

int dockerfile_stages_needed(const struct dockerfile *df, const char *target, bool *needed,
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
			if (in->kind == DF_FROM && in->nargs >= 1)
				r = stage_ref(df, in->args[0], (size_t)s);
			else if ((in->kind == DF_COPY || in->kind == DF_ADD) && in->copy_from)
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
