/* compose stop|start|restart of some services (scheduler/actions.c, project.c): selecting
 * services, the per-service stopped flags, what is persisted and read back (also from files
 * that have only the project's flag), and up clearing the flag of what it selects. No agent:
 * operations are queued on a loop that only lets them fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/fsutil.h"
#include "sched.h"

static char root[] = "/tmp/test-sched-services.XXXXXX";

static const char *model_text =
    "{\"services\": {\"db\": {\"image\": \"busybox\"}, \"web\": {\"image\": \"busybox\", "
    "\"depends_on\": {\"db\": {\"condition\": \"service_started\"}}, \"deploy\": "
    "{\"replicas\": 2}}, \"cache\": {\"image\": \"busybox\"}}}";

struct fx {
	struct sched s;
	struct sched_project *p;
	struct sched_service *db, *web, *cache;
};

static void add_replica(struct sched_service *svc, int number, const char *state)
{
	svc->replicas = realloc(svc->replicas, (svc->n_replicas + 1) * sizeof(*svc->replicas));
	struct sched_replica *r = calloc(1, sizeof(*r));
	r->number = number;
	snprintf(r->id, sizeof(r->id), "%s%d", svc->name, number);
	snprintf(r->state, sizeof(r->state), "%s", state);
	r->seen = true;
	svc->replicas[svc->n_replicas++] = r;
	svc->cap_replicas = svc->n_replicas;
}

static void fx_init(struct fx *f)
{
	struct berth_error err = {0};
	memset(f, 0, sizeof(*f));
	f->s.base = event_base_new();
	f->s.agent_sock = "/nonexistent/agent.sock";
	json_t *m = json_loads(model_text, 0, NULL);
	assert_non_null(m);
	f->p = sched_project_apply(&f->s, "demo", m, NULL, NULL, &err);
	json_decref(m);
	assert_non_null(f->p);
	f->db = sched_service_find(f->p, "db");
	f->web = sched_service_find(f->p, "web");
	f->cache = sched_service_find(f->p, "cache");
	add_replica(f->db, 1, "running");
	add_replica(f->web, 1, "running");
	add_replica(f->web, 2, "exited");
	add_replica(f->cache, 1, "running");
}

static void fx_free(struct fx *f)
{
	/* Let the requests fail (no agent) and free themselves. */
	for (int k = 0; k < 20; k++)
		event_base_loop(f->s.base, EVLOOP_NONBLOCK);
	while (f->s.projects)
		sched_project_forget(f->s.projects);
	event_base_free(f->s.base);
}

static void clear_busy(struct fx *f)
{
	for (size_t i = 0; i < f->p->n_services; i++)
		for (size_t j = 0; j < f->p->services[i]->n_replicas; j++)
			f->p->services[i]->replicas[j]->busy = false;
}

static json_t *names(const char *a, const char *b)
{
	json_t *v = json_array();
	if (a)
		json_array_append_new(v, json_string(a));
	if (b)
		json_array_append_new(v, json_string(b));
	return v;
}

static json_t *saved(void)
{
	char path[512];
	struct berth_error err = {0};
	snprintf(path, sizeof(path), "%s/scheduler/projects/demo.json", root);
	json_t *doc = berth_read_json(path, &err);
	assert_non_null(doc);
	return doc;
}

