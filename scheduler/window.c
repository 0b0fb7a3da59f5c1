/* The windows of replica operations in flight at the agent: at most a window's limit at once
 * over every project, the rest queued in order and started as each one ends. Without them a
 * scale-up of thousands opens thousands of connections at once and both daemons run out of
 * file descriptors. Creates, starts and restarts share one window; stops and removes (which
 * mostly wait for a container to exit) another, wider one. */
#include <stdlib.h>

#include "berth/log.h"
#include "sched.h"

static int env_limit(const char *name, int dflt)
{
	const char *v = getenv(name);
	char *end = NULL;
	long n = v && *v ? strtol(v, &end, 10) : 0;
	if (!v || !*v || *end || n < 1 || n > 4096)
		return dflt;
	return (int)n;
}

static void refill_cb(evutil_socket_t fd, short what, void *arg);

struct sched_window *sched_window_get(struct sched *s, enum sched_window_kind kind)
{
	struct sched_window *w = &s->windows[kind];
	if (!w->limit) {
		w->limit = kind == SCHED_WINDOW_START
			       ? env_limit("BERTH_SCHED_WINDOW", SCHED_WINDOW_START_DEFAULT)
			       : env_limit("BERTH_SCHED_STOP_WINDOW", SCHED_WINDOW_STOP_DEFAULT);
		w->base = s->base;
	}
	return w;
}

static void run(struct sched_window *w, struct sched_window_item *it)
{
	w->running++;
	if (w->running > w->peak)
		w->peak = w->running;
	it->queued = false;
	it->run(it);
}

void sched_window_submit(struct sched_window *w, struct sched_window_item *it)
{
	it->next = NULL;
	it->queued = true;
	/* In order: nothing overtakes what waits already. */
	if (w->running < w->limit && !w->head) {
		run(w, it);
		return;
	}
	/* The refill event exists while something waits (no allocation for short bursts). */
	if (!w->refill && !(w->refill = event_new(w->base, -1, 0, refill_cb, w)))
		abort();
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->n_queued++;
	if (w->running < w->limit && !w->refilling)
		event_active(w->refill, 0, 0);
}

static void refill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_window *w = arg;
	w->refilling = true; /* an item that ends at once makes room for this loop to use */
	while (w->head && w->running < w->limit) {
		struct sched_window_item *it = w->head;
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		w->n_queued--;
		run(w, it);
	}
	w->refilling = false;
	if (!w->head) {
		event_free(w->refill);
		w->refill = NULL;
	}
}

void sched_window_done(struct sched_window *w)
{
	w->running--;
	/* The next ones start from the loop, not inside the callback chain of the one that
	 * ended (a queue of thousands failing at once must not recurse). */
	if (w->head && w->refill && !w->refilling)
		event_active(w->refill, 0, 0);
}

int sched_window_cancel(struct sched_window *w, bool (*match)(struct sched_window_item *, void *),
			void *arg, void (*cancel)(struct sched_window_item *))
{
	struct sched_window_item **pp = &w->head, *prev = NULL, *gone = NULL, **gone_tail = &gone;
	int n = 0;
	while (*pp) {
		struct sched_window_item *it = *pp;
		if (!match(it, arg)) {
			prev = it;
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		it->next = NULL;
		*gone_tail = it;
		gone_tail = &it->next;
		w->n_queued--;
		n++;
	}
	w->tail = prev;
	if (!w->head)
		w->tail = NULL;
	/* Called once the queue is consistent again: a cancel may submit or cancel more. */
	while (gone) {
		struct sched_window_item *it = gone;
		gone = it->next;
		it->queued = false;
		cancel(it);
	}
	return n;
}

void sched_windows_free(struct sched *s)
{
	for (int k = 0; k < SCHED_WINDOW_KINDS; k++)
		if (s->windows[k].refill) {
			event_free(s->windows[k].refill);
			s->windows[k].refill = NULL;
		}
}
