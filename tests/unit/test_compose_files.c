/* Unit tests for compose files: lookup, -f merging, .env, interpolation, YAML output round trip. */
#include <limits.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "test_compose_util.h"

static void test_interpolation(void **state)
{
	char *env[] = {"SET=v", "EMPTY=", "HOME=/h", NULL};
	struct compose_options o = {.environ = env};
	struct berth_error err;
	json_t *p =
	    load_opts("services:\n  web:\n    image: x\n    environment:\n"
		      "      a: ${SET}\n      b: $SET/x\n      c: ${UNSET}\n"
		      "      d: ${UNSET:-def}\n      e: ${EMPTY:-def}\n      f: ${EMPTY-def}\n"
		      "      g: ${UNSET-def}\n      h: ${SET:+alt}\n      i: ${EMPTY:+alt}\n"
		      "      j: ${EMPTY+alt}\n      k: ${UNSET+alt}\n      l: $$SET\n"
		      "      m: $${SET}\n      n: ${UNSET:-${SET}-nested}\n      o: a$1 $ b$\n"
		      "      p: ${SET:?must}\n      q: ${EMPTY?must}\n      r: \"${SET}${SET}\"\n"
		      "      s: ${UNSET:-a}}\n",
		      &o, &err);
	if (!p)
		fail_msg("%s", err.msg);
	assert_json(p, "services.web.environment",
		    "{\"a\": \"v\", \"b\": \"v/x\", \"c\": \"\", \"d\": \"def\", \"e\": \"def\","
		    " \"f\": \"\", \"g\": \"def\", \"h\": \"alt\", \"i\": \"\", \"j\": \"alt\","
		    " \"k\": \"\", \"l\": \"$SET\", \"m\": \"${SET}\", \"n\": \"v-nested\","
		    " \"o\": \"a$1 $ b$\", \"p\": \"v\", \"q\": \"\", \"r\": \"vv\","
		    " \"s\": \"a}\"}");
	json_decref(p);
	/* keys are not interpolated; typed values are, then checked */
	p = load_opts("services:\n  web:\n    image: x\n    deploy: {replicas: \"${N:-3}\"}\n"
		      "    labels: {\"${SET}\": x}\n",
		      &o, &err);
	assert_int_equal(jint(p, "services.web.deploy.replicas"), 3);
	assert_json(p, "services.web.labels", "{\"${SET}\": \"x\"}");
	json_decref(p);
}

static void test_warnings(void **state)
{
	json_t *warnings = json_array();
	struct compose_options o = {.warnings = warnings};
	struct berth_error err;
	json_t *p = load_opts("version: \"3\"\nservices:\n  web:\n    image: x:${NOTAG}\n"
			      "    command: [$$ESCAPED, \"${WITH_DEFAULT:-d}\", $NOTAG, $OTHER]\n",
			      &o, &err);
	assert_non_null(p);
	assert_json(warnings, NULL,
		    "[\"compose.yaml: the attribute `version` is obsolete, it will be ignored, "
		    "please remove it to avoid potential confusion\", \"The \\\"NOTAG\\\" "
		    "variable is not set. Defaulting to a blank string.\", \"The \\\"OTHER\\\" "
		    "variable is not set. Defaulting to a blank string.\"]");
	json_decref(p);
	json_decref(warnings);
}

static void test_dotenv(void **state)
{
	char dir[PATH_MAX];
	assert_non_null(realpath(fixture("dotenv"), dir));
	char *env[] = {"TAG=from-env", NULL};
	struct compose_options o = {.working_dir = dir, .environ = env};
	struct berth_error err = {0};
	json_t *p = compose_load(&o, &err);
	if (!p)
		fail_msg("%s", err.msg);
	/* the environment wins over .env; .env fills the rest, COMPOSE_PROJECT_NAME included */
	assert_string_equal(jstr(p, "services.web.image"), "busybox:from-env");
	assert_json(p, "services.web.environment", "{\"ONLY\": \"dot\", \"DERIVED\": \"dot-x\"}");
	assert_string_equal(jstr(p, "name"), "dotproj");
	json_decref(p);
}

