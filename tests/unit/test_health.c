/* Unit tests for healthcheck parsing: kinds, Docker's defaults, berth's HTTP/TCP probe syntax. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "health_internal.h"

static int parse(const char *json, struct health_config *cfg, struct berth_error *err)
{
	json_t *hc = json_loads(json, 0, NULL);
	assert_non_null(hc);
	int r = health_config_parse(hc, cfg, err);
	json_decref(hc);
	return r;
}

static void test_defaults_and_kinds(void **state)
{
	struct health_config cfg;
	struct berth_error err = {0};
	assert_int_equal(parse("{\"Test\":[\"CMD\",\"pg_isready\",\"-q\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.kind, HEALTH_CMD);
	assert_int_equal(json_array_size(cfg.args), 2);
	assert_string_equal(json_string_value(json_array_get(cfg.args, 0)), "pg_isready");
	assert_int_equal(cfg.interval_ns, 30000000000LL);
	assert_int_equal(cfg.timeout_ns, 30000000000LL);
	assert_int_equal(cfg.start_period_ns, 0);
	assert_int_equal(cfg.start_interval_ns, 5000000000LL);
	assert_int_equal(cfg.retries, 3);
	health_config_clear(&cfg);

	assert_int_equal(parse("{\"Test\":[\"CMD-SHELL\",\"curl -f x || exit 1\"],"
			       "\"Interval\":1000000000,\"Retries\":5,\"StartPeriod\":2000000}",
			       &cfg, &err),
			 0);
	assert_int_equal(cfg.kind, HEALTH_SHELL);
	assert_string_equal(json_string_value(json_array_get(cfg.args, 0)), "/bin/sh");
	assert_string_equal(json_string_value(json_array_get(cfg.args, 2)), "curl -f x || exit 1");
	assert_int_equal(cfg.interval_ns, 1000000000LL);
	assert_int_equal(cfg.retries, 5);
	assert_int_equal(cfg.start_period_ns, 2000000);
	health_config_clear(&cfg);

	assert_int_equal(parse("{\"Test\":[\"NONE\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.kind, HEALTH_NONE);
	assert_int_equal(parse("{\"Test\":[]}", &cfg, &err), 0);
	assert_int_equal(cfg.kind, HEALTH_NONE);
	assert_int_equal(parse("{}", &cfg, &err), 0);
	assert_int_equal(cfg.kind, HEALTH_NONE);
}

static void test_http_tcp(void **state)
{
	struct health_config cfg;
	struct berth_error err = {0};
	assert_int_equal(parse("{\"Test\":[\"CMD-HTTP\",\"http://localhost:8080/health?x=1\"]}",
			       &cfg, &err),
			 0);
	assert_int_equal(cfg.kind, HEALTH_HTTP);
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.host, "");
	assert_string_equal(cfg.path, "/health?x=1");
	assert_int_equal(parse("{\"Test\":[\"CMD-HTTP\",\"http://:81\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.port, 81);
	assert_string_equal(cfg.path, "/");
	assert_int_equal(parse("{\"Test\":[\"CMD-HTTP\",\"http://10.0.0.2/\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.port, 80);
	assert_string_equal(cfg.host, "10.0.0.2");
	assert_int_equal(parse("{\"Test\":[\"CMD-TCP\",\"5432\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.kind, HEALTH_TCP);
	assert_int_equal(cfg.port, 5432);
	assert_int_equal(parse("{\"Test\":[\"CMD-TCP\",\"localhost:6379\"]}", &cfg, &err), 0);
	assert_int_equal(cfg.port, 6379);
	assert_string_equal(cfg.host, "");
}

static void test_bad(void **state)
{
	static const char *const bad[][2] = {
	    {"{\"Test\":[\"CMD\"]}", "CMD needs a command"},
	    {"{\"Test\":[\"CMD-SHELL\",\"a\",\"b\"]}", "CMD-SHELL needs one command string"},
	    {"{\"Test\":[\"RUN\",\"x\"]}", "unknown Healthcheck type 'RUN'"},
	    {"{\"Test\":[\"CMD\",1]}", "list of strings"},
	    {"{\"Test\":\"CMD true\"}", "list of strings"},
	    {"{\"Test\":[\"CMD-HTTP\",\"https://x/\"]}", "wants an http:// URL"},
	    {"{\"Test\":[\"CMD-HTTP\",\"http://example.com/\"]}", "IPv4 address"},
	    {"{\"Test\":[\"CMD-HTTP\",\"http://:0/\"]}", "bad port"},
	    {"{\"Test\":[\"CMD-TCP\",\"http\"]}", "CMD-TCP wants PORT"},
	    {"{\"Test\":[\"CMD-TCP\",\"70000\"]}", "CMD-TCP wants PORT"},
	    {"{\"Test\":[\"CMD\",\"true\"],\"Interval\":999}", "Interval in Healthcheck cannot be less than 1ms"},
	    {"{\"Test\":[\"CMD\",\"true\"],\"Timeout\":\"1s\"}", "Timeout in Healthcheck must be a duration"},
	    {"{\"Test\":[\"CMD\",\"true\"],\"Retries\":-1}", "Retries in Healthcheck cannot be negative"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct health_config cfg;
		struct berth_error err = {0};
		if (parse(bad[i][0], &cfg, &err) != -1)
			fail_msg("%s: accepted", bad[i][0]);
		assert_int_equal(err.status, 400);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("%s: got '%s', want '%s'", bad[i][0], err.msg, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_kinds),
	    cmocka_unit_test(test_http_tcp),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
