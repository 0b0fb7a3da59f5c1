/* Docker's /images API: list, inspect, history, tag, remove, prune on the loop thread;
 * import, load and save in worker threads that hand their result back to the loop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent.h"
#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "image_store_private.h"

enum image_job_kind { JOB_IMPORT, JOB_LOAD, JOB_SAVE };

struct image_job {
	enum image_job_kind kind;
	struct agent *agent;
	struct berth_http_call *call;
	struct evbuffer *body; /* the request body, moved off the connection */
	char *repo_tag;
	json_t *args; /* import: changes; save: names */
	/* results */
	int rc;
	struct berth_error err;
	char id[72];
	json_t *messages;
	int out_fd;
	off_t out_size;
};

static void job_free(struct image_job *job)
{
	if (job->body)
		evbuffer_free(job->body);
	if (job->out_fd >= 0)
		close(job->out_fd);
	free(job->repo_tag);
	json_decref(job->args);
	json_decref(job->messages);
	free(job);
}

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

static const char **strv_of(json_t *arr)
{
	size_t n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	return v;
}

/* Worker side: write the body to a file under $root/tmp (the archive code reads it twice). */
static int body_to_file(struct image_job *job, char **path, struct berth_error *err)
{
	*path = berth_strdupf("%s/tmp/body-XXXXXX", image_store_root(job->agent->images));
	_cleanup_close_ int fd = mkostemp(*path, O_CLOEXEC);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", *path);
	while (evbuffer_get_length(job->body) > 0) {
		int n = evbuffer_write(job->body, fd);
		if (n < 0 && errno != EINTR)
			return berth_err_errno(err, 500, errno, "write %s", *path);
	}
	evbuffer_free(job->body);
	job->body = NULL;
	return 0;
}

static void job_done(evutil_socket_t fd, short what, void *arg);

static void *job_run(void *arg)
{
	struct image_job *job = arg;
	struct image_store *store = job->agent->images;
	_cleanup_free_ char *body = NULL;
	job->rc = -1;
	if (job->kind == JOB_IMPORT) {
		_cleanup_free_ const char **changes = strv_of(job->args);
		if (body_to_file(job, &body, &job->err) == 0)
			job->rc =
			    image_archive_import(store, body, job->repo_tag, changes,
						 json_array_size(job->args), job->id, &job->err);
	} else if (job->kind == JOB_LOAD) {
		if (body_to_file(job, &body, &job->err) == 0)
			job->rc = image_archive_load(store, body, job->messages, &job->err);
	} else {
		_cleanup_free_ const char **names = strv_of(job->args);
		_cleanup_free_ char *out =
		    berth_strdupf("%s/tmp/save-XXXXXX", image_store_root(store));
		int fd = mkostemp(out, O_CLOEXEC);
		if (fd < 0) {
			berth_err_errno(&job->err, 500, errno, "create %s", out);
		} else {
			close(fd);
			job->rc = image_archive_save(store, names, json_array_size(job->args), out,
						     &job->err);
			struct stat st;
			if (job->rc == 0) {
				job->out_fd = open(out, O_RDONLY | O_CLOEXEC);
				if (job->out_fd < 0 || fstat(job->out_fd, &st) < 0)
					job->rc =
					    berth_err_errno(&job->err, 500, errno, "open %s", out);
				else
					job->out_size = st.st_size;
			}
			unlink(out); /* the open fd keeps it until it is sent */
		}
	}
	if (body)
		unlink(body);
	static const struct timeval zero = {0, 0};
	if (event_base_once(job->agent->base, -1, EV_TIMEOUT, job_done, job, &zero) < 0)
		log_error("images: cannot hand a finished job back to the loop");
	return NULL;
}

static void job_start(struct image_job *job)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, job_run, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		berth_http_reply_errorf(job->call, 500, "cannot start a worker: %s", strerror(rc));
		job_free(job);
	}
}

