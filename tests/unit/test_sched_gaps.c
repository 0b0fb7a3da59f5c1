/* Gaps closed in the scheduler's calls to the agent and netd: drains undone for replicas kept
 * after all (undrain.c, ops.c), compose down -t bounding drains and stops (ops.c), and the tag
 * that keeps a rollback's image (update_keep.c). The agent and netd are fakes on the test's
 * own sockets that record what they are asked. (Pinning and monitor: test_sched_pinmon.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/http_server.h"
#include "berth/paths.h"
#include "sched.h"
#include "test_sched_util.h"

static char root[] = "/tmp/test-sched-gaps.XXXXXX";

/* ---- fake daemons: every request is logged as "METHOD URI" ---- */

static char seen[64][512];
static int n_seen;
static int remove_status = 204; /* the fake agent's DELETE /containers/{id} */

static void record(struct berth_http_call *call, const char *method)
{
	if (n_seen < 64)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s %s", method,
			 evhttp_request_get_uri(call->req));
}

static bool was_seen(const char *what)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i], what))
			return true;
	return false;
}

static void fake_endpoints(struct berth_http_call *call)
{
	record(call, "GET");
	berth_http_reply_json(call, 200,
			      parse("[{\"ContainerId\": \"aaa\", \"Draining\": true},"
				    " {\"ContainerId\": \"bbb\", \"Draining\": false}]"));
}

static void fake_drain(struct berth_http_call *call)
{
	record(call, "POST");
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	char line[64];
	snprintf(line, sizeof(line), "TimeoutMs %lld",
		 (long long)json_integer_value(json_object_get(body, "TimeoutMs")));
	json_decref(body);
	if (n_seen < 64)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", line);
	berth_http_reply_json(call, 200, json_pack("{s:i}", "Connections", 0));
}

static void fake_undrain(struct berth_http_call *call)
{
	record(call, "DELETE");
	berth_http_reply_empty(call, 204);
}

static const struct berth_http_route netd_routes[] = {
    {"GET", "/endpoints", fake_endpoints},
    {"POST", "/endpoints/{id}/drain", fake_drain},
    {"DELETE", "/endpoints/{id}/drain", fake_undrain},
};

static void fake_list(struct berth_http_call *call)
{
	record(call, "GET");
	berth_http_reply_json(call, 200, json_array());
}

static void fake_stop(struct berth_http_call *call)
{
	record(call, "POST");
	berth_http_reply_empty(call, 204);
}

static void fake_remove(struct berth_http_call *call)
{
	record(call, "DELETE");
	if (remove_status == 204)
		berth_http_reply_empty(call, 204);
	else
		berth_http_reply_errorf(call, remove_status, "driver failed to remove");
}

static void fake_tag(struct berth_http_call *call)
{
	record(call, "POST");
	berth_http_reply_empty(call, 201);
}

static void fake_image_remove(struct berth_http_call *call)
{
	record(call, "DELETE");
	berth_http_reply_json(call, 200, parse("[{\"Untagged\": \"berth-rollback:demo.web\"}]"));
}

static const struct berth_http_route agent_routes[] = {
    {"GET", "/containers/json", fake_list},	      {"POST", "/containers/{id}/stop", fake_stop},
    {"DELETE", "/containers/{id}", fake_remove},      {"POST", "/images/{name*}/tag", fake_tag},
    {"DELETE", "/images/{name*}", fake_image_remove},
};

struct fx {
	struct sched s;
	struct berth_http_server *agent, *netd;
	char agent_sock[300];
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct berth_error err = {0};
	f->s.base = event_base_new();
	f->s.host_cpus = 4;
	f->s.host_memory = 1LL << 30;
	snprintf(f->agent_sock, sizeof(f->agent_sock), "%s/agent-fake.sock", root);
	f->s.agent_sock = f->agent_sock;
	f->agent =
	    berth_http_server_new(f->s.base, f->agent_sock, 0600, agent_routes,
				  sizeof(agent_routes) / sizeof(agent_routes[0]), NULL, &err);
	assert_non_null(f->agent);
	f->netd = berth_http_server_new(f->s.base, berth_netd_sock(), 0600, netd_routes,
					sizeof(netd_routes) / sizeof(netd_routes[0]), NULL, &err);
	assert_non_null(f->netd);
	n_seen = 0;
	return f;
}

