/* A project's networks (created before its first replica, removed at down) and its named
 * volumes (removed at down -v), through the agent's Docker API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

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
