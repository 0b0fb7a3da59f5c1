/* Helpers shared by the compose unit tests: load from a string, walk JSON by dotted paths. */
#ifndef TEST_COMPOSE_UTIL_H
#define TEST_COMPOSE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/compose.h"

static char *test_environ[] = {"HOME=/home/u", "TAG=1.2", "EMPTY=", "PATH=/bin", NULL};

/* The fixtures beside this file: tests/data/compose/NAME. */
static inline const char *fixture(const char *name)
{
	static char buf[4096];
	const char *f = __FILE__;
	const char *slash = strrchr(f, '/');
	snprintf(buf, sizeof(buf), "%.*s/../data/compose/%s", (int)(slash - f), f, name);
	return buf;
}

static inline json_t *load_opts(const char *yaml, struct compose_options *o,
				struct berth_error *err)
{
	if (!o->working_dir)
		o->working_dir = "/srv/My App";
	if (!o->environ)
		o->environ = test_environ;
	memset(err, 0, sizeof(*err));
	return compose_load_data(o, "compose.yaml", yaml, strlen(yaml), err);
}

static inline json_t *load(const char *yaml)
{
	struct compose_options o = {0};
	struct berth_error err;
	json_t *p = load_opts(yaml, &o, &err);
	if (!p)
		fail_msg("unexpected error: %s", err.msg);
	return p;
}

/* The error a bad file gives (with 400). */
static inline void expect_error(const char *yaml, const char *msg)
{
	struct compose_options o = {0};
	struct berth_error err;
	json_t *p = load_opts(yaml, &o, &err);
	if (p) {
		char *s = json_dumps(p, 0);
		fail_msg("expected error \"%s\", loaded %s", msg, s);
	}
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.status, 400);
}

/* "services.web.ports.0.target" */
static inline json_t *jget(json_t *j, const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf, *tok; j && (tok = strsep(&p, "."));) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	return j;
}

static inline const char *jstr(json_t *j, const char *path)
{
	json_t *v = jget(j, path);
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

static inline long long jint(json_t *j, const char *path)
{
	json_t *v = jget(j, path);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

/* Compare a part of the model with JSON text. */
static inline void assert_json(json_t *j, const char *path, const char *want)
{
	json_error_t e;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &e);
	if (!w)
		fail_msg("bad expected JSON %s: %s", want, e.text);
	json_t *got = path ? jget(j, path) : j;
	if (!json_equal(got, w)) {
		char *s = got ? json_dumps(got, JSON_ENCODE_ANY) : strdup("(absent)");
		fail_msg("%s: got %s, want %s", path ? path : "(root)", s, want);
	}
	json_decref(w);
}

#endif