static struct image_job *job_new(struct berth_http_call *call, enum image_job_kind kind)
{
	struct image_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->kind = kind;
	job->call = call;
	job->agent = agent_of(call);
	job->out_fd = -1;
	job->messages = json_array();
	if (kind != JOB_SAVE) {
		job->body = evbuffer_new();
		struct evbuffer *in = berth_http_body(call);
		if (!job->body)
			abort();
		if (in)
			evbuffer_add_buffer(job->body, in);
	}
	return job;
}

static void send_line(struct berth_http_call *call, json_t *msg)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	berth_http_stream_send(call, s, strlen(s));
	berth_http_stream_send(call, "\r\n", 2);
}

static void job_done(evutil_socket_t fd, short what, void *arg)
{
	struct image_job *job = arg;
	struct berth_http_call *call = job->call;
	if (job->rc < 0) {
		berth_http_reply_error(call, &job->err);
		job_free(job);
		return;
	}
	if (job->kind == JOB_IMPORT) {
		agent_event(job->agent, "image", "import", job->id, NULL);
		berth_http_stream_start(call, 200, "application/json");
		_cleanup_json_ json_t *msg = json_pack("{s:s}", "status", job->id);
		send_line(call, msg);
		berth_http_stream_end(call);
	} else if (job->kind == JOB_LOAD) {
		agent_event(job->agent, "image", "load", "", NULL);
		berth_http_stream_start(call, 200, "application/json");
		size_t i;
		json_t *m;
		json_array_foreach(job->messages, i, m) send_line(call, m);
		berth_http_stream_end(call);
	} else {
		berth_http_stream_start(call, 200, "application/x-tar");
		if (!berth_http_call_gone(call) && call->req) {
			/* The file goes out by reference (sendfile/mmap), not copied to memory. */
			struct evbuffer *buf = evbuffer_new();
			if (buf && evbuffer_add_file(buf, job->out_fd, 0, job->out_size) == 0) {
				job->out_fd = -1; /* the buffer owns it now */
				evhttp_send_reply_chunk(call->req, buf);
			}
			if (buf)
				evbuffer_free(buf);
		}
		berth_http_stream_end(call);
	}
	job_free(job);
}

/* ---- handlers ---- */

static void images_create(struct berth_http_call *call)
{
	const char *src = berth_http_query(call, "fromSrc");
	if (berth_http_query(call, "fromImage")) {
		berth_http_reply_errorf(call, 501,
					"pulling images is not supported by this agent "
					"yet: use berth image load or import");
		return;
	}
	if (!src || strcmp(src, "-")) {
		berth_http_reply_errorf(call, 400,
					"only fromSrc=- (the request body) is supported");
		return;
	}
	const char *repo = berth_http_query(call, "repo");
	const char *tag = berth_http_query(call, "tag");
	struct image_job *job = job_new(call, JOB_IMPORT);
	if (repo && *repo) {
		job->repo_tag = tag && *tag ? berth_strdupf("%s:%s", repo, tag) : strdup(repo);
		char key[600];
		struct berth_error err = {0};
		if (image_ref_normalize(job->repo_tag, key, sizeof(key), &err) < 0) {
			berth_http_reply_error(call, &err);
			job_free(job);
			return;
		}
	}
	job->args = query_all(call, "changes");
	job_start(job);
}

static void images_load(struct berth_http_call *call)
{
	job_start(job_new(call, JOB_LOAD));
}

static void images_get(struct berth_http_call *call)
{
	struct image_job *job = job_new(call, JOB_SAVE);
	if (call->params[0]) {
		job->args = json_pack("[s]", call->params[0]);
	} else {
		job->args = query_all(call, "names");
	}
	if (json_array_size(job->args) == 0) {
		berth_http_reply_errorf(call, 400, "no image names given");
		job_free(job);
		return;
	}
	/* Resolve now, so a missing image is a plain 404 before any work. */
	size_t i;
	json_t *n;
	json_array_foreach(job->args, i, n)
	{
		char id[72];
		struct berth_error err = {0};
		if (image_store_resolve_id(job->agent->images, json_string_value(n), id, &err) <
		    0) {
			berth_http_reply_error(call, &err);
			job_free(job);
			return;
		}
	}
	job_start(job);
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
