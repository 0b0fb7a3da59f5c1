/* The image IDs of rolling updates: each up resolves a service's tag (GET /images/X/json), so a
 * tag moved to a new image is an update too; the ID before the change is kept for a rollback,
 * and a rollback under a moved tag pins the replicas to that previous ID (made from the ID, not
 * the tag) until the next up of the service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_async.h"
#include "berth/http_client.h"
#include "berth/log.h"
#include "sched.h"

/* id becomes the expected ID: the one before (if another) becomes an old one, so replicas on
 * it are outdated (at most 16 remembered). */
static void image_id_set(struct sched_update *u, const char *id)
{
	if (!strcmp(id, u->image_id))
		return;
	if (!u->old_images)
		u->old_images = json_array();
	for (size_t i = json_array_size(u->old_images); i-- > 0;)
		if (!strcmp(json_string_value(json_array_get(u->old_images, i)), id))
			json_array_remove(u->old_images, i);
	if (u->image_id[0])
		json_array_append_new(u->old_images, json_string(u->image_id));
	while (json_array_size(u->old_images) > 16)
		json_array_remove(u->old_images, 0);
	snprintf(u->image_id, sizeof(u->image_id), "%s", id);
}

void sched_update_image_resolved(struct sched_service *svc, const char *id)
{
	struct sched_update *u = &svc->upd;
	/* Rolled back and pinned: only an up of this service (which unpins it) looks again. */
	if (u->pinned)
		return;
	/* A missing image forgets the ID, so nothing is compared. */
	if (!id) {
		u->image_id[0] = '\0';
		return;
	}
	if (!strcmp(id, u->image_id))
		return;
	/* An image-only change: what a rollback goes back to is this same config on the ID
	 * before. (A config change in the same up kept the config and ID before it already.) */
	if (u->image_id[0] && !u->changed) {
		json_decref(u->prev);
		u->prev = json_deep_copy(svc->config);
		snprintf(u->prev_image_id, sizeof(u->prev_image_id), "%s", u->image_id);
	}
	image_id_set(u, id);
}

void sched_update_image_rollback(struct sched_service *svc, const char *from)
{
	struct sched_update *u = &svc->upd;
	const char *to = json_string_value(json_object_get(svc->config, "image"));
	if (!u->prev_image_id[0]) {
		/* Not known (the image was missing at that up): the tag decides, and the next up
		 * resolves it again. */
		u->image_id[0] = '\0';
		json_decref(u->old_images);
		u->old_images = NULL;
		u->pinned = false;
		return;
	}
	/* Under the same tag the tag now names the image rolled back from: the replicas must be
	 * made from the previous ID itself. Under another tag the tag is used (as it was). */
	u->pinned = from && to && !strcmp(from, to) && strcmp(u->prev_image_id, u->image_id);
	char target[sizeof(u->prev_image_id)];
	snprintf(target, sizeof(target), "%s", u->prev_image_id);
	image_id_set(u, target);
	u->prev_image_id[0] = '\0';
}

void sched_update_create_body(const struct sched_service *svc, json_t *body)
{
	if (svc->upd.pinned && svc->upd.image_id[0])
		json_object_set_new(body, "Image", json_string(svc->upd.image_id));
}

/* One up's look-ups: done is called once all of them are back. */
struct resolve_batch {
	int left;
	void (*done)(struct sched_project *p, void *arg);
	void *arg;
};

struct resolve {
	struct sched_project *p;
	struct resolve_batch *batch;
	char service[256];
};

static void resolve_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct resolve *rs = arg;
	struct sched_project *p = rs->p;
	struct sched_service *svc = sched_service_find(p, rs->service);
	const char *id = json_string_value(json_object_get(reply, "Id"));
	if (svc)
		sched_update_image_resolved(svc, status == 200 ? id : NULL);
	p->resolving--;
	if (--rs->batch->left == 0) {
		struct berth_error e = {0};
		if (sched_project_save(p, &e) < 0)
			log_warn("project %s: saving image IDs: %s", p->name, e.msg);
		rs->batch->done(p, rs->batch->arg);
		free(rs->batch);
	}
	free(rs);
	sched_op_finished(p);
}

void sched_update_resolve_images(struct sched_project *p,
				 void (*done)(struct sched_project *p, void *arg), void *arg)
{
	int n = 0;
	for (size_t i = 0; i < p->n_services; i++)
		n += json_is_string(json_object_get(p->services[i]->config, "image"));
	if (n == 0) {
		done(p, arg);
		return;
	}
	struct resolve_batch *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->left = n;
	b->done = done;
	b->arg = arg;
	p->resolving += n;
	for (size_t i = 0; i < p->n_services; i++) {
		const char *image =
		    json_string_value(json_object_get(p->services[i]->config, "image"));
		if (!image)
			continue;
		struct resolve *rs = calloc(1, sizeof(*rs));
		if (!rs)
			abort();
		rs->p = p;
		rs->batch = b;
		snprintf(rs->service, sizeof(rs->service), "%s", p->services[i]->name);
		_cleanup_free_ char *e = berth_http_escape(image);
		char path[1024];
		snprintf(path, sizeof(path), "/images/%s/json", e);
		p->inflight++;
		sched_request(p->sched, "GET", path, NULL, resolve_done, rs);
	}
}
