/* Rolling updates: a service whose config hash or image ID changed replaces its replicas in
 * batches (deploy.update_config: parallelism, delay, order, failure_action, monitor), waiting
 * for the new replicas to be ready between batches, and rolls back to the previous config
 * when asked. Level-triggered like the rest of reconcile: each pass recomputes what is old,
 * new-and-not-ready and failed from the listing, so a restarted scheduler rolls forward from
 * whatever the agent has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_async.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

struct upd_cfg {
	int parallelism; /* 0: all at once */
	int64_t delay_ns, monitor_ns;
	bool start_first;
	const char *failure_action;
	double max_failure_ratio;
};

static void upd_cfg(const struct sched_service *svc, bool rollback, struct upd_cfg *c)
{
	json_t *deploy = json_object_get(svc->config, "deploy");
	json_t *u = json_object_get(deploy, rollback ? "rollback_config" : "update_config");
	if (!u && rollback)
		u = json_object_get(deploy, "update_config");
	json_t *par = json_object_get(u, "parallelism");
	c->parallelism = json_is_integer(par) ? (int)json_integer_value(par) : 1;
	c->delay_ns = json_integer_value(json_object_get(u, "delay"));
	c->monitor_ns = json_integer_value(json_object_get(u, "monitor"));
	const char *order = json_string_value(json_object_get(u, "order"));
	c->start_first = order && !strcmp(order, "start-first");
	c->failure_action = json_string_value(json_object_get(u, "failure_action"));
	if (!c->failure_action)
		c->failure_action = "pause";
	c->max_failure_ratio = json_number_value(json_object_get(u, "max_failure_ratio"));
	/* A rollback that fails has nothing left to roll back to. */
	if (rollback && !strcmp(c->failure_action, "rollback"))
		c->failure_action = "pause";
}

bool sched_update_outdated(const struct sched_service *svc, const struct sched_replica *r)
{
	if (r->hash[0] && strcmp(r->hash, svc->hash) != 0)
		return true;
	/* Only IDs the tag had at an earlier up: a replica made from a tag moved since the
	 * latest up (without an up) is not old, or replacing it would never end. */
	if (!r->image_id[0] || !strcmp(r->image_id, svc->upd.image_id))
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(svc->upd.old_images, i,
			   v) if (!strcmp(json_string_value(v), r->image_id)) return true;
	return false;
}

bool sched_update_failure_exceeds(int failed, int total, double ratio)
{
	/* Swarm's updater: the failure action is taken once the failed tasks, over the tasks the
	 * update replaces, exceed max_failure_ratio (0: the first failure). */
	if (failed <= 0)
		return false;
	return total <= 0 || (double)failed / (double)total > ratio;
}

/* Has a replica of the current config failed? (why says how) */
static bool replica_failed(const struct sched_replica *r, char *why, size_t size)
{
	if (!strcmp(r->health, "unhealthy"))
		snprintf(why, size, "is unhealthy");
	else if (!strcmp(r->state, "exited") || !strcmp(r->state, "dead"))
		snprintf(why, size, "exited with code %d", r->exit_code);
	else if (!strcmp(r->state, "restarting") || r->restarts > 0)
		snprintf(why, size, "is restarting (exit code %d)", r->exit_code);
	else
		return false;
	return true;
}

/* Ready: running, healthy when it has a health check, and up for monitor. When not, *at is
 * when the monitor window ends (0: an event will tell). */
static bool replica_ready(const struct sched_replica *r, int64_t now, int64_t monitor, int64_t *at)
{
	*at = 0;
	if (r->busy || strcmp(r->state, "running") ||
	    (r->health[0] && strcmp(r->health, "healthy")))
		return false;
	int64_t since = r->started_ns ? r->started_ns : r->created * 1000000000LL;
	if (monitor > 0 && now < since + monitor) {
		*at = since + monitor;
		return false;
	}
	return true;
}

static void save(struct sched_project *p)
{
	struct berth_error err = {0};
	if (sched_project_save(p, &err) < 0)
		log_warn("project %s: saving update state: %s", p->name, err.msg);
}

