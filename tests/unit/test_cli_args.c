/* Unit tests for the CLI's flag parser and the run/create body it feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "container_opts.h"

enum { F_DETACH, F_TTY, F_INTER, F_NAME, F_ENV, F_TIME };
static const struct cli_flag flags[] = {
    [F_DETACH] = {"detach", 'd', CLI_BOOL, NULL, "detach"},
    [F_TTY] = {"tty", 't', CLI_BOOL, NULL, "tty"},
    [F_INTER] = {"interactive", 'i', CLI_BOOL, NULL, "stdin"},
    [F_NAME] = {"name", 0, CLI_STRING, "string", "name"},
    [F_ENV] = {"env", 'e', CLI_LIST, "list", "env"},
    [F_TIME] = {"time", 0, CLI_INT, "int", "time"},
    {0},
};

static int parse(struct cli_args *a, bool inter, struct berth_error *err, int argc, ...)
{
	static char *argv[32];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return cli_args_parse(a, flags, argc, argv, inter, err);
}

static void test_combined_short(void **state)
{
	struct cli_args a;
	struct berth_error err = {0};
	assert_int_equal(parse(&a, false, &err, 3, "-dit", "busybox", "sh"), 0);
	assert_true(a.v[F_DETACH].b && a.v[F_TTY].b && a.v[F_INTER].b);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "busybox");
	cli_args_free(&a);
}

static void test_long_forms_and_lists(void **state)
{
	struct cli_args a;
	struct berth_error err = {0};
	assert_int_equal(
	    parse(&a, false, &err, 7, "--name", "x", "--name=y", "-e", "A=1", "-eB=2", "img"), 0);
	assert_string_equal(a.v[F_NAME].s, "y");
	assert_int_equal(a.v[F_ENV].count, 2);
	assert_string_equal(a.v[F_ENV].list[0], "A=1");
	assert_string_equal(a.v[F_ENV].list[1], "B=2");
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 3, "--detach=false", "--time", "5"), 0);
	assert_true(a.v[F_DETACH].set);
	assert_false(a.v[F_DETACH].b);
	assert_int_equal(a.v[F_TIME].n, 5);
	cli_args_free(&a);
}

static void test_stop_at_image(void **state)
{
	struct cli_args a;
	struct berth_error err = {0};
	assert_int_equal(parse(&a, false, &err, 4, "-d", "busybox", "ls", "-la"), 0);
	assert_int_equal(a.npos, 3);
	assert_string_equal(a.pos[2], "-la");
	cli_args_free(&a);
	/* interspersed (stop, rm): flags may follow arguments */
	assert_int_equal(parse(&a, true, &err, 3, "web", "-d", "db"), 0);
	assert_int_equal(a.npos, 2);
	assert_true(a.v[F_DETACH].b);
	cli_args_free(&a);
	/* "--" ends the flags */
	assert_int_equal(parse(&a, true, &err, 3, "--", "-d", "x"), 0);
	assert_int_equal(a.npos, 2);
	assert_false(a.v[F_DETACH].b);
	cli_args_free(&a);
}

static void test_errors(void **state)
{
	struct cli_args a;
	struct berth_error err = {0};
	assert_int_equal(parse(&a, false, &err, 1, "--foo"), -1);
	assert_string_equal(err.msg, "unknown flag: --foo");
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 1, "-dx"), -1);
	assert_string_equal(err.msg, "unknown shorthand flag: 'x' in -dx");
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 1, "--name"), -1);
	assert_string_equal(err.msg, "flag needs an argument: --name");
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 1, "-e"), -1);
	assert_string_equal(err.msg, "flag needs an argument: 'e' in -e");
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 2, "--time", "abc"), -1);
	assert_non_null(strstr(err.msg, "invalid argument \"abc\" for \"--time\" flag"));
	cli_args_free(&a);
	assert_int_equal(parse(&a, false, &err, 1, "--help"), 0);
	assert_true(a.help);
	cli_args_free(&a);
}

static json_t *config_for(struct berth_error *err, int argc, char **argv)
{
	struct cli_args a;
	if (cli_args_parse(&a, cli_container_flags, argc, argv, false, err) < 0)
		return NULL;
	json_t *c = cli_container_config(&a, false, err);
	cli_args_free(&a);
	return c;
}

