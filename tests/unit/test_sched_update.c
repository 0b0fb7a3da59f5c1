/* Rolling updates (scheduler/update.c): what one reconcile pass decides from the replicas it
 * sees: batches, start-first surge, waiting for health and delay, pause, rollback, the image
 * ID, and the persisted state. No agent: operations are queued on a loop never run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/duration.h"
#include "sched.h"

static char root[] = "/tmp/test-sched-update.XXXXXX";

struct fx {
	struct sched s;
	struct sched_project *p;
	struct sched_service *svc;
	char old_hash[17];
};

/* Every fixture made, freed after the group. */
static struct fx *fixtures[32];
static size_t n_fixtures;

static int fx_free_all(void **state)
{
	for (size_t i = 0; i < n_fixtures; i++) {
		struct fx *f = fixtures[i];
		/* Let the requests the steps started fail (no agent) and free themselves. */
		for (int k = 0; k < 20; k++)
			event_base_loop(f->s.base, EVLOOP_NONBLOCK);
		while (f->s.projects)
			sched_project_forget(f->s.projects);
		event_base_free(f->s.base);
		free(f);
	}
	n_fixtures = 0;
	return 0;
}

static json_t *model(const char *v, const char *update)
{
	json_error_t e;
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"services\": {\"web\": {\"image\": \"app\", \"environment\": {\"V\": \"%s\"},"
		 " \"deploy\": {\"replicas\": 3, \"update_config\": {%s}}}}}",
		 v, update);
	json_t *m = json_loads(text, 0, &e);
	assert_non_null(m);
	return m;
}

static void replica(struct sched_service *svc, int number, const char *hash, const char *state,
		    const char *health)
{
	svc->replicas = realloc(svc->replicas, (svc->n_replicas + 1) * sizeof(*svc->replicas));
	struct sched_replica *r = calloc(1, sizeof(*r));
	r->number = number;
	snprintf(r->id, sizeof(r->id), "id%d", number);
	snprintf(r->hash, sizeof(r->hash), "%s", hash);
	snprintf(r->state, sizeof(r->state), "%s", state);
	snprintf(r->health, sizeof(r->health), "%s", health);
	r->started_ns = 1;
	r->seen = true;
	svc->replicas[svc->n_replicas++] = r;
	svc->cap_replicas = svc->n_replicas;
}

/* Project demo at V=1 with 3 replicas of it, then updated to V=2 with update_config. */
static struct fx *fx_new(const char *update)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct berth_error err = {0};
	f->s.base = event_base_new();
	f->s.agent_sock = "/nonexistent/agent.sock";
	f->s.host_cpus = 2;
	f->s.host_memory = 1LL << 30;
	json_t *m1 = model("1", update), *m2 = model("2", update);
	f->p = sched_project_apply(&f->s, "demo", m1, NULL, NULL, &err);
	assert_non_null(f->p);
	f->svc = sched_service_find(f->p, "web");
	snprintf(f->old_hash, sizeof(f->old_hash), "%s", f->svc->hash);
	for (int i = 1; i <= 3; i++)
		replica(f->svc, i, f->old_hash, "running", "healthy");
	assert_non_null(sched_project_apply(&f->s, "demo", m2, NULL, NULL, &err));
	assert_string_not_equal(f->svc->hash, f->old_hash);
	json_decref(m1);
	json_decref(m2);
	if (n_fixtures < sizeof(fixtures) / sizeof(fixtures[0]))
		fixtures[n_fixtures++] = f;
	return f;
}

static int step(struct fx *f, int *surge, bool *busy, int64_t *next)
{
	*surge = 0;
	*busy = false;
	*next = 0;
	return sched_update_step(f->p, f->svc, berth_now_ns(), surge, busy, next);
}

