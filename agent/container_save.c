/* A container's files (config.json, state.json) written off the event loop, through the
 * store's writer threads (lib/state_writer.c), and the replies that wait for them.
 *
 * What must be on disk before the client hears of it (docs/limits.md, "State files"):
 * - a create's config.json: the reply waits for it, so a container a client was told exists
 *   survives a crash of the agent;
 * - a stop's state (ManuallyStopped): the reply waits, so a restart policy does not bring back
 *   a container the user stopped.
 * A start does not wait: an agent that restarts adopts every container whose shim is there or
 * whose exit.json is newer than its saved state (container_list.c), whatever state.json says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "berth/state_writer.h"
#include "agent.h"
#include "container.h"

/* Four threads: fsyncs of different files overlap at the disk; one file is never written by
 * two at once. */
#define CONTAINER_WRITER_THREADS 4

static void writer_ready(evutil_socket_t fd, short what, void *arg)
{
	struct container_store *store = arg;
	berth_writer_dispatch(store->writer);
}

void container_save_init(struct container_store *store)
{
	if (!store->agent || !store->agent->base)
		return; /* tests: write synchronously */
	store->writer = berth_writer_new(CONTAINER_WRITER_THREADS);
	if (!store->writer) {
		log_warn("container state writer: no thread; writing on the loop");
		return;
	}
	/* Tests only: a wide window between a state change and its file (crash tests). */
	const char *delay = getenv("BERTH_TEST_STATE_WRITE_DELAY_MS");
	if (delay && *delay)
		berth_writer_set_delay(store->writer, atoi(delay));
	store->writer_ev = event_new(store->agent->base, berth_writer_fd(store->writer),
				     EV_READ | EV_PERSIST, writer_ready, store);
	event_add(store->writer_ev, NULL);
}

void container_save_fini(struct container_store *store)
{
	if (store->writer_ev)
		event_free(store->writer_ev);
	berth_writer_free(store->writer); /* writes what is queued first */
	store->writer_ev = NULL;
	store->writer = NULL;
}

void container_save_forget(struct container_store *store, const char *dir)
{
	if (!store->writer)
		return;
	char prefix[4200];
	snprintf(prefix, sizeof(prefix), "%s/", dir);
	berth_writer_drop(store->writer, prefix);
}

/* An auto-removed container's files are thrown away when it exits (and at agent start after a
 * crash), so they are written atomically but not fsynced: that is most of `run --rm`'s disk
 * time on ext4. */
static unsigned container_write_flags(struct container *c)
{
	bool auto_remove =
	    c->remove_on_exit ||
	    json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove"));
	return auto_remove ? BERTH_WRITE_NO_SYNC : 0;
}

static void save_failed(void *arg, int err)
{
	char *path = arg;
	if (err && err != ECANCELED)
		log_error("saving %s: %s", path, strerror(err));
	free(path);
}

static int save_json(struct container *c, const char *path, const json_t *j,
		     berth_writer_done_fn done, void *arg, struct berth_error *err)
{
	unsigned flags = container_write_flags(c);
	if (!c->store->writer) {
		int rc = berth_write_json_atomic_flags(path, j, flags, err);
		if (done)
			done(arg, rc < 0 ? EIO : 0);
		return rc;
	}
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return berth_err(err, 500, "encode %s: out of memory", path);
	if (!done) {
		done = save_failed;
		arg = strdup(path);
	}
	berth_writer_put(c->store->writer, path, s, strlen(s), 0600, flags, done, arg);
	return 0;
}

int container_save_config(struct container *c, struct berth_error *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/config.json", c->store->dir, c->id);
	return save_json(c, path, c->config, NULL, NULL, err);
}

int container_save_state(struct container *c, struct berth_error *err)
{
	_cleanup_json_ json_t *st = container_state_json(c);
	json_object_set_new(st, "StartedAtNs", json_integer(c->started_ns));
	json_object_set_new(st, "FinishedAtNs", json_integer(c->finished_ns));
	json_object_set_new(st, "RestartCount", json_integer(c->restart_count));
	json_t *health = health_state_json(c);
	if (health)
		json_object_set_new(st, "Health", health);
	if (c->starting)
		json_object_set_new(st, "Starting", json_true());
	if (c->remove_on_exit)
		json_object_set_new(st, "RemoveOnExit", json_true());
	if (c->stop_requested)
		json_object_set_new(st, "ManuallyStopped", json_true());
	if (c->restart_delay_ns)
		json_object_set_new(st, "RestartDelayNs", json_integer(c->restart_delay_ns));
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/state.json", c->store->dir, c->id);
	return save_json(c, path, st, NULL, NULL, err);
}

/* A reply held until both of a container's files are on disk. */
struct saved_wait {
	container_done_cb done;
	void *arg;
	int status;
	int left;
};

static void saved_one(void *arg, int err)
{
	struct saved_wait *sw = arg;
	if (--sw->left > 0)
		return;
	sw->done(sw->arg, sw->status, NULL);
	free(sw);
}

void container_when_saved(struct container *c, int status, container_done_cb done, void *arg)
{
	if (!c->store->writer) {
		done(arg, status, NULL);
		return;
	}
	struct saved_wait *sw = calloc(1, sizeof(*sw));
	if (!sw)
		abort();
	*sw = (struct saved_wait){done, arg, status, 2};
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/config.json", c->store->dir, c->id);
	berth_writer_when_written(c->store->writer, path, saved_one, sw);
	snprintf(path, sizeof(path), "%s/%s/state.json", c->store->dir, c->id);
	berth_writer_when_written(c->store->writer, path, saved_one, sw);
}

/* A new container: its create is answered once config.json is on disk. */
struct new_wait {
	struct container_store *store;
	char id[65];
	container_created_cb done;
	void *arg;
};

static struct container *by_id(struct container_store *store, const char *id)
{
	for (struct container *c = store->head; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void new_saved(void *arg, int err)
{
	struct new_wait *nw = arg;
	struct container *c = by_id(nw->store, nw->id);
	struct berth_error e = {0};
	if (c && !err) {
		container_event(c, "create", NULL);
		nw->done(nw->arg, c, NULL);
	} else if (!c || err == ECANCELED) {
		berth_err(&e, 409, "container %s was removed while it was being created", nw->id);
		nw->done(nw->arg, NULL, &e);
	} else {
		berth_err_errno(&e, 500, err, "saving container %.12s", nw->id);
		if (!c->rt && !c->starting)
			container_destroy(c);
		nw->done(nw->arg, NULL, &e);
	}
	free(nw);
}

int container_save_new(struct container *c, container_created_cb done, void *arg,
		       struct berth_error *err)
{
	struct new_wait *nw = calloc(1, sizeof(*nw));
	if (!nw)
		abort();
	nw->store = c->store;
	snprintf(nw->id, sizeof(nw->id), "%s", c->id);
	nw->done = done;
	nw->arg = arg;
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/config.json", c->store->dir, c->id);
	/* No state.json: a container without one loads as "created". */
	if (!c->store->writer) {
		int rc =
		    berth_write_json_atomic_flags(path, c->config, container_write_flags(c), err);
		free(nw);
		if (rc < 0)
			return -1;
		container_event(c, "create", NULL);
		done(arg, c, NULL);
		return 0;
	}
	save_json(c, path, c->config, new_saved, nw, err);
	return 0;
}
