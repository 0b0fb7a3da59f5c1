/* The reconcile loop of a project: list its containers at the agent, compare with the desired
 * state, issue the operations (in parallel), and list again when they are done, until nothing
 * is left to do. Level-triggered: events only start a pass, so a missed event or a restart of
 * either daemon costs nothing but one pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/http_async.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

struct sched_waiter {
	struct sched_waiter *next;
	sched_waiter_cb cb;
	void *arg;
};

static void pass_list(struct sched_project *p);

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_project *p = arg;
	p->kick_at_ns = 0;
	if (p->listing || p->inflight || p->cleaning) {
		p->dirty = true;
		return;
	}
	pass_list(p);
}

static void kick_at(struct sched_project *p, int64_t delay_ns)
{
	if (!p->kick)
		p->kick = evtimer_new(p->sched->base, kick_cb, p);
	int64_t at = berth_now_ns() + delay_ns;
	if (p->kick_at_ns && p->kick_at_ns <= at && evtimer_pending(p->kick, NULL))
		return;
	p->kick_at_ns = at;
	struct timeval tv = {delay_ns / 1000000000LL, (delay_ns % 1000000000LL) / 1000};
	evtimer_add(p->kick, &tv);
}

void sched_kick(struct sched_project *p)
{
	if (p->listing || p->inflight || p->cleaning) {
		p->dirty = true;
		return;
	}
	kick_at(p, 0);
}

void sched_kick_all(struct sched *s)
{
	for (struct sched_project *p = s->projects; p; p = p->next)
		sched_kick(p);
}

/* The agent's event stream is back: a service whose last create or start failed because the
 * agent or netd was unreachable (no answer, a 5xx, its network missing) is tried again now,
 * not after a backoff that grew during the outage. A client's error (a port taken, a bad
 * value) keeps its backoff. */
void sched_agent_back(struct sched *s)
{
	for (struct sched_project *p = s->projects; p; p = p->next)
		for (size_t i = 0; i < p->n_services; i++) {
			struct sched_service *svc = p->services[i];
			bool outage =
			    svc->error_status == 0 || svc->error_status >= 500 ||
			    (svc->error_status == 404 && strncmp(svc->error, "network ", 8) == 0);
			if (svc->error[0] && outage) {
				svc->retry_at_ns = 0;
				svc->error_backoff = 0;
			}
		}
	sched_kick_all(s);
}

void sched_wait_settled(struct sched_project *p, sched_waiter_cb cb, void *arg)
{
	struct sched_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->cb = cb;
	w->arg = arg;
	w->next = p->waiters;
	p->waiters = w;
	sched_kick(p);
}

static void waiters_call(struct sched_project *p, bool removed)
{
	struct sched_waiter *w = p->waiters;
	p->waiters = NULL;
	while (w) {
		struct sched_waiter *next = w->next;
		w->cb(p, w->arg, removed);
		free(w);
		w = next;
	}
}

void sched_op_finished(struct sched_project *p)
{
	if (--p->inflight == 0 && !p->listing)
		pass_list(p);
}

static struct sched_replica *replica_find(struct sched_service *svc, int number)
{
	for (size_t i = 0; i < svc->n_replicas; i++)
		if (svc->replicas[i]->number == number)
			return svc->replicas[i];
	return NULL;
}

static struct sched_replica *replica_add(struct sched_service *svc, int number)
{
	if (svc->n_replicas == svc->cap_replicas) {
		svc->cap_replicas = svc->cap_replicas ? svc->cap_replicas * 2 : 4;
		svc->replicas = realloc(svc->replicas, svc->cap_replicas * sizeof(*svc->replicas));
		if (!svc->replicas)
			abort();
	}
	struct sched_replica *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->number = number;
	svc->replicas[svc->n_replicas++] = r;
	return r;
}

static void parse_status(struct sched_replica *r, const char *status)
{
	snprintf(r->status, sizeof(r->status), "%s", status ? status : "");
	r->health[0] = '\0';
	if (!status)
		return;
	if (strstr(status, "(healthy)"))
		snprintf(r->health, sizeof(r->health), "healthy");
	else if (strstr(status, "(unhealthy)"))
		snprintf(r->health, sizeof(r->health), "unhealthy");
	else if (strstr(status, "(health: starting)"))
		snprintf(r->health, sizeof(r->health), "starting");
	if (strncmp(status, "Exited (", 8) == 0 || strncmp(status, "Restarting (", 12) == 0)
		r->exit_code = atoi(strchr(status, '(') + 1);
}