static void test_stop_first_batches(void **state)
{
	struct fx *f = fx_new("\"parallelism\": 2");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 2); /* replicas 1 and 2 removed */
	assert_true(busy);
	assert_int_equal(surge, 0);
	assert_string_equal(f->svc->upd.state, "updating");
	assert_int_equal(f->svc->upd.batch, 1);
	assert_int_equal(f->svc->upd.batches, 2);
	assert_true(f->svc->replicas[0]->busy && f->svc->replicas[1]->busy);
	assert_false(f->svc->replicas[2]->busy);
	/* Their replacements run but are not healthy yet: wait. */
	f->svc->replicas[0]->busy = f->svc->replicas[1]->busy = false;
	for (int i = 0; i < 2; i++) {
		snprintf(f->svc->replicas[i]->hash, 17, "%s", f->svc->hash);
		snprintf(f->svc->replicas[i]->health, 16, "starting");
	}
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_true(busy);
	/* Healthy: the last batch. */
	for (int i = 0; i < 2; i++)
		snprintf(f->svc->replicas[i]->health, 16, "healthy");
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	assert_true(f->svc->replicas[2]->busy);
	assert_int_equal(f->svc->upd.batch, 2);
	f->svc->replicas[2]->busy = false;
	snprintf(f->svc->replicas[2]->hash, 17, "%s", f->svc->hash);
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_false(busy);
	assert_string_equal(f->svc->upd.state, "completed");
}

static void test_start_first_surge(void **state)
{
	struct fx *f = fx_new("\"order\": \"start-first\"");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_int_equal(surge, 1); /* one new replica beside the 3 old ones */
	replica(f->svc, 4, f->svc->hash, "running", "starting");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_int_equal(surge, 1); /* kept above desired until healthy */
	snprintf(f->svc->replicas[3]->health, 16, "healthy");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_int_equal(surge, 0); /* now an old one may go */
	assert_true(busy);
	assert_int_equal(f->svc->upd.batch, 1);
	/* The outdated replicas sort last, so scale-down removes one of them. */
	assert_true(sched_update_outdated(f->svc, f->svc->replicas[0]));
	assert_false(sched_update_outdated(f->svc, f->svc->replicas[3]));
}

static void test_delay_and_monitor(void **state)
{
	struct fx *f = fx_new("\"delay\": 10000000000, \"monitor\": 5000000000");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	f->svc->replicas[0]->busy = false;
	snprintf(f->svc->replicas[0]->hash, 17, "%s", f->svc->hash);
	f->svc->replicas[0]->health[0] = '\0'; /* no health check: running for monitor counts */
	f->svc->replicas[0]->started_ns = berth_now_ns();
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_true(next > berth_now_ns() + 4000000000LL);
	f->svc->replicas[0]->started_ns = berth_now_ns() - 6000000000LL;
	assert_int_equal(step(f, &surge, &busy, &next), 0); /* ready; the delay starts */
	assert_true(next > berth_now_ns() + 9000000000LL);
	assert_int_equal(f->svc->upd.batch, 1);
}

static void test_failure_pause_and_rollback(void **state)
{
	struct fx *f = fx_new("");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	f->svc->replicas[0]->busy = false;
	snprintf(f->svc->replicas[0]->hash, 17, "%s", f->svc->hash);
	snprintf(f->svc->replicas[0]->health, 16, "unhealthy");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(f->svc->upd.state, "paused");
	assert_non_null(
	    strstr(f->svc->upd.reason, "update paused: container demo-web-1 is unhealthy"));
	/* Paused stays paused: nothing more is replaced. */
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_false(busy);

	struct fx *g = fx_new("\"failure_action\": \"rollback\"");
	assert_int_equal(step(g, &surge, &busy, &next), 1);
	g->svc->replicas[0]->busy = false;
	snprintf(g->svc->replicas[0]->hash, 17, "%s", g->svc->hash);
	snprintf(g->svc->replicas[0]->state, 16, "exited");
	g->svc->replicas[0]->exit_code = 3;
	assert_int_equal(step(g, &surge, &busy, &next), 0);
	assert_string_equal(g->svc->upd.state, "rolling_back");
	assert_string_equal(g->svc->hash, g->old_hash);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(g->svc->config, "environment"), "V")),
	    "1");
	assert_non_null(strstr(g->svc->upd.reason, "exited with code 3"));
	/* Now replica 1 is the outdated one and goes. */
	assert_true(sched_update_outdated(g->svc, g->svc->replicas[0]));
	assert_false(sched_update_outdated(g->svc, g->svc->replicas[1]));
}

