/* CPU lists (lib/cpuset.c), the compose `cpuset` key, and the scheduler's choice of CPUs for a
 * pinned replica (sched_plan_cpus, sched_plan_cpu_count, the create body). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "berth/cpuset.h"
#include "test_compose_util.h"
#include "sched.h"

/* parse, then format: the canonical form, or "ERR" */
static const char *roundtrip(const char *in)
{
	static char out[256];
	struct berth_cpuset set;
	if (berth_cpuset_parse(in, &set) < 0)
		return "ERR";
	berth_cpuset_format(&set, out, sizeof(out));
	return out;
}

static void test_parse_format(void **state)
{
	assert_string_equal(roundtrip(""), "");
	assert_string_equal(roundtrip("7"), "7");
	assert_string_equal(roundtrip("1-6"), "1-6");
	assert_string_equal(roundtrip("0,3-4,7,8-10"), "0,3-4,7-10");
	assert_string_equal(roundtrip("0-0,0,1-7"), "0-7");
	assert_string_equal(roundtrip("03,1-3"), "1-3"); /* Docker's example: leading zeros */
	assert_string_equal(roundtrip("3,2,1"), "1-3");
	assert_string_equal(roundtrip("0-1\n"), "0-1"); /* a cgroup file's line */
	assert_string_equal(roundtrip("63-65,127,128"), "63-65,127-128");
	assert_string_equal(roundtrip("8191"), "8191");
	static const char *const bad[] = {"1-",	 "-1",	  "a",	"1,,2",	 ",1",	 "1,",
					  "2-1", " 1",	  "1 ", "1-2-3", "8192", "99999999999",
					  "0x1", "1\n\n", "+1", NULL};
	for (int i = 0; bad[i]; i++)
		if (strcmp(roundtrip(bad[i]), "ERR") != 0)
			fail_msg("\"%s\" parsed as \"%s\"", bad[i], roundtrip(bad[i]));
}

static void test_set_ops(void **state)
{
	struct berth_cpuset a, b;
	assert_int_equal(berth_cpuset_parse("1,64-66", &a), 0);
	assert_int_equal(berth_cpuset_count(&a), 4);
	assert_true(berth_cpuset_has(&a, 65));
	assert_false(berth_cpuset_has(&a, 2));
	assert_false(berth_cpuset_has(&a, -1));
	assert_false(berth_cpuset_has(&a, BERTH_CPUSET_MAX));
	assert_int_equal(berth_cpuset_next(&a, 0), 1);
	assert_int_equal(berth_cpuset_next(&a, 2), 64);
	assert_int_equal(berth_cpuset_next(&a, 67), -1);
	assert_int_equal(berth_cpuset_parse("0-127", &b), 0);
	assert_true(berth_cpuset_subset(&a, &b));
	assert_false(berth_cpuset_subset(&b, &a));
	assert_int_equal(berth_cpuset_parse("0-1", &b), 0);
	assert_false(berth_cpuset_subset(&a, &b));
	/* format into a short buffer: the length it needs, a cut at an item */
	char small[4];
	assert_int_equal(berth_cpuset_format(&a, small, sizeof(small)), strlen("1,64-66"));
	assert_string_equal(small, "1");
}

/* pick count CPUs of pool under load; the result formatted */
static const char *pick(const char *pool_text, const int *load, size_t n, int count)
{
	static char out[256];
	struct berth_cpuset pool, chosen;
	assert_int_equal(berth_cpuset_parse(pool_text, &pool), 0);
	sched_plan_cpus(&pool, load, n, count, &chosen);
	berth_cpuset_format(&chosen, out, sizeof(out));
	return out;
}

