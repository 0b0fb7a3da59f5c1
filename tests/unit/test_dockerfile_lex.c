/* Unit tests for Dockerfile variable expansion (Docker's shell lexer rules: modifiers, quotes,
 * escapes, word splitting) and for ARG/ENV scoping across stages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static const char *fixed_env(void *ctx, const char *name)
{
	(void)ctx;
	static const char *const kv[][2] = {
	    {"PWD", "/home"},  {"SHELL", "bash"}, {"EMPTY", ""},
	    {"SPACE", "a  b"}, {"LEAD", "  x y"},
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (strcmp(kv[i][0], name) == 0)
			return kv[i][1];
	return NULL;
}

struct lex_case {
	const char *in, *want; /* want NULL: an error, msg */
	const char *msg;
};

static const struct lex_case words[] = {
    {"hello", "hello", NULL},
    {"he'll'o", "hello", NULL},
    {"he'llo", NULL, "unexpected end of statement while looking for matching single-quote"},
    {"he\\'llo", "he'llo", NULL},
    {"abc\\tdef", "abctdef", NULL},
    {"\"abc\\tdef\"", "abc\\tdef", NULL},
    {"'abc\\tdef'", "abc\\tdef", NULL},
    {"hello\\", "hello", NULL},
    {"hello\\\\", "hello\\", NULL},
    {"\"hello", NULL, "unexpected end of statement while looking for matching double-quote"},
    {"\"hel'lo\"", "hel'lo", NULL},
    {"$.", "$.", NULL},
    {"he$1x", "hex", NULL},
    {"he$PWD", "he/home", NULL},
    {"he$pwd.", "he.", NULL},
    {"he\\$PWD", "he$PWD", NULL},
    {"he\\\\$PWD", "he\\/home", NULL},
    {"\"he\\$PWD\"", "he$PWD", NULL},
    {"\\${}", "${}", NULL},
    {"${}", NULL, "syntax error: bad substitution"},
    {"he${.}", NULL, "unsupported modifier (.) in substitution"},
    {"he${hi}xx", "hexx", NULL},
    {"he${XXX:-000}xx", "he000xx", NULL},
    {"he${PWD:-000}xx", "he/homexx", NULL},
    {"he${XXX:-${PWD:-yyy}}xx", "he/homexx", NULL},
    {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx", NULL},
    {"${EMPTY:-d}", "d", NULL},
    {"${EMPTY-d}", "", NULL},
    {"${XXX-d}", "d", NULL},
    {"he${XXX:YYY}", NULL, "unsupported modifier (:Y) in substitution"},
    {"he${XXX?}", NULL, "XXX: is not allowed to be unset"},
    {"he${XXX:?must set XXX}", NULL, "XXX: must set XXX"},
    {"he${EMPTY:?}", NULL, "EMPTY: is not allowed to be empty"},
    {"he${EMPTY?}", "he", NULL},
    {"he${PWD:?}", "he/home", NULL},
    {"he${XXX:+000}xx", "hexx", NULL},
    {"he${PWD:+000}xx", "he000xx", NULL},
    {"he${PWD:+${SHELL}}xx", "hebashxx", NULL},
    {"${EMPTY+set}", "set", NULL},
    {"${EMPTY:+set}", "", NULL},
    {"'he${XX}'", "he${XX}", NULL},
    {"\"he'$PWD'\"", "he'/home'", NULL},
    {"'\\$PWD'", "\\$PWD", NULL},
    {"he${PWD", NULL, "syntax error: missing '}'"},
    {"he${PWD:=000}xx", NULL, "unsupported modifier (:=) in substitution"},
    {"he${XXX:-\\$PWD:}xx", "he$PWD:xx", NULL},
    {"${aaa}}", "}", NULL},
    {"${aaa:-bbb {foo}", "bbb {foo", NULL},
    {"${aaa:-bbb ${foo}", NULL, "syntax error: missing '}'"},
    {"${1:-bbb}", "bbb", NULL},
    {"${:-x}", NULL, "syntax error: bad substitution"},
    {"\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95", NULL},
    {"golang:${GO_VERSION:-1.22}-alpine", "golang:1.22-alpine", NULL},
};

static void test_expand_word(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct berth_error err = {0};
		char *got = dockerfile_expand_word(words[i].in, '\\', fixed_env, NULL, &err);
		if (words[i].want) {
			if (!got || strcmp(got, words[i].want)) {
				print_error("[%s]: got [%s] (%s) want [%s]\n", words[i].in,
					    got ? got : "NULL", err.msg, words[i].want);
				fail();
			}
		} else {
			if (got || strcmp(err.msg, words[i].msg)) {
				print_error("[%s]: got [%s] err [%s] want error [%s]\n",
					    words[i].in, got ? got : "NULL", err.msg, words[i].msg);
				fail();
			}
		}
		free(got);
	}
}

/* The backtick escape: `$ escapes, a backslash is a plain character. */
static void test_backtick_escape(void **state)
{
	(void)state;
	struct berth_error err = {0};
	char *got = dockerfile_expand_word("c:\\dir`$PWD $PWD", '`', fixed_env, NULL, &err);
	assert_string_equal(got, "c:\\dir$PWD /home");
	free(got);
}

static void check_words(const char *in, const char *want)
{
	struct berth_error err = {0};
	char **w = dockerfile_expand_words(in, '\\', fixed_env, NULL, &err);
	char got[512] = "";
	if (!w)
		snprintf(got, sizeof(got), "error: %s", err.msg);
	for (size_t i = 0; w && w[i]; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, w[i]);
		free(w[i]);
	}
	free(w);
	if (strcmp(got, want)) {
		print_error("[%s]: got [%s] want [%s]\n", in, got, want);
		fail();
	}
}

