/* The attached compose up's exit bookkeeping (cli/compose_exits.c): when it returns, what it
 * prints for each exit, and the exit code with --abort-on-container-exit and
 * --exit-code-from, as compose v2 decides them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compose_exits.h"

static void test_all_exit(void **state)
{
	struct compose_exits w;
	compose_exits_init(&w, false, NULL);
	assert_true(compose_exits_all_done(&w)); /* nothing to wait for */
	compose_exits_track(&w, "a1", "a");
	compose_exits_track(&w, "b1", "b");
	compose_exits_track(&w, "a1", "a"); /* listed and started: once */
	assert_int_equal(w.n, 2);
	assert_false(compose_exits_all_done(&w));
	assert_int_equal(compose_exits_exited(&w, "a1", "a", 0), COMPOSE_EXIT_PRINT);
	assert_int_equal(compose_exits_exited(&w, "a1", "a", 0), COMPOSE_EXIT_IGNORE); /* again */
	assert_int_equal(compose_exits_exited(&w, "zz", "a", 1), COMPOSE_EXIT_IGNORE); /* unknown */
	assert_false(compose_exits_all_done(&w));
	/* Started again by hand: waited for again. */
	compose_exits_track(&w, "a1", "a");
	assert_int_equal(compose_exits_exited(&w, "b1", "b", 3), COMPOSE_EXIT_PRINT);
	assert_false(compose_exits_all_done(&w));
	compose_exits_gone(&w, "a1"); /* removed */
	assert_true(compose_exits_all_done(&w));
	assert_int_equal(compose_exits_code(&w), 0); /* compose returns 0 without abort */
	compose_exits_free(&w);
}

static void test_abort_on_exit(void **state)
{
	struct compose_exits w;
	compose_exits_init(&w, true, NULL);
	compose_exits_track(&w, "a1", "a");
	compose_exits_track(&w, "b1", "b");
	compose_exits_track(&w, "b2", "b");
	assert_int_equal(compose_exits_exited(&w, "a1", "a", 4), COMPOSE_EXIT_ABORT);
	/* The ones stopped by the abort print nothing and do not change the code. */
	assert_int_equal(compose_exits_exited(&w, "b1", "b", 143), COMPOSE_EXIT_IGNORE);
	compose_exits_track(&w, "b2", "b"); /* a late start while aborting: not waited for again */
	assert_int_equal(compose_exits_exited(&w, "b2", "b", 137), COMPOSE_EXIT_IGNORE);
	assert_true(compose_exits_all_done(&w));
	assert_int_equal(compose_exits_code(&w), 4);
	compose_exits_free(&w);
}

static void test_exit_code_from(void **state)
{
	struct compose_exits w;
	compose_exits_init(&w, false, "b"); /* implies abort */
	assert_true(w.abort_on_exit);
	compose_exits_track(&w, "a1", "a");
	compose_exits_track(&w, "b1", "b");
	compose_exits_track(&w, "b2", "b");
	assert_int_equal(compose_exits_exited(&w, "a1", "a", 4), COMPOSE_EXIT_ABORT);
	assert_int_equal(compose_exits_code(&w), 0); /* b has not exited yet */
	assert_int_equal(compose_exits_exited(&w, "b2", "b", 143), COMPOSE_EXIT_IGNORE);
	assert_int_equal(compose_exits_exited(&w, "b1", "b", 137), COMPOSE_EXIT_IGNORE);
	assert_int_equal(compose_exits_code(&w), 143); /* b's first exit */
	compose_exits_free(&w);

	compose_exits_init(&w, true, "b");
	compose_exits_track(&w, "b1", "b");
	assert_int_equal(compose_exits_exited(&w, "b1", "b", 2), COMPOSE_EXIT_ABORT);
	assert_int_equal(compose_exits_code(&w), 2);
	compose_exits_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_exit),
	    cmocka_unit_test(test_abort_on_exit),
	    cmocka_unit_test(test_exit_code_from),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
