/* The CPU load of a pinning decision, from a listing of every container (scheduler/pinning.c),
 * and the monitor window of max_failure_ratio (update.c). No agent: what the steps issue is
 * queued on a loop that only lets it fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/cpuset.h"
#include "berth/duration.h"
#include "sched.h"
#include "test_sched_util.h"

static char root[] = "/tmp/test-sched-pinmon.XXXXXX";

/* ---- 1: the CPU load ---- */

static const char *pinned_model =
    "{\"services\": {\"web\": {\"image\": \"busybox\", \"cpuset\": \"0-3\", \"deploy\": "
    "{\"replicas\": 1, \"resources\": {\"limits\": {\"cpus\": 1}}}}}}";

static void test_pin_load(void **state)
{
	struct sched s = {0};
	s.base = event_base_new();
	struct sched_project *a = apply(&s, "a", pinned_model);
	struct sched_project *b = apply(&s, "b", pinned_model);
	/* a's own replica on 0 (running), b's replica on 1 (listed), b's replica on 3 being
	 * created (not in the listing yet). */
	add_replica(a->services[0], 1, "a1", "running", "0");
	add_replica(b->services[0], 1, "b1", "running", "1");
	add_replica(b->services[0], 2, "", "creating", "3");
	json_t *all =
	    parse("["
		  /* a's own: counted from its replica, not twice */
		  "{\"Id\": \"a1\", \"Labels\": {\"com.docker.compose.project\": \"a\","
		  " \"berth.cpuset\": \"0\"}, \"HostConfig\": {\"CpusetCpus\": \"0\"}},"
		  /* b's, known to the scheduler and listed: once */
		  "{\"Id\": \"b1\", \"Labels\": {\"com.docker.compose.project\": \"b\","
		  " \"berth.cpuset\": \"1\"}, \"HostConfig\": {\"NetworkMode\": \"default\"}},"
		  /* a project not listed yet since a restart (only the label) */
		  "{\"Id\": \"c1\", \"Labels\": {\"com.docker.compose.project\": \"c\","
		  " \"berth.cpuset\": \"1\"}, \"HostConfig\": {}},"
		  /* berth run --cpuset-cpus 2-3, exited */
		  "{\"Id\": \"x1\", \"State\": \"exited\", \"Labels\": {},"
		  " \"HostConfig\": {\"CpusetCpus\": \"2-3\"}},"
		  /* not pinned */
		  "{\"Id\": \"y1\", \"Labels\": {}, \"HostConfig\": {\"NetworkMode\": \"default\"}}"
		  "]");
	int *load = sched_pin_load(&s, a, all);
	assert_int_equal(load[0], 1);
	assert_int_equal(load[1], 2);
	assert_int_equal(load[2], 1);
	assert_int_equal(load[3], 2);
	assert_int_equal(load[4], 0);
	/* The next replica of a goes to CPU 0 or 2 (load 1): the lowest, 0. */
	char cpus[64];
	sched_pin_choose(a->services[0], load, cpus, sizeof(cpus));
	assert_string_equal(cpus, "0");
	sched_pin_choose(a->services[0], load, cpus, sizeof(cpus));
	assert_string_equal(cpus, "2");
	free(load);

	/* Without the listing (the agent unreachable): what the scheduler knows. */
	load = sched_pin_load(&s, a, NULL);
	assert_int_equal(load[0], 1);
	assert_int_equal(load[1], 1);
	assert_int_equal(load[2], 0);
	assert_int_equal(load[3], 1);
	free(load);
	json_decref(all);
	while (s.projects)
		sched_project_forget(s.projects);
	event_base_free(s.base);
}

static void test_pin_of_listed(void **state)
{
	json_t *c =
	    parse("{\"HostConfig\": {\"CpusetCpus\": \"1,3\"}, \"Labels\": {\"berth.cpuset\":"
		  " \"0\"}}");
	assert_string_equal(sched_pin_of_listed(c), "1,3");
	json_decref(c);
	c = parse(
	    "{\"HostConfig\": {\"CpusetCpus\": \"\"}, \"Labels\": {\"berth.cpuset\": \"0\"}}");
	assert_string_equal(sched_pin_of_listed(c), "0");
	json_decref(c);
	c = parse("{\"Labels\": {}}");
	assert_null(sched_pin_of_listed(c));
	json_decref(c);
}

