/* A project's networks (created before its first replica, removed at down) and its named
 * volumes (removed at down -v), through the agent's Docker API; and the drain of a replica's
 * published ports before it is removed, through netd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "sched.h"

#define SCHED_DRAIN_DEFAULT_MS 10000
#define SCHED_DRAIN_MAX_MS 3600000 /* netd's limit */

struct net_job {
	struct sched_project *p;
	int left;
	void (*done)(struct sched_project *p);
};

static bool is_external(const json_t *model, const char *section, const char *key)
{
	return json_is_true(
	    json_object_get(json_object_get(json_object_get(model, section), key), "external"));
}

static void create_one_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_job *job = arg;
	if (status != 201 && status != 200 && status != 409)
		log_warn("project %s: network: %s", job->p->name, err ? err->msg : "?");
	if (--job->left > 0)
		return;
	struct sched_project *p = job->p;
	free(job);
	p->net_ready = true;
	sched_op_finished(p);
}

void sched_op_networks_create(struct sched_project *p)
{
	_cleanup_json_ json_t *want = json_object(); /* name → key */
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		if (svc->desired == 0 || json_object_get(svc->config, "network_mode"))
			continue;
		json_t *nets = json_object_get(svc->config, "networks");
		const char *key;
		json_t *v;
		char name[512];
		if (json_object_size(nets) == 0) {
			sched_network_name(p->model, p->name, "default", name, sizeof(name));
			json_object_set_new(want, name, json_string("default"));
		}
		json_object_foreach(nets, key, v)
		{
			if (is_external(p->model, "networks", key))
				continue;
			sched_network_name(p->model, p->name, key, name, sizeof(name));
			json_object_set_new(want, name, json_string(key));
		}
	}
	p->inflight++;
	if (json_object_size(want) == 0) {
		p->net_ready = true;
		sched_op_finished(p);
		return;
	}
	struct net_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->p = p;
	job->left = (int)json_object_size(want);
	const char *name;
	json_t *key;
	json_object_foreach(want, name, key)
	{
		json_t *def =
		    json_object_get(json_object_get(p->model, "networks"), json_string_value(key));
		_cleanup_json_ json_t *body =
		    json_pack("{s:s, s:s, s:b, s:{s:s, s:s}}", "Name", name, "Driver", "bridge",
			      "CheckDuplicate", 1, "Labels", SCHED_LABEL_PROJECT, p->name,
			      "com.docker.compose.network", json_string_value(key));
		json_t *ipam = json_object_get(json_object_get(def, "ipam"), "config");
		json_t *first = json_array_get(ipam, 0);
		if (first)
			json_object_set_new(
			    body, "IPAM",
			    json_pack("{s:s, s:[O]}", "Driver", "default", "Config", first));
		sched_request(p->sched, "POST", "/networks/create", body, create_one_done, job);
	}
}

static void cleanup_one_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_job *job = arg;
	if (err && status != 404)
		log_warn("project %s: down: %s", job->p->name, err->msg);
	if (--job->left > 0)
		return;
	struct sched_project *p = job->p;
	void (*done)(struct sched_project *) = job->done;
	free(job);
	done(p);
}

static void cleanup_delete(struct net_job *job, const char *kind, const char *name)
{
	_cleanup_free_ char *e = berth_http_escape(name);
	char path[1024];
	snprintf(path, sizeof(path), "/%s/%s", kind, e);
	job->left++;
	if (job->p->removed)
		json_array_append_new(job->p->removed,
				      json_pack("{s:s, s:s}", "type",
						strcmp(kind, "networks") ? "volume" : "network",
						"name", name));
	sched_request(job->p->sched, "DELETE", path, NULL, cleanup_one_done, job);
}

static void networks_listed(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct net_job *job = arg;
	struct sched_project *p = job->p;
	char prefix[300], name[512];
	snprintf(prefix, sizeof(prefix), "%s_", p->name);
	size_t i;
	json_t *n;
	job->left = 1; /* held until everything is queued */
	json_array_foreach(reply, i, n)
	{
		const char *nm = json_string_value(json_object_get(n, "Name"));
		const char *owner = json_string_value(
		    json_object_get(json_object_get(n, "Labels"), SCHED_LABEL_PROJECT));
		if (!nm)
			continue;
		bool ours = owner && strcmp(owner, p->name) == 0;
		sched_network_name(p->model, p->name, "default", name, sizeof(name));
		ours |= strcmp(nm, name) == 0;
		const char *key;
		json_t *def;
		json_object_foreach(json_object_get(p->model, "networks"), key, def)
		{
			sched_network_name(p->model, p->name, key, name, sizeof(name));
			ours |= strcmp(nm, name) == 0 && !is_external(p->model, "networks", key);
		}
		if (ours)
			cleanup_delete(job, "networks", nm);
	}
	if (p->remove_volumes) {
		const char *key;
		json_t *def;
		json_object_foreach(json_object_get(p->model, "volumes"), key, def)
		{
			if (is_external(p->model, "volumes", key))
				continue;
			const char *vn = json_string_value(json_object_get(def, "name"));
			if (vn && *vn)
				snprintf(name, sizeof(name), "%s", vn);
			else
				snprintf(name, sizeof(name), "%s_%s", p->name, key);
			cleanup_delete(job, "volumes", name);
		}
	}
	cleanup_one_done(job, 204, NULL, NULL);
}

