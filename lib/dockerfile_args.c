/* Arguments of each instruction (after its flags), with Docker's checks and messages. */
#include <ctype.h>
#include <string.h>

#include "dockerfile_internal.h"

static int at_least_one(const char *cmd, struct berth_error *err)
{
	return berth_err(err, 400, "%s requires at least one argument", cmd);
}

static int exactly_one(const char *cmd, struct berth_error *err)
{
	return berth_err(err, 400, "%s requires exactly one argument", cmd);
}

static int not_strings(int j, struct berth_error *err)
{
	if (j == -2)
		return berth_err(err, 400,
				 "when using JSON array syntax, strings must not hold "
				 "\\u0000");
	return berth_err(err, 400,
			 "when using JSON array syntax, arrays must be comprised of strings only");
}

/* parseMaybeJSON: an exec form when the rest is a JSON array of strings, else one shell line. */
static int maybe_json(struct dockerfile_arena **arena, const char *rest,
		      struct dockerfile_instr *in, struct berth_error *err)
{
	struct df_words w = {0};
	if (!*rest)
		return 0;
	int j = df_parse_json_array(arena, rest, &w);
	if (j < 0)
		return not_strings(j, err);
	if (j == 0)
		df_words_push(arena, &w, df_strdup(arena, rest));
	in->json = j > 0;
	in->args = w.v;
	in->nargs = w.n;
	return 0;
}

/* parseMaybeJSONToList: a JSON array, else whitespace-separated words. */
static int maybe_json_list(struct dockerfile_arena **arena, const char *rest,
			   struct dockerfile_instr *in, struct berth_error *err)
{
	struct df_words w = {0};
	int j = df_parse_json_array(arena, rest, &w);
	if (j < 0)
		return not_strings(j, err);
	if (j == 0)
		df_split_ws(arena, rest, &w);
	in->json = j > 0;
	in->args = w.v;
	in->nargs = w.n;
	return 0;
}

static void push_kv(struct dockerfile_arena **arena, struct dockerfile_instr *in, size_t *cap,
		    char *key, char *value)
{
	if (in->nkvs == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		struct dockerfile_kv *kv = df_alloc(arena, *cap * sizeof(*kv));
		if (in->nkvs)
			memcpy(kv, in->kvs, in->nkvs * sizeof(*kv));
		in->kvs = kv;
	}
	in->kvs[in->nkvs].key = key;
	in->kvs[in->nkvs].value = value;
	in->nkvs++;
}

/* parseNameVal (ENV, LABEL): `k v...` or `k=v k2="v 2"...`; values keep their quotes. */
static int name_val(struct dockerfile_arena **arena, const char *rest, char escape, const char *cmd,
		    struct dockerfile_instr *in, struct berth_error *err)
{
	struct df_words words = {0};
	size_t cap = 0;
	df_parse_words(arena, rest, escape, &words);
	if (words.n == 0)
		return at_least_one(cmd, err);
	if (!strchr(words.v[0], '=')) {
		const char *e = rest;
		while (*e && !strchr(" \t\v\f\r", *e))
			e++;
		const char *v = e;
		while (*v && strchr(" \t\v\f\r", *v))
			v++;
		if (!*e)
			return berth_err(err, 400, "%s must have two arguments", cmd);
		push_kv(arena, in, &cap, df_strndup(arena, rest, (size_t)(e - rest)),
			df_strdup(arena, v));
		return 0;
	}
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');
		if (!eq)
			return berth_err(err, 400,
					 "Syntax error - can't find = in \"%s\". Must be of the "
					 "form: name=value",
					 words.v[i]);
		*eq = '\0';
		if (!*words.v[i])
			return berth_err(err, 400, "%s names can not be blank", cmd);
		push_kv(arena, in, &cap, words.v[i], eq + 1);
	}
	return 0;
}

static int build_arg(struct dockerfile_arena **arena, const char *rest, char escape,
		     struct dockerfile_instr *in, struct berth_error *err)
{
	struct df_words words = {0};
	size_t cap = 0;
	df_parse_words(arena, rest, escape, &words);
	if (words.n == 0)
		return at_least_one("ARG", err);
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');
		if (eq)
			*eq = '\0';
		if (!*words.v[i])
			return berth_err(err, 400, "ARG names can not be blank");
		push_kv(arena, in, &cap, words.v[i], eq ? eq + 1 : NULL);
	}
	return 0;
}