static void set_state(struct sched_service *svc, const char *state, const char *reason)
{
	snprintf(svc->upd.state, sizeof(svc->upd.state), "%s", state);
	if (reason)
		snprintf(svc->upd.reason, sizeof(svc->upd.reason), "%s", reason);
}

/* A new update (or rollback) monitors its replicas afresh. */
static void replicas_unpass(struct sched_service *svc)
{
	for (size_t i = 0; i < svc->n_replicas; i++)
		svc->replicas[i]->passed = false;
}

/* Put the previous config back as the service's config; the update then runs towards it. */
static void rollback(struct sched_project *p, struct sched_service *svc, const char *reason)
{
	struct sched_update *u = &svc->upd;
	json_t *services = json_object_get(p->model, "services");
	char from[512];
	snprintf(from, sizeof(from), "%s",
		 json_string_value(json_object_get(svc->config, "image")) ?: "");
	json_object_set_new(services, svc->name, u->prev);
	u->prev = NULL;
	svc->config = json_object_get(services, svc->name);
	sched_config_hash(svc->config, svc->hash);
	sched_update_image_rollback(svc, from);
	u->total = 0;
	sched_plan_reservations(svc->config, &svc->res_cpus, &svc->res_memory);
	svc->error[0] = '\0';
	svc->retry_at_ns = 0;
	svc->error_backoff = 0;
	set_state(svc, "rolling_back", reason);
	replicas_unpass(svc);
	u->batch = u->batches = 0;
	u->batch_ready_ns = 0;
	log_warn("project %s: service %s: %s", p->name, svc->name, reason);
	save(p);
	sched_kick(p);
}

