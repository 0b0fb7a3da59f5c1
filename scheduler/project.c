/* The project store: desired state per project ($BERTH_ROOT/scheduler/projects/NAME.json,
 * written atomically before anything is acted on), services in dependency order, and the
 * status documents built from the latest listing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "sched.h"

static void project_path(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/scheduler/projects/%s.json", berth_root_dir(), name);
}

struct sched_project *sched_project_find(struct sched *s, const char *name)
{
	for (struct sched_project *p = s->projects; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct sched_service *sched_service_find(struct sched_project *p, const char *name)
{
	for (size_t i = 0; i < p->n_services; i++)
		if (strcmp(p->services[i]->name, name) == 0)
			return p->services[i];
	return NULL;
}

static void service_free(struct sched_service *svc)
{
	for (size_t i = 0; i < svc->n_replicas; i++) {
		json_decref(svc->replicas[i]->ports);
		free(svc->replicas[i]);
	}
	free(svc->replicas);
	sched_update_free(svc);
	free(svc->name);
	free(svc);
}

static bool placed(char **order, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(order[i], name) == 0)
			return true;
	return false;
}

/* Dependencies first; names in file order otherwise. A cycle (the loader rejects them) puts
 * the rest in file order. */
static char **dependency_order(json_t *services, size_t *n_out)
{
	size_t n = json_object_size(services), k = 0;
	char **order = calloc(n + 1, sizeof(*order));
	if (!order)
		abort();
	while (k < n) {
		size_t before = k;
		const char *name;
		json_t *svc;
		json_object_foreach(services, name, svc)
		{
			if (placed(order, k, name))
				continue;
			bool ready = true;
			const char *dep;
			json_t *cond;
			json_object_foreach(json_object_get(svc, "depends_on"), dep, cond)
			{
				if (json_object_get(services, dep) && !placed(order, k, dep))
					ready = false;
			}
			if (ready)
				order[k++] = (char *)name;
		}
		if (k == before) {
			json_object_foreach(services, name, svc)
			{
				if (!placed(order, k, name))
					order[k++] = (char *)name;
			}
		}
	}
	*n_out = n;
	return order;
}

/* Rebuild p->services from p->model, keeping what is known about existing services. */
static void services_rebuild(struct sched_project *p)
{
	json_t *services = json_object_get(p->model, "services");
	size_t n;
	_cleanup_free_ char **order = dependency_order(services, &n);
	struct sched_service **next = calloc(n + 1, sizeof(*next));
	if (!next)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct sched_service *svc = NULL;
		for (size_t j = 0; j < p->n_services; j++) {
			if (p->services[j] && strcmp(p->services[j]->name, order[i]) == 0) {
				svc = p->services[j];
				p->services[j] = NULL;
			}
		}
		if (!svc) {
			svc = calloc(1, sizeof(*svc));
			if (!svc || !(svc->name = strdup(order[i])))
				abort();
		}
		svc->config = json_object_get(services, order[i]);
		sched_config_hash(svc->config, svc->hash);
		sched_plan_reservations(svc->config, &svc->res_cpus, &svc->res_memory);
		json_int_t want = json_integer_value(json_object_get(p->replicas, svc->name));
		/* A state file over the limit (written before there was one, or by hand) must not
		 * replay a storm of creates at our start: the service is left as it is, neither
		 * scaled up nor down, until an up or a scale gives it a count within the limit. */
		svc->over_limit = want > SCHED_MAX_REPLICAS || want < 0;
		if (svc->over_limit) {
			sched_service_over_limit(p, svc);
			log_warn("project %s: service \"%s\": %s", p->name, svc->name, svc->error);
			want = want < 0 ? 0 : SCHED_MAX_REPLICAS;
		}
		svc->desired = (int)want;
		next[i] = svc;
	}
	/* Services gone from the file: their containers are left alone (compose's orphans). */
	for (size_t j = 0; j < p->n_services; j++)
		if (p->services[j])
			service_free(p->services[j]);
	free(p->services);
	p->services = next;
	p->n_services = n;
}

static void select_with_deps(json_t *services, const char *name, json_t *selected)
{
	if (json_object_get(selected, name))
		return;
	json_object_set_new(selected, name, json_true());
	const char *dep;
	json_t *cond;
	json_object_foreach(json_object_get(json_object_get(services, name), "depends_on"), dep,
			    cond) select_with_deps(services, dep, selected);
}