/* Take in the agent's listing of the project's containers. */
static void update_from_list(struct sched_project *p, json_t *list)
{
	for (size_t i = 0; i < p->n_services; i++)
		for (size_t j = 0; j < p->services[i]->n_replicas; j++)
			p->services[i]->replicas[j]->seen = false;
	json_decref(p->strays);
	p->strays = json_array();
	size_t k;
	json_t *c;
	json_array_foreach(list, k, c)
	{
		json_t *labels = json_object_get(c, "Labels");
		const char *service =
		    json_string_value(json_object_get(labels, SCHED_LABEL_SERVICE));
		const char *number = json_string_value(json_object_get(labels, SCHED_LABEL_NUMBER));
		const char *oneoff = json_string_value(json_object_get(labels, SCHED_LABEL_ONEOFF));
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *project =
		    json_string_value(json_object_get(labels, SCHED_LABEL_PROJECT));
		/* A listing of every container (list_all) has other projects' and others. */
		if (!project || strcmp(project, p->name) != 0)
			continue;
		struct sched_service *svc = service ? sched_service_find(p, service) : NULL;
		int n = number ? atoi(number) : 0;
		if (!id)
			continue;
		if (!svc || n <= 0 || (oneoff && strcmp(oneoff, "True") == 0)) {
			json_array_append_new(p->strays, json_string(id));
			continue;
		}
		struct sched_replica *r = replica_find(svc, n);
		if (!r)
			r = replica_add(svc, n);
		if (r->seen && strcmp(r->id, id) != 0) {
			/* Two containers claim one number (made by hand): the second is a stray. */
			json_array_append_new(p->strays, json_string(id));
			continue;
		}
		r->seen = true;
		snprintf(r->id, sizeof(r->id), "%s", id);
		const char *state = json_string_value(json_object_get(c, "State"));
		snprintf(r->state, sizeof(r->state), "%s", state ? state : "");
		parse_status(r, json_string_value(json_object_get(c, "Status")));
		const char *hash = json_string_value(json_object_get(labels, SCHED_LABEL_HASH));
		snprintf(r->hash, sizeof(r->hash), "%s", hash ? hash : "");
		const char *cpus = json_string_value(json_object_get(labels, SCHED_LABEL_CPUSET));
		snprintf(r->cpuset, sizeof(r->cpuset), "%s", cpus ? cpus : "");
		const char *image_id = json_string_value(json_object_get(c, "ImageID"));
		snprintf(r->image_id, sizeof(r->image_id), "%s", image_id ? image_id : "");
		r->created = json_integer_value(json_object_get(c, "Created"));
		json_decref(r->ports);
		r->ports = json_incref(json_object_get(c, "Ports"));
	}
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		size_t w = 0;
		for (size_t j = 0; j < svc->n_replicas; j++) {
			struct sched_replica *r = svc->replicas[j];
			if (!r->seen && !r->busy) {
				json_decref(r->ports);
				free(r);
				continue;
			}
			svc->replicas[w++] = r;
		}
		svc->n_replicas = w;
	}
}

static bool is_up(const struct sched_replica *r)
{
	return !strcmp(r->state, "running") || !strcmp(r->state, "restarting") ||
	       !strcmp(r->state, "creating");
}

/* Are svc's dependencies met? Sets svc->waiting (not yet) or svc->error (never will). */
static bool deps_ready(struct sched_project *p, struct sched_service *svc)
{
	const char *dep;
	json_t *spec;
	json_object_foreach(json_object_get(svc->config, "depends_on"), dep, spec)
	{
		struct sched_service *d = sched_service_find(p, dep);
		const char *cond = json_string_value(json_object_get(spec, "condition"));
		if (!d || d->desired == 0)
			continue;
		if (!cond)
			cond = "service_started";
		if (d->error[0]) {
			snprintf(svc->error, sizeof(svc->error), "dependency failed to start: %s",
				 d->error);
			return false;
		}
		int ok = 0;
		for (size_t i = 0; i < d->n_replicas; i++) {
			struct sched_replica *r = d->replicas[i];
			char name[300];
			sched_container_name(p->name, d->name, d->config, r->number, name,
					     sizeof(name));
			if (!strcmp(cond, "service_healthy")) {
				if (!strcmp(r->health, "unhealthy")) {
					snprintf(svc->error, sizeof(svc->error),
						 "dependency failed to start: container %s is "
						 "unhealthy",
						 name);
					return false;
				}
				/* A container without a health check counts as healthy once it
				 * runs, as Docker reports no health for it. */
				ok += !strcmp(r->state, "running") &&
				      (!strcmp(r->health, "healthy") || !r->health[0]);
			} else if (!strcmp(cond, "service_completed_successfully")) {
				if (!strcmp(r->state, "exited") && r->exit_code != 0) {
					snprintf(
					    svc->error, sizeof(svc->error),
					    "service \"%s\" didn't complete successfully: exit "
					    "%d",
					    d->name, r->exit_code);
					return false;
				}
				ok += !strcmp(r->state, "exited");
			} else {
				ok += !strcmp(r->state, "running") || !strcmp(r->state, "exited");
			}
		}
		if (ok < d->desired) {
			snprintf(svc->waiting, sizeof(svc->waiting), "waiting for %s (%s)", dep,
				 cond);
			return false;
		}
	}
	return true;
}

