/* compose stop, start and restart of a project or of some of its services: each service's
 * stopped flag (the desired state, persisted before anything is done, so a stopped service
 * stays stopped across a kill -9 of the scheduler) and the stops and restarts they issue. */
#include <stdio.h>
#include <string.h>

#include "berth/cleanup.h"
#include "sched.h"

static bool replica_up(const struct sched_replica *r)
{
	return !strcmp(r->state, "running") || !strcmp(r->state, "restarting") ||
	       !strcmp(r->state, "created");
}

/* The stops are issued here rather than by the next pass, so that -t applies to them; a
 * replica busy now (being created) is stopped by the pass once its operation ends. */
static void stop_service(struct sched_project *p, struct sched_service *svc, long timeout)
{
	svc->stopped = true;
	svc->up_pending = false;
	for (size_t j = 0; j < svc->n_replicas; j++) {
		struct sched_replica *r = svc->replicas[j];
		if (r->busy || !r->id[0] || !replica_up(r))
			continue;
		r->has_stop_timeout = timeout >= 0;
		r->stop_timeout = (int)timeout;
		sched_op_replica(p, svc, r, SCHED_OP_STOP);
	}
}

static void start_service(struct sched_service *svc)
{
	svc->stopped = false;
	svc->up_pending = true;
	svc->error[0] = '\0';
	svc->retry_at_ns = 0;
}

static void restart_service(struct sched_project *p, struct sched_service *svc, long timeout)
{
	start_service(svc);
	for (size_t j = 0; j < svc->n_replicas; j++) {
		struct sched_replica *r = svc->replicas[j];
		if (r->busy || !r->id[0] || !strcmp(r->state, "creating"))
			continue;
		r->has_stop_timeout = timeout >= 0;
		r->stop_timeout = (int)timeout;
		sched_op_replica(p, svc, r, SCHED_OP_RESTART);
	}
}

int sched_project_action(struct sched_project *p, enum sched_action action, const json_t *names,
			 long timeout, struct berth_error *err)
{
	/* start brings the dependencies up too (as up does), else a service_healthy dependency
	 * that is stopped would keep it waiting forever; stop and restart touch only the named. */
	_cleanup_json_ json_t *selected =
	    sched_project_select(p, names, action == SCHED_ACTION_START, err);
	if (!selected)
		return -1;
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		if (json_object_get(selected, svc->name))
			svc->stopped = action == SCHED_ACTION_STOP;
	}
	sched_project_sync_stopped(p);
	if (sched_project_save(p, err) < 0)
		return -1;
	/* A stop while a scale-up waits for the window: what has not started yet never will. */
	sched_ops_cancel_queued(p);
	for (size_t i = 0; i < p->n_services; i++) {
		struct sched_service *svc = p->services[i];
		if (!json_object_get(selected, svc->name))
			continue;
		switch (action) {
		case SCHED_ACTION_STOP:
			stop_service(p, svc, timeout);
			break;
		case SCHED_ACTION_START:
			start_service(svc);
			break;
		case SCHED_ACTION_RESTART:
			restart_service(p, svc, timeout);
			break;
		}
	}
	return 0;
}
