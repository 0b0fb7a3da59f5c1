/* The log limiter (lib/log_limit.c): repeats folded, at most BERTH_LOG_MAX_PER_SEC lines a
 * second, and what was left out reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "berth/log.h"

#define MS 1000000LL

static char lines[512][128];
static int n_lines;

static void capture(void *arg, enum berth_log_level level, const char *line)
{
	(void)arg;
	(void)level;
	if (n_lines < 512)
		snprintf(lines[n_lines], sizeof(lines[0]), "%s", line);
	n_lines++;
}

static int setup(void **state)
{
	(void)state;
	n_lines = 0;
	return 0;
}

static void feed(struct berth_log_limit *l, const char *msg, int64_t now)
{
	berth_log_limit_feed(l, BERTH_LOG_WARN, msg, now, capture, NULL);
}

static void test_repeats_folded(void **state)
{
	(void)state;
	struct berth_log_limit l = {0};
	int64_t t = 1000 * MS;
	/* A million repeats within 0.9 s: one line, then the count when another comes. */
	for (int i = 0; i < 1000000; i++)
		feed(&l, "accept: Too many open files", t + i % 900 * MS);
	assert_int_equal(n_lines, 1);
	assert_string_equal(lines[0], "accept: Too many open files");
	feed(&l, "something else", t + 950 * MS);
	assert_int_equal(n_lines, 3);
	assert_string_equal(lines[1], "last message repeated 999999 times");
	assert_string_equal(lines[2], "something else");
}

static void test_repeats_reported_each_second(void **state)
{
	(void)state;
	struct berth_log_limit l = {0};
	int64_t t = 5000 * MS;
	/* 10 s of the same message every millisecond: about one count line a second. */
	for (int i = 0; i < 10000; i++)
		feed(&l, "same", t + i * MS);
	assert_in_range(n_lines, 10, 11);
	assert_string_equal(lines[0], "same");
	assert_string_equal(lines[1], "last message repeated 1000 times");
	/* Every repeat is counted once: 9999 in all. */
	long total = 0;
	for (int i = 1; i < n_lines && i < 512; i++) {
		long n = 0;
		assert_int_equal(sscanf(lines[i], "last message repeated %ld times", &n), 1);
		total += n;
	}
	feed(&l, "other", t + 10000 * MS);
	long last = 0;
	sscanf(lines[n_lines - 2], "last message repeated %ld time", &last);
	assert_int_equal(total + last, 9999);
}

static void test_flood_bounded(void **state)
{
	(void)state;
	struct berth_log_limit l = {0};
	int64_t t = 7000 * MS;
	char msg[64];
	/* Distinct lines (an fd number in each): the bound holds, the rest is counted. */
	for (int i = 0; i < 5000; i++) {
		snprintf(msg, sizeof(msg), "conn %d: reset", i);
		feed(&l, msg, t + i * 100000LL); /* 5000 in 0.5 s */
	}
	assert_int_equal(n_lines, BERTH_LOG_MAX_PER_SEC);
	assert_string_equal(lines[0], "conn 0: reset");
	feed(&l, "next second", t + 1200 * MS);
	assert_int_equal(n_lines, BERTH_LOG_MAX_PER_SEC + 2);
	char want[96];
	snprintf(want, sizeof(want), "%d messages suppressed (more than %d a second)",
		 5000 - BERTH_LOG_MAX_PER_SEC, BERTH_LOG_MAX_PER_SEC);
	assert_string_equal(lines[BERTH_LOG_MAX_PER_SEC], want);
	assert_string_equal(lines[BERTH_LOG_MAX_PER_SEC + 1], "next second");
}

static void test_level_differs(void **state)
{
	(void)state;
	struct berth_log_limit l = {0};
	berth_log_limit_feed(&l, BERTH_LOG_INFO, "x", 1, capture, NULL);
	berth_log_limit_feed(&l, BERTH_LOG_ERROR, "x", 2, capture, NULL);
	berth_log_limit_feed(&l, BERTH_LOG_ERROR, "x", 3, capture, NULL);
	berth_log_limit_feed(&l, BERTH_LOG_INFO, "y", 4, capture, NULL);
	assert_int_equal(n_lines, 4);
	assert_string_equal(lines[1], "x");
	assert_string_equal(lines[2], "last message repeated 1 time");
	assert_string_equal(lines[3], "y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_repeats_folded, setup),
	    cmocka_unit_test_setup(test_repeats_reported_each_second, setup),
	    cmocka_unit_test_setup(test_flood_bounded, setup),
	    cmocka_unit_test_setup(test_level_differs, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
