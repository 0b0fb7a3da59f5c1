/* Docker's /images API: list, inspect, history, tag, remove, prune on the loop thread (retried
 * from a timer while a worker holds images.lock); import, load and save in berth-image-worker
 * processes (image_job.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent.h"
#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "image_job.h"
#include "image_store.h"

static struct agent *agent_of(struct berth_http_call *call)
{
	return call->ctx;
}

/* All values of a repeated query parameter (?names=a&names=b). */
static json_t *query_all(struct berth_http_call *call, const char *key)
{
	json_t *out = json_array();
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &call->query, next)
	{
		if (!strcmp(kv->key, key))
			json_array_append_new(out, json_string(kv->value));
	}
	return out;
}

/* ---- waiting for images.lock without blocking the loop ---- */

#define STORE_RETRY_FIRST_MS 10
#define STORE_RETRY_MAX_MS 200
#define STORE_RETRY_DEADLINE_S 60

/* A change (tag, rm, prune) that found images.lock held by a worker: its handler runs again
 * from a timer, with a growing delay, until the lock is free or the deadline passes. */
struct store_retry {
	struct berth_http_call *call;
	berth_http_handler handler;
	struct event *ev;
	struct timespec deadline;
	int delay_ms;
	bool rearmed;
};

static struct store_retry *retry_running; /* whose handler runs now (all on the loop thread) */

static void retry_fire(evutil_socket_t fd, short what, void *arg)
{
	struct store_retry *r = arg;
	r->rearmed = false;
	retry_running = r;
	r->handler(r->call);
	retry_running = NULL;
	if (!r->rearmed) {
		event_free(r->ev);
		free(r);
	}
}

/* If err says the store was busy and the deadline has not passed, run handler again later
 * and return true: the call stays open. Otherwise the caller replies with err. */
static bool retry_if_busy(struct berth_http_call *call, berth_http_handler handler,
			  const struct berth_error *err)
{
	if (err->status != IMAGE_STORE_BUSY || berth_http_call_gone(call))
		return false;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct store_retry *r = retry_running && retry_running->call == call ? retry_running : NULL;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		r->call = call;
		r->handler = handler;
		r->ev = evtimer_new(agent_of(call)->base, retry_fire, r);
		if (!r->ev)
			abort();
		r->deadline = now;
		r->deadline.tv_sec += STORE_RETRY_DEADLINE_S;
		r->delay_ms = STORE_RETRY_FIRST_MS;
	} else if (now.tv_sec > r->deadline.tv_sec ||
		   (now.tv_sec == r->deadline.tv_sec && now.tv_nsec >= r->deadline.tv_nsec)) {
		return false; /* retry_fire frees r */
	} else {
		r->delay_ms =
		    r->delay_ms * 2 > STORE_RETRY_MAX_MS ? STORE_RETRY_MAX_MS : r->delay_ms * 2;
	}
	struct timeval tv = {r->delay_ms / 1000, (r->delay_ms % 1000) * 1000};
	evtimer_add(r->ev, &tv);
	r->rearmed = true;
	return true;
}

/* ---- handlers ---- */

/* Docker's pull: fromImage (maybe with :tag or @digest), tag (a tag or a digest), platform;
 * credentials in X-Registry-Auth go to the worker's stdin. */