int sched_update_step(struct sched_project *p, struct sched_service *svc, int64_t now, int *surge,
		      bool *busy, int64_t *next_ns)
{
	struct sched_update *u = &svc->upd;
	*surge = 0;
	if (p->stopped || p->removing || p->resolving || svc->desired == 0)
		return 0;
	bool rolling_back = !strcmp(u->state, "rolling_back");
	bool active = rolling_back || !strcmp(u->state, "updating");
	struct upd_cfg cfg;
	upd_cfg(svc, rolling_back, &cfg);
	int n = (int)svc->n_replicas, n_out = 0, pending = 0, n_failed = 0, n_busy = 0;
	int64_t wake = 0;
	char why[600] = "";
	for (int i = 0; i < n; i++) {
		struct sched_replica *r = svc->replicas[i];
		n_busy += r->busy;
		if (sched_update_outdated(svc, r)) {
			n_out += !r->busy;
			continue;
		}
		char what[64];
		int64_t at;
		/* Monitored until ready for monitor; after that the update has moved on from it
		 * (its restarts are the agent's business), as swarm's updater does. Without a
		 * monitor window every failure during the update counts. */
		if (r->passed && cfg.monitor_ns > 0)
			continue;
		if (!r->busy && replica_failed(r, what, sizeof(what))) {
			if (!n_failed++) {
				char name[300];
				sched_container_name(p->name, svc->name, svc->config, r->number,
						     name, sizeof(name));
				snprintf(why, sizeof(why), "container %s %s", name, what);
			}
		} else if (!replica_ready(r, now, cfg.monitor_ns, &at)) {
			pending++;
			if (at && (!wake || at < wake))
				wake = at;
		} else {
			r->passed = true;
		}
	}
	if (!active) {
		/* paused (start-first) keeps its new replicas beside the old ones. */
		if (cfg.start_first && !strcmp(u->state, "paused"))
			*surge = pending + n_failed;
		if (n_out == 0 || !strcmp(u->state, "paused") || !strcmp(u->state, "rolled_back"))
			return 0;
		set_state(svc, "updating", "");
		replicas_unpass(svc);
		u->batch = u->batches = 0;
		u->batch_ready_ns = 0;
		u->total = n_out;
		log_info("project %s: service %s: rolling update of %d replica%s", p->name,
			 svc->name, n_out, n_out == 1 ? "" : "s");
		save(p);
	}
	/* What this update (or rollback) replaces: the outdated replicas when it started, or more
	 * after a scale-up. */
	if (n_out > u->total)
		u->total = n_out;
	/* A create or start that fails is not one replica's failure: every new replica would
	 * fail the same way, so no ratio tolerates it. */
	bool exceeds = sched_update_failure_exceeds(n_failed, u->total, cfg.max_failure_ratio);
	if ((exceeds || svc->error[0]) && strcmp(cfg.failure_action, "continue") != 0) {
		char reason[sizeof(u->reason)];
		if (!exceeds && rolling_back && u->pinned && svc->error_status == 404)
			snprintf(why, sizeof(why),
				 "image %.80s of the previous replicas is gone (removed or pruned "
				 "since the update): %.300s",
				 u->image_id, svc->error);
		else if (!exceeds)
			snprintf(why, sizeof(why), "%s", svc->error);
		else if (cfg.max_failure_ratio > 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " (%d of %d replicas failed, max_failure_ratio %g)", n_failed,
				 u->total, cfg.max_failure_ratio);
		if (!strcmp(cfg.failure_action, "rollback") && u->prev) {
			snprintf(reason, sizeof(reason), "update rolled back: %s", why);
			rollback(p, svc, reason);
			*busy = true;
			return 0;
		}
		snprintf(reason, sizeof(reason), "%s paused: %s%s",
			 rolling_back ? "rollback" : "update", why,
			 !strcmp(cfg.failure_action, "rollback") ? " (no previous config to roll "
								   "back to)"
								 : "");
		set_state(svc, "paused", reason);
		log_warn("project %s: service %s: %s", p->name, svc->name, reason);
		save(p);
		if (cfg.start_first)
			*surge = pending + n_failed;
		return 0;
	}
	*busy = true;
	if (pending > 0) {
		if (cfg.start_first)
			*surge = pending;
		if (wake && (!*next_ns || wake < *next_ns))
			*next_ns = wake;
		return 0;
	}
	/* The batch's old replicas are still being removed (start-first) or its new ones not
	 * created yet (stop-first: the scale-up of this pass creates them). */
	if (n != svc->desired || n_busy)
		return 0;
	if (n_out == 0) {
		set_state(svc, rolling_back ? "rolled_back" : "completed", NULL);
		log_info("project %s: service %s: update %s", p->name, svc->name, u->state);
		*busy = false;
		save(p);
		return 0;
	}
	int k = cfg.parallelism <= 0 || cfg.parallelism > n_out ? n_out : cfg.parallelism;
	if (u->batch > 0 && cfg.delay_ns > 0) {
		if (!u->batch_ready_ns)
			u->batch_ready_ns = now;
		if (now < u->batch_ready_ns + cfg.delay_ns) {
			int64_t at = u->batch_ready_ns + cfg.delay_ns;
			if (!*next_ns || at < *next_ns)
				*next_ns = at;
			return 0;
		}
	}
	u->batch++;
	u->batches = u->batch + (n_out - k + k - 1) / k;
	u->batch_ready_ns = 0;
	save(p);
	if (cfg.start_first) {
		*surge = k;
		return 0;
	}
	/* stop-first: the old replicas go (lowest numbers first); the scale-up of the next pass
	 * creates their replacements under the same numbers. */
	int issued = 0;
	for (int i = 0; i < n && issued < k; i++) {
		struct sched_replica *r = svc->replicas[i];
		if (r->busy || !sched_update_outdated(svc, r))
			continue;
		sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
		issued++;
	}
	return issued;
}

void sched_update_before_apply(struct sched_project *p)
{
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_update *u = &p->services[i]->upd;
		json_decref(u->old);
		u->old = json_deep_copy(p->services[i]->config);
	}
}

void sched_update_after_apply(struct sched_project *p, const json_t *selected)
{
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		struct sched_update *u = &svc->upd;
		if (u->old) {
			char old_hash[17];
			sched_config_hash(u->old, old_hash);
			u->changed = strcmp(old_hash, svc->hash) != 0;
			if (u->changed) {
				json_decref(u->prev);
				u->prev = u->old;
				/* The ID before this up's look-up: the previous config's image. */
				snprintf(u->prev_image_id, sizeof(u->prev_image_id), "%s",
					 u->image_id);
			} else {
				json_decref(u->old);
			}
			u->old = NULL;
		}
		/* A new up of the service resumes a paused update or retries a rolled back one. */
		if (json_object_get(selected, svc->name) &&
		    (!strcmp(u->state, "paused") || !strcmp(u->state, "rolled_back")))
			set_state(svc, "", "");
		/* ... and looks at its tag again (a rollback's pinned image is not kept). */
		if (json_object_get(selected, svc->name))
			u->pinned = false;
	}
}

