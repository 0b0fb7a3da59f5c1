/* Unit tests for the compose loader's limits: linear time on many keys and anchors, alias bombs
 * refused quickly at the alias that crosses the node limit, size, keys, depth, NUL. */
#include <time.h>

#include "test_compose_util.h"
#include "../../lib/compose_internal.h"

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 50,000 labels: a scan per key made this 9 s; a hash makes it a fraction of one. */
static void test_many_keys_linear(void **state)
{
	struct buf b = {0};
	put(&b, "services:\n  web:\n    image: busybox\n    labels:\n");
	for (int i = 0; i < 50000; i++)
		put(&b, "      k%d: v%d\n", i, i);
	double t = now_s();
	json_t *p = load(b.s);
	t = now_s() - t;
	json_t *web = json_object_get(json_object_get(p, "services"), "web");
	assert_int_equal(json_object_size(json_object_get(web, "labels")), 50000);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(web, "labels"), "k49999")), "v49999");
	print_message("50,000 keys: %.3f s\n", t);
	assert_true(t < 3.0);
	json_decref(p);
	/* a duplicate among them is still found, at its line */
	put(&b, "      k17: again\n");
	struct compose_options o = {0};
	struct berth_error err;
	assert_null(load_opts(b.s, &o, &err));
	assert_string_equal(err.msg, "compose.yaml:50005:7: services.web.labels: mapping key "
				     "\"k17\" already defined at line 22");
	free(b.s);
}

/* 20,000 anchors each aliased once: libyaml's loader looked each alias up in a list. */
static void test_many_anchors_linear(void **state)
{
	struct buf b = {0};
	put(&b, "x-defs:\n");
	for (int i = 0; i < 20000; i++)
		put(&b, "  d%d: &d%d v%d\n", i, i, i);
	put(&b, "services:\n  web:\n    image: busybox\n    labels:\n");
	for (int i = 0; i < 20000; i++)
		put(&b, "      l%d: *d%d\n", i, i);
	double t = now_s();
	json_t *p = load(b.s);
	t = now_s() - t;
	json_t *web = json_object_get(json_object_get(p, "services"), "web");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(web, "labels"), "l12345")), "v12345");
	print_message("20,000 anchors: %.3f s\n", t);
	assert_true(t < 3.0);
	json_decref(p);
	free(b.s);
}

/* 30 levels of doubling would be 2^31 nodes: refused at the alias that crosses the limit. */
static void test_alias_bomb_30_levels(void **state)
{
	struct buf b = {0};
	put(&b, "x-a0: &a0 [lol, lol]\n");
	for (int i = 1; i <= 30; i++)
		put(&b, "x-a%d: &a%d [*a%d, *a%d]\n", i, i, i - 1, i - 1);
	put(&b, "services:\n  web:\n    image: busybox\n");
	struct compose_options o = {0};
	struct berth_error err;
	double t = now_s();
	assert_null(load_opts(b.s, &o, &err));
	t = now_s() - t;
	print_message("30-level alias bomb refused in %.3f s\n", t);
	assert_true(t < 2.0);
	assert_int_equal(err.status, 400);
	/* 2^(k+2)-2 nodes in x-a0..x-a(k): the 500,000th is crossed inside x-a16 */
	assert_string_equal(err.msg, "compose.yaml:17:20: x-a16[1]: document too large after alias "
				     "expansion (more than 500000 nodes)");
	free(b.s);
}

/* The same through merge keys, which copy too. */
static void test_merge_bomb(void **state)
{
	struct buf b = {0};
	put(&b, "x-m0: &m0 {a: 1, b: 2}\n");
	for (int i = 1; i <= 30; i++)
		put(&b, "x-m%d: &m%d {x: *m%d, y: *m%d, <<: *m%d}\n", i, i, i - 1, i - 1, i - 1);
	put(&b, "services: {}\n");
	struct compose_options o = {0};
	struct berth_error err;
	double t = now_s();
	assert_null(load_opts(b.s, &o, &err));
	assert_true(now_s() - t < 2.0);
	assert_non_null(strstr(err.msg, "document too large after alias expansion"));
	free(b.s);
}

