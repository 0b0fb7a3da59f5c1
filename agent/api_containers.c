/* Docker Engine API: /containers (create, list, inspect, start, stop, kill, restart, wait,
 * resize, delete, prune). Attach and logs are in api_attach.c and api_logs.c. */
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"
#include "runtime.h"

struct container *api_container_lookup(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	struct container *c = container_find(agent->containers, call->params[0], &err);
	if (!c)
		berth_http_reply_error(call, &err);
	return c;
}

/* Completion of an asynchronous container operation: reply with its status. */
static void reply_done(void *arg, int status, const struct berth_error *err)
{
	struct berth_http_call *call = arg;
	if (err && berth_err_is_set(err)) {
		struct berth_error e = *err;
		if (status >= 400)
			e.status = status;
		berth_http_reply_error(call, &e);
		return;
	}
	berth_http_reply_empty(call, status);
}

struct create_req {
	struct berth_http_call *call;
	json_t *warnings;
};

static void create_done(void *arg, struct container *c, const struct berth_error *err)
{
	struct create_req *req = arg;
	if (!c)
		berth_http_reply_error(req->call, err);
	else
		berth_http_reply_json(
		    req->call, 201,
		    json_pack("{s:s, s:O}", "Id", c->id, "Warnings", req->warnings));
	json_decref(req->warnings);
	free(req);
}

static void api_create(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(call->req));
	json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	struct create_req *req = calloc(1, sizeof(*req));
	if (!req)
		abort();
	req->call = call;
	req->warnings = json_array();
	container_create(agent->containers, berth_http_query(call, "name"), body, req->warnings,
			 create_done, req);
	json_decref(body);
	/* A body of megabytes (thousands of ports, refused or not) parses into tens of MB of
	 * small blocks: give the freed ones back rather than keep the peak for good. */
	if (len > (1 << 20))
		malloc_trim(0);
}