static void test_plan_cpus(void **state)
{
	int zero[8] = {0};
	assert_string_equal(pick("0-3", zero, 8, 1), "0"); /* ties: the lowest */
	assert_string_equal(pick("2-3", zero, 8, 1), "2");
	int load[8] = {2, 1, 1, 0, 5, 0, 0, 0};
	assert_string_equal(pick("0-4", load, 8, 1), "3");
	assert_string_equal(pick("0-4", load, 8, 2), "1,3"); /* 3 (0), then 1 (1, before 2) */
	assert_string_equal(pick("0-4", load, 8, 3), "1-3");
	assert_string_equal(pick("0,4", load, 8, 1), "0");
	/* no count, or as many as the pool has: the whole pool */
	assert_string_equal(pick("0-4", load, 8, 0), "0-4");
	assert_string_equal(pick("0-4", load, 8, 5), "0-4");
	assert_string_equal(pick("0-4", load, 8, 9), "0-4");
	/* CPUs past the load array count as unloaded */
	assert_string_equal(pick("0-1,100", load, 8, 1), "100");

	/* 4 replicas on 0-1 one at a time, each added to the load: 0, 1, 0, 1 */
	int l2[2] = {0, 0};
	const char *want[] = {"0", "1", "0", "1"};
	for (int i = 0; i < 4; i++) {
		const char *got = pick("0-1", l2, 2, 1);
		assert_string_equal(got, want[i]);
		l2[got[0] - '0']++;
	}
}

static void test_cpu_count_and_body(void **state)
{
	json_t *m = load("services:\n"
			 "  a: {image: x, cpuset: \"3,1,2\", cpus: 0.5}\n"
			 "  b: {image: x, cpuset: '0-1', deploy: {resources: {limits: {cpus: 1.5},"
			 " reservations: {cpus: 2}}}}\n"
			 "  c: {image: x, cpuset: 0}\n"
			 "  d: {image: x, cpuset: \"\", cpus: 1}\n");
	json_t *svcs = json_object_get(m, "services");
	json_t *a = json_object_get(svcs, "a");
	assert_string_equal(json_string_value(json_object_get(a, "cpuset")), "1-3");
	assert_int_equal(sched_plan_cpu_count(a), 1);
	assert_int_equal(sched_plan_cpu_count(json_object_get(svcs, "b")), 2); /* reservations */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(svcs, "c"), "cpuset")), "0");
	assert_int_equal(sched_plan_cpu_count(json_object_get(svcs, "c")), 0);
	assert_null(json_object_get(json_object_get(svcs, "d"), "cpuset"));

	/* the create body: the whole pool, then a replica's share over it */
	struct berth_error err = {0};
	json_t *body = sched_create_body(m, "p", "a", 1, "h", &err);
	assert_non_null(body);
	json_t *host = json_object_get(body, "HostConfig");
	assert_string_equal(json_string_value(json_object_get(host, "CpusetCpus")), "1-3");
	sched_create_body_pin(body, "2");
	assert_string_equal(json_string_value(json_object_get(host, "CpusetCpus")), "2");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(body, "Labels"), SCHED_LABEL_CPUSET)),
	    "2");
	json_decref(body);
	body = sched_create_body(m, "p", "d", 1, "h", &err);
	assert_null(json_object_get(json_object_get(body, "HostConfig"), "CpusetCpus"));
	assert_null(json_object_get(json_object_get(body, "Labels"), SCHED_LABEL_CPUSET));
	json_decref(body);
	json_decref(m);
}

static void test_compose_errors(void **state)
{
	expect_error(
	    "services:\n  web:\n    image: x\n    cpuset: \"0-\"\n",
	    "compose.yaml:4:13: services.web.cpuset: invalid CPU list \"0-\": want numbers "
	    "and ranges such as \"0-3,8\"");
	expect_error("services:\n  web:\n    image: x\n    cpuset: [0, 1]\n",
		     "compose.yaml:4:13: services.web.cpuset: must be a string, not a sequence");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),   cmocka_unit_test(test_set_ops),
	    cmocka_unit_test(test_plan_cpus),	   cmocka_unit_test(test_cpu_count_and_body),
	    cmocka_unit_test(test_compose_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