static void test_image_id_and_persistence(void **state)
{
	struct fx *f = fx_new("");
	struct sched_replica *r = f->svc->replicas[0];
	snprintf(r->hash, sizeof(r->hash), "%s", f->svc->hash);
	snprintf(r->image_id, sizeof(r->image_id), "sha256:aaa");
	assert_false(sched_update_outdated(f->svc, r)); /* image not resolved: hash only */
	snprintf(f->svc->upd.image_id, sizeof(f->svc->upd.image_id), "sha256:aaa");
	assert_false(sched_update_outdated(f->svc, r));
	/* An up found the tag on bbb: replicas on aaa are old. */
	snprintf(f->svc->upd.image_id, sizeof(f->svc->upd.image_id), "sha256:bbb");
	f->svc->upd.old_images = json_pack("[s]", "sha256:aaa");
	assert_true(sched_update_outdated(f->svc, r));
	/* A replica made after the tag moved again without an up is not old (no endless
	 * replacing). */
	snprintf(r->image_id, sizeof(r->image_id), "sha256:ccc");
	assert_false(sched_update_outdated(f->svc, r));
	snprintf(f->svc->upd.state, sizeof(f->svc->upd.state), "updating");
	f->svc->upd.batch = 2;
	json_t *saved = sched_update_save(f->p);
	json_t *web = json_object_get(saved, "web");
	assert_string_equal(json_string_value(json_object_get(web, "state")), "updating");
	assert_string_equal(json_string_value(json_object_get(web, "image_id")), "sha256:bbb");
	assert_non_null(json_object_get(web, "prev"));
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(web, "old_images"), 0)), "sha256:aaa");
	/* A restarted scheduler reads its projects back with the update state. */
	struct berth_error err = {0};
	assert_int_equal(sched_project_save(f->p, &err), 0);
	struct sched s2 = {.base = f->s.base};
	assert_int_equal(sched_projects_load(&s2), 1);
	struct sched_service *svc2 = sched_service_find(s2.projects, "web");
	assert_string_equal(svc2->upd.state, "updating");
	assert_int_equal(svc2->upd.batch, 2);
	assert_non_null(svc2->upd.prev);
	json_t *st = sched_update_status(svc2);
	assert_string_equal(json_string_value(json_object_get(st, "order")), "stop-first");
	json_decref(st);
	json_decref(saved);
	while (s2.projects)
		sched_project_forget(s2.projects);
}