static int cmp_replica_number(const void *a, const void *b)
{
	const struct sched_replica *x = *(struct sched_replica *const *)a;
	const struct sched_replica *y = *(struct sched_replica *const *)b;
	return (x->number > y->number) - (x->number < y->number);
}

/* Replicas of the current config first (by number), then the outdated ones: scale-down (and
 * the end of a start-first batch) removes from the end, so old replicas go first. */
static void order_replicas(struct sched_service *svc)
{
	size_t n = svc->n_replicas, k = 0;
	if (n == 0)
		return;
	qsort(svc->replicas, n, sizeof(*svc->replicas), cmp_replica_number);
	struct sched_replica **tmp = malloc((n + 1) * sizeof(*tmp));
	if (!tmp)
		abort();
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (sched_update_outdated(svc, svc->replicas[i]) == (pass == 1))
				tmp[k++] = svc->replicas[i];
	memcpy(svc->replicas, tmp, n * sizeof(*tmp));
	free(tmp);
}

/* The CPU load of a pass, computed at its first pinning decision from the pass's listing. */
struct pin_pass {
	const json_t *all; /* the listing of every container, when list_all */
	int *load;
	bool deferred; /* a decision waits for such a listing: the project is not settled */
};

/* Decide and issue this pass's operations for one service; returns how many were issued. */
static int plan_service(struct sched_project *p, struct sched_service *svc, int64_t now,
			double *used_cpus, int64_t *used_mem, int64_t *next_ns,
			struct pin_pass *pin)
{
	struct sched *s = p->sched;
	int issued = 0;
	int desired = p->removing ? 0 : svc->desired;
	bool stopped = p->stopped || svc->stopped;
	size_t n = svc->n_replicas;
	if (svc->over_limit && !p->removing) {
		sched_service_over_limit(p, svc); /* (an unreachable agent's error is gone) */
		return 0;
	}
	order_replicas(svc);
	svc->waiting[0] = '\0';
	svc->n_pending = 0;
	svc->pending_reason[0] = '\0';
	if (desired > 0 && !stopped) {
		int surge = 0;
		bool updating = false;
		issued += sched_update_step(p, svc, now, &surge, &updating, next_ns);
		p->updating |= updating;
		desired += surge;
	}

