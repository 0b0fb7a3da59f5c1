/* The scheduler's project API on $BERTH_RUN/scheduler.sock: up (PUT), list, status, down,
 * scale, stop, start, restart. Changes are persisted before they are acted on; replies wait
 * until the project settles (every replica started or failed), unless ?detach=1. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "sched.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

static bool valid_project_name(const char *name)
{
	if (!name || !*name || strlen(name) > 200)
		return false;
	if (!islower((unsigned char)name[0]) && !isdigit((unsigned char)name[0]))
		return false;
	for (const char *c = name; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_' &&
		    *c != '-')
			return false;
	return true;
}

static struct sched_project *project_or_404(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	struct sched_project *p = sched_project_find(s, call->params[0]);
	if (!p || p->removing) {
		berth_http_reply_errorf(call, 404, "no such project: %s", call->params[0]);
		return NULL;
	}
	return p;
}

/* Reply with the project's status; the first service error decides the status code. */
static void reply_settled(struct sched_project *p, void *arg, bool removed)
{
	struct berth_http_call *call = arg;
	json_t *doc = sched_project_status(p);
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		if (!svc->error[0] || svc->desired == 0)
			continue;
		json_t *body = json_pack("{s:s, s:o}", "message", svc->error, "project", doc);
		int status = svc->error_status >= 400 ? svc->error_status : 500;
		berth_http_reply_json(call, status, body);
		return;
	}
	berth_http_reply_json(call, 200, doc);
}

/* up also reports a rolling update that paused or rolled back. */
static void reply_up_settled(struct sched_project *p, void *arg, bool removed)
{
	struct berth_http_call *call = arg;
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		if (svc->error[0] && svc->desired > 0)
			break;
		if (strcmp(svc->upd.state, "paused") && strcmp(svc->upd.state, "rolled_back"))
			continue;
		json_t *body = json_pack("{s:s, s:o}", "message", svc->upd.reason, "project",
					 sched_project_status(p));
		berth_http_reply_json(call, 500, body);
		return;
	}
	reply_settled(p, arg, removed);
}

static void put_resolved(struct sched_project *p, void *arg)
{
	struct berth_http_call *call = arg;
	if (berth_http_query_bool(call, "detach", false)) {
		sched_kick(p);
		berth_http_reply_json(call, 202, sched_project_status(p));
		return;
	}
	sched_wait_settled(p, reply_up_settled, call);
}

static void reply_removed(struct sched_project *p, void *arg, bool removed)
{
	struct berth_http_call *call = arg;
	berth_http_reply_json(call, 200,
			      json_pack("{s:s, s:O}", "name", p->name, "removed",
					p->removed ? p->removed : json_array()));
}

static void finish(struct berth_http_call *call, struct sched_project *p)
{
	if (berth_http_query_bool(call, "detach", false)) {
		sched_kick(p);
		berth_http_reply_json(call, 202, sched_project_status(p));
		return;
	}
	sched_wait_settled(p, reply_settled, call);
}

static void api_put(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	struct berth_error err = {0};
	const char *name = call->params[0];
	if (!valid_project_name(name)) {
		berth_http_reply_errorf(call, 400,
					"invalid project name \"%s\": must contain only lowercase "
					"letters, digits, dashes and underscores, and start with a "
					"letter or digit",
					name);
		return;
	}
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *model = json_object_get(body, "project");
	json_t *services = json_object_get(body, "services");
	json_t *scale = json_object_get(body, "scale");
	if (!json_is_object(model) || (services && !json_is_array(services)) ||
	    (scale && !json_is_object(scale))) {
		berth_http_reply_errorf(call, 400,
					"invalid body: want {\"project\": {...}, \"services\": "
					"[...], \"scale\": {...}}");
		return;
	}
	struct sched_project *p = sched_project_apply(s, name, model, services, scale, &err);
	if (!p) {
		berth_http_reply_error(call, &err);
		return;
	}
	log_info("project %s: up", name);
	/* The image IDs first: a tag that points at a new image is an update too. */
	sched_update_resolve_images(p, put_resolved, call);
}

static void api_list(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	json_t *list = json_array();
	for (struct sched_project *p = s->projects; p; p = p->next)
		if (!p->removing)
			json_array_append_new(list, sched_project_status(p));
	berth_http_reply_json(call, 200, list);
}

static void api_get(struct berth_http_call *call)
{
	struct sched_project *p = project_or_404(call);
	if (p)
		berth_http_reply_json(call, 200, sched_project_status(p));
}

