/* Compose's privileged, cap_add, cap_drop and security_opt in the create body's HostConfig as
 * docker compose sends them (seccomp=FILE as the file's content), and in the config hash. */
#include <unistd.h>

#include "test_compose_util.h"
#include "sched.h"

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

static const char *const profile =
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":"
    "\"SCMP_ACT_ERRNO\"}]}";

static void test_create_body(void **state)
{
	(void)state;
	json_t *p = load_in_dir(yaml);
	struct berth_error err = {0};
	json_t *b = sched_create_body(p, "demo", "web", 1, "h", &err);
	assert_non_null(b);
	assert_json(b, "HostConfig.Privileged", "true");
	assert_json(b, "HostConfig.CapAdd", "[\"NET_ADMIN\", \"cap_sys_time\"]");
	assert_json(b, "HostConfig.CapDrop", "[\"ALL\"]");
	char want[512];
	snprintf(want, sizeof(want), "seccomp=%s", profile);
	json_t *so = jget(b, "HostConfig.SecurityOpt");
	assert_int_equal(json_array_size(so), 3);
	assert_string_equal(json_string_value(json_array_get(so, 0)), "no-new-privileges:true");
	assert_string_equal(json_string_value(json_array_get(so, 1)), want);
	assert_string_equal(json_string_value(json_array_get(so, 2)), "apparmor=unconfined");
	assert_json(b, "HostConfig.MaskedPaths", "[]");
	assert_json(b, "HostConfig.ReadonlyPaths", "[]");
	json_decref(b);
	b = sched_create_body(p, "demo", "plain", 1, "h", &err);
	assert_null(jget(b, "HostConfig.Privileged"));
	assert_null(jget(b, "HostConfig.CapAdd"));
	assert_null(jget(b, "HostConfig.MaskedPaths"));
	assert_json(b, "HostConfig.SecurityOpt", "[\"seccomp:unconfined\", \"no-new-privileges\"]");
	json_decref(b);
	json_decref(p);
}

/* Each key, and the profile's content, is part of the config hash: `up` recreates. */
static void test_hash(void **state)
{
	(void)state;
	static const char *const variants[] = {
	    "services:\n  a:\n    image: x\n",
	    "services:\n  a:\n    image: x\n    privileged: true\n",
	    "services:\n  a:\n    image: x\n    cap_add: [NET_ADMIN]\n",
	    "services:\n  a:\n    image: x\n    cap_drop: [NET_RAW]\n",
	    "services:\n  a:\n    image: x\n    security_opt: [no-new-privileges]\n",
	    "services:\n  a:\n    image: x\n    security_opt: [seccomp=deny.json]\n",
	};
	char hashes[6][17];
	for (int i = 0; i < 6; i++) {
		json_t *p = load_in_dir(variants[i]);
		sched_config_hash(jget(p, "services.a"), hashes[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(hashes[i], hashes[j]);
		json_decref(p);
	}
	/* the same path with other content is another config */
	char path[128], other[17];
	snprintf(path, sizeof(path), "%s/deny.json", dir);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(" ", f);
	fclose(f);
	json_t *p = load_in_dir(variants[5]);
	sched_config_hash(jget(p, "services.a"), other);
	assert_string_equal(other, hashes[5]); /* whitespace only: same compact JSON */
	json_decref(p);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"defaultAction\": \"SCMP_ACT_ERRNO\"}", f);
	fclose(f);
	p = load_in_dir(variants[5]);
	sched_config_hash(jget(p, "services.a"), other);
	assert_string_not_equal(other, hashes[5]);
	json_decref(p);
	teardown(NULL);
	setup(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_body),
	    cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