static void test_failure_ratio(void **state)
{
	/* swarm: the action once failed / replaced > max_failure_ratio */
	assert_false(sched_update_failure_exceeds(0, 3, 0));
	assert_true(sched_update_failure_exceeds(1, 3, 0));
	assert_false(sched_update_failure_exceeds(1, 3, 0.5));
	assert_false(sched_update_failure_exceeds(2, 4, 0.5));
	assert_true(sched_update_failure_exceeds(3, 4, 0.5));
	assert_false(sched_update_failure_exceeds(3, 3, 1));
	assert_true(sched_update_failure_exceeds(1, 0, 0.9));

	/* 3 replicas, ratio 0.5: the first failed replica (1 of 3) is tolerated and the next
	 * batch goes on; the second (2 of 3) pauses. */
	struct fx *f = fx_new("\"max_failure_ratio\": 0.5");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	assert_int_equal(f->svc->upd.total, 3);
	struct sched_replica *r1 = f->svc->replicas[0];
	r1->busy = false;
	snprintf(r1->hash, 17, "%s", f->svc->hash);
	snprintf(r1->state, 16, "exited");
	r1->exit_code = 1;
	assert_int_equal(step(f, &surge, &busy, &next), 1); /* replica 2 goes */
	assert_string_equal(f->svc->upd.state, "updating");
	assert_int_equal(f->svc->upd.batch, 2);
	struct sched_replica *r2 = f->svc->replicas[1];
	r2->busy = false;
	snprintf(r2->hash, 17, "%s", f->svc->hash);
	snprintf(r2->health, 16, "unhealthy");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(f->svc->upd.state, "paused");
	assert_non_null(
	    strstr(f->svc->upd.reason, "(2 of 3 replicas failed, max_failure_ratio 0.5)"));
	json_t *st = sched_update_status(f->svc);
	assert_true(json_real_value(json_object_get(st, "max_failure_ratio")) == 0.5);
	json_decref(st);

	/* The default, 0: the first failure pauses. */
	struct fx *g = fx_new("");
	assert_int_equal(step(g, &surge, &busy, &next), 1);
	g->svc->replicas[0]->busy = false;
	snprintf(g->svc->replicas[0]->hash, 17, "%s", g->svc->hash);
	snprintf(g->svc->replicas[0]->state, 16, "exited");
	assert_int_equal(step(g, &surge, &busy, &next), 0);
	assert_string_equal(g->svc->upd.state, "paused");
	assert_null(strstr(g->svc->upd.reason, "max_failure_ratio"));

	/* A create that fails pauses whatever the ratio (every replica would fail). */
	struct fx *h = fx_new("\"max_failure_ratio\": 0.9");
	assert_int_equal(step(h, &surge, &busy, &next), 1);
	h->svc->replicas[0]->busy = false;
	snprintf(h->svc->error, sizeof(h->svc->error), "No such image: app");
	assert_int_equal(step(h, &surge, &busy, &next), 0);
	assert_string_equal(h->svc->upd.state, "paused");
	assert_non_null(strstr(h->svc->upd.reason, "No such image: app"));
}

static struct sched_replica *on_image(struct fx *f, int i, const char *hash, const char *id)
{
	struct sched_replica *r = f->svc->replicas[i];
	r->busy = false;
	snprintf(r->hash, sizeof(r->hash), "%s", hash);
	snprintf(r->image_id, sizeof(r->image_id), "%s", id);
	return r;
}

static void test_image_only_rollback(void **state)
{
	/* V=2 on image aaa everywhere; then an up with the same config finds the tag on bbb. */
	struct fx *f = fx_new("\"failure_action\": \"rollback\"");
	struct berth_error err = {0};
	sched_update_image_resolved(f->svc, "sha256:aaa");
	for (int i = 0; i < 3; i++)
		on_image(f, i, f->svc->hash, "sha256:aaa");
	json_t *m = json_deep_copy(f->p->model);
	json_t *sel = json_pack("[s]", "web");
	assert_non_null(sched_project_apply(&f->s, "demo", m, sel, NULL, &err));
	json_decref(m);
	sched_update_image_resolved(f->svc, "sha256:bbb");
	assert_false(f->svc->upd.changed);
	assert_non_null(f->svc->upd.prev);
	assert_string_equal(f->svc->upd.prev_image_id, "sha256:aaa");
	assert_true(sched_update_outdated(f->svc, f->svc->replicas[0]));

	int surge;
	bool busy;
	int64_t next;
	char hash[17];
	snprintf(hash, sizeof(hash), "%s", f->svc->hash);
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	struct sched_replica *r = on_image(f, 0, hash, "sha256:bbb");
	snprintf(r->health, 16, "unhealthy");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(f->svc->upd.state, "rolling_back");
	assert_non_null(strstr(f->svc->upd.reason, "update rolled back: container demo-web-1 is "
						   "unhealthy"));
	/* The same config, on the previous ID: the replica on bbb is the outdated one, and new
	 * replicas are made from aaa itself (the tag names bbb). */
	assert_string_equal(f->svc->hash, hash);
	assert_string_equal(f->svc->upd.image_id, "sha256:aaa");
	assert_true(f->svc->upd.pinned);
	assert_true(sched_update_outdated(f->svc, f->svc->replicas[0]));
	assert_false(sched_update_outdated(f->svc, f->svc->replicas[1]));
	json_t *body = json_pack("{s:s}", "Image", "app");
	sched_update_create_body(f->svc, body);
	assert_string_equal(json_string_value(json_object_get(body, "Image")), "sha256:aaa");
	json_decref(body);
	/* An up of another service looks the tag up again: the pin stays. */
	sched_update_image_resolved(f->svc, "sha256:bbb");
	assert_string_equal(f->svc->upd.image_id, "sha256:aaa");

	/* The rollback's batch, then done. */
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	assert_true(f->svc->replicas[0]->busy);
	on_image(f, 0, hash, "sha256:aaa");
	snprintf(f->svc->replicas[0]->health, 16, "healthy");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(f->svc->upd.state, "rolled_back");

	/* Persisted: a restarted scheduler keeps the pin. */
	assert_int_equal(sched_project_save(f->p, &err), 0);
	struct sched s2 = {.base = f->s.base};
	assert_int_equal(sched_projects_load(&s2), 1);
	struct sched_service *svc2 = sched_service_find(s2.projects, "web");
	assert_true(svc2->upd.pinned);
	assert_string_equal(svc2->upd.image_id, "sha256:aaa");
	while (s2.projects)
		sched_project_forget(s2.projects);

	/* The next up of the service with the tag still on bbb: unpinned, and the update is tried
	 * again (once: it ends rolled back again, not in a loop). */
	m = json_deep_copy(f->p->model);
	assert_non_null(sched_project_apply(&f->s, "demo", m, sel, NULL, &err));
	json_decref(m);
	assert_false(f->svc->upd.pinned);
	assert_string_equal(f->svc->upd.state, "");
	sched_update_image_resolved(f->svc, "sha256:bbb");
	assert_string_equal(f->svc->upd.prev_image_id, "sha256:aaa");
	assert_true(sched_update_outdated(f->svc, f->svc->replicas[0]));
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	assert_string_equal(f->svc->upd.state, "updating");
	json_decref(sel);
}

