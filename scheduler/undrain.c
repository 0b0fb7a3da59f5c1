/* Undoing drains of replicas the scheduler keeps after all. A drain (netd's POST
 * /endpoints/{id}/drain) lasts until netd is told otherwise, and the removal it preceded may not
 * come: a removal that failed, or a scheduler killed between the drain and the removal whose
 * desired state, when it comes back, keeps the replica (an interrupted down, a scale back up).
 * Nothing is persisted: at its start the scheduler asks netd which endpoints drain, and a pass
 * that keeps one of those replicas undoes its drain (DELETE /endpoints/{id}/drain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/log.h"
#include "berth/paths.h"
#include "sched.h"

static void undrain_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	char *name = arg;
	if (status == 204)
		log_info("%s: kept: back in its published ports' rotation", name);
	else if (status != 404)
		log_warn("%s: undoing its drain: %s", name, err ? err->msg : "?");
	free(name);
}

void sched_undrain(struct sched *s, const char *id, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/endpoints/%s/drain", id);
	char *arg = strdup(name);
	if (!arg)
		abort();
	sched_request_to(s, berth_netd_sock(), 10, "DELETE", path, NULL, undrain_done, arg);
}

static void endpoints_listed(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct sched *s = arg;
	if (status != 200 || !json_is_array(reply)) {
		/* No netd now: one started later has no drains. */
		log_debug("draining endpoints: %s", err ? err->msg : "not a list");
		return;
	}
	size_t i;
	json_t *ep;
	json_array_foreach(reply, i, ep)
	{
		const char *id = json_string_value(json_object_get(ep, "ContainerId"));
		if (!id || !json_is_true(json_object_get(ep, "Draining")))
			continue;
		if (!s->draining)
			s->draining = json_object();
		json_object_set_new(s->draining, id, json_true());
	}
	if (!s->draining)
		return;
	log_info("%zu endpoint%s draining since before this start: undone for the replicas kept",
		 json_object_size(s->draining), json_object_size(s->draining) == 1 ? "" : "s");
	sched_kick_all(s);
}

void sched_drains_check(struct sched *s)
{
	if (s->drains_asked)
		return;
	s->drains_asked = true;
	sched_request_to(s, berth_netd_sock(), 10, "GET", "/endpoints", NULL, endpoints_listed, s);
}

void sched_undrain_kept(struct sched *s, const char *project, const char *service,
			const json_t *config, const struct sched_replica *r)
{
	if (!s->draining || !r->id[0] || !json_object_get(s->draining, r->id))
		return;
	json_object_del(s->draining, r->id);
	char name[300];
	sched_container_name(project, service, config, r->number, name, sizeof(name));
	sched_undrain(s, r->id, name);
}