static void api_delete(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	const char *name = call->params[0];
	if (!valid_project_name(name)) {
		berth_http_reply_errorf(call, 400, "invalid project name \"%s\"", name);
		return;
	}
	const char *t = berth_http_query(call, "timeout");
	char *end = NULL;
	long timeout = t ? strtol(t, &end, 10) : -1;
	if (t && (!*t || *end || timeout < 0 || timeout > 86400)) {
		berth_http_reply_errorf(call, 400, "invalid timeout %s: want 0-86400 seconds", t);
		return;
	}
	struct sched_project *p = sched_project_find(s, name);
	/* An unknown project is removed too: its containers are found by label. */
	if (!p)
		p = sched_project_transient(s, name);
	p->removing = true;
	sched_ops_cancel_queued(p);
	/* A second down while one runs: the latest -t (or none) goes for what is left. */
	p->down_timeout = (int)timeout;
	p->remove_volumes |= berth_http_query_bool(call, "volumes", false) ||
			     berth_http_query_bool(call, "v", false);
	if (!p->removed)
		p->removed = json_array();
	log_info("project %s: down", name);
	sched_wait_settled(p, reply_removed, call);
}

static void api_scale(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct sched_project *p = project_or_404(call);
	if (!p)
		return;
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body || !json_is_object(body) || json_object_size(body) == 0) {
		berth_http_reply_errorf(call, 400, "invalid body: want {\"SERVICE\": N, ...}");
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (!sched_service_find(p, key)) {
			berth_http_reply_errorf(call, 404, "no such service: %s", key);
			return;
		}
		if (sched_scale_check(key, v, &err) < 0) {
			berth_http_reply_error(call, &err);
			return;
		}
	}
	json_object_foreach(body, key, v)
	{
		struct sched_service *svc = sched_service_find(p, key);
		svc->desired = (int)json_integer_value(v);
		svc->over_limit = false;
		svc->stopped = false; /* scale runs the service, as compose's does */
		svc->up_pending = true;
		svc->error[0] = '\0';
		svc->retry_at_ns = 0;
	}
	sched_project_sync_stopped(p);
	if (sched_project_save(p, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	sched_ops_cancel_queued(p);
	finish(call, p);
}

static void api_action(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct sched_project *p = project_or_404(call);
	if (!p)
		return;
	const char *action = call->params[1];
	enum sched_action kind;
	if (strcmp(action, "stop") == 0)
		kind = SCHED_ACTION_STOP;
	else if (strcmp(action, "start") == 0)
		kind = SCHED_ACTION_START;
	else if (strcmp(action, "restart") == 0)
		kind = SCHED_ACTION_RESTART;
	else {
		berth_http_reply_errorf(call, 404, "unknown action %s: want stop, start or restart",
					action);
		return;
	}
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *services = json_object_get(body, "services");
	json_t *timeout = json_object_get(body, "timeout");
	size_t i;
	json_t *v;
	bool names_ok = !services || json_is_array(services);
	json_array_foreach(services, i, v) names_ok &= json_is_string(v);
	if (!json_is_object(body) || !names_ok ||
	    (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < -1 ||
			 json_integer_value(timeout) > 86400))) {
		berth_http_reply_errorf(call, 400,
					"invalid body: want {\"services\": [\"NAME\", ...], "
					"\"timeout\": SECONDS}, both optional");
		return;
	}
	long t = timeout ? (long)json_integer_value(timeout) : -1;
	if (sched_project_action(p, kind, services, t, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	log_info("project %s: %s", p->name, action);
	finish(call, p);
}

static void api_ping(struct berth_http_call *call)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(out, "Cache-Control", "no-cache, no-store, must-revalidate");
	evhttp_add_header(out, "Pragma", "no-cache");
	berth_http_reply_text(call, 200, "text/plain; charset=utf-8", "OK");
}

static void api_version(struct berth_http_call *call)
{
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:s, s:s}", "Component", "berth-scheduler", "Version", BERTH_VERSION));
}

void sched_status_get(struct berth_http_call *call);
void sched_status_healthz(struct berth_http_call *call);
void sched_status_service(struct berth_http_call *call);
void sched_status_metrics(struct berth_http_call *call);

const struct berth_http_route sched_api_routes[] = {
    {"GET", "/_ping", api_ping},
    {"HEAD", "/_ping", api_ping},
    {"GET", "/version", api_version},
    {"GET", "/projects", api_list},
    {"PUT", "/projects/{name}", api_put},
    {"GET", "/projects/{name}", api_get},
    {"DELETE", "/projects/{name}", api_delete},
    {"POST", "/projects/{name}/scale", api_scale},
    {"POST", "/projects/{name}/{action}", api_action},
    {"GET", "/status", sched_status_get},
    {"GET", "/services/{name}", sched_status_service},
    {"GET", "/healthz", sched_status_healthz},
    {"GET", "/metrics", sched_status_metrics},
};
const size_t sched_api_n_routes = sizeof(sched_api_routes) / sizeof(sched_api_routes[0]);

/* The TCP status endpoint is read-only: none of the project API is on it. */
const struct berth_http_route sched_status_routes[] = {
    {"GET", "/_ping", api_ping},
    {"GET", "/status", sched_status_get},
    {"GET", "/services/{name}", sched_status_service},
    {"GET", "/healthz", sched_status_healthz},
    {"GET", "/metrics", sched_status_metrics},
};
const size_t sched_status_n_routes = sizeof(sched_status_routes) / sizeof(sched_status_routes[0]);