static int cmp_created_desc(const void *a, const void *b)
{
	const struct container *x = *(struct container *const *)a;
	const struct container *y = *(struct container *const *)b;
	return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

static void api_list(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct container_store *store = agent->containers;
	struct berth_error err = {0};
	bool all = berth_http_query_bool(call, "all", false);
	bool size = berth_http_query_bool(call, "size", false);
	long long limit;
	if (berth_http_query_int(call, "limit", LLONG_MIN, LLONG_MAX, -1, &limit, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	_cleanup_json_ json_t *filters = NULL;
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		filters = json_loads(f, 0, NULL);
		if (!filters || container_filters_check(filters, &err) < 0) {
			if (!filters)
				berth_err(&err, 400, "invalid filters: %s", f);
			berth_http_reply_error(call, &err);
			return;
		}
	}
	/* -a is implied by a status filter, as in Docker. */
	if (json_object_get(filters, "status") || json_object_get(filters, "exited"))
		all = true;
	_cleanup_free_ struct container **v = calloc(store->count + 1, sizeof(*v));
	size_t n = 0;
	for (struct container *c = store->head; c && n < store->count; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof(*v), cmp_created_desc);
	if (limit > 0)
		all = true;
	json_t *out = json_array();
	int64_t now = berth_now_ns();
	for (size_t i = 0; i < n; i++) {
		struct container *c = v[i];
		if (limit > 0 && (long)json_array_size(out) >= limit)
			break;
		if (!all && c->status != CONTAINER_RUNNING && c->status != CONTAINER_PAUSED &&
		    c->status != CONTAINER_RESTARTING)
			continue;
		if (!container_filters_match(c, filters))
			continue;
		json_array_append_new(out, container_list_json(c, now, size));
	}
	berth_http_reply_json(call, 200, out);
}

static void api_inspect(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	json_t *j = container_inspect_json(c);
	if (berth_http_query_bool(call, "size", false)) {
		char dir[4300];
		container_dir(c, dir, sizeof(dir));
		strcat(dir, "/upper");
		long long rw = berth_dir_size(dir);
		json_object_set_new(j, "SizeRw", json_integer(rw < 0 ? 0 : rw));
		json_object_set_new(j, "SizeRootFs", json_integer(rw < 0 ? 0 : rw));
	}
	berth_http_reply_json(call, 200, j);
}

static void api_start(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (c)
		container_start(c, reply_done, call);
}

/* ?t= seconds, -1 (the container's StopTimeout) when absent; false and a 400 when bad (the
 * timeout is kept in an int). */
static bool query_timeout(struct berth_http_call *call, int *out)
{
	struct berth_error err = {0};
	long long t;
	if (berth_http_query_int(call, "t", -1, INT_MAX, -1, &t, &err) < 0) {
		berth_http_reply_error(call, &err);
		return false;
	}
	*out = (int)t;
	return true;
}

static void api_stop(struct berth_http_call *call)
{
	int t;
	if (!query_timeout(call, &t))
		return;
	struct container *c = api_container_lookup(call);
	if (c)
		container_stop(c, t, reply_done, call);
}

static void api_kill(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	const char *s = berth_http_query(call, "signal");
	int sig = s && *s ? container_parse_signal(s) : SIGKILL;
	if (sig <= 0) {
		berth_http_reply_errorf(call, 400, "Invalid signal: %s", s);
		return;
	}
	struct berth_error err = {0};
	if (container_kill(c, sig, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	berth_http_reply_empty(call, 204);
}

/* restart = stop (if running) then start, answering once started. */
struct restart_req {
	struct berth_http_call *call;
	char id[65];
};

/* Docker's order: kill, die, stop, start, then restart. */
static void restart_started(void *arg, int status, const struct berth_error *err)
{
	struct restart_req *req = arg;
	struct agent *agent = req->call->ctx;
	struct container *c = container_find(agent->containers, req->id, NULL);
	if (c && (status == 204 || status == 304))
		container_event(c, "restart", NULL);
	reply_done(req->call, status, err);
	free(req);
}

static void restart_stopped(void *arg, int status, const struct berth_error *err)
{
	struct restart_req *req = arg;
	struct berth_http_call *call = req->call;
	struct agent *agent = call->ctx;
	struct berth_error e = {0};
	struct container *c = container_find(agent->containers, req->id, &e);
	free(req);
	if (err && berth_err_is_set(err)) {
		reply_done(call, status, err);
		return;
	}
	if (!c) {
		berth_http_reply_error(call, &e);
		return;
	}
	req = calloc(1, sizeof(*req));
	if (!req)
		abort();
	req->call = call;
	memcpy(req->id, c->id, sizeof(req->id));
	container_start(c, restart_started, req);
}

static void api_restart(struct berth_http_call *call)
{
	int t;
	if (!query_timeout(call, &t))
		return;
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	struct restart_req *req = calloc(1, sizeof(*req));
	if (!req)
		abort();
	req->call = call;
	memcpy(req->id, c->id, sizeof(req->id));
	container_stop(c, t, restart_stopped, req);
}

enum wait_condition { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };

struct wait_req {
	struct container_watch w;
	struct container *c;
	struct berth_http_call *call;
	enum wait_condition cond;
};

static void wait_send(struct berth_http_call *call, struct container *c)
{
	/* A start failure was already reported by start itself: Error stays null, as Docker's. */
	json_t *body = json_pack("{s:n, s:i}", "Error", "StatusCode", c->exit_code);
	_cleanup_free_ char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	berth_http_stream_send(call, s, strlen(s));
	berth_http_stream_send(call, "\n", 1);
	berth_http_stream_end(call);
}

static void wait_exit(struct container_watch *w, struct container *c)
{
	struct wait_req *wr = (struct wait_req *)w;
	container_unwatch(c, w);
	wait_send(wr->call, c);
	free(wr);
}

static void wait_removed(struct container_watch *w, struct container *c)
{
	struct wait_req *wr = (struct wait_req *)w;
	wait_send(wr->call, c);
	free(wr);
}

static void wait_closed(struct berth_http_call *call, void *arg)
{
	struct wait_req *wr = arg;
	container_unwatch(wr->c, &wr->w);
	free(wr);
}

static void api_wait(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	const char *cond_s = berth_http_query(call, "condition");
	enum wait_condition cond = WAIT_NOT_RUNNING;
	if (cond_s && strcmp(cond_s, "next-exit") == 0)
		cond = WAIT_NEXT_EXIT;
	else if (cond_s && strcmp(cond_s, "removed") == 0)
		cond = WAIT_REMOVED;
	else if (cond_s && *cond_s && strcmp(cond_s, "not-running") != 0) {
		berth_http_reply_errorf(call, 400, "invalid condition: \"%s\"", cond_s);
		return;
	}
	bool running = c->rt || c->starting;
	if (cond == WAIT_NOT_RUNNING && !running) {
		berth_http_stream_start(call, 200, "application/json");
		wait_send(call, c);
		return;
	}
	struct wait_req *wr = calloc(1, sizeof(*wr));
	if (!wr)
		abort();
	wr->c = c;
	wr->call = call;
	wr->cond = cond;
	wr->w.on_exit = cond == WAIT_REMOVED ? NULL : wait_exit;
	wr->w.on_removed = wait_removed;
	container_watch(c, &wr->w);
	berth_http_stream_on_close(call, wait_closed, wr);
	berth_http_stream_start(call, 200, "application/json");
}

static void api_resize(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	long long rows, cols;
	struct berth_error err = {0};
	if (berth_http_query_int(call, "h", 0, 65535, 0, &rows, &err) < 0 ||
	    berth_http_query_int(call, "w", 0, 65535, 0, &cols, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	if (!c->rt) {
		berth_http_reply_errorf(call, 409, "Container %s is not running", c->id);
		return;
	}
	runtime_resize(c->rt, (unsigned)rows, (unsigned)cols);
	berth_http_reply_empty(call, 200);
}

static void api_delete(struct berth_http_call *call)
{
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	container_remove(c, berth_http_query_bool(call, "force", false),
			 berth_http_query_bool(call, "v", false), reply_done, call);
}

static void api_prune(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	_cleanup_json_ json_t *filters = NULL;
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		filters = json_loads(f, 0, NULL);
		if (!json_is_object(filters)) {
			berth_http_reply_errorf(call, 400, "invalid filters: %s", f);
			return;
		}
		json_t *label = json_object_get(filters, "label");
		json_incref(label);
		json_object_clear(filters);
		if (label)
			json_object_set_new(filters, "label", label);
	}
	json_t *deleted = json_array();
	long long reclaimed = 0;
	struct container *next;
	for (struct container *c = agent->containers->head; c; c = next) {
		next = c->next;
		if (c->rt || c->starting || c->status == CONTAINER_RUNNING ||
		    c->status == CONTAINER_PAUSED || c->status == CONTAINER_RESTARTING ||
		    c->watches || !container_filters_match(c, filters))
			continue;
		char dir[4300];
		container_dir(c, dir, sizeof(dir));
		strcat(dir, "/upper");
		long long sz = berth_dir_size(dir);
		reclaimed += sz > 0 ? sz : 0;
		json_array_append_new(deleted, json_string(c->id));
		container_destroy(c);
	}
	(void)err;
	berth_http_reply_json(call, 200,
			      json_pack("{s:o, s:I}", "ContainersDeleted", deleted,
					"SpaceReclaimed", (json_int_t)reclaimed));
	agent_event(agent, "container", "prune", "", NULL);
}

bool agent_image_in_use(struct agent *agent, const char *image_id, char container_id[65])
{
	if (!agent->containers)
		return false;
	for (struct container *c = agent->containers->head; c; c = c->next) {
		if (strcmp(container_image_id(c), image_id) == 0) {
			if (container_id)
				memcpy(container_id, c->id, 65);
			return true;
		}
	}
	return false;
}

const struct berth_http_route api_containers_routes[] = {
    {"POST", "/containers/create", api_create},
    {"GET", "/containers/json", api_list},
    {"POST", "/containers/prune", api_prune},
    {"GET", "/containers/{id}/json", api_inspect},
    {"POST", "/containers/{id}/start", api_start},
    {"POST", "/containers/{id}/stop", api_stop},
    {"POST", "/containers/{id}/kill", api_kill},
    {"POST", "/containers/{id}/restart", api_restart},
    {"POST", "/containers/{id}/wait", api_wait},
    {"POST", "/containers/{id}/resize", api_resize},
    {"POST", "/containers/{id}/attach", api_container_attach},
    {"GET", "/containers/{id}/logs", api_container_logs},
    {"DELETE", "/containers/{id}", api_delete},
};
const size_t api_containers_routes_len =
    sizeof(api_containers_routes) / sizeof(api_containers_routes[0]);