json_t *sched_update_save(const struct sched_project *p)
{
	json_t *doc = json_object();
	for (size_t i = 0; i < p->n_services; i++) {
		const struct sched_update *u = &p->services[i]->upd;
		if (!u->state[0] && !u->prev && !u->image_id[0] && !u->kept_id[0])
			continue;
		json_t *o =
		    json_pack("{s:s, s:s, s:i, s:i, s:s}", "state", u->state, "reason", u->reason,
			      "batch", u->batch, "batches", u->batches, "image_id", u->image_id);
		if (u->prev)
			json_object_set(o, "prev", u->prev);
		if (u->old_images)
			json_object_set(o, "old_images", u->old_images);
		if (u->prev_image_id[0])
			json_object_set_new(o, "prev_image_id", json_string(u->prev_image_id));
		if (u->pinned)
			json_object_set_new(o, "pinned", json_true());
		if (u->total)
			json_object_set_new(o, "total", json_integer(u->total));
		if (u->kept_id[0])
			json_object_set_new(o, "kept_image_id", json_string(u->kept_id));
		json_object_set_new(doc, p->services[i]->name, o);
	}
	return doc;
}

void sched_update_load(struct sched_project *p, const json_t *doc)
{
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_update *u = &p->services[i]->upd;
		json_t *o = json_object_get(doc, p->services[i]->name);
		if (!json_is_object(o))
			continue;
		const char *st = json_string_value(json_object_get(o, "state"));
		const char *reason = json_string_value(json_object_get(o, "reason"));
		const char *image = json_string_value(json_object_get(o, "image_id"));
		set_state(p->services[i], st ? st : "", reason ? reason : "");
		u->batch = (int)json_integer_value(json_object_get(o, "batch"));
		u->batches = (int)json_integer_value(json_object_get(o, "batches"));
		snprintf(u->image_id, sizeof(u->image_id), "%s", image ? image : "");
		json_t *prev = json_object_get(o, "prev");
		u->prev = json_is_object(prev) ? json_incref(prev) : NULL;
		json_t *old = json_object_get(o, "old_images");
		u->old_images = json_is_array(old) ? json_incref(old) : NULL;
		const char *prev_image = json_string_value(json_object_get(o, "prev_image_id"));
		snprintf(u->prev_image_id, sizeof(u->prev_image_id), "%s",
			 prev_image ? prev_image : "");
		u->pinned = json_is_true(json_object_get(o, "pinned"));
		u->total = (int)json_integer_value(json_object_get(o, "total"));
		const char *kept = json_string_value(json_object_get(o, "kept_image_id"));
		snprintf(u->kept_id, sizeof(u->kept_id), "%s", kept ? kept : "");
	}
}

json_t *sched_update_status(const struct sched_service *svc)
{
	const struct sched_update *u = &svc->upd;
	if (!u->state[0])
		return NULL;
	struct upd_cfg cfg;
	upd_cfg(svc, !strcmp(u->state, "rolling_back"), &cfg);
	json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:i, s:s}", "state", u->state, "batch",
			      u->batch, "batches", u->batches, "order",
			      cfg.start_first ? "start-first" : "stop-first", "parallelism",
			      cfg.parallelism, "failure_action", cfg.failure_action);
	if (u->reason[0])
		json_object_set_new(o, "reason", json_string(u->reason));
	if (cfg.max_failure_ratio > 0)
		json_object_set_new(o, "max_failure_ratio", json_real(cfg.max_failure_ratio));
	if (u->image_id[0])
		json_object_set_new(o, "image_id", json_string(u->image_id));
	if (u->pinned)
		json_object_set_new(o, "pinned", json_true());
	return o;
}

void sched_update_free(struct sched_service *svc)
{
	json_decref(svc->upd.prev);
	json_decref(svc->upd.old);
	json_decref(svc->upd.old_images);
	svc->upd.prev = svc->upd.old = svc->upd.old_images = NULL;
}