static void test_merge(void **state)
{
	char base[PATH_MAX], over[PATH_MAX], dir[PATH_MAX];
	assert_non_null(realpath(fixture("merge/base.yaml"), base));
	assert_non_null(realpath(fixture("merge/override.yaml"), over));
	assert_non_null(realpath(fixture("merge"), dir));
	const char *files[] = {base, over};
	struct compose_options o = {.files = files, .n_files = 2, .environ = test_environ};
	struct berth_error err = {0};
	json_t *p = compose_load(&o, &err);
	if (!p)
		fail_msg("%s", err.msg);
	assert_string_equal(jstr(p, "name"), "merged");
	assert_string_equal(jstr(p, "services.web.image"), "web:2");
	assert_json(p, "services.web.command", "[\"httpd\", \"-f\", \"-v\"]");
	assert_json(p, "services.web.environment",
		    "{\"FROM_BASE\": \"1\", \"SHARED\": \"over\", \"FROM_OVER\": \"1\", \"A\": "
		    "\"base\", \"B\": \"over\", \"C\": \"over\"}");
	assert_json(p, "services.web.labels", "{\"keep\": \"1\", \"added\": \"2\"}");
	assert_int_equal(json_array_size(jget(p, "services.web.ports")), 2);
	assert_string_equal(jstr(p, "services.web.ports.1.published"), "9090");
	char want[PATH_MAX * 2 + 512];
	snprintf(
	    want, sizeof(want),
	    "[{\"type\": \"bind\", \"source\": \"%s/other\", \"target\": \"/data\", "
	    "\"read_only\": true, \"bind\": {\"create_host_path\": true}}, {\"type\": \"bind\", "
	    "\"source\": \"%s/logs\", \"target\": \"/logs\", \"read_only\": false, \"bind\": "
	    "{\"create_host_path\": true}}]",
	    dir, dir);
	assert_json(p, "services.web.volumes", want);
	assert_json(p, "services.web.expose", "[\"80/tcp\", \"81/tcp\"]");
	assert_json(p, "services.web.depends_on",
		    "{\"db\": {\"condition\": \"service_started\", \"required\": true}, \"cache\": "
		    "{\"condition\": \"service_healthy\", \"required\": true}}");
	assert_json(p, "services.web.healthcheck",
		    "{\"test\": [\"CMD-SHELL\", \"curl x\"], \"interval\": 10000000000}");
	assert_int_equal(jint(p, "services.web.deploy.replicas"), 4);
	assert_int_equal(jint(p, "services.web.x-base"), 1);
	assert_json(p, "services.db",
		    "{\"image\": \"db:1\", \"hostname\": \"db2\", \"networks\": {\"default\": "
		    "null}}");
	assert_string_equal(jstr(p, "services.cache.image"), "cache:1");
	json_decref(p);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = berth_strdupf("%s/%s", dir, name);
	struct berth_error err = {0};
	assert_int_equal(berth_write_atomic(path, text, strlen(text), 0644, &err), 0);
	free(path);
}

