/* Compose's shm_size, ulimits, tmpfs, oom_score_adj, cpu_shares, memswap_limit and
 * mem_reservation: loaded and checked into the model, then into the create body's HostConfig
 * as docker compose sends them. */
#include "test_compose_util.h"
#include "sched.h"

static const char *const yaml = "services:\n"
				"  web:\n"
				"    image: x\n"
				"    shm_size: 128m\n"
				"    ulimits:\n"
				"      nproc: 500\n"
				"      nofile: {soft: 1024, hard: 2048}\n"
				"    tmpfs: [/run, '/cache:size=64m,mode=1777']\n"
				"    oom_score_adj: 500\n"
				"    cpu_shares: 512\n"
				"    mem_limit: 64m\n"
				"    memswap_limit: 128m\n"
				"    mem_reservation: 32m\n"
				"  one:\n"
				"    image: x\n"
				"    tmpfs: /tmp\n"
				"    memswap_limit: -1\n"
				"    mem_limit: 64m\n";

static void test_model(void **state)
{
	(void)state;
	json_t *p = load(yaml);
	assert_int_equal(jint(p, "services.web.shm_size"), 134217728);
	assert_json(p, "services.web.ulimits",
		    "{\"nproc\": {\"soft\": 500, \"hard\": 500}, \"nofile\": {\"soft\": 1024, "
		    "\"hard\": 2048}}");
	assert_json(p, "services.web.tmpfs", "[\"/run\", \"/cache:size=64m,mode=1777\"]");
	assert_int_equal(jint(p, "services.web.oom_score_adj"), 500);
	assert_int_equal(jint(p, "services.web.cpu_shares"), 512);
	assert_int_equal(jint(p, "services.web.memswap_limit"), 134217728);
	assert_json(p, "services.one.tmpfs", "[\"/tmp\"]");
	assert_int_equal(jint(p, "services.one.memswap_limit"), -1);
	json_decref(p);
}

static void test_create_body(void **state)
{
	(void)state;
	json_t *p = load(yaml);
	struct berth_error err = {0};
	json_t *b = sched_create_body(p, "demo", "web", 1, "h", &err);
	assert_non_null(b);
	assert_json(b, "HostConfig.Ulimits",
		    "[{\"Name\": \"nproc\", \"Soft\": 500, \"Hard\": 500}, {\"Name\": \"nofile\", "
		    "\"Soft\": 1024, \"Hard\": 2048}]");
	assert_json(b, "HostConfig.Tmpfs", "{\"/run\": \"\", \"/cache\": \"size=64m,mode=1777\"}");
	assert_int_equal(jint(b, "HostConfig.ShmSize"), 134217728);
	assert_int_equal(jint(b, "HostConfig.OomScoreAdj"), 500);
	assert_int_equal(jint(b, "HostConfig.CpuShares"), 512);
	assert_int_equal(jint(b, "HostConfig.Memory"), 67108864);
	assert_int_equal(jint(b, "HostConfig.MemorySwap"), 134217728);
	assert_int_equal(jint(b, "HostConfig.MemoryReservation"), 33554432);
	json_decref(b);
	b = sched_create_body(p, "demo", "one", 1, "h", &err);
	assert_int_equal(jint(b, "HostConfig.MemorySwap"), -1);
	assert_null(jget(b, "HostConfig.Ulimits"));
	assert_null(jget(b, "HostConfig.ShmSize"));
	json_decref(b);
	json_decref(p);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("services:\n  a:\n    image: x\n    ulimits: {foo: 1}\n",
		     "compose.yaml:4:15: services.a.ulimits.foo: invalid ulimit type: foo");
	expect_error("services:\n  a:\n    image: x\n    ulimits: {nofile: {soft: 9, hard: 1}}\n",
		     "compose.yaml:4:23: services.a.ulimits.nofile: ulimit soft limit must be less "
		     "than or equal to hard limit: 9 > 1");
	expect_error("services:\n  a:\n    image: x\n    ulimits: {nofile: {soft: 9}}\n",
		     "compose.yaml:4:23: services.a.ulimits.nofile: needs both soft and hard");
	expect_error("services:\n  a:\n    image: x\n    ulimits: {nofile: {soft: 1, hard: 1, "
		     "max: 1}}\n",
		     "compose.yaml:4:42: services.a.ulimits.nofile.max: unknown key");
	expect_error("services:\n  a:\n    image: x\n    tmpfs: ['/run:foo=bar']\n",
		     "compose.yaml:4:13: services.a.tmpfs: invalid tmpfs option [\"foo\" \"bar\"]");
	expect_error("services:\n  a:\n    image: x\n    tmpfs: run\n",
		     "compose.yaml:4:12: services.a.tmpfs: invalid mount path: 'run' mount path "
		     "must be absolute");
	expect_error("services:\n  a:\n    image: x\n    oom_score_adj: 1001\n",
		     "compose.yaml:4:20: services.a.oom_score_adj: must be between -1000 and 1000");
	expect_error("services:\n  a:\n    image: x\n    shm_size: lots\n",
		     "compose.yaml:4:15: services.a.shm_size: must be a byte size (like 512m), not "
		     "lots");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_create_body),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
