/* Operations on the agent for a project: create+start, start, stop, remove (drained first) and
 * restart a replica, create and remove the project's networks and volumes. Each operation runs
 * on its own connection, in parallel up to its window (window.c): a scale-up of 100 issues 32
 * creates at once and the next as each one ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/http_async.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

struct request {
	struct berth_http_async *c;
	void (*cb)(void *arg, int status, json_t *reply, const struct berth_error *err);
	void *arg;
};

static void request_cb(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct request *rq = arg;
	rq->cb(rq->arg, status, reply, err);
	berth_http_async_free(rq->c); /* deferred by the client: we are in its callback */
	free(rq);
}

void sched_request_to(struct sched *s, const char *sock, int timeout_s, const char *method,
		      const char *path, const json_t *body,
		      void (*cb)(void *arg, int status, json_t *reply,
				 const struct berth_error *err),
		      void *arg)
{
	struct request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		abort();
	rq->c = berth_http_async_new(s->base, sock);
	berth_http_async_set_timeout(rq->c, timeout_s);
	rq->cb = cb;
	rq->arg = arg;
	berth_http_async_json(rq->c, method, path, body, request_cb, rq);
}

void sched_request(struct sched *s, const char *method, const char *path, const json_t *body,
		   void (*cb)(void *arg, int status, json_t *reply, const struct berth_error *err),
		   void *arg)
{
	sched_request_to(s, s->agent_sock, 120, method, path, body, cb, arg);
}

struct op {
	struct sched_window_item wi; /* first: an item converts back to its op */
	struct sched_window *window; /* the window it holds a place in, once it runs */
	struct sched_project *p;
	char service[256];
	int number;
	enum sched_op_kind kind;
	char id[65];
	char name[300];
	json_t *body;
	char **nets;
	size_t net_i;
	long stop_timeout; /* seconds, -1 = the container's own */
	bool was_running;
	int64_t drain_ms; /* remove: drain its published ports this long at most first */
	bool drained;	  /* remove: the drain was asked for */
};

static struct sched_replica *op_replica(struct op *op, struct sched_service **svc_out)
{
	struct sched_service *svc = sched_service_find(op->p, op->service);
	*svc_out = svc;
	for (size_t i = 0; svc && i < svc->n_replicas; i++)
		if (svc->replicas[i]->number == op->number)
			return svc->replicas[i];
	return NULL;
}

static void op_finish(struct op *op, bool ok, const struct berth_error *err)
{
	struct sched_service *svc;
	struct sched_replica *r = op_replica(op, &svc);
	if (r) {
		r->busy = false;
		if (op->id[0])
			snprintf(r->id, sizeof(r->id), "%s", op->id);
		if (ok && (op->kind == SCHED_OP_CREATE || op->kind == SCHED_OP_START ||
			   op->kind == SCHED_OP_RESTART)) {
			snprintf(r->state, sizeof(r->state), "running");
			r->started_ns = berth_now_ns();
			r->user_stopped = false;
			r->died = false;
		}
	}
	if (svc && ok && (op->kind == SCHED_OP_CREATE || op->kind == SCHED_OP_START)) {
		svc->error[0] = '\0';
		svc->error_backoff = 0;
	}
	if (err)
		log_warn("%s: %s", op->name, err->msg);
	/* The replica stays (for now): back into its ports' rotation. */
	if (!ok && op->kind == SCHED_OP_REMOVE && op->drained)
		sched_undrain(op->p->sched, op->id, op->name);
	if (svc && err && (op->kind == SCHED_OP_CREATE || op->kind == SCHED_OP_START)) {
		snprintf(svc->error, sizeof(svc->error), "%s", err->msg);
		svc->error_status = err->status;
		/* The project's network could not be made (netd was down): made again first. */
		if (err->status == 404 && strncmp(err->msg, "network ", 8) == 0 &&
		    strstr(err->msg, " not found"))
			op->p->net_ready = false;
		/* One step per round of attempts, not one per replica that failed in it. */
		int64_t now = berth_now_ns();
		if (svc->retry_at_ns <= now) {
			int64_t delay = 1000000000LL
					<< (svc->error_backoff < 6 ? svc->error_backoff : 6);
			svc->retry_at_ns = now + delay;
			svc->error_backoff++;
		}
	}
	struct sched_project *p = op->p;
	if (ok && op->kind == SCHED_OP_REMOVE && p->removed)
		json_array_append_new(
		    p->removed, json_pack("{s:s, s:s}", "type", "container", "name", op->name));
	if (op->window)
		sched_window_done(op->window);
	json_decref(op->body);
	if (op->nets) {
		for (char **n = op->nets; *n; n++)
			free(*n);
		free(op->nets);
	}
	free(op);
	sched_op_finished(p);
}