static void test_expand_words(void **state)
{
	(void)state;
	check_words("hello there", "hello,there");
	check_words("hello\\ there", "hello there");
	check_words("a${SPACE}b", "aa,bb");
	check_words("a\"${SPACE}\"b", "aa  bb");
	check_words("x${LEAD}", "x,x,y");
	check_words("\"\" ''", ",");
	check_words("src/*.go   /dst/", "src/*.go,/dst/");
	check_words("hello\\\" there", "hello\",there");
	check_words("'unterminated", "error: unexpected end of statement while looking for "
				     "matching single-quote");
	check_words("", "");
}

static void test_nesting_bounded(void **state)
{
	(void)state;
	char in[4096] = "";
	for (int i = 0; i < 200; i++)
		strcat(in, "${A:-");
	strcat(in, "x");
	for (int i = 0; i < 200; i++)
		strcat(in, "}");
	struct berth_error err = {0};
	char *got = dockerfile_expand_word(in, '\\', fixed_env, NULL, &err);
	assert_null(got);
	assert_string_equal(err.msg, "syntax error: substitutions nested too deeply");
}

static void test_kind_expands(void **state)
{
	(void)state;
	assert_true(dockerfile_kind_expands(DF_COPY));
	assert_true(dockerfile_kind_expands(DF_WORKDIR));
	assert_true(dockerfile_kind_expands(DF_ARG));
	assert_false(dockerfile_kind_expands(DF_RUN));
	assert_false(dockerfile_kind_expands(DF_CMD));
	assert_false(dockerfile_kind_expands(DF_ONBUILD));
	assert_false(dockerfile_kind_expands(DF_HEALTHCHECK));
}

static const char *build_args(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "VERSION") == 0)
		return "3.19";
	if (strcmp(name, "MODE") == 0)
		return "release";
	return NULL;
}

/* ARG before FROM feeds FROM lines; inside a stage it is unset until re-declared. */
static void test_arg_scope(void **state)
{
	(void)state;
	const char *t = "ARG VERSION=latest\n"
			"ARG IMAGE=alpine:${VERSION}\n"
			"ARG UNSET\n"
			"FROM ${IMAGE} AS a\n"
			"ARG VERSION\n"
			"ARG MODE=debug LEVEL=${VERSION}-x\n"
			"ENV LEVEL=fromenv\n"
			"ARG LEVEL=ignored\n"
			"FROM ${UNSET:-busybox}\n"
			"ARG IMAGE\n";
	struct dockerfile *df = NULL;
	struct berth_error err = {0};
	assert_int_equal(dockerfile_parse(t, strlen(t), &df, &err), 0);
	struct dockerfile_env meta = {0}, env = {0};
	assert_int_equal(dockerfile_meta_args(df, build_args, NULL, &meta, &err), 0);
	assert_string_equal(dockerfile_env_lookup(&meta, "VERSION"), "3.19");
	assert_string_equal(dockerfile_env_lookup(&meta, "IMAGE"), "alpine:3.19");
	assert_null(dockerfile_env_lookup(&meta, "UNSET"));
	char *base = dockerfile_stage_base(df, 0, &meta, &err);
	assert_string_equal(base, "alpine:3.19");
	free(base);
	base = dockerfile_stage_base(df, 1, &meta, &err);
	assert_string_equal(base, "busybox");
	free(base);

	/* stage a: nothing from the meta ARGs until ARG VERSION re-declares it */
	const struct dockerfile_stage *st = &df->stages[0];
	for (size_t i = st->from + 1; i < st->from + st->ninstrs; i++) {
		const struct dockerfile_instr *in = &df->instrs[i];
		if (in->kind == DF_ARG)
			assert_int_equal(
			    dockerfile_stage_arg(df, in, build_args, NULL, &meta, &env, &err), 0);
		else if (in->kind == DF_ENV)
			for (size_t k = 0; k < in->nkvs; k++)
				dockerfile_env_set(&env, in->kvs[k].key, in->kvs[k].value, true);
		if (i == st->from + 1)
			assert_null(dockerfile_env_lookup(&env, "IMAGE"));
	}
	assert_string_equal(dockerfile_env_lookup(&env, "VERSION"), "3.19");
	assert_string_equal(dockerfile_env_lookup(&env, "MODE"), "release");
	assert_string_equal(dockerfile_env_lookup(&env, "LEVEL"), "fromenv");
	assert_null(dockerfile_env_lookup(&env, "IMAGE"));
	dockerfile_env_free(&env);

	/* a required ARG left unset: Docker's message */
	const char *r = "ARG REQ\nFROM alpine:${REQ:?}\n";
	struct dockerfile *df2 = NULL;
	assert_int_equal(dockerfile_parse(r, strlen(r), &df2, &err), 0);
	struct dockerfile_env m2 = {0};
	assert_int_equal(dockerfile_meta_args(df2, NULL, NULL, &m2, &err), 0);
	assert_null(dockerfile_stage_base(df2, 0, &m2, &err));
	assert_string_equal(err.msg, "dockerfile line 2: REQ: is not allowed to be unset");
	dockerfile_env_free(&m2);
	dockerfile_free(df2);
	dockerfile_env_free(&meta);
	dockerfile_free(df);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand_word),	 cmocka_unit_test(test_backtick_escape),
	    cmocka_unit_test(test_expand_words), cmocka_unit_test(test_nesting_bounded),
	    cmocka_unit_test(test_kind_expands), cmocka_unit_test(test_arg_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
