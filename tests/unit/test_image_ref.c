/* Unit tests for image references: Docker's grammar, normalisation, familiar keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "image_store.h"

static void key_is(const char *ref, const char *want)
{
	char out[600];
	struct berth_error err = {0};
	int rc = image_ref_normalize(ref, out, sizeof(out), &err);
	if (rc < 0)
		fail_msg("%s: %s", ref, err.msg);
	assert_string_equal(out, want);
}

static void bad(const char *ref, const char *msg)
{
	char out[600];
	struct berth_error err = {0};
	assert_int_equal(image_ref_normalize(ref, out, sizeof(out), &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, msg);
}

static void test_normalize(void **state)
{
	key_is("busybox", "busybox:latest");
	key_is("busybox:1.36", "busybox:1.36");
	key_is("library/busybox", "busybox:latest");
	key_is("docker.io/library/busybox:latest", "busybox:latest");
	key_is("index.docker.io/library/busybox", "busybox:latest");
	key_is("docker.io/foo/bar:v1", "foo/bar:v1");
	key_is("foo/bar", "foo/bar:latest");
	key_is("localhost:5000/app", "localhost:5000/app:latest");
	key_is("localhost/app:x", "localhost/app:x");
	key_is("registry.example.com:443/a/b/c:t_1.2-3", "registry.example.com:443/a/b/c:t_1.2-3");
	key_is("my-app_1.x__y", "my-app_1.x__y:latest");
	key_is("a---b", "a---b:latest");
	key_is("busybox@sha256:"
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	       "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	key_is("busybox:1@sha256:"
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	       "busybox:1");
}

static void test_invalid(void **state)
{
	bad("", "invalid reference format");
	bad("Busybox", "invalid reference format: repository name (library/Busybox) must be "
		       "lowercase");
	bad("busybox:", "invalid reference format");
	bad("busybox:-x", "invalid reference format");
	bad("bad name", "invalid reference format");
	bad("a//b", "invalid reference format");
	bad("-abc", "invalid reference format");
	bad("abc-", "invalid reference format");
	bad("a..b", "invalid reference format");
	bad("a___b", "invalid reference format");
	bad("busybox@sha256:abc", "invalid reference format");
	bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "invalid repository name "
	    "(0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), cannot "
	    "specify 64-byte hexadecimal strings");
	char tag[200] = "x:";
	memset(tag + 2, 'a', 129);
	bad(tag, "invalid reference format");
	assert_true(image_ref_tag_valid("_x.Y-1"));
	assert_false(image_ref_tag_valid(".x"));
}

/* A Docker Hub repository whose first component reads as a registry ("localhost", a dotted
 * name) keeps its domain in the key, so it neither collides with that registry's image nor
 * stores a key that parses back as another image (found by fuzz_image_ref). */
static void test_hub_namespace_like_domain(void **state)
{
	key_is("docker.io/localhost/app:x", "docker.io/localhost/app:x");
	key_is("localhost/app:x", "localhost/app:x");
	key_is("docker.io/x_y-1ker.io/y/b", "docker.io/x_y-1ker.io/y/b:latest");
	key_is("docker.io/x_y-1ker.io/y/b:latest", "docker.io/x_y-1ker.io/y/b:latest");
	key_is("docker.io/a.b/c", "docker.io/a.b/c:latest");
	key_is("a.b/c", "a.b/c:latest");
	key_is("docker.io/localhostx/app", "localhostx/app:latest");
}

static void test_parts(void **state)
{
	struct image_ref r;
	assert_int_equal(image_ref_parse("quay.io/org/app:v2", &r, NULL), 0);
	assert_string_equal(r.domain, "quay.io");
	assert_string_equal(r.path, "org/app");
	assert_string_equal(r.familiar, "quay.io/org/app");
	assert_string_equal(r.tag, "v2");
	assert_int_equal(image_ref_parse("busybox", &r, NULL), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "library/busybox");
	assert_string_equal(r.tag, "");
}

static void full_is(const char *ref, const char *want)
{
	struct image_ref r;
	char out[700];
	assert_int_equal(image_ref_parse(ref, &r, NULL), 0);
	image_ref_full(&r, out, sizeof(out));
	assert_string_equal(out, want);
}

/* What `docker pull` prints last: the fully qualified reference. */
static void test_full(void **state)
{
	full_is("busybox", "docker.io/library/busybox:latest");
	full_is("gihyodocker/echo:latest", "docker.io/gihyodocker/echo:latest");
	full_is("127.0.0.1:5000/gihyodocker/echo", "127.0.0.1:5000/gihyodocker/echo:latest");
	full_is("host:5000/ns/name:tag", "host:5000/ns/name:tag");
	full_is("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"docker.io/library/busybox@sha256:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	full_is("busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"docker.io/library/busybox:1@sha256:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	struct image_ref r;
	assert_int_equal(image_ref_parse("host:5000/ns/name:tag", &r, NULL), 0);
	assert_string_equal(r.domain, "host:5000");
	assert_string_equal(r.path, "ns/name");
	assert_string_equal(r.tag, "tag");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize), cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_parts),     cmocka_unit_test(test_hub_namespace_like_domain),
	    cmocka_unit_test(test_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