static void images_pull(struct berth_http_call *call)
{
	const char *image = berth_http_query(call, "fromImage");
	const char *tag = berth_http_query(call, "tag");
	const char *platform = berth_http_query(call, "platform");
	_cleanup_free_ char *ref = NULL;
	if (tag && *tag)
		ref = berth_strdupf("%s%s%s", image, strchr(tag, ':') ? "@" : ":", tag);
	else
		ref = strdup(image);
	struct image_ref parsed;
	struct berth_error err = {0};
	if (image_ref_parse(ref, &parsed, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	struct image_job *job = image_job_new(call, IMAGE_JOB_PULL);
	const char *auth = berth_http_header(call, "X-Registry-Auth");
	image_job_input(job, auth ? auth : "", auth ? strlen(auth) : 0);
	image_job_arg(job, "--auth-stdin");
	if (platform && *platform) {
		image_job_arg(job, "--platform");
		image_job_arg(job, platform);
	}
	image_job_arg(job, "--");
	image_job_arg(job, ref);
	image_job_start(job);
}

static void images_create(struct berth_http_call *call)
{
	const char *src = berth_http_query(call, "fromSrc");
	if (berth_http_query(call, "fromImage")) {
		images_pull(call);
		return;
	}
	if (!src || (strcmp(src, "-") && src[0] != '/')) {
		berth_http_reply_errorf(
		    call, 400,
		    "fromSrc must be - (the request body) or the absolute path of "
		    "a file on the agent's host");
		return;
	}
	const char *repo = berth_http_query(call, "repo");
	const char *tag = berth_http_query(call, "tag");
	_cleanup_free_ char *repo_tag = NULL;
	if (repo && *repo) {
		repo_tag = tag && *tag ? berth_strdupf("%s:%s", repo, tag) : strdup(repo);
		char key[600];
		struct berth_error err = {0};
		if (image_ref_normalize(repo_tag, key, sizeof(key), &err) < 0) {
			berth_http_reply_error(call, &err);
			return;
		}
	}
	struct image_job *job = image_job_new(call, IMAGE_JOB_IMPORT);
	if (repo_tag) {
		image_job_arg(job, "--tag");
		image_job_arg(job, repo_tag);
	}
	_cleanup_json_ json_t *changes = query_all(call, "changes");
	size_t i;
	json_t *c;
	json_array_foreach(changes, i, c)
	{
		image_job_arg(job, "--change");
		image_job_arg(job, json_string_value(c));
	}
	image_job_arg(job, "--");
	image_job_arg(job, src);
	image_job_start(job);
}

/* berth's own extension: fromSrc=/abs/path names an archive the worker opens itself, so a
 * large one never passes through the agent's memory (evhttp buffers whole bodies). */
static void images_load(struct berth_http_call *call)
{
	const char *src = berth_http_query(call, "fromSrc");
	if (!src || !*src)
		src = "-";
	if (strcmp(src, "-") && src[0] != '/') {
		berth_http_reply_errorf(
		    call, 400,
		    "fromSrc must be - (the request body) or the absolute path of "
		    "a file on the agent's host");
		return;
	}
	struct image_job *job = image_job_new(call, IMAGE_JOB_LOAD);
	image_job_arg(job, "--");
	image_job_arg(job, src);
	image_job_start(job);
}

static void images_get(struct berth_http_call *call)
{
	_cleanup_json_ json_t *names =
	    call->params[0] ? json_pack("[s]", call->params[0]) : query_all(call, "names");
	if (json_array_size(names) == 0) {
		berth_http_reply_errorf(call, 400, "no image names given");
		return;
	}
	/* Resolve now, so a missing image is a plain 404 before any work. */
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		char id[72];
		struct berth_error err = {0};
		if (image_store_resolve_id(agent_of(call)->images, json_string_value(n), id, &err) <
		    0) {
			berth_http_reply_error(call, &err);
			return;
		}
	}
	struct image_job *job = image_job_new(call, IMAGE_JOB_SAVE);
	image_job_arg(job, "--");
	json_array_foreach(names, i, n) image_job_arg(job, json_string_value(n));
	image_job_start(job);
}

static void images_list(struct berth_http_call *call)
{
	struct berth_error err = {0};
	_cleanup_json_ json_t *filters = NULL;
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		json_error_t jerr;
		filters = json_loads(f, 0, &jerr);
		if (!json_is_object(filters)) {
			berth_http_reply_errorf(call, 400, "invalid filters: %s", f);
			return;
		}
	}
	json_t *out = image_store_list(agent_of(call)->images,
				       berth_http_query_bool(call, "all", false), filters, &err);
	if (!out)
		berth_http_reply_error(call, &err);
	else
		berth_http_reply_json(call, 200, out);
}

static void images_inspect(struct berth_http_call *call)
{
	struct berth_error err = {0};
	json_t *out = image_store_inspect(agent_of(call)->images, call->params[0], &err);
	if (!out)
		berth_http_reply_error(call, &err);
	else
		berth_http_reply_json(call, 200, out);
}