static void test_container_config(void **state)
{
	struct berth_error err = {0};
	char *argv[] = {"--rm",		"-e",	  "A=1",
			"-l",		"k=v",	  "-m",
			"16m",		"--cpus", "1.5",
			"--pids-limit", "20",	  "--init",
			"--health-cmd", "true",	  "--health-interval",
			"2s",		"-v",	  "/a:/b:ro",
			"-v",		"/anon",  "busybox",
			"echo",		"hi"};
	json_t *c = config_for(&err, sizeof(argv) / sizeof(argv[0]), argv);
	assert_non_null(c);
	json_t *host = json_object_get(c, "HostConfig");
	assert_true(json_is_true(json_object_get(host, "AutoRemove")));
	assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 16 << 20);
	assert_int_equal(json_integer_value(json_object_get(host, "NanoCpus")), 1500000000LL);
	assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), 20);
	assert_true(json_is_true(json_object_get(host, "Init")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(host, "Binds"), 0)),
			    "/a:/b:ro");
	assert_non_null(json_object_get(json_object_get(c, "Volumes"), "/anon"));
	assert_string_equal(json_string_value(json_object_get(c, "Image")), "busybox");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Cmd"), 1)), "hi");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "Labels"), "k")),
			    "v");
	json_t *hc = json_object_get(c, "Healthcheck");
	assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "Test"), 0)),
			    "CMD-SHELL");
	assert_int_equal(json_integer_value(json_object_get(hc, "Interval")), 2000000000LL);
	assert_true(json_is_true(json_object_get(c, "AttachStdout")));
	json_decref(c);

	char *bad[] = {"--rm", "--restart", "always", "busybox"};
	assert_null(config_for(&err, 4, bad));
	assert_string_equal(err.msg, "Conflicting options: --restart and --rm");
	char *bad2[] = {"--no-healthcheck", "--health-cmd", "x", "busybox"};
	assert_null(config_for(&err, 4, bad2));
}

static void test_publish(void **state)
{
	struct berth_error err = {0};
	json_t *exp = json_object(), *b = json_object();
	assert_int_equal(cli_parse_publish("8080", exp, b, &err), 0);
	assert_int_equal(cli_parse_publish("127.0.0.1:9000:80/udp", exp, b, &err), 0);
	assert_int_equal(cli_parse_publish("9001-9002:81-82", exp, b, &err), 0);
	assert_int_equal(cli_parse_publish("[::1]:9003:83", exp, b, &err), 0);
	assert_non_null(json_object_get(exp, "8080/tcp"));
	json_t *e = json_array_get(json_object_get(b, "8080/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostPort")), "");
	e = json_array_get(json_object_get(b, "80/udp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostIp")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(e, "HostPort")), "9000");
	e = json_array_get(json_object_get(b, "82/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostPort")), "9002");
	e = json_array_get(json_object_get(b, "83/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostIp")), "::1");
	assert_int_equal(cli_parse_publish("abc", exp, b, &err), -1);
	assert_string_equal(err.msg, "invalid containerPort: abc");
	assert_int_equal(cli_parse_publish("80/xyz", exp, b, &err), -1);
	json_decref(exp);
	json_decref(b);
}

static void test_exit_codes_and_tags(void **state)
{
	assert_int_equal(cli_start_error_code("exec: \"x\": executable file not found in $PATH"),
			 127);
	assert_int_equal(cli_start_error_code("exec: \"/etc\": is a directory"), 126);
	assert_int_equal(cli_start_error_code("exec: \"/etc/passwd\": permission denied"), 126);
	assert_int_equal(cli_start_error_code("something else"), 125);
	char out[64];
	cli_image_with_tag("busybox", out, sizeof(out));
	assert_string_equal(out, "busybox:latest");
	cli_image_with_tag("localhost:5000/x", out, sizeof(out));
	assert_string_equal(out, "localhost:5000/x:latest");
	cli_image_with_tag("x:1", out, sizeof(out));
	assert_string_equal(out, "x:1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_combined_short),	cmocka_unit_test(test_long_forms_and_lists),
	    cmocka_unit_test(test_stop_at_image),	cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_container_config),	cmocka_unit_test(test_publish),
	    cmocka_unit_test(test_exit_codes_and_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
