/* The image a service's rollback needs, kept tagged: berth-rollback:PROJECT.SERVICE names the
 * image of the service's previous config (what a failure_action rollback goes back to), or,
 * after a rollback that pinned the service, the image it runs on. A tag keeps it from `image
 * prune` and from the removal of its other tags while no container uses it, and shows in
 * `images` what berth holds and why. The tag moves with each update and goes at down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

int sched_update_keep_tag(const char *project, const char *service, char *out, size_t size)
{
	/* A project name has no '.', so PROJECT.SERVICE is unambiguous; both are valid tag
	 * characters. Docker's tags stop at 128 characters. */
	int n = snprintf(out, size, "%s.%s", project, service);
	return n < 0 || (size_t)n >= size || n > 128 ? -1 : 0;
}

const char *sched_update_keep_target(const struct sched_project *p, const struct sched_service *svc)
{
	const struct sched_update *u = &svc->upd;
	if (p->removing)
		return "";
	/* Rolling back or rolled back onto an ID: the replicas are (re)made from it. */
	if (u->pinned || !strcmp(u->state, "rolling_back"))
		return u->image_id;
	return u->prev && u->prev_image_id[0] ? u->prev_image_id : "";
}

struct keep_call {
	struct sched *s;
	char project[256], service[256];
	char id[80]; /* tagged, or "" for the untag */
};

static void keep_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct keep_call *kc = arg;
	struct sched_project *p = sched_project_find(kc->s, kc->project);
	struct sched_service *svc = p ? sched_service_find(p, kc->service) : NULL;
	bool ok = kc->id[0] ? status == 201 || status == 200 : status == 200 || status == 404;
	if (!ok)
		log_warn("project %s: service %s: %s berth-rollback:%s.%s: %s", kc->project,
			 kc->service, kc->id[0] ? "tagging" : "untagging", kc->project, kc->service,
			 err ? err->msg : "?");
	if (svc) {
		svc->upd.keep_busy = false;
		/* No answer (the agent restarting): the next pass asks again. A refusal (the
		 * image is gone) is not asked again for the same image. */
		if (!ok && status == 0)
			snprintf(svc->upd.keep_asked, sizeof(svc->upd.keep_asked), "(retry)");
		if (ok) {
			snprintf(svc->upd.kept_id, sizeof(svc->upd.kept_id), "%s", kc->id);
			struct berth_error e = {0};
			if (!p->removing && sched_project_save(p, &e) < 0)
				log_warn("project %s: %s", p->name, e.msg);
		}
	}
	free(kc);
}

void sched_update_keep_sync(struct sched_project *p, struct sched_service *svc)
{
	struct sched_update *u = &svc->upd;
	const char *target = sched_update_keep_target(p, svc);
	char tag[256];
	if (sched_update_keep_tag(p->name, svc->name, tag, sizeof(tag)) < 0)
		return;
	/* Asked already: done, in flight, or failed (not asked again for the same image). */
	if (!strcmp(target, u->kept_id) || u->keep_busy || !strcmp(target, u->keep_asked))
		return;
	snprintf(u->keep_asked, sizeof(u->keep_asked), "%s", target);
	struct keep_call *kc = calloc(1, sizeof(*kc));
	if (!kc)
		abort();
	kc->s = p->sched;
	snprintf(kc->project, sizeof(kc->project), "%s", p->name);
	snprintf(kc->service, sizeof(kc->service), "%s", svc->name);
	snprintf(kc->id, sizeof(kc->id), "%s", target);
	u->keep_busy = true;
	char path[1024];
	if (target[0]) {
		/* Tagging moves the tag when it names another image. */
		_cleanup_free_ char *e = berth_http_escape(target);
		_cleanup_free_ char *t = berth_http_escape(tag);
		snprintf(path, sizeof(path), "/images/%s/tag?repo=berth-rollback&tag=%s", e, t);
		sched_request(p->sched, "POST", path, NULL, keep_done, kc);
		return;
	}
	/* force: untag only while a container still uses the image (else the removal of the
	 * last tag of an unused image deletes it, as `image rm` does). */
	char ref[300];
	snprintf(ref, sizeof(ref), "berth-rollback:%s", tag);
	_cleanup_free_ char *e = berth_http_escape(ref);
	snprintf(path, sizeof(path), "/images/%s?force=1", e);
	sched_request(p->sched, "DELETE", path, NULL, keep_done, kc);
}
