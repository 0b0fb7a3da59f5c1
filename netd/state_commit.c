/* state.json by group commit, off the loop: a change that must be on disk before its reply
 * (an endpoint made) asks netd_state_save_then(); the state is serialized once for every change
 * made while the previous write ran, written by a writer thread (lib/state_writer.c), and each
 * waiter's callback runs on the loop once the version holding its change is on disk. 1,000
 * endpoints made in a burst cost a few dozen writes of the state, not 1,000 (each of them the
 * whole state: quadratic bytes), and the loop never waits on fsync. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "berth/state_writer.h"
#include "netd.h"

struct netd_save_waiter {
	netd_saved_fn fn;
	void *arg;
	struct netd_save_waiter *next;
};

static void writer_ready(evutil_socket_t fd, short what, void *arg)
{
	struct netd *nd = arg;
	berth_writer_dispatch(nd->writer);
}

int netd_state_commit_init(struct netd *nd, struct berth_error *err)
{
	nd->writer = berth_writer_new(1);
	if (!nd->writer)
		return berth_err(err, 500, "state writer: cannot start its thread");
	nd->writer_ev = event_new(nd->base, berth_writer_fd(nd->writer), EV_READ | EV_PERSIST,
				  writer_ready, nd);
	event_add(nd->writer_ev, NULL);
	return 0;
}

void netd_state_commit_fini(struct netd *nd)
{
	if (nd->writer_ev)
		event_free(nd->writer_ev);
	berth_writer_free(nd->writer); /* writes what is queued */
	nd->writer_ev = NULL;
	nd->writer = NULL;
	struct berth_error err = {0};
	if (nd->save_waiters && netd_state_save(nd, &err) < 0) /* changes not yet in a write */
		log_error("%s", err.msg);
	for (struct netd_save_waiter *w = nd->save_waiters, *next; w; w = next) {
		next = w->next;
		free(w);
	}
	nd->save_waiters = NULL;
}

static void commit_start(struct netd *nd);

static void commit_done(void *arg, int err)
{
	struct netd_save_waiter *batch = arg;
	/* The first waiter of a batch is a marker holding nd (never a caller's). */
	struct netd *nd = batch->arg;
	struct netd_save_waiter *w = batch->next;
	free(batch);
	nd->save_busy = false;
	if (err)
		log_error("save the network state: %s", strerror(err));
	/* Changes made while this write ran: their version next (before the callbacks, which
	 * may make more changes, and queue behind it). */
	if (nd->save_waiters)
		commit_start(nd);
	for (struct netd_save_waiter *next; w; w = next) {
		next = w->next;
		w->fn(w->arg, err);
		free(w);
	}
}

static void commit_start(struct netd *nd)
{
	_cleanup_json_ json_t *j = netd_state_to_json(nd);
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		abort();
	struct netd_save_waiter *batch = calloc(1, sizeof(*batch));
	if (!batch)
		abort();
	batch->arg = nd;
	batch->next = nd->save_waiters;
	nd->save_waiters = NULL;
	nd->save_busy = true;
	berth_writer_put(nd->writer, nd->state_path, s, strlen(s), 0600, 0, commit_done, batch);
}

void netd_state_save_then(struct netd *nd, netd_saved_fn fn, void *arg)
{
	if (!nd->writer) { /* before the loop runs (tests, recovery): at once */
		struct berth_error err = {0};
		int rc = netd_state_save(nd, &err);
		if (rc < 0)
			log_error("%s", err.msg);
		fn(arg, rc < 0 ? EIO : 0);
		return;
	}
	struct netd_save_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	*w = (struct netd_save_waiter){fn, arg, nd->save_waiters};
	nd->save_waiters = w;
	if (!nd->save_busy)
		commit_start(nd);
}

void netd_state_commit_flush(struct netd *nd)
{
	if (nd->writer)
		berth_writer_flush(nd->writer);
}
