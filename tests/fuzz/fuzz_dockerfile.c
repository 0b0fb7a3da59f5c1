/* libFuzzer harness for the Dockerfile parser (lib/dockerfile*.c): any bytes parse or fail with
 * a message, never crash or leak; what parses keeps its invariants (lines in order, stages
 * covering the instructions), and expansion, ARG scoping and the stage graph run on it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "A") == 0)
		return "a b";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "HOME") == 0)
		return "/root";
	return NULL;
}

static void expand(const struct dockerfile *df, const char *s)
{
	struct berth_error err = {0};
	free(dockerfile_expand_word(s, df->escape, lookup, NULL, &err));
	char **w = dockerfile_expand_words(s, df->escape, lookup, NULL, &err);
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

static void check(const struct dockerfile *df)
{
	if (df->ninstrs == 0 || df->nstages == 0 || (df->escape != '\\' && df->escape != '`'))
		abort();
	int prev = 0;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const struct dockerfile_instr *in = &df->instrs[i];
		if (in->line <= prev || in->end_line < in->line || !in->original)
			abort();
		prev = in->end_line;
		for (size_t a = 0; a < in->nargs; a++)
			expand(df, in->args[a]);
		for (size_t k = 0; k < in->nkvs; k++)
			if (in->kvs[k].value)
				expand(df, in->kvs[k].value);
		if (in->kind == DF_FROM && in->nargs != 1)
			abort();
		if ((in->kind == DF_COPY || in->kind == DF_ADD) && in->nargs < 2)
			abort();
	}
	size_t covered = df->nmeta_args;
	for (size_t s = 0; s < df->nstages; s++) {
		if (df->stages[s].from != covered || df->instrs[covered].kind != DF_FROM)
			abort();
		covered += df->stages[s].ninstrs;
	}
	if (covered != df->ninstrs)
		abort();

	bool *needed = calloc(df->nstages, sizeof(*needed));
	struct berth_error err = {0};
	if (!needed)
		abort();
	int t = dockerfile_stages_needed(df, NULL, NULL, needed, &err);
	if (t != (int)df->nstages - 1 || !needed[t])
		abort();
	for (size_t s = 0; s < df->nstages; s++)
		if (df->stages[s].name &&
		    dockerfile_stages_needed(df, df->stages[s].name, NULL, needed, &err) != (int)s)
			abort();
	(void)dockerfile_check_from_indexes(df, &err);

	struct dockerfile_env meta = {0};
	if (dockerfile_meta_args(df, lookup, NULL, &meta, &err) == 0) {
		if (dockerfile_stages_needed(df, NULL, &meta, needed, &err) >= 0 &&
		    !needed[df->nstages - 1])
			abort();
		for (size_t s = 0; s < df->nstages; s++) {
			free(dockerfile_stage_base(df, s, &meta, &err));
			struct dockerfile_env env = {0};
			const struct dockerfile_stage *st = &df->stages[s];
			for (size_t i = st->from + 1; i < st->from + st->ninstrs; i++)
				if (df->instrs[i].kind == DF_ARG)
					dockerfile_stage_arg(df, &df->instrs[i], lookup, NULL,
							     &meta, &env, &err);
			dockerfile_env_free(&env);
		}
	}
	dockerfile_env_free(&meta);
	free(needed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dockerfile *df = NULL;
	struct berth_error err = {0};
	if (dockerfile_parse((const char *)data, size, &df, &err) == 0) {
		check(df);
		dockerfile_free(df);
	} else if (!err.msg[0]) {
		abort(); /* every failure says why */
	}
	return 0;
}