	/* Scale down: the highest numbers go first. */
	int keep = 0;
	for (size_t i = 0; i < n; i++) {
		struct sched_replica *r = svc->replicas[i];
		if ((int)i >= desired) {
			if (!r->busy) {
				if (p->removing && p->down_timeout >= 0) {
					r->has_stop_timeout = true;
					r->stop_timeout = p->down_timeout;
				}
				sched_op_replica(p, svc, r, SCHED_OP_REMOVE);
				issued++;
			}
			continue;
		}
		keep++;
		/* Drained by a removal that did not happen (see undrain.c). */
		if (!r->busy)
			sched_undrain_kept(s, p->name, svc->name, svc->config, r);
	}
	/* A stopped service keeps its replicas stopped and makes none: one removed by hand is
	 * recreated by the next up, as with compose. */
	if (stopped || p->removing) {
		for (int i = 0; i < keep; i++) {
			struct sched_replica *r = svc->replicas[i];
			if (!r->busy && (is_up(r) || !strcmp(r->state, "created")) &&
			    strcmp(r->state, "creating")) {
				sched_op_replica(p, svc, r, SCHED_OP_STOP);
				issued++;
			}
		}
		return issued;
	}
	/* Restarts after a crash and of unhealthy replicas are the agent's (the restart policy
	 * is in each container's HostConfig); the scheduler starts what was never started and,
	 * for up/start, what is stopped. */
	bool work = keep < desired;
	for (int i = 0; i < keep && !work; i++) {
		struct sched_replica *r = svc->replicas[i];
		work = !r->busy && !is_up(r) && (!strcmp(r->state, "created") || svc->up_pending);
	}
	if (!work) {
		/* Every replica runs: an earlier failure (a name held by a create in flight
		 * before our restart) is over. */
		bool all_up = keep >= desired && desired > 0;
		for (int i = 0; i < keep && all_up; i++)
			all_up = !strcmp(svc->replicas[i]->state, "running");
		if (all_up) {
			svc->error[0] = '\0';
			svc->error_backoff = 0;
		}
		svc->up_pending = false;
		return issued;
	}
	if (!deps_ready(p, svc)) {
		if (svc->waiting[0])
			p->waiting_deps = true;
		return issued;
	}
	bool retry_wait = svc->error[0] && now < svc->retry_at_ns;
	if (retry_wait && (!*next_ns || svc->retry_at_ns < *next_ns))
		*next_ns = svc->retry_at_ns;
	for (int i = 0; i < keep && !retry_wait; i++) {
		struct sched_replica *r = svc->replicas[i];
		if (r->busy || is_up(r))
			continue;
		if (!strcmp(r->state, "created") || svc->up_pending) {
			sched_op_replica(p, svc, r, SCHED_OP_START);
			issued++;
		}
	}
	svc->up_pending = false;

	/* Scale up, in parallel, lowest free numbers first, as far as the host has room. */
	int need = desired - keep;
	if (need <= 0 || retry_wait)
		return issued;
	int *cpu_load = NULL;
	if (json_object_get(svc->config, "cpuset")) {
		if (!pin->all) {
			/* The cpuset came with an up after this pass's listing was asked for:
			 * list every container first. */
			p->dirty = true;
			pin->deferred = true;
			return issued;
		}
		if (!pin->load)
			pin->load = sched_pin_load(s, p, pin->all);
		cpu_load = pin->load;
	}
	int *used = malloc((n + 1) * sizeof(int));
	int *numbers = malloc((size_t)need * sizeof(int));
	if (!used || !numbers)
		abort();
	for (size_t i = 0; i < n; i++)
		used[i] = svc->replicas[i]->number;
	sched_plan_numbers(used, n, need, numbers);
	for (int i = 0; i < need; i++) {
		if (!sched_plan_fits(s->host_cpus, s->host_memory, *used_cpus, *used_mem,
				     svc->res_cpus, svc->res_memory, svc->pending_reason,
				     sizeof(svc->pending_reason))) {
			svc->n_pending = need - i;
			break;
		}
		*used_cpus += svc->res_cpus;
		*used_mem += svc->res_memory;
		struct sched_replica *r = replica_add(svc, numbers[i]);
		snprintf(r->state, sizeof(r->state), "creating");
		r->seen = true;
		if (cpu_load)
			sched_pin_choose(svc, cpu_load, r->cpuset, sizeof(r->cpuset));
		sched_op_replica(p, svc, r, SCHED_OP_CREATE);
		issued++;
	}
	free(used);
	free(numbers);
	return issued;
}

static void cleanup_done(struct sched_project *p)
{
	p->cleaning = false;
	waiters_call(p, true);
	sched_project_forget(p);
}

static void plan(struct sched_project *p, const json_t *listing)
{
	struct sched *s = p->sched;
	int64_t now = berth_now_ns(), next_ns = 0;
	int issued = 0;
	double used_cpus;
	int64_t used_mem;
	p->waiting_deps = false;
	p->updating = false;
	if (!p->net_ready && !p->removing && !p->stopped) {
		bool any = false;
		for (size_t i = 0; i < p->n_services; i++)
			any |= p->services[i]->desired > 0;
		if (any) {
			sched_op_networks_create(p);
			return;
		}
	}
	sched_reserved(s, &used_cpus, &used_mem);
	/* Replicas being created are counted by sched_reserved already; what this pass adds
	 * is added as it goes. */
	struct pin_pass pin = {p->list_all ? listing : NULL, NULL, false};
	/* The rollback's image is tagged before this pass removes what may use it, and moved
	 * after it when a rollback started. */
	for (size_t i = 0; i < p->n_services; i++)
		sched_update_keep_sync(p, p->services[i]);
	for (size_t i = 0; i < p->n_services; i++)
		issued +=
		    plan_service(p, p->services[i], now, &used_cpus, &used_mem, &next_ns, &pin);
	free(pin.load);
	for (size_t i = 0; i < p->n_services; i++)
		sched_update_keep_sync(p, p->services[i]);
	if (p->removing) {
		size_t k;
		json_t *id;
		json_array_foreach(p->strays, k, id)
		{
			sched_op_remove_id(p, json_string_value(id));
			issued++;
		}
	}
	sched_status_refresh(s);
	if (next_ns)
		kick_at(p, next_ns > now ? next_ns - now : 0);
	if (issued || p->waiting_deps || p->updating || pin.deferred)
		return;
	if (p->removing) {
		for (size_t i = 0; i < p->n_services; i++)
			if (p->services[i]->n_replicas)
				return;
		p->cleaning = true;
		sched_op_project_cleanup(p, cleanup_done);
		return;
	}
	waiters_call(p, false);
}

