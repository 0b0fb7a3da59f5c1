/* Unit tests for lib/: durations, sizes, IDs, names, SHA-256, atomic files, errors. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/daemon.h"
#include "berth/duration.h"
#include "berth/error.h"
#include "berth/fsutil.h"
#include "berth/id.h"

static void human(double s, const char *want)
{
	char buf[64];
	berth_human_duration(s, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_human_duration(void **state)
{
	human(0.4, "Less than a second");
	human(1, "1 second");
	human(47, "47 seconds");
	human(60, "About a minute");
	human(119, "About a minute");
	human(180, "3 minutes");
	human(3600, "About an hour");
	human(2 * 3600, "2 hours");
	human(36 * 3600, "36 hours");
	human(2 * 86400, "2 days");
	human(13 * 86400, "13 days");
	human(14 * 86400, "2 weeks");
	human(62 * 86400, "2 months");
	human(800 * 86400, "2 years");
}

static void test_parse_duration(void **state)
{
	assert_int_equal(berth_parse_duration_ns("10s"), 10000000000LL);
	assert_int_equal(berth_parse_duration_ns("1m30s"), 90000000000LL);
	assert_int_equal(berth_parse_duration_ns("500ms"), 500000000LL);
	assert_int_equal(berth_parse_duration_ns("2"), 2000000000LL);
	assert_int_equal(berth_parse_duration_ns("1h"), 3600000000000LL);
	assert_int_equal(berth_parse_duration_ns("abc"), -1);
	assert_int_equal(berth_parse_duration_ns("5x"), -1);
	assert_int_equal(berth_parse_duration_ns(""), -1);
}

static void test_parse_bytes(void **state)
{
	assert_int_equal(berth_parse_bytes("1024"), 1024);
	assert_int_equal(berth_parse_bytes("8m"), 8 * 1024 * 1024);
	assert_int_equal(berth_parse_bytes("512MB"), 512LL * 1024 * 1024);
	assert_int_equal(berth_parse_bytes("1g"), 1024LL * 1024 * 1024);
	assert_int_equal(berth_parse_bytes("100k"), 100 * 1024);
	assert_int_equal(berth_parse_bytes("12q"), -1);
	assert_int_equal(berth_parse_bytes("-1"), -1);
	assert_int_equal(berth_parse_bytes("m"), -1);
}

static void test_human_size(void **state)
{
	char buf[32];
	berth_human_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0B");
	berth_human_size(4261888, buf, sizeof(buf));
	assert_string_equal(buf, "4.26MB");
	berth_human_size(999, buf, sizeof(buf));
	assert_string_equal(buf, "999B");
	berth_human_size(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1kB");
}

static void test_rfc3339_round_trip(void **state)
{
	char buf[64];
	int64_t ns = 1795830160123456789LL;
	berth_format_rfc3339(ns, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-28T01:42:40.123456789Z");
	assert_int_equal(berth_parse_rfc3339(buf), ns);
	assert_int_equal(berth_parse_rfc3339("2026-11-28T02:42:40+01:00"), 1795830160000000000LL);
	berth_format_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
	assert_int_equal(berth_parse_rfc3339("yesterday"), 0);
}

static void test_ids_and_names(void **state)
{
	char id[65], other[65];
	berth_id_random(id);
	berth_id_random(other);
	assert_int_equal(strlen(id), 64);
	assert_true(berth_is_hex(id, 64));
	assert_string_not_equal(id, other);
	char name[64];
	berth_name_random(name, sizeof(name), 0);
	assert_non_null(strchr(name, '_'));
	assert_true(berth_name_valid(name));
	assert_true(berth_name_valid("web"));
	assert_true(berth_name_valid("/web.1_a-b"));
	assert_false(berth_name_valid("a"));
	assert_false(berth_name_valid("-web"));
	assert_false(berth_name_valid("we b"));
	assert_false(berth_name_valid(""));
	assert_false(berth_is_hex("ABCD", 4));
}

static void test_sha256(void **state)
{
	char hex[65];
	berth_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	struct berth_sha256 *h = berth_sha256_new();
	berth_sha256_update(h, "a", 1);
	berth_sha256_update(h, "bc", 2);
	berth_sha256_final_hex(h, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_atomic_write_and_rm_rf(void **state)
{
	char tmpl[] = "/tmp/berth-test-lib-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct berth_error err = {0};
	_cleanup_free_ char *nested = berth_strdupf("%s/a/b/c", tmpl);
	assert_int_equal(berth_mkdir_p(nested, 0755, &err), 0);
	_cleanup_free_ char *file = berth_strdupf("%s/state.json", nested);
	json_t *j = json_pack("{s:s, s:i}", "Status", "running", "Pid", 42);
	assert_int_equal(berth_write_json_atomic(file, j, &err), 0);
	json_decref(j);
	_cleanup_json_ json_t *back = berth_read_json(file, &err);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "Status")), "running");
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(berth_rm_rf(tmpl, &err), 0);
	assert_int_not_equal(stat(tmpl, &st), 0);
	/* reading a missing file is a 404 with the path in the message */
	char *data = NULL;
	assert_int_equal(berth_read_file(file, &data, NULL, &err), -1);
	assert_int_equal(err.status, 404);
	assert_non_null(strstr(err.msg, "state.json"));
}

static void test_error_wrap(void **state)
{
	struct berth_error err = {0};
	assert_false(berth_err_is_set(&err));
	assert_int_equal(berth_err(&err, 404, "No such container: %s", "web"), -1);
	berth_err_wrap(&err, "stop");
	assert_string_equal(err.msg, "stop: No such container: web");
	assert_int_equal(err.status, 404);
	assert_int_equal(err.exit_code, 125);
	berth_err_clear(&err);
	assert_false(berth_err_is_set(&err));
}

static void test_daemon_pid_and_signals(void **state)
{
	char tmpl[] = "/tmp/berth-test-lib-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct berth_error err = {0};
	_cleanup_free_ char *pid_path = berth_strdupf("%s/x.pid", tmpl);
	assert_int_equal(berth_daemon_write_pid(pid_path, &err), 0);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(berth_read_file(pid_path, &text, NULL, &err), 0);
	_cleanup_free_ char *want = berth_strdupf("%d\n", (int)getpid());
	assert_string_equal(text, want);
	struct stat st;
	assert_int_equal(stat(pid_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(berth_rm_rf(tmpl, &err), 0);

	/* SIGTERM ends the loop instead of the process. */
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct berth_daemon_signals sig = {0};
	berth_daemon_signals_add(&sig, base, "shutting down");
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_true(event_base_got_break(base));
	berth_daemon_signals_free(&sig);
	berth_daemon_signals_free(&sig); /* idempotent */
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_duration),	cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_bytes),	cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_rfc3339_round_trip), cmocka_unit_test(test_ids_and_names),
		cmocka_unit_test(test_sha256),		cmocka_unit_test(test_atomic_write_and_rm_rf),
		cmocka_unit_test(test_error_wrap),	cmocka_unit_test(test_daemon_pid_and_signals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