static void op_start_container(struct op *op);

static void start_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct op *op = arg;
	op_finish(op, status == 204 || status == 304, status == 204 || status == 304 ? NULL : err);
}

static void op_start_container(struct op *op)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/%s", op->id,
		 op->kind == SCHED_OP_RESTART ? "restart" : "start");
	if (op->kind == SCHED_OP_RESTART && op->stop_timeout >= 0)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "?t=%ld",
			 op->stop_timeout);
	sched_request(op->p->sched, "POST", path, NULL, start_done, op);
}

static void connect_next(struct op *op);

static void connect_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct op *op = arg;
	if (status != 200) {
		op_finish(op, false, err);
		return;
	}
	connect_next(op);
}

/* Networks after the first one are connected before start, as compose does. */
static void connect_next(struct op *op)
{
	if (!op->nets || !op->nets[op->net_i]) {
		op_start_container(op);
		return;
	}
	const char *net = op->nets[op->net_i++];
	_cleanup_free_ char *e = berth_http_escape(net);
	char path[1024];
	snprintf(path, sizeof(path), "/networks/%s/connect", e);
	_cleanup_json_ json_t *body = json_pack("{s:s, s:{s:[s]}}", "Container", op->id,
						"EndpointConfig", "Aliases", op->service);
	sched_request(op->p->sched, "POST", path, body, connect_done, op);
}

/* Is a create's 409 about the name (the replica exists) rather than, say, a port? */
static bool name_conflict(const struct berth_error *err)
{
	return err && strstr(err->msg, "is already in use by container");
}

static void create_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct op *op = arg;
	if (status == 409 && name_conflict(err)) {
		/* The name is the lock: this replica exists already (made before a crash of
		 * ours), and the next listing shows it; or a container of that name that is not
		 * the project's does, and the error stands (with its backoff) until it is gone. */
		log_info("%s exists already", op->name);
		op_finish(op, false, err);
		return;
	}
	const char *id = json_string_value(json_object_get(reply, "Id"));
	if (status != 201 || !id) {
		op_finish(op, false, err);
		return;
	}
	snprintf(op->id, sizeof(op->id), "%s", id);
	op->net_i = 1;
	connect_next(op);
}

static void remove_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct op *op = arg;
	bool ok = status == 204 || status == 404;
	op_finish(op, ok, ok ? NULL : err);
}

static void remove_now(struct op *op)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s?force=1", op->id);
	sched_request(op->p->sched, "DELETE", path, NULL, remove_done, op);
}

static void stop_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct op *op = arg;
	bool ok = status == 204 || status == 304 || status == 404;
	if (op->kind == SCHED_OP_REMOVE && status != 404) {
		remove_now(op);
		return;
	}
	op_finish(op, ok, ok ? NULL : err);
}

static void op_stop(struct op *op)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/stop", op->id);
	if (op->stop_timeout >= 0)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "?t=%ld",
			 op->stop_timeout);
	sched_request(op->p->sched, "POST", path, NULL, stop_done, op);
}

static void drained(void *arg)
{
	struct op *op = arg;
	op->drained = true;
	op_stop(op);
}

/* Its place in the window came: issue the operation. A create's body is made now, from the
 * service as it is now (queued creates are dropped when the project changes). */