static void list_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct sched_project *p = arg;
	p->listing = false;
	if (status != 200 || !json_is_array(reply)) {
		log_warn("project %s: listing containers: %s", p->name,
			 err ? err->msg : "not a list");
		for (size_t i = 0; i < p->n_services; i++)
			snprintf(p->services[i]->error, sizeof(p->services[i]->error),
				 "cannot reach the agent: %s", err ? err->msg : "bad reply");
		waiters_call(p, false);
		for (size_t i = 0; i < p->n_services; i++)
			p->services[i]->error[0] = '\0';
		kick_at(p, 1000000000LL);
		return;
	}
	update_from_list(p, reply);
	/* An event that came while the list was being made (dirty) may not be in it: keep the
	 * flag, so the pass below lists again. */
	plan(p, reply);
	if (p->dirty && !p->listing && !p->inflight && !p->cleaning)
		kick_at(p, 0);
}

/* Does a pass of p need the CPU load of the whole host (a service pins CPUs)? */
static bool wants_all(const struct sched_project *p)
{
	if (p->removing)
		return false;
	for (size_t i = 0; i < p->n_services; i++)
		if (json_object_get(p->services[i]->config, "cpuset") && p->services[i]->desired)
			return true;
	return false;
}

static void pass_list(struct sched_project *p)
{
	p->listing = true;
	p->dirty = false;
	sched_drains_check(p->sched); /* once per start */
	/* A project that pins lists every container, the same one request: the load then
	 * includes every project (also those not listed yet since a restart) and containers
	 * made outside compose, as they are now. */
	p->list_all = wants_all(p);
	if (p->list_all) {
		sched_request(p->sched, "GET", "/containers/json?all=1", NULL, list_done, p);
		return;
	}
	_cleanup_json_ json_t *filters =
	    json_pack("{s:[o]}", "label", json_sprintf("%s=%s", SCHED_LABEL_PROJECT, p->name));
	_cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT);
	_cleanup_free_ char *q = berth_http_escape(text);
	char path[2048];
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", q);
	sched_request(p->sched, "GET", path, NULL, list_done, p);
}

void sched_on_container_event(struct sched_project *p, const char *action, const char *id,
			      json_t *attrs)
{
	const char *service = json_string_value(json_object_get(attrs, SCHED_LABEL_SERVICE));
	const char *number = json_string_value(json_object_get(attrs, SCHED_LABEL_NUMBER));
	struct sched_service *svc = service ? sched_service_find(p, service) : NULL;
	struct sched_replica *r = svc && number ? replica_find(svc, atoi(number)) : NULL;
	if (r && strcmp(action, "kill") == 0)
		r->user_stopped = true;
	if (r && strcmp(action, "start") == 0) {
		/* A start after a die nobody asked for is a restart by the agent's policy. */
		if (r->died && !r->user_stopped)
			r->restarts++;
		r->died = false;
		r->user_stopped = false;
		r->started_ns = berth_now_ns();
	}
	if (r && strcmp(action, "die") == 0) {
		r->died = true;
		const char *code = json_string_value(json_object_get(attrs, "exitCode"));
		snprintf(r->state, sizeof(r->state), "exited");
		r->exit_code = code ? atoi(code) : r->exit_code;
	}
	if (!strcmp(action, "die") || !strcmp(action, "destroy") || !strcmp(action, "start") ||
	    !strcmp(action, "stop") || !strncmp(action, "health_status", 13) ||
	    !strcmp(action, "oom"))
		sched_kick(p);
}
