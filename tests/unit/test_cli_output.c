/* Unit tests for the CLI's output: tabwriter, truncation, ports, sizes, templates, demux. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "output.h"

static void test_tabwriter(void **state)
{
	char *t = cli_tabwrite("CONTAINER ID\tIMAGE\tNAMES\n0123456789ab\tbusybox\tweb\n", 10, 3);
	assert_string_equal(t, "CONTAINER ID   IMAGE     NAMES\n"
			       "0123456789ab   busybox   web\n");
	free(t);
	/* an empty column still takes minwidth; a wide one takes text + padding */
	t = cli_tabwrite("A\tPORTS\tB\nx\t\ty\n", 10, 3);
	assert_string_equal(t, "A         PORTS     B\nx                   y\n");
	free(t);
	/* widths count characters, not bytes */
	t = cli_tabwrite("\"abc…\"\tz\nab\tz\n", 1, 3);
	assert_string_equal(t, "\"abc…\"   z\nab       z\n");
	free(t);
	/* a line with fewer cells ends the column block */
	t = cli_tabwrite("aaaaaaaaaaaa\tb\nc\nd\te\n", 1, 1);
	assert_string_equal(t, "aaaaaaaaaaaa b\nc\nd e\n");
	free(t);
}

static void test_ellipsis_and_quote(void **state)
{
	char *s = cli_ellipsis("echo abcdefghijklmnopqrstuvwxyz", 20);
	assert_string_equal(s, "echo abcdefghijklmn…");
	assert_int_equal(cli_utf8_len(s), 20);
	free(s);
	s = cli_ellipsis("short", 20);
	assert_string_equal(s, "short");
	free(s);
	s = cli_go_quote("sh -c \"echo\\n\"\t");
	assert_string_equal(s, "\"sh -c \\\"echo\\\\n\\\"\\t\"");
	free(s);
}

static void test_sizes(void **state)
{
	char b[32];
	cli_human_size(0, 3, b, sizeof(b));
	assert_string_equal(b, "0B");
	cli_human_size(4261376, 3, b, sizeof(b));
	assert_string_equal(b, "4.26MB");
	cli_human_size(999, 3, b, sizeof(b));
	assert_string_equal(b, "999B");
	cli_human_size(1500, 4, b, sizeof(b));
	assert_string_equal(b, "1.5kB");
	cli_human_size(2e9, 3, b, sizeof(b));
	assert_string_equal(b, "2GB");
}