static void op_run(struct sched_window_item *it)
{
	struct op *op = (struct op *)it;
	struct sched_project *p = op->p;
	bool starts = op->kind == SCHED_OP_CREATE || op->kind == SCHED_OP_START ||
		      op->kind == SCHED_OP_RESTART;
	op->window = sched_window_get(p->sched, starts ? SCHED_WINDOW_START : SCHED_WINDOW_STOP);
	switch (op->kind) {
	case SCHED_OP_CREATE: {
		struct berth_error err = {0};
		struct sched_service *svc;
		struct sched_replica *r = op_replica(op, &svc);
		if (!r) {
			op_finish(op, false, NULL);
			return;
		}
		op->body =
		    sched_create_body(p->model, p->name, svc->name, r->number, svc->hash, &err);
		if (!op->body) {
			op_finish(op, false, &err);
			return;
		}
		if (r->cpuset[0])
			sched_create_body_pin(op->body, r->cpuset);
		sched_update_create_body(svc, op->body);
		op->nets = sched_service_networks(p->model, p->name, svc->name);
		_cleanup_free_ char *e = berth_http_escape(op->name);
		char path[512];
		snprintf(path, sizeof(path), "/containers/create?name=%s", e);
		sched_request(p->sched, "POST", path, op->body, create_done, op);
		return;
	}
	case SCHED_OP_START:
	case SCHED_OP_RESTART:
		op_start_container(op);
		return;
	case SCHED_OP_STOP:
		op_stop(op);
		return;
	case SCHED_OP_REMOVE:
		/* Connections the proxy already routed to it finish before it stops. */
		if (op->was_running && op->drain_ms > 0)
			sched_drain(p->sched, op->id, op->name, op->drain_ms, drained, op);
		else if (op->was_running)
			op_stop(op);
		else
			remove_now(op);
		return;
	}
}

static bool queued_start_of(struct sched_window_item *it, void *arg)
{
	struct op *op = (struct op *)it;
	return op->p == arg;
}

static void cancel_op(struct sched_window_item *it)
{
	op_finish((struct op *)it, false, NULL);
}

int sched_ops_cancel_queued(struct sched_project *p)
{
	/* Only creates, starts and restarts: a stop or removal asked for still happens. */
	int n = sched_window_cancel(sched_window_get(p->sched, SCHED_WINDOW_START), queued_start_of,
				    p, cancel_op);
	if (n)
		log_info("project %s: %d queued operation%s dropped", p->name, n,
			 n == 1 ? "" : "s");
	return n;
}

void sched_op_replica(struct sched_project *p, struct sched_service *svc, struct sched_replica *r,
		      enum sched_op_kind kind)
{
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	op->p = p;
	op->kind = kind;
	op->number = r->number;
	snprintf(op->service, sizeof(op->service), "%s", svc->name);
	snprintf(op->id, sizeof(op->id), "%s", r->id);
	sched_container_name(p->name, svc->name, svc->config, r->number, op->name,
			     sizeof(op->name));
	json_t *grace = json_object_get(svc->config, "stop_grace_period");
	op->stop_timeout =
	    json_is_integer(grace) ? (long)(json_integer_value(grace) / 1000000000LL) : -1;
	bool asked = r->has_stop_timeout;
	if (asked) /* compose stop/restart/down -t, for this operation only */
		op->stop_timeout = r->stop_timeout;
	r->has_stop_timeout = false;
	op->was_running = !strcmp(r->state, "running") || !strcmp(r->state, "restarting");
	if (kind == SCHED_OP_REMOVE && op->was_running && sched_replica_published(r))
		op->drain_ms = sched_drain_timeout_ms(svc->config);
	/* A shutdown timeout asked for bounds the drain as well as the stop. */
	if (asked && op->drain_ms > (int64_t)op->stop_timeout * 1000)
		op->drain_ms = (int64_t)op->stop_timeout * 1000;
	r->busy = true;
	p->inflight++;
	op->wi.run = op_run;
	bool starts = kind == SCHED_OP_CREATE || kind == SCHED_OP_START || kind == SCHED_OP_RESTART;
	sched_window_submit(
	    sched_window_get(p->sched, starts ? SCHED_WINDOW_START : SCHED_WINDOW_STOP), &op->wi);
}

void sched_op_remove_id(struct sched_project *p, const char *id)
{
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	op->p = p;
	op->kind = SCHED_OP_REMOVE;
	op->number = -1;
	op->stop_timeout = p->removing && p->down_timeout >= 0 ? p->down_timeout : -1;
	snprintf(op->id, sizeof(op->id), "%s", id);
	snprintf(op->name, sizeof(op->name), "%.12s", id);
	op->was_running = true; /* stop (a no-op when it is not running), then remove */
	p->inflight++;
	op->wi.run = op_run;
	sched_window_submit(sched_window_get(p->sched, SCHED_WINDOW_STOP), &op->wi);
}