static void test_size_keys_depth_nul(void **state)
{
	struct compose_options o = {0};
	struct berth_error err;
	/* bytes */
	size_t big = COMPOSE_MAX_BYTES + 1;
	char *s = malloc(big + 1);
	memset(s, '#', big);
	s[big] = '\0';
	memset(&err, 0, sizeof(err));
	assert_null(compose_load_data(&o, "compose.yaml", s, big, &err));
	assert_string_equal(err.msg,
			    "compose.yaml: 8388609 bytes: a compose file may have at most 8 MiB");
	free(s);
	/* keys in one mapping (short keys, so that the file stays under the byte limit) */
	struct buf b = {0};
	put(&b, "x-many:\n");
	for (int i = 0; i <= COMPOSE_MAX_KEYS; i++)
		put(&b, " %x: 0\n", i);
	assert_null(load_opts(b.s, &o, &err));
	assert_string_equal(err.msg, "compose.yaml:100002:2: x-many: more than 100000 keys in one "
				     "mapping");
	free(b.s);
	/* depth */
	b = (struct buf){0};
	put(&b, "x: ");
	for (int i = 0; i < 200; i++)
		put(&b, "[");
	for (int i = 0; i < 200; i++)
		put(&b, "]");
	put(&b, "\n");
	assert_null(load_opts(b.s, &o, &err));
	assert_string_equal(err.msg, "compose.yaml:1:103: nested more than 100 levels deep");
	free(b.s);
	/* a NUL in a string would cut it short */
	expect_error(
	    "services:\n  web:\n    image: \"busybox\\0:evil\"\n",
	    "compose.yaml:3:12: services.web.image: a string may not hold a NUL character");
}

/* A volume the agent would refuse is refused where it is written. */
static void test_volume_names(void **state)
{
	expect_error("services: {}\nvolumes:\n  data:\n    name: /etc\n",
		     "compose.yaml:4:5: volumes.data: create /etc: \"/etc\" includes invalid "
		     "characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
		     "allowed. If you intended to pass a host directory, use absolute path");
	struct buf b = {0};
	put(&b, "services: {}\nvolumes:\n  data: {name: ");
	for (int i = 0; i < 300; i++)
		put(&b, "v");
	put(&b, "}\n");
	struct compose_options o = {0};
	struct berth_error err;
	assert_null(load_opts(b.s, &o, &err));
	assert_non_null(strstr(err.msg, "volume name is too long (300 characters), at most 255"));
	free(b.s);
	json_t *p = load("services: {}\nvolumes:\n  data: {}\n  other: {name: my.vol-1}\n");
	json_decref(p);
}

/* Durations and sizes that a cast to int64 would overflow are not numbers. */
static void test_numbers_that_overflow(void **state)
{
	expect_error("services:\n  web: {image: b, stop_grace_period: inf}\n",
		     "compose.yaml:2:38: services.web.stop_grace_period: must be a duration (like "
		     "1m30s), not inf");
	expect_error("services:\n  web: {image: b, stop_grace_period: 1e300s}\n",
		     "compose.yaml:2:38: services.web.stop_grace_period: must be a duration (like "
		     "1m30s), not 1e300s");
	expect_error("services:\n  web: {image: b, stop_grace_period: 9999999999999h}\n",
		     "compose.yaml:2:38: services.web.stop_grace_period: must be a duration (like "
		     "1m30s), not 9999999999999h");
	expect_error("services:\n  web: {image: b, mem_limit: 1e30}\n",
		     "compose.yaml:2:30: services.web.mem_limit: must be a byte size (like 512m), "
		     "not 1e30");
	json_t *p =
	    load("services:\n  web: {image: b, stop_grace_period: 1h30m, mem_limit: 64m}\n");
	json_t *web = json_object_get(json_object_get(p, "services"), "web");
	assert_int_equal(json_integer_value(json_object_get(web, "stop_grace_period")),
			 5400000000000LL);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_keys_linear),
	    cmocka_unit_test(test_many_anchors_linear),
	    cmocka_unit_test(test_alias_bomb_30_levels),
	    cmocka_unit_test(test_merge_bomb),
	    cmocka_unit_test(test_size_keys_depth_nul),
	    cmocka_unit_test(test_volume_names),
	    cmocka_unit_test(test_numbers_that_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