/* Run the loop until what is seen (or 2 s). */
static bool run_until_seen(struct fx *f, const char *what)
{
	for (int i = 0; i < 2000 && !was_seen(what); i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	return was_seen(what);
}

static void run_a_while(struct fx *f, int ms)
{
	for (int i = 0; i < ms; i++)
		event_base_loop(f->s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static void fx_free(struct fx *f)
{
	run_a_while(f, 50);
	while (f->s.projects)
		sched_project_forget(f->s.projects);
	berth_http_server_free(f->agent);
	berth_http_server_free(f->netd);
	json_decref(f->s.draining);
	free(f->s.status_json);
	free(f->s.metrics_text);
	event_base_free(f->s.base);
	unlink(f->agent_sock);
	unlink(berth_netd_sock());
	free(f);
}

/* ---- 2: drains undone ---- */

static void test_undrain_after_start(void **state)
{
	struct fx *f = fx_new();
	sched_drains_check(&f->s);
	assert_true(run_until_seen(f, "GET /endpoints"));
	run_a_while(f, 20);
	assert_non_null(json_object_get(f->s.draining, "aaa"));
	assert_null(json_object_get(f->s.draining, "bbb"));
	sched_drains_check(&f->s); /* once per start */
	json_t *cfg = parse("{}");
	struct sched_replica r = {.number = 2};
	snprintf(r.id, sizeof(r.id), "bbb");
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r); /* not draining: nothing */
	snprintf(r.id, sizeof(r.id), "aaa");
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r);
	assert_true(run_until_seen(f, "DELETE /endpoints/aaa/drain"));
	sched_undrain_kept(&f->s, "demo", "web", cfg, &r); /* once */
	run_a_while(f, 30);
	int gets = 0, deletes = 0;
	for (int i = 0; i < n_seen; i++) {
		gets += !strcmp(seen[i], "GET /endpoints");
		deletes += !strncmp(seen[i], "DELETE /endpoints/", 18);
	}
	assert_int_equal(gets, 1);
	assert_int_equal(deletes, 1);
	json_decref(cfg);
	fx_free(f);
}

static const char *published_model =
    "{\"services\": {\"web\": {\"image\": \"busybox\", \"stop_grace_period\": 7000000000,"
    " \"deploy\": {\"replicas\": 0}}}}";

static struct sched_replica *published_replica(struct sched_service *svc, int number,
					       const char *id)
{
	struct sched_replica *r = add_replica(svc, number, id, "running", "");
	r->ports = parse("[{\"IP\": \"0.0.0.0\", \"PrivatePort\": 8080, \"PublicPort\": 9000,"
			 " \"Type\": \"tcp\"}]");
	return r;
}

static void test_undrain_failed_removal(void **state)
{
	struct fx *f = fx_new();
	struct sched_project *p = apply(&f->s, "demo", published_model);
	struct sched_service *svc = p->services[0];
	struct sched_replica *r = published_replica(svc, 1, "ccc");
	remove_status = 500;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/ccc?force=1"));
	/* drained, stopped, the removal failed: back into the rotation */
	assert_true(run_until_seen(f, "DELETE /endpoints/ccc/drain"));
	assert_true(was_seen("POST /endpoints/ccc/drain"));
	assert_true(was_seen("TimeoutMs 7000")); /* stop_grace_period */
	assert_true(was_seen("POST /containers/ccc/stop?t=7"));
	remove_status = 204;

	/* A removal that succeeds is not undrained. */
	n_seen = 0;
	r = published_replica(svc, 2, "ddd");
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/ddd?force=1"));
	run_a_while(f, 50);
	assert_false(was_seen("DELETE /endpoints/ddd/drain"));
	fx_free(f);
}

/* ---- 5: compose down -t ---- */

static void test_down_timeout(void **state)
{
	struct fx *f = fx_new();
	struct sched_project *p = apply(&f->s, "demo", published_model);
	struct sched_service *svc = p->services[0];
	struct sched_replica *r = published_replica(svc, 1, "eee");
	/* What plan_service does for a down -t 2: the drain is bounded too. */
	r->has_stop_timeout = true;
	r->stop_timeout = 2;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/eee?force=1"));
	assert_true(was_seen("TimeoutMs 2000"));
	assert_true(was_seen("POST /containers/eee/stop?t=2"));

	/* -t 0: no wait at all. */
	n_seen = 0;
	r = published_replica(svc, 2, "fff");
	r->has_stop_timeout = true;
	r->stop_timeout = 0;
	sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
	assert_true(run_until_seen(f, "DELETE /containers/fff?force=1"));
	assert_true(was_seen("POST /containers/fff/stop?t=0"));
	assert_false(was_seen("POST /endpoints/fff/drain"));

	/* Containers of the project no service knows (strays) get it too. */
	n_seen = 0;
	p->removing = true;
	p->down_timeout = 4;
	sched_op_remove_id(p, "ggg");
	assert_true(run_until_seen(f, "POST /containers/ggg/stop?t=4"));
	fx_free(f);
}

/* ---- 4: the rollback's image kept by a tag ---- */

static const char *update_model = "{\"services\": {\"web\": {\"image\": \"app\", \"environment\":"
				  " {\"V\": \"%s\"}, \"deploy\": {\"replicas\": 2,"
				  " \"update_config\": {%s}}}}}";

/* name/web at V=1 with 2 old replicas, updated to V=2; replica 1 replaced by a new one. */

static void test_keep_target_and_tag(void **state)
{
	char tag[256];
	assert_int_equal(sched_update_keep_tag("demo", "web", tag, sizeof(tag)), 0);
	assert_string_equal(tag, "demo.web");
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sched_update_keep_tag(longname, "web", tag, sizeof(tag)), -1);

	struct fx *f = fx_new();
	char text[512];
	snprintf(text, sizeof(text), update_model, "1", "");
	struct sched_project *p = apply(&f->s, "demo", text);
	struct sched_service *svc = p->services[0];
	assert_string_equal(sched_update_keep_target(p, svc), "");
	sched_update_image_resolved(svc, "sha256:aaa");
	snprintf(text, sizeof(text), update_model, "2", "");
	apply(&f->s, "demo", text); /* a config change: the previous is V=1 on aaa */
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:aaa");

	sched_update_keep_sync(p, svc);
	assert_true(
	    run_until_seen(f, "POST /images/sha256%3Aaaa/tag?repo=berth-rollback&tag=demo.web"));
	run_a_while(f, 20);
	assert_string_equal(svc->upd.kept_id, "sha256:aaa");
	/* persisted, and read back */
	json_t *saved = sched_update_save(p);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(saved, "web"), "kept_image_id")),
	    "sha256:aaa");
	json_decref(saved);
	n_seen = 0;
	sched_update_keep_sync(p, svc); /* nothing to do */
	run_a_while(f, 20);
	assert_int_equal(n_seen, 0);

	/* Pinned after a rollback: the image it runs on. */
	snprintf(svc->upd.image_id, sizeof(svc->upd.image_id), "sha256:bbb");
	svc->upd.pinned = true;
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:bbb");
	svc->upd.pinned = false;
	snprintf(svc->upd.state, sizeof(svc->upd.state), "rolling_back");
	assert_string_equal(sched_update_keep_target(p, svc), "sha256:bbb");
	snprintf(svc->upd.state, sizeof(svc->upd.state), "completed");

	/* down: untagged (forced: only the tag goes while a container uses it). */
	p->removing = true;
	assert_string_equal(sched_update_keep_target(p, svc), "");
	sched_update_keep_sync(p, svc);
	assert_true(run_until_seen(f, "DELETE /images/berth-rollback%3Ademo.web?force=1"));
	run_a_while(f, 20);
	assert_string_equal(svc->upd.kept_id, "");
	fx_free(f);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("BERTH_ROOT", root, 1);
	setenv("BERTH_RUN", root, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_undrain_after_start),
	    cmocka_unit_test(test_undrain_failed_removal),
	    cmocka_unit_test(test_down_timeout),
	    cmocka_unit_test(test_keep_target_and_tag),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