static void test_select(void **state)
{
	struct fx f;
	fx_init(&f);
	struct berth_error err = {0};
	json_t *n = names("web", "nope");
	assert_null(sched_project_select(f.p, n, false, &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.msg, "no such service: nope");
	json_decref(n);

	n = names("web", NULL);
	json_t *sel = sched_project_select(f.p, n, false, &err);
	assert_int_equal(json_object_size(sel), 1);
	assert_non_null(json_object_get(sel, "web"));
	json_decref(sel);
	sel = sched_project_select(f.p, n, true, &err);
	assert_int_equal(json_object_size(sel), 2);
	assert_non_null(json_object_get(sel, "db"));
	json_decref(sel);
	json_decref(n);

	sel = sched_project_select(f.p, NULL, false, &err);
	assert_int_equal(json_object_size(sel), 3);
	json_decref(sel);
	fx_free(&f);
}

static void test_stop_one_service(void **state)
{
	struct fx f;
	fx_init(&f);
	struct berth_error err = {0};
	json_t *n = names("web", NULL);
	assert_int_equal(sched_project_action(f.p, SCHED_ACTION_STOP, n, 3, &err), 0);
	json_decref(n);
	assert_true(f.web->stopped);
	assert_false(f.db->stopped);
	assert_false(f.cache->stopped);
	assert_false(f.p->stopped);
	/* The running web replica is being stopped (the exited one has nothing to stop); db is
	 * left alone; the -t was taken by the operation. */
	assert_true(f.web->replicas[0]->busy);
	assert_false(f.web->replicas[0]->has_stop_timeout);
	assert_false(f.web->replicas[1]->busy);
	assert_false(f.db->replicas[0]->busy);

	json_t *doc = saved();
	assert_false(json_is_true(json_object_get(doc, "stopped")));
	json_t *stopped = json_object_get(doc, "stopped_services");
	assert_int_equal(json_array_size(stopped), 1);
	assert_string_equal(json_string_value(json_array_get(stopped, 0)), "web");
	json_decref(doc);

	/* A new scheduler (after a kill -9) reads the flags back. */
	struct sched s2 = {0};
	assert_int_equal(sched_projects_load(&s2), 1);
	struct sched_project *p2 = sched_project_find(&s2, "demo");
	assert_true(sched_service_find(p2, "web")->stopped);
	assert_false(sched_service_find(p2, "db")->stopped);
	assert_false(p2->stopped);
	while (s2.projects)
		sched_project_forget(s2.projects);
	fx_free(&f);
}

static void test_start_restart_and_up(void **state)
{
	struct fx f;
	fx_init(&f);
	struct berth_error err = {0};
	/* Stop everything: the project's flag follows. */
	assert_int_equal(sched_project_action(f.p, SCHED_ACTION_STOP, NULL, -1, &err), 0);
	assert_true(f.p->stopped && f.web->stopped && f.db->stopped && f.cache->stopped);
	json_t *doc = saved();
	assert_true(json_is_true(json_object_get(doc, "stopped")));
	json_decref(doc);
	clear_busy(&f);

	/* start web starts its dependency too, not cache. */
	json_t *n = names("web", NULL);
	assert_int_equal(sched_project_action(f.p, SCHED_ACTION_START, n, -1, &err), 0);
	assert_false(f.web->stopped);
	assert_false(f.db->stopped);
	assert_true(f.cache->stopped);
	assert_false(f.p->stopped);
	assert_true(f.web->up_pending && f.db->up_pending);
	assert_false(f.cache->up_pending);

	/* restart web: only web's replicas are restarted. */
	assert_int_equal(sched_project_action(f.p, SCHED_ACTION_RESTART, n, 0, &err), 0);
	json_decref(n);
	assert_true(f.web->replicas[0]->busy && f.web->replicas[1]->busy);
	assert_false(f.db->replicas[0]->busy);
	assert_false(f.cache->replicas[0]->busy);
	clear_busy(&f);

	/* An up of cache clears its flag; an up of db leaves the others' flags. */
	n = names("web", NULL);
	assert_int_equal(sched_project_action(f.p, SCHED_ACTION_STOP, n, -1, &err), 0);
	json_decref(n);
	json_t *m = json_loads(model_text, 0, NULL);
	json_t *sel = names("cache", NULL);
	assert_non_null(sched_project_apply(&f.s, "demo", m, sel, NULL, &err));
	json_decref(sel);
	json_decref(m);
	assert_false(f.cache->stopped);
	assert_true(f.web->stopped);
	fx_free(&f);
}

/* A state file written before per-service stops: "stopped": true alone stops every service. */
static void test_old_state_file(void **state)
{
	char dir[512], path[600];
	struct berth_error err = {0};
	snprintf(dir, sizeof(dir), "%s/scheduler/projects", root);
	assert_int_equal(berth_mkdir_p(dir, 0700, &err), 0);
	snprintf(path, sizeof(path), "%s/old.json", dir);
	json_t *m = json_loads(model_text, 0, NULL);
	json_t *doc = json_pack("{s:s, s:o, s:{s:i}, s:b}", "name", "old", "model", m, "replicas",
				"web", 2, "stopped", 1);
	assert_int_equal(berth_write_json_atomic(path, doc, &err), 0);
	json_decref(doc);
	struct sched s2 = {0};
	assert_true(sched_projects_load(&s2) >= 1);
	struct sched_project *p = sched_project_find(&s2, "old");
	assert_non_null(p);
	assert_true(p->stopped);
	for (size_t i = 0; i < p->n_services; i++)
		assert_true(p->services[i]->stopped);
	while (s2.projects)
		sched_project_forget(s2.projects);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("BERTH_ROOT", root, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_stop_one_service),
	    cmocka_unit_test(test_start_restart_and_up),
	    cmocka_unit_test(test_old_state_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
