/* Unit tests for the WWW-Authenticate parser (lib/www_auth.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "berth/www_auth.h"

static int parse(const char *s, struct berth_auth_challenge *c)
{
	return berth_www_auth_parse(s, strlen(s), c);
}

static void test_bearer(void **state)
{
	struct berth_auth_challenge c;
	assert_int_equal(parse("Bearer realm=\"http://127.0.0.1:5003/token\",service=\"regrecipe-"
			       "registry\",scope=\"repository:library/busybox:pull\"",
			       &c),
			 0);
	assert_int_equal(c.scheme, BERTH_AUTH_BEARER);
	assert_string_equal(c.realm, "http://127.0.0.1:5003/token");
	assert_string_equal(c.service, "regrecipe-registry");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
	assert_string_equal(c.error, "");
	assert_int_equal(parse("bearer realm=\"r\", scope=\"repository:a/b:pull,push\", "
			       "error=\"insufficient_scope\"",
			       &c),
			 0);
	assert_string_equal(c.scope, "repository:a/b:pull,push");
	assert_string_equal(c.error, "insufficient_scope");
}

static void test_basic_and_others(void **state)
{
	struct berth_auth_challenge c;
	assert_int_equal(parse("Basic realm=\"basic-realm\"", &c), 0);
	assert_int_equal(c.scheme, BERTH_AUTH_BASIC);
	assert_string_equal(c.realm, "basic-realm");
	/* An unknown scheme first, then ours; unknown parameters skipped; escapes. */
	assert_int_equal(parse("Negotiate abc, Bearer foo=bar, realm=\"a\\\"b\"", &c), 0);
	assert_int_equal(c.scheme, BERTH_AUTH_BEARER);
	assert_string_equal(c.realm, "a\"b");
	assert_int_equal(parse("Basic realm=token", &c), 0);
	assert_string_equal(c.realm, "token");
}

static void test_malformed(void **state)
{
	struct berth_auth_challenge c;
	assert_int_equal(parse("", &c), -1);
	assert_int_equal(parse("Digest realm=\"x\"", &c), -1);
	assert_int_equal(parse("Bearer realm=\"unterminated", &c), -1);
	assert_int_equal(c.scheme, BERTH_AUTH_NONE);
	assert_int_equal(parse("Bearer realm=\"a\" junk", &c), -1);
	char big[2000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "Bearer realm=\"", 14);
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &c), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bearer),
	    cmocka_unit_test(test_basic_and_others),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