static void test_lookup(void **state)
{
	char tmpl[] = "/tmp/compose-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	struct compose_options o = {.working_dir = dir, .environ = test_environ};
	struct berth_error err = {0};
	assert_null(compose_load(&o, &err));
	char want[512];
	snprintf(want, sizeof(want),
		 "no configuration file provided: not found (looked for compose.yaml, compose.yml, "
		 "docker-compose.yaml and docker-compose.yml in %s)",
		 dir);
	assert_string_equal(err.msg, want);
	const char *names[] = {"docker-compose.yml", "docker-compose.yaml", "compose.yml",
			       "compose.yaml"};
	for (int i = 0; i < 4; i++) {
		char text[128];
		snprintf(text, sizeof(text), "services:\n  s: {image: \"%s\"}\n", names[i]);
		write_file(dir, names[i], text);
		json_t *p = compose_load(&o, &err);
		if (!p)
			fail_msg("%s", err.msg);
		assert_string_equal(jstr(p, "services.s.image"), names[i]);
		json_decref(p);
	}
	write_file(dir, "compose.override.yaml", "services:\n  s: {hostname: over}\n");
	json_t *p = compose_load(&o, &err);
	assert_string_equal(jstr(p, "services.s.image"), "compose.yaml");
	assert_string_equal(jstr(p, "services.s.hostname"), "over");
	char name[64];
	compose_normalize_project_name(strrchr(dir, '/') + 1, name, sizeof(name));
	assert_string_equal(jstr(p, "name"), name);
	json_decref(p);
	/* syntax errors name the file found */
	write_file(dir, "compose.yaml", "services:\n  s: [\n");
	assert_null(compose_load(&o, &err));
	snprintf(want, sizeof(want),
		 "%s/compose.yaml:3:1: did not find expected node content (while parsing a flow "
		 "node at line 3)",
		 dir);
	assert_string_equal(err.msg, want);
	/* -f with a missing file */
	const char *missing[] = {"/nonexistent/compose.yaml"};
	struct compose_options o2 = {.files = missing, .n_files = 1, .environ = test_environ};
	assert_null(compose_load(&o2, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/compose.yaml"));
	assert_int_equal(err.status, 400);
	struct berth_error rm = {0};
	berth_rm_rf(dir, &rm);
}

static void test_yaml_roundtrip(void **state)
{
	const char *yaml =
	    "services:\n  web:\n    image: x\n    command: [echo, \"true\", \"1\", \"\", "
	    "\"null\"]\n    ports: [\"8080:80\", \"9000\"]\n    environment: {A: \"yes\", B: ~}\n"
	    "    healthcheck: {test: \"curl x\", interval: 1m30s, timeout: 1500ms, start_period: "
	    "0s}\n    stop_grace_period: 90s\n    deploy:\n      resources: {limits: {cpus: 1, "
	    "memory: 1g}}\n      restart_policy: {delay: 100ms, window: 2h0m1.5s}\n"
	    "      update_config: {delay: 1us, monitor: 7ns}\n    volumes: [\"v:/v\"]\n"
	    "    x-e: {interval: 5, s: \"5\"}\nvolumes:\n  v:\n";
	json_t *p = load(yaml);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct berth_error err = {0};
	assert_int_equal(compose_write_yaml(p, f, &err), 0);
	fclose(f);
	assert_non_null(strstr(out, "interval: 1m30s\n"));
	assert_non_null(strstr(out, "timeout: 1.5s\n"));
	assert_non_null(strstr(out, "start_period: 0s\n"));
	assert_non_null(strstr(out, "stop_grace_period: 1m30s\n"));
	assert_non_null(strstr(out, "window: 2h0m1.5s\n"));
	assert_non_null(strstr(out, "delay: 1us\n"));
	assert_non_null(strstr(out, "monitor: 7ns\n"));
	assert_non_null(strstr(out, "cpus: 1.0\n"));
	assert_non_null(strstr(out, "- 'true'\n"));
	assert_non_null(strstr(out, "A: 'yes'\n"));
	/* the printed file loads back into the same model */
	json_t *again = load(out);
	if (!json_equal(p, again)) {
		char *a = json_dumps(p, JSON_INDENT(1)), *b = json_dumps(again, JSON_INDENT(1));
		fail_msg("round trip differs:\n%s\n%s\nfrom:\n%s", a, b, out);
	}
	json_decref(again);
	json_decref(p);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interpolation), cmocka_unit_test(test_warnings),
	    cmocka_unit_test(test_dotenv),	  cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_lookup),	  cmocka_unit_test(test_yaml_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