json_t *sched_project_select(struct sched_project *p, const json_t *names, bool with_deps,
			     struct berth_error *err)
{
	json_t *services = json_object_get(p->model, "services");
	json_t *selected = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		const char *name = json_string_value(v);
		if (!name || !sched_service_find(p, name)) {
			berth_err(err, 404, "no such service: %s", name ? name : "?");
			json_decref(selected);
			return NULL;
		}
		if (with_deps)
			select_with_deps(services, name, selected);
		else
			json_object_set_new(selected, name, json_true());
	}
	if (json_array_size(names) == 0)
		for (i = 0; i < p->n_services; i++)
			json_object_set_new(selected, p->services[i]->name, json_true());
	return selected;
}

void sched_project_sync_stopped(struct sched_project *p)
{
	bool all = p->n_services > 0;
	for (size_t i = 0; i < p->n_services; i++)
		all &= p->services[i]->stopped;
	p->stopped = all;
}

void sched_service_over_limit(struct sched_project *p, struct sched_service *svc)
{
	json_int_t want = json_integer_value(json_object_get(p->replicas, svc->name));
	snprintf(svc->error, sizeof(svc->error),
		 "scale %lld is outside 0-%d: left as it is until compose up or scale gives it a "
		 "count within the limit",
		 (long long)want, SCHED_MAX_REPLICAS);
	svc->error_status = 400;
}

int sched_scale_check(const char *service, const json_t *n, struct berth_error *err)
{
	if (!json_is_integer(n) || json_integer_value(n) < 0)
		return berth_err(err, 400, "invalid scale for %s: want 0-%d", service,
				 SCHED_MAX_REPLICAS);
	if (json_integer_value(n) > SCHED_MAX_REPLICAS)
		return berth_err(err, 400,
				 "service \"%s\": scale %lld is above the limit of %d replicas per "
				 "service",
				 service, (long long)json_integer_value(n), SCHED_MAX_REPLICAS);
	return 0;
}

static int default_replicas(json_t *svc)
{
	json_t *r = json_object_get(json_object_get(svc, "deploy"), "replicas");
	return json_is_integer(r) ? (int)json_integer_value(r) : 1;
}

static struct sched_project *project_new(struct sched *s, const char *name)
{
	struct sched_project *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)))
		abort();
	p->sched = s;
	p->down_timeout = -1;
	p->replicas = json_object();
	p->next = s->projects;
	s->projects = p;
	return p;
}