/* ---- 3: max_failure_ratio within monitor ---- */

static const char *update_model = "{\"services\": {\"web\": {\"image\": \"app\", \"environment\":"
				  " {\"V\": \"%s\"}, \"deploy\": {\"replicas\": 2,"
				  " \"update_config\": {%s}}}}}";

/* name/web at V=1 with 2 old replicas, updated to V=2; replica 1 replaced by a new one. */
static struct sched_replica *updated(struct sched *s, const char *name, const char *update,
				     struct sched_service **out)
{
	char text[512];
	snprintf(text, sizeof(text), update_model, "1", update);
	struct sched_project *p = apply(s, name, text);
	struct sched_service *svc = p->services[0];
	add_replica(svc, 1, "n1", "running", "");
	add_replica(svc, 2, "n2", "running", "");
	snprintf(text, sizeof(text), update_model, "2", update);
	apply(s, name, text);
	int surge = 0;
	bool busy = false;
	int64_t next = 0;
	assert_int_equal(sched_update_step(p, svc, berth_now_ns(), &surge, &busy, &next), 1);
	struct sched_replica *r = svc->replicas[0];
	r->busy = false;
	snprintf(r->hash, sizeof(r->hash), "%s", svc->hash);
	*out = svc;
	return r;
}

static const char *step_state(struct sched *s, const char *name, struct sched_service *svc)
{
	int surge = 0;
	bool busy = false;
	int64_t next = 0;
	sched_update_step(sched_project_find(s, name), svc, berth_now_ns(), &surge, &busy, &next);
	return svc->upd.state;
}

static void test_monitor_window(void **state)
{
	struct sched s = {0};
	s.base = event_base_new();
	s.agent_sock = "/nonexistent/agent.sock";
	struct sched_service *svc;

	/* monitor 5 s: a replica up for 6 s has passed; its crash later is not the update's. */
	struct sched_replica *r = updated(&s, "m1", "\"monitor\": 5000000000", &svc);
	r->started_ns = berth_now_ns() - 6000000000LL;
	assert_string_equal(step_state(&s, "m1", svc), "updating");
	assert_true(r->passed);
	snprintf(r->state, sizeof(r->state), "restarting");
	r->restarts = 1;
	assert_string_equal(step_state(&s, "m1", svc), "updating");
	assert_int_equal(svc->upd.batch, 2); /* it went on to replica 2 */

	/* The same crash within the window pauses. */
	r = updated(&s, "m2", "\"monitor\": 5000000000", &svc);
	r->started_ns = berth_now_ns() - 1000000000LL;
	assert_string_equal(step_state(&s, "m2", svc), "updating");
	assert_false(r->passed);
	snprintf(r->state, sizeof(r->state), "restarting");
	r->restarts = 1;
	assert_string_equal(step_state(&s, "m2", svc), "paused");

	/* Without monitor: every failure during the update counts, as before. */
	r = updated(&s, "m3", "", &svc);
	r->started_ns = berth_now_ns() - 6000000000LL;
	assert_string_equal(step_state(&s, "m3", svc), "updating");
	snprintf(r->state, sizeof(r->state), "exited");
	assert_string_equal(step_state(&s, "m3", svc), "paused");

	/* Let the removals (no agent) fail and free themselves. */
	for (int k = 0; k < 20; k++)
		event_base_loop(s.base, EVLOOP_NONBLOCK);
	while (s.projects)
		sched_project_forget(s.projects);
	event_base_free(s.base);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("BERTH_ROOT", root, 1);
	setenv("BERTH_RUN", root, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_load),
	    cmocka_unit_test(test_pin_of_listed),
	    cmocka_unit_test(test_monitor_window),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
