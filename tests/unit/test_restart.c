/* Unit tests for restart policies: Docker's backoff, its settings and labels, the policy decision. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "container.h"

#define MS 1000000LL
#define S 1000000000LL

static void test_backoff_docker_defaults(void **state)
{
	struct restart_backoff b = restart_defaults;
	int64_t d = 0;
	int64_t want[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS, 3200 * MS,
			  6400 * MS, 12800 * MS, 25600 * MS, 51200 * MS, 60 * S, 60 * S};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = restart_backoff_next(&b, d, 5 * MS);
		assert_int_equal(d, want[i]);
	}
	/* a run of 10 s or more starts over */
	assert_int_equal(restart_backoff_next(&b, 60 * S, 10 * S), 100 * MS);
	assert_int_equal(restart_backoff_next(&b, 800 * MS, 9 * S), 1600 * MS);
}

static void test_backoff_settings(void **state)
{
	struct restart_backoff b = restart_defaults;
	struct berth_error err = {0};
	assert_int_equal(restart_backoff_set(&b, "min", "1s", &err), 0);
	assert_int_equal(restart_backoff_set(&b, "max", "5s", &err), 0);
	assert_int_equal(restart_backoff_set(&b, "multiplier", "3", &err), 0);
	assert_int_equal(restart_backoff_set(&b, "reset", "1m", &err), 0);
	assert_int_equal(restart_backoff_next(&b, 0, 0), 1 * S);
	assert_int_equal(restart_backoff_next(&b, 1 * S, 0), 3 * S);
	assert_int_equal(restart_backoff_next(&b, 3 * S, 30 * S), 5 * S);
	assert_int_equal(restart_backoff_next(&b, 5 * S, 61 * S), 1 * S);
	assert_int_equal(restart_backoff_set(&b, "min", "soon", &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "invalid restart backoff min soon"));
	assert_int_equal(restart_backoff_set(&b, "min", "-1s", &err), -1);
	/* min 0: no backoff at all, whatever the multiplier */
	assert_int_equal(restart_backoff_set(&b, "min", "0", &err), 0);
	assert_int_equal(restart_backoff_next(&b, 0, 0), 0);
	assert_int_equal(restart_backoff_next(&b, 0, 0), 0);
	b = restart_defaults;
	assert_int_equal(restart_backoff_set(&b, "multiplier", "0.5", &err), -1);
	assert_int_equal(restart_backoff_set(&b, "multiplier", "2x", &err), -1);
	assert_int_equal(restart_backoff_set(&b, "jitter", "1s", &err), -1);
}

static void test_backoff_labels(void **state)
{
	struct container c = {0};
	strcpy(c.id, "aaaa");
	c.config = json_loads("{\"Config\":{\"Labels\":{\"berth.restart.backoff-min\":\"50ms\","
			      "\"berth.restart.backoff-multiplier\":\"1.5\","
			      "\"berth.restart.backoff-max\":\"bad\"}}}",
			      0, NULL);
	struct restart_backoff b;
	restart_backoff_for(&c, &b);
	assert_int_equal(b.min_ns, 50 * MS);
	assert_int_equal(b.max_ns, 60 * S); /* the bad label is ignored */
	assert_int_equal(restart_backoff_next(&b, 50 * MS, 0), 75 * MS);
	struct berth_error err = {0};
	assert_int_equal(restart_check_labels(json_object_get(json_object_get(c.config, "Config"),
							       "Labels"),
					      &err),
			 -1);
	assert_non_null(strstr(err.msg, "label berth.restart.backoff-max"));
	json_decref(c.config);
}

static void test_policy(void **state)
{
	assert_false(restart_policy_wants("no", 0, 0, 1, false));
	assert_false(restart_policy_wants("", 0, 0, 1, false));
	assert_true(restart_policy_wants("always", 0, 7, 0, false));
	assert_false(restart_policy_wants("always", 0, 0, 1, true));
	assert_true(restart_policy_wants("unless-stopped", 0, 0, 0, false));
	assert_false(restart_policy_wants("unless-stopped", 0, 0, 0, true));
	assert_true(restart_policy_wants("on-failure", 0, 100, 1, false));
	assert_false(restart_policy_wants("on-failure", 0, 0, 0, false));
	assert_true(restart_policy_wants("on-failure", 2, 1, 3, false));
	assert_false(restart_policy_wants("on-failure", 2, 2, 3, false));
	assert_false(restart_policy_wants("sometimes", 0, 0, 1, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_docker_defaults),
	    cmocka_unit_test(test_backoff_settings),
	    cmocka_unit_test(test_backoff_labels),
	    cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