static void test_config_rollback_other_tag(void **state)
{
	/* A config change that also changes the tag rolls back to the old tag, not pinned. */
	struct fx *f = fx_new("\"failure_action\": \"rollback\"");
	snprintf(f->svc->upd.prev_image_id, sizeof(f->svc->upd.prev_image_id), "sha256:aaa");
	snprintf(f->svc->upd.image_id, sizeof(f->svc->upd.image_id), "sha256:aaa");
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 1);
	on_image(f, 0, f->svc->hash, "sha256:aaa");
	snprintf(f->svc->replicas[0]->state, 16, "exited");
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(f->svc->upd.state, "rolling_back");
	assert_false(f->svc->upd.pinned); /* the same ID: the tag is used as before */
	assert_string_equal(f->svc->hash, f->old_hash);
}

static void test_rollback_image_gone(void **state)
{
	/* Rolling back, pinned to aaa, which was pruned meanwhile: a pause that says so. */
	struct fx *f = fx_new("\"failure_action\": \"rollback\"");
	struct sched_update *u = &f->svc->upd;
	snprintf(u->state, sizeof(u->state), "rolling_back");
	snprintf(u->image_id, sizeof(u->image_id), "sha256:aaa");
	u->pinned = true;
	snprintf(f->svc->error, sizeof(f->svc->error), "No such image: sha256:aaa");
	f->svc->error_status = 404;
	int surge;
	bool busy;
	int64_t next;
	assert_int_equal(step(f, &surge, &busy, &next), 0);
	assert_string_equal(u->state, "paused");
	assert_non_null(strstr(u->reason, "rollback paused: image sha256:aaa of the previous "
					  "replicas is gone (removed or pruned since the update): "
					  "No such image"));
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("BERTH_ROOT", root, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stop_first_batches),
	    cmocka_unit_test(test_start_first_surge),
	    cmocka_unit_test(test_delay_and_monitor),
	    cmocka_unit_test(test_failure_pause_and_rollback),
	    cmocka_unit_test(test_image_id_and_persistence),
	    cmocka_unit_test(test_failure_ratio),
	    cmocka_unit_test(test_image_only_rollback),
	    cmocka_unit_test(test_config_rollback_other_tag),
	    cmocka_unit_test(test_rollback_image_gone),
	};
	int rc = cmocka_run_group_tests(tests, NULL, fx_free_all);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