static int build_from(struct dockerfile_arena **arena, const char *rest,
		      struct dockerfile_instr *in, struct berth_error *err)
{
	struct df_words w = {0};
	df_split_ws(arena, rest, &w);
	in->args = w.v;
	in->nargs = w.n;
	if (w.n == 3 && strcasecmp(w.v[1], "as") == 0) {
		char *name = df_strdup(arena, w.v[2]);
		bool ok = islower((unsigned char)tolower((unsigned char)name[0]));
		for (char *p = name; *p; p++) {
			*p = (char)tolower((unsigned char)*p);
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
			    !strchr("-_.", *p))
				ok = false;
		}
		if (!ok)
			return berth_err(err, 400,
					 "invalid name for build stage: \"%s\", name can't start "
					 "with a number or contain symbols",
					 w.v[2]);
		in->stage_name = name;
		in->nargs = 1;
	} else if (w.n != 1) {
		return berth_err(err, 400, "FROM requires either one or three arguments");
	}
	return 0;
}

static int build_onbuild(const char *rest, struct dockerfile_instr *in, struct berth_error *err)
{
	if (!*rest)
		return at_least_one("ONBUILD", err);
	size_t n = 0;
	while (rest[n] && !isspace((unsigned char)rest[n]))
		n++;
	if (n == 7 && strncasecmp(rest, "ONBUILD", 7) == 0)
		return berth_err(err, 400, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if ((n == 10 && strncasecmp(rest, "MAINTAINER", 10) == 0) ||
	    (n == 4 && strncasecmp(rest, "FROM", 4) == 0))
		return berth_err(err, 400, "%s isn't allowed as an ONBUILD trigger",
				 n == 4 ? "FROM" : "MAINTAINER");
	in->onbuild = (char *)rest;
	return 0;
}

int df_instr_args(struct dockerfile_arena **arena, const struct df_node *node, char escape,
		  struct dockerfile_instr *in, struct berth_error *err)
{
	const char *rest = node->rest, *name = dockerfile_kind_name(in->kind);
	switch (in->kind) {
	case DF_FROM:
		return build_from(arena, rest, in, err);
	case DF_RUN: /* RUN [] would run nothing: refused, where Docker fails later */
		if (maybe_json(arena, rest, in, err) < 0)
			return -1;
		if (in->nargs == 0 && in->nheredocs == 0)
			return at_least_one(name, err);
		return 0;
	case DF_ENTRYPOINT: /* `ENTRYPOINT []` or bare `ENTRYPOINT` clears it (buildkit v0.8.3) */
	case DF_CMD:
		return maybe_json(arena, rest, in, err);
	case DF_SHELL:
		if (maybe_json(arena, rest, in, err) < 0)
			return -1;
		if (in->nargs == 0)
			return at_least_one("SHELL", err);
		if (!in->json)
			return berth_err(err, 400,
					 "SHELL requires the arguments to be in JSON form");
		return 0;
	case DF_COPY:
	case DF_ADD:
		if (maybe_json_list(arena, rest, in, err) < 0)
			return -1;
		if (in->nargs < 2)
			return berth_err(err, 400,
					 "%s requires at least two arguments, but only one was "
					 "provided. Destination could not be determined.",
					 name);
		return 0;
	case DF_ENV:
	case DF_LABEL:
		return name_val(arena, rest, escape, name, in, err);
	case DF_ARG:
		return build_arg(arena, rest, escape, in, err);
	case DF_EXPOSE:
		if (!*rest)
			return at_least_one(name, err);
		{
			struct df_words w = {0};
			df_split_ws(arena, rest, &w);
			in->args = w.v;
			in->nargs = w.n;
		}
		return 0;
	case DF_VOLUME:
		if (maybe_json_list(arena, rest, in, err) < 0)
			return -1;
		if (in->nargs == 0)
			return at_least_one(name, err);
		for (size_t i = 0; i < in->nargs; i++) {
			const char *p = in->args[i];
			while (isspace((unsigned char)*p))
				p++;
			if (!*p)
				return berth_err(err, 400,
						 "VOLUME specified can not be an empty string");
		}
		return 0;
	case DF_WORKDIR:
	case DF_USER:
	case DF_MAINTAINER:
	case DF_STOPSIGNAL:
		if (!*rest)
			return exactly_one(name, err);
		in->args = df_alloc(arena, 2 * sizeof(char *));
		in->args[0] = (char *)rest;
		in->nargs = 1;
		return 0;
	case DF_ONBUILD:
		return build_onbuild(rest, in, err);
	case DF_HEALTHCHECK:
		return 0; /* dockerfile_instr.c: its arguments depend on its flags */
	}
	return 0;
}