void sched_op_project_cleanup(struct sched_project *p, void (*done)(struct sched_project *p))
{
	struct net_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->p = p;
	job->done = done;
	sched_request(p->sched, "GET", "/networks", NULL, networks_listed, job);
}

/* Seconds as a number or a Go duration string; -1 when it is neither. */
static int64_t drain_ms_of(const json_t *v)
{
	/* Seconds from a file: clamped before any multiplication (a huge value must not wrap). */
	if (json_is_integer(v)) {
		json_int_t sec = json_integer_value(v);
		if (sec < 0)
			return -1;
		return sec > SCHED_DRAIN_MAX_MS / 1000 ? SCHED_DRAIN_MAX_MS : sec * 1000;
	}
	if (json_is_real(v)) {
		double sec = json_real_value(v);
		if (!(sec >= 0)) /* also NaN */
			return -1;
		return sec * 1000 > SCHED_DRAIN_MAX_MS ? SCHED_DRAIN_MAX_MS : (int64_t)(sec * 1000);
	}
	int64_t ns = json_is_string(v) ? berth_parse_duration_ns(json_string_value(v)) : -1;
	if (ns < 0)
		return -1;
	int64_t ms = ns / 1000000;
	return ms > SCHED_DRAIN_MAX_MS ? SCHED_DRAIN_MAX_MS : ms;
}

int64_t sched_drain_timeout_ms(const json_t *config)
{
	const json_t *v = json_object_get(json_object_get(config, "x-berth"), "drain_timeout");
	if (v) {
		int64_t ms = drain_ms_of(v);
		if (ms >= 0)
			return ms;
		log_warn("x-berth.drain_timeout: not a duration; using the default");
	}
	/* stop_grace_period is canonical: nanoseconds. */
	const json_t *grace = json_object_get(config, "stop_grace_period");
	if (json_is_integer(grace) && json_integer_value(grace) >= 0) {
		int64_t ms = json_integer_value(grace) / 1000000;
		return ms > SCHED_DRAIN_MAX_MS ? SCHED_DRAIN_MAX_MS : ms;
	}
	return SCHED_DRAIN_DEFAULT_MS;
}

bool sched_replica_published(const struct sched_replica *r)
{
	size_t i;
	json_t *pt;
	json_array_foreach(r->ports, i, pt)
	{
		if (json_integer_value(json_object_get(pt, "PublicPort")) > 0)
			return true;
	}
	return false;
}

struct drain_job {
	void (*done)(void *arg);
	void *arg;
	char name[300];
	int64_t started_ns;
};

static void drain_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct drain_job *job = arg;
	int64_t ms = (berth_now_ns() - job->started_ns) / 1000000;
	json_int_t open = json_integer_value(json_object_get(reply, "Connections"));
	if (status == 200 && open > 0)
		log_info("%s: %lld connections still open after draining %lld ms; stopping it",
			 job->name, (long long)open, (long long)ms);
	else if (status == 200)
		log_debug("%s: drained in %lld ms", job->name, (long long)ms);
	else if (status != 404)
		/* No netd (or an old one): nothing to drain through; stop as before. */
		log_warn("%s: drain: %s", job->name, err ? err->msg : "?");
	void (*done)(void *) = job->done;
	void *done_arg = job->arg;
	free(job);
	done(done_arg);
}

void sched_drain(struct sched *s, const char *id, const char *name, int64_t timeout_ms,
		 void (*done)(void *arg), void *arg)
{
	struct drain_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->done = done;
	job->arg = arg;
	job->started_ns = berth_now_ns();
	snprintf(job->name, sizeof(job->name), "%s", name);
	char path[128];
	snprintf(path, sizeof(path), "/endpoints/%s/drain", id);
	_cleanup_json_ json_t *body = json_pack("{s:I}", "TimeoutMs", (json_int_t)timeout_ms);
	/* netd replies by the timeout; the margin covers a loaded machine. */
	sched_request_to(s, berth_netd_sock(), (int)(timeout_ms / 1000) + 10, "POST", path, body,
			 drain_done, job);
}
