/* berth-shim's json-file logger: line splitting, Go-compatible escaping, partial lines, rotation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The logger is part of the shim binary, not of a library: compile it in. */
#include "../../agent/shim/logger.c"

static char dir[64];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Drop the "time" values so lines compare exactly. */
static void strip_times(char *s)
{
	for (char *p = s; (p = strstr(p, "\"time\":\"")); p += 8) {
		char *end = strchr(p + 8, '"');
		memmove(p + 8, end, strlen(end) + 1);
	}
}

static void test_lines_and_escapes(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/a.log", dir);
	shim_log_open(path, 0, 1);
	shim_log_write(1, "hel", 3);
	shim_log_write(1, "lo\nwor", 6);
	shim_log_write(2, "tab\there \"q\" \\ <b>&\x01\r\n", 22);
	shim_log_write(1, "ld\n", 3);
	shim_log_write(1, "\xc3\xa9t\xe9\xff\n", 6); /* valid é, then two invalid bytes */
	shim_log_write(1, "no newline", 10);
	shim_log_close();
	char *s = slurp(path);
	strip_times(s);
	assert_string_equal(
	    s, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"\"}\n"
	       "{\"log\":\"tab\\there \\\"q\\\" \\\\ \\u003cb\\u003e\\u0026\\u0001\\r\\n\","
	       "\"stream\":\"stderr\",\"time\":\"\"}\n"
	       "{\"log\":\"world\\n\",\"stream\":\"stdout\",\"time\":\"\"}\n"
	       "{\"log\":\"\xc3\xa9t\\ufffd\\ufffd\\n\",\"stream\":\"stdout\",\"time\":\"\"}\n"
	       "{\"log\":\"no newline\",\"stream\":\"stdout\",\"time\":\"\"}\n");
	free(s);
}

static void test_long_line_split(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/b.log", dir);
	shim_log_open(path, 0, 1);
	static char big[40000];
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	shim_log_write(1, big, sizeof(big));
	shim_log_close();
	char *s = slurp(path);
	int lines = 0;
	for (char *p = s; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 3); /* 16384 + 16384 + the rest with its newline */
	free(s);
}

static void test_rotation(void **state)
{
	char path[128], p1[140], p2[140], p3[140];
	snprintf(path, sizeof(path), "%s/c.log", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	shim_log_open(path, 500, 3);
	for (int i = 0; i < 100; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);
		shim_log_write(1, line, (size_t)n);
	}
	shim_log_close();
	assert_int_equal(access(p1, F_OK), 0);
	assert_int_equal(access(p2, F_OK), 0);
	assert_int_equal(access(p3, F_OK), -1);
	char *s = slurp(path);
	assert_non_null(strstr(s, "line 99\\n"));
	assert_true(strlen(s) < 700);
	free(s);
}

static void test_time_format(void **state)
{
	char buf[48];
	shim_format_time(buf, sizeof(buf), 1795830934523451781LL);
	assert_string_equal(buf, "2026-11-28T01:55:34.523451781Z");
	shim_format_time(buf, sizeof(buf), 5);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000005Z");
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/berth-logger-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_and_escapes),
	    cmocka_unit_test(test_long_line_split),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_time_format),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