static void images_history(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct image_info info;
	if (image_store_resolve(agent_of(call)->images, call->params[0], &info, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	_cleanup_json_ json_t *tags = image_store_tags_of(agent_of(call)->images, info.id);
	json_t *history = json_object_get(info.config, "history");
	json_t *out = json_array();
	for (size_t i = json_array_size(history); i-- > 0;) {
		json_t *h = json_array_get(history, i);
		struct tm tm = {0};
		const char *created = json_string_value(json_object_get(h, "created"));
		long long unix_time = created && strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)
					  ? (long long)timegm(&tm)
					  : 0;
		bool top = i + 1 == json_array_size(history);
		json_array_append_new(
		    out,
		    json_pack("{s:s, s:I, s:s, s:O, s:I, s:s}", "Id", top ? info.id : "<missing>",
			      "Created", (json_int_t)unix_time, "CreatedBy",
			      json_string_value(json_object_get(h, "created_by")) ?: "", "Tags",
			      top && json_array_size(tags) ? tags : json_null(), "Size",
			      (json_int_t)0, "Comment",
			      json_string_value(json_object_get(h, "comment")) ?: ""));
	}
	image_info_clear(&info);
	berth_http_reply_json(call, 200, out);
}

static void images_tag(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct agent *agent = agent_of(call);
	if (image_store_tag(agent->images, call->params[0], berth_http_query(call, "repo"),
			    berth_http_query(call, "tag"), &err) < 0) {
		if (!retry_if_busy(call, images_tag, &err))
			berth_http_reply_error(call, &err);
		return;
	}
	char id[72];
	if (image_store_resolve_id(agent->images, call->params[0], id, NULL) == 0)
		agent_event(agent, "image", "tag", id, NULL);
	berth_http_reply_empty(call, 201);
}

static bool in_use_cb(void *arg, const char *image_id, char container_id[65])
{
	return agent_image_in_use(arg, image_id, container_id);
}

static void emit_removal_events(struct agent *agent, json_t *records)
{
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r)
	{
		const char *untagged = json_string_value(json_object_get(r, "Untagged"));
		const char *deleted = json_string_value(json_object_get(r, "Deleted"));
		if (untagged)
			agent_event(agent, "image", "untag", untagged, NULL);
		else if (deleted)
			agent_event(agent, "image", "delete", deleted, NULL);
	}
}

static void images_remove(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct agent *agent = agent_of(call);
	json_t *records =
	    image_store_remove(agent->images, call->params[0],
			       berth_http_query_bool(call, "force", false), in_use_cb, agent, &err);
	if (!records) {
		if (!retry_if_busy(call, images_remove, &err))
			berth_http_reply_error(call, &err);
		return;
	}
	emit_removal_events(agent, records);
	berth_http_reply_json(call, 200, records);
}

static void images_prune(struct berth_http_call *call)
{
	struct berth_error err = {0};
	struct agent *agent = agent_of(call);
	bool dangling_only = true;
	const char *f = berth_http_query(call, "filters");
	if (f && *f) {
		json_error_t jerr;
		_cleanup_json_ json_t *filters = json_loads(f, 0, &jerr);
		if (!json_is_object(filters)) {
			berth_http_reply_errorf(call, 400, "invalid filters: %s", f);
			return;
		}
		json_t *d = json_object_get(filters, "dangling");
		const char *v = json_is_array(d) ? json_string_value(json_array_get(d, 0)) : NULL;
		if (!v && json_is_object(d) && json_object_size(d)) {
			void *it = json_object_iter(d);
			v = json_object_iter_key(it);
		}
		if (v && (!strcmp(v, "false") || !strcmp(v, "0")))
			dangling_only = false;
	}
	json_t *out = image_store_prune(agent->images, dangling_only, in_use_cb, agent, &err);
	if (!out) {
		if (!retry_if_busy(call, images_prune, &err))
			berth_http_reply_error(call, &err);
		return;
	}
	emit_removal_events(agent, json_object_get(out, "ImagesDeleted"));
	berth_http_reply_json(call, 200, out);
}

const struct berth_http_route api_images_routes[] = {
    {"GET", "/images/json", images_list},
    {"POST", "/images/create", images_create},
    {"POST", "/images/load", images_load},
    {"GET", "/images/get", images_get},
    {"POST", "/images/prune", images_prune},
    {"GET", "/images/{name*}/get", images_get},
    {"GET", "/images/{name*}/json", images_inspect},
    {"GET", "/images/{name*}/history", images_history},
    {"POST", "/images/{name*}/tag", images_tag},
    {"DELETE", "/images/{name*}", images_remove},
};
const size_t api_images_routes_len = sizeof(api_images_routes) / sizeof(api_images_routes[0]);