struct sched_project *sched_project_apply(struct sched *s, const char *name, const json_t *model,
					  const json_t *services, const json_t *scale,
					  struct berth_error *err)
{
	json_t *svcs = json_object_get(model, "services");
	if (!json_is_object(svcs)) {
		berth_err(err, 400, "invalid project: \"services\" must be an object");
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(services, i, v)
	{
		if (!json_is_string(v) || !json_object_get(svcs, json_string_value(v))) {
			berth_err(err, 400, "no such service: %s",
				  json_is_string(v) ? json_string_value(v) : "?");
			return NULL;
		}
	}
	const char *key;
	json_object_foreach((json_t *)scale, key, v)
	{
		if (!json_object_get(svcs, key)) {
			berth_err(err, 400, "no such service: %s", key);
			return NULL;
		}
		if (sched_scale_check(key, v, err) < 0)
			return NULL;
	}
	_cleanup_json_ json_t *selected = json_object();
	if (json_array_size(services) == 0) {
		json_object_foreach(svcs, key, v) json_object_set_new(selected, key, json_true());
	} else {
		json_array_foreach(services, i, v)
		    select_with_deps(svcs, json_string_value(v), selected);
	}
	json_object_foreach(svcs, key, v)
	{
		if (json_object_get(scale, key) || !json_object_get(selected, key))
			continue;
		json_t *n = json_object_get(json_object_get(v, "deploy"), "replicas");
		if (n && sched_scale_check(key, n, err) < 0)
			return NULL;
	}
	struct sched_project *p = sched_project_find(s, name);
	if (p && p->removing) {
		berth_err(err, 409, "project %s is being removed", name);
		return NULL;
	}
	if (!p)
		p = project_new(s, name);
	json_t *replicas = json_object();
	json_object_foreach(svcs, key, v)
	{
		json_t *forced = json_object_get(scale, key);
		int n;
		if (forced)
			n = (int)json_integer_value(forced);
		else if (json_object_get(selected, key))
			n = default_replicas(v);
		else
			n = (int)json_integer_value(json_object_get(p->replicas, key));
		json_object_set_new(replicas, key, json_integer(n));
	}
	json_decref(p->replicas);
	p->replicas = replicas;
	sched_update_before_apply(p);
	json_decref(p->model);
	p->model = json_deep_copy(model);
	json_object_set_new(p->model, "name", json_string(name));
	services_rebuild(p);
	sched_update_after_apply(p, selected);
	/* up starts the selected services (stopped or not), as compose does; the others keep
	 * their stopped flags. */
	for (size_t k = 0; k < p->n_services; k++)
		if (json_object_get(selected, p->services[k]->name)) {
			p->services[k]->stopped = false;
			p->services[k]->up_pending = true;
			p->services[k]->error[0] = '\0';
			p->services[k]->retry_at_ns = 0;
		}
	sched_project_sync_stopped(p);
	if (sched_project_save(p, err) < 0)
		return NULL;
	/* Creates queued for the old model: the next pass decides from the new one. */
	sched_ops_cancel_queued(p);
	return p;
}

struct sched_project *sched_project_transient(struct sched *s, const char *name)
{
	struct sched_project *p = project_new(s, name);
	p->model = json_pack("{s:s, s:{}}", "name", name, "services");
	return p;
}

int sched_project_save(struct sched_project *p, struct berth_error *err)
{
	char path[4096], dir[4096];
	snprintf(dir, sizeof(dir), "%s/scheduler/projects", berth_root_dir());
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	/* The desired replicas follow the services' current desired counts (scale changes). */
	for (size_t i = 0; i < p->n_services; i++)
		if (!p->services[i]->over_limit) /* the count loaded stays until one is given */
			json_object_set_new(p->replicas, p->services[i]->name,
					    json_integer(p->services[i]->desired));
	json_t *stopped = json_array();
	for (size_t i = 0; i < p->n_services; i++)
		if (p->services[i]->stopped)
			json_array_append_new(stopped, json_string(p->services[i]->name));
	_cleanup_json_ json_t *doc =
	    json_pack("{s:s, s:O, s:O, s:b, s:o, s:o}", "name", p->name, "model", p->model,
		      "replicas", p->replicas, "stopped", p->stopped, "stopped_services", stopped,
		      "updates", sched_update_save(p));
	project_path(p->name, path, sizeof(path));
	return berth_write_json_atomic(path, doc, err);
}

void sched_project_forget(struct sched_project *p)
{
	struct sched *s = p->sched;
	char path[4096];
	project_path(p->name, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
	for (struct sched_project **pp = &s->projects; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	for (size_t i = 0; i < p->n_services; i++)
		service_free(p->services[i]);
	free(p->services);
	if (p->kick)
		event_free(p->kick);
	json_decref(p->model);
	json_decref(p->replicas);
	json_decref(p->removed);
	json_decref(p->strays);
	free(p->name);
	free(p);
}

int sched_projects_load(struct sched *s)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/scheduler/projects", berth_root_dir());
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct berth_error err = {0};
		_cleanup_json_ json_t *doc = berth_read_json(path, &err);
		const char *name = json_string_value(json_object_get(doc, "name"));
		if (!doc || !name || !json_is_object(json_object_get(doc, "model"))) {
			log_warn("skipping %s: %s", path, err.msg[0] ? err.msg : "malformed");
			continue;
		}
		struct sched_project *p = project_new(s, name);
		p->model = json_incref(json_object_get(doc, "model"));
		json_decref(p->replicas);
		p->replicas = json_incref(json_object_get(doc, "replicas"));
		if (!json_is_object(p->replicas)) {
			json_decref(p->replicas);
			p->replicas = json_object();
		}
		services_rebuild(p);
		/* Files from before per-service stops have only the project's flag. */
		json_t *stopped = json_object_get(doc, "stopped_services");
		bool all = !stopped && json_is_true(json_object_get(doc, "stopped"));
		for (size_t i = 0; i < p->n_services; i++) {
			size_t k;
			json_t *v;
			p->services[i]->stopped = all;
			json_array_foreach(stopped, k, v)
			{
				if (json_is_string(v) &&
				    !strcmp(json_string_value(v), p->services[i]->name))
					p->services[i]->stopped = true;
			}
		}
		sched_project_sync_stopped(p);
		sched_update_load(p, json_object_get(doc, "updates"));
		n++;
	}
	return n;
}

void sched_reserved(struct sched *s, double *cpus, int64_t *memory)
{
	*cpus = 0;
	*memory = 0;
	for (struct sched_project *p = s->projects; p; p = p->next) {
		for (size_t i = 0; i < p->n_services; i++) {
			struct sched_service *svc = p->services[i];
			for (size_t j = 0; j < svc->n_replicas; j++) {
				const char *st = svc->replicas[j]->state;
				if (strcmp(st, "running") && strcmp(st, "creating") &&
				    strcmp(st, "created") && strcmp(st, "restarting"))
					continue;
				*cpus += svc->res_cpus;
				*memory += svc->res_memory;
			}
		}
	}
}