static void test_ports(void **state)
{
	json_t *p = json_loads("[{\"PrivatePort\":8080,\"Type\":\"tcp\"}]", 0, NULL);
	char *s = cli_format_ports(p);
	assert_string_equal(s, "8080/tcp");
	free(s);
	json_decref(p);
	p = json_loads(
	    "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":8080,\"PublicPort\":32768,\"Type\":\"tcp\"},"
	    "{\"IP\":\"::\",\"PrivatePort\":8080,\"PublicPort\":32768,\"Type\":\"tcp\"},"
	    "{\"PrivatePort\":53,\"Type\":\"udp\"}]",
	    0, NULL);
	s = cli_format_ports(p);
	assert_string_equal(s, "53/udp, 0.0.0.0:32768->8080/tcp, [::]:32768->8080/tcp");
	free(s);
	json_decref(p);
	p = json_loads(
	    "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":8001,\"PublicPort\":8001,\"Type\":\"tcp\"},"
	    "{\"IP\":\"0.0.0.0\",\"PrivatePort\":8000,\"PublicPort\":8000,\"Type\":\"tcp\"},"
	    "{\"IP\":\"0.0.0.0\",\"PrivatePort\":8002,\"PublicPort\":8002,\"Type\":\"tcp\"},"
	    "{\"PrivatePort\":9000,\"Type\":\"tcp\"},{\"PrivatePort\":9001,\"Type\":\"tcp\"}]",
	    0, NULL);
	s = cli_format_ports(p);
	assert_string_equal(s, "0.0.0.0:8000-8002->8000-8002/tcp, 9000-9001/tcp");
	free(s);
	json_decref(p);
	s = cli_format_ports(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_templates(void **state)
{
	struct berth_error err = {0};
	json_t *dot = json_loads("{\"ID\":\"abc\",\"State\":{\"Status\":\"running\",\"Pid\":42,"
				 "\"Running\":true},\"Config\":{\"Cmd\":[\"sleep\",\"1\"],"
				 "\"Labels\":{\"b\":\"2\",\"a\":\"1\"}},\"_labels\":{\"k\":\"v\"}}",
				 0, NULL);
	char *s = cli_template_render("{{.ID}} {{.State.Status}} {{.State.Pid}} {{.State.Running}}",
				      dot, NULL, &err);
	assert_string_equal(s, "abc running 42 true");
	free(s);
	s = cli_template_render("{{json .Config.Cmd}}|{{.Config.Cmd}}|{{.Config.Labels}}", dot,
				NULL, &err);
	assert_string_equal(s, "[\"sleep\",\"1\"]|[sleep 1]|map[a:1 b:2]");
	free(s);
	s = cli_template_render("{{.Label \"k\"}}-{{.Label \"none\"}}-{{.Missing}}", dot, NULL,
				&err);
	assert_string_equal(s, "v--<no value>");
	free(s);
	s = cli_template_render(
	    "{{upper .ID}}\\t{{join .Config.Cmd \",\"}} {{index .Config.Labels \"a\"}}", dot, NULL,
	    &err);
	assert_string_equal(s, "ABC\tsleep,1 1");
	free(s);
	assert_null(cli_template_render("{{.ID", dot, NULL, &err));
	assert_null(cli_template_render("{{nosuchfn .ID}}", dot, NULL, &err));
	assert_non_null(strstr(err.msg, "not defined"));
	json_t *headers = json_pack("{s:s}", "ID", "CONTAINER ID");
	s = cli_template_render("{{.ID}}\t{{.Names}}", NULL, headers, &err);
	assert_string_equal(s, "CONTAINER ID\tNAMES");
	free(s);
	json_decref(headers);
	json_decref(dot);
}

static char *capture_rows(const char *format, json_t *rows, json_t *headers)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct berth_error err = {0};
	assert_int_equal(cli_format_rows(f, format, rows, headers, &err), 0);
	fclose(f);
	return buf;
}

static void test_format_rows_and_ps(void **state)
{
	json_t *c = json_loads(
	    "{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	    "\"Names\":[\"/web\"],\"Image\":\"busybox\",\"Command\":\"sleep 300\","
	    "\"Created\":1000,\"State\":\"running\",\"Status\":\"Up 2 minutes\","
	    "\"Ports\":[],\"Labels\":{\"app\":\"x\"}}",
	    0, NULL);
	json_t *row = cli_ps_row(c, true, 1000 + 180);
	assert_string_equal(json_string_value(json_object_get(row, "ID")), "0123456789ab");
	assert_string_equal(json_string_value(json_object_get(row, "Names")), "web");
	assert_string_equal(json_string_value(json_object_get(row, "Command")), "\"sleep 300\"");
	assert_string_equal(json_string_value(json_object_get(row, "RunningFor")), "3 minutes ago");
	assert_string_equal(json_string_value(json_object_get(row, "Labels")), "app=x");
	json_t *rows = json_array();
	json_array_append_new(rows, row);
	json_t *headers = json_pack("{s:s,s:s}", "ID", "CONTAINER ID", "Names", "NAMES");
	char *out = capture_rows("table {{.ID}}\t{{.Names}}", rows, headers);
	assert_string_equal(out, "CONTAINER ID   NAMES\n0123456789ab   web\n");
	free(out);
	out = capture_rows("{{.Names}}:{{.Label \"app\"}}", rows, headers);
	assert_string_equal(out, "web:x\n");
	free(out);
	out = capture_rows("json", rows, headers);
	assert_non_null(strstr(out, "\"Names\":\"web\""));
	assert_null(strstr(out, "_labels"));
	free(out);
	json_decref(headers);
	json_decref(rows);
	json_decref(c);
}

static void test_demux(void **state)
{
	int out[2], errp[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(errp), 0);
	struct cli_demux d;
	cli_demux_init(&d, out[1], errp[1]);
	const char frames[] = "\x01\0\0\0\0\0\0\x03"
			      "hi\n"
			      "\x02\0\0\0\0\0\0\x04"
			      "err\n";
	/* fed a byte at a time: headers and payloads split anywhere */
	for (size_t i = 0; i < sizeof(frames) - 1; i++)
		assert_int_equal(cli_demux_feed(&d, frames + i, 1), 0);
	char buf[16] = {0};
	assert_int_equal(read(out[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hi\n");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(errp[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "err\n");
	close(out[0]);
	close(out[1]);
	close(errp[0]);
	close(errp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tabwriter), cmocka_unit_test(test_ellipsis_and_quote),
	    cmocka_unit_test(test_sizes),     cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_templates), cmocka_unit_test(test_format_rows_and_ps),
	    cmocka_unit_test(test_demux),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
