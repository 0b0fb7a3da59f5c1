/* Compose's privileged, cap_add, cap_drop and security_opt: checked and kept by the loader
 * (seccomp=FILE read relative to the project directory), printed back by `compose config` as
 * written. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_compose_util.h"

static const char *const yaml = "services:\n"
				"  web:\n"
				"    image: x\n"
				"    privileged: true\n"
				"    cap_add: [NET_ADMIN, cap_sys_time]\n"
				"    cap_drop: [ALL]\n"
				"    security_opt:\n"
				"      - no-new-privileges:true\n"
				"      - seccomp=./deny.json\n"
				"      - systempaths=unconfined\n"
				"      - apparmor=unconfined\n"
				"  plain:\n"
				"    image: x\n"
				"    privileged: false\n"
				"    security_opt: [seccomp:unconfined, no-new-privileges]\n";

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_compose_security.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/deny.json", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n    {\"names\": "
	      "[\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}\n  ]\n}\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\"defaultAction\": ", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/odd.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\"defaultAction\": \"SCMP_ACT_MAYBE\"}", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/deny.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/odd.json", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static json_t *load_in_dir(const char *text)
{
	struct compose_options o = {.working_dir = dir};
	struct berth_error err;
	json_t *p = load_opts(text, &o, &err);
	if (!p)
		fail_msg("unexpected error: %s", err.msg);
	return p;
}

static void expect_error_in_dir(const char *text, const char *msg)
{
	struct compose_options o = {.working_dir = dir};
	struct berth_error err;
	json_t *p = load_opts(text, &o, &err);
	assert_null(p);
	assert_string_equal(err.msg, msg);
}

static const char *const profile =
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":"
    "\"SCMP_ACT_ERRNO\"}]}";

static void test_model(void **state)
{
	(void)state;
	json_t *p = load_in_dir(yaml);
	assert_json(p, "services.web.privileged", "true");
	assert_json(p, "services.web.cap_add", "[\"NET_ADMIN\", \"cap_sys_time\"]");
	assert_json(p, "services.web.cap_drop", "[\"ALL\"]");
	assert_json(p, "services.web.security_opt",
		    "[\"no-new-privileges:true\", \"seccomp=./deny.json\", "
		    "\"systempaths=unconfined\", \"apparmor=unconfined\"]");
	assert_string_equal(json_string_value(json_object_get(
				jget(p, "services.web.seccomp_profiles"), "./deny.json")),
			    profile);
	/* false is omitted, as compose-go omits it; no file read, no profiles */
	assert_null(jget(p, "services.plain.privileged"));
	assert_null(jget(p, "services.plain.seccomp_profiles"));
	json_decref(p);
}

/* `compose config` prints the keys as written, never the profile's content. */
static void test_config_output(void **state)
{
	(void)state;
	json_t *p = load_in_dir(yaml);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct berth_error err = {0};
	assert_int_equal(compose_write_yaml(p, f, &err), 0);
	fclose(f);
	assert_non_null(strstr(text, "    privileged: true\n"));
	assert_non_null(strstr(text, "    cap_add:\n    - NET_ADMIN\n    - cap_sys_time\n"));
	assert_non_null(strstr(text, "    cap_drop:\n    - ALL\n"));
	assert_non_null(strstr(text, "    - seccomp=./deny.json\n"));
	assert_null(strstr(text, "seccomp_profiles"));
	assert_null(strstr(text, "SCMP_ACT"));
	/* and it loads again to the same model */
	json_t *again = load_in_dir(text);
	assert_true(json_equal(p, again));
	json_decref(again);
	free(text);
	json_decref(p);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("services:\n  a:\n    image: x\n    cap_add: [NOPE]\n",
		     "compose.yaml:4:15: services.a.cap_add[0]: invalid CapAdd: unknown "
		     "capability: \"CAP_NOPE\"");
	expect_error("services:\n  a:\n    image: x\n    cap_drop: [NET_RAW, cap_bogus]\n",
		     "compose.yaml:4:25: services.a.cap_drop[1]: invalid CapDrop: unknown "
		     "capability: \"CAP_BOGUS\"");
	expect_error("services:\n  a:\n    image: x\n    cap_add: NET_ADMIN\n",
		     "compose.yaml:4:14: services.a.cap_add: must be a list, not a string");
	expect_error("services:\n  a:\n    image: x\n    privileged: maybe\n",
		     "compose.yaml:4:17: services.a.privileged: must be a boolean");
	expect_error("services:\n  a:\n    image: x\n    security_opt: [bogus]\n",
		     "compose.yaml:4:20: services.a.security_opt[0]: Invalid security-opt: "
		     "\"bogus\"");
	expect_error("services:\n  a:\n    image: x\n    security_opt: [foo=bar]\n",
		     "compose.yaml:4:20: services.a.security_opt[0]: invalid --security-opt 2: "
		     "\"foo=bar\"");
	expect_error("services:\n  a:\n    image: x\n    security_opt: [no-new-privileges=maybe]\n",
		     "compose.yaml:4:20: services.a.security_opt[0]: invalid --security-opt 2: "
		     "\"no-new-privileges=maybe\"");
	expect_error("services:\n  a:\n    image: x\n    security_opt: [apparmor=docker-default]\n",
		     "compose.yaml:4:20: services.a.security_opt[0]: invalid --security-opt: "
		     "\"apparmor=docker-default\": berth does not support AppArmor (only "
		     "apparmor=unconfined)");
	char want[512];
	snprintf(want, sizeof(want),
		 "compose.yaml:4:20: services.a.security_opt[0]: opening seccomp profile "
		 "(nothere.json) failed: open %s/nothere.json: no such file or directory",
		 dir);
	expect_error_in_dir(
	    "services:\n  a:\n    image: x\n    security_opt: [seccomp=nothere.json]\n", want);
	/* a directory, and a FIFO that would block a plain open */
	expect_error_in_dir("services:\n  a:\n    image: x\n    security_opt: [seccomp=/]\n",
			    "compose.yaml:4:20: services.a.security_opt[0]: opening seccomp "
			    "profile (/) failed: / is not a regular file");
	snprintf(want, sizeof(want), "%s/fifo", dir);
	assert_int_equal(mkfifo(want, 0600), 0);
	json_t *p =
	    load_opts("services:\n  a:\n    image: x\n    security_opt: [seccomp=fifo]\n",
		      &(struct compose_options){.working_dir = dir}, &(struct berth_error){0});
	unlink(want);
	assert_null(p);
	expect_error_in_dir(
	    "services:\n  a:\n    image: x\n    security_opt: [seccomp=bad.json]\n",
	    "compose.yaml:4:20: services.a.security_opt[0]: compacting json for seccomp "
	    "profile (bad.json) failed: unexpected token near end of file");
	expect_error_in_dir(
	    "services:\n  a:\n    image: x\n    security_opt: [seccomp=odd.json]\n",
	    "compose.yaml:4:20: services.a.security_opt[0]: odd.json: decoding seccomp "
	    "profile failed: defaultAction: unknown action \"SCMP_ACT_MAYBE\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_config_output),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
