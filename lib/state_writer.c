/* Atomic file writes off the event loop: a queue of whole file versions, written by a few
 * threads, one version of a path at a time, the last queued version of a path winning. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "berth/state_writer.h"

struct writer_cb {
	berth_writer_done_fn fn;
	void *arg;
};

struct writer_entry {
	struct writer_entry *next;
	char *path;
	char *data;
	size_t len;
	mode_t mode;
	unsigned flags;
	int err;
	struct writer_cb *cbs;
	size_t ncb, cap;
};

struct berth_writer {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* broadcast on every change: workers, flush and drop wait on it */
	struct writer_entry *queue, *queue_tail;
	struct writer_entry *active; /* being written, one per busy thread */
	struct writer_entry *done, *done_tail;
	bool stopping;
	unsigned long written;
	int delay_ms;
	int efd;
	int nthreads;
	pthread_t threads[16];
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		abort();
	return p;
}

static void entry_free(struct writer_entry *e)
{
	free(e->path);
	free(e->data);
	free(e->cbs);
	free(e);
}

static void entry_add_cb(struct writer_entry *e, berth_writer_done_fn fn, void *arg)
{
	if (!fn)
		return;
	if (e->ncb == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 2;
		e->cbs = realloc(e->cbs, e->cap * sizeof(*e->cbs));
		if (!e->cbs)
			abort();
	}
	e->cbs[e->ncb++] = (struct writer_cb){fn, arg};
}

/* With w->mu held. */
static void push_done(struct berth_writer *w, struct writer_entry *e)
{
	e->next = NULL;
	if (w->done_tail)
		w->done_tail->next = e;
	else
		w->done = e;
	w->done_tail = e;
	uint64_t one = 1;
	ssize_t n = write(w->efd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

static bool path_active(struct berth_writer *w, const char *path)
{
	for (struct writer_entry *a = w->active; a; a = a->next)
		if (strcmp(a->path, path) == 0)
			return true;
	return false;
}

/* The first queued entry whose path no other thread is writing; unlinked from the queue. */
static struct writer_entry *take_next(struct berth_writer *w)
{
	struct writer_entry *prev = NULL;
	for (struct writer_entry *e = w->queue; e; prev = e, e = e->next) {
		if (path_active(w, e->path))
			continue;
		if (prev)
			prev->next = e->next;
		else
			w->queue = e->next;
		if (w->queue_tail == e)
			w->queue_tail = prev;
		e->next = NULL;
		return e;
	}
	return NULL;
}

static void *worker(void *arg)
{
	struct berth_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct writer_entry *e = take_next(w);
		if (!e) {
			if (w->stopping && !w->queue)
				break;
			pthread_cond_wait(&w->cond, &w->mu);
			continue;
		}
		e->next = w->active;
		w->active = e;
		int delay_ms = w->delay_ms;
		pthread_mutex_unlock(&w->mu);
		if (delay_ms > 0)
			nanosleep(&(struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000L},
				  NULL);
		struct berth_error err = {0};
		int rc =
		    berth_write_atomic_flags(e->path, e->data, e->len, e->mode, e->flags, &err);
		int saved = errno;
		pthread_mutex_lock(&w->mu);
		e->err = rc < 0 ? (saved ? saved : EIO) : 0;
		w->written++;
		for (struct writer_entry **p = &w->active; *p; p = &(*p)->next) {
			if (*p == e) {
				*p = e->next;
				break;
			}
		}
		free(e->data);
		e->data = NULL;
		push_done(w, e);
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct berth_writer *berth_writer_new(int threads)
{
	if (threads < 1)
		threads = 1;
	if (threads > 16)
		threads = 16;
	struct berth_writer *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		free(w);
		return NULL;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0)
			break;
		w->nthreads++;
	}
	if (w->nthreads == 0) {
		close(w->efd);
		free(w);
		return NULL;
	}
	return w;
}

void berth_writer_free(struct berth_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	for (struct writer_entry *e = w->done, *next; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	close(w->efd);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void berth_writer_put(struct berth_writer *w, const char *path, const void *data, size_t len,
		      mode_t mode, unsigned flags, berth_writer_done_fn done, void *arg)
{
	char *copy = xmalloc(len ? len : 1);
	memcpy(copy, data, len);
	pthread_mutex_lock(&w->mu);
	for (struct writer_entry *e = w->queue; e; e = e->next) {
		if (strcmp(e->path, path) == 0) {
			/* Not started yet: this version replaces it, in its place in the queue. */
			free(e->data);
			e->data = copy;
			e->len = len;
			e->mode = mode;
			/* Synced if any version asked for it: a later NO_SYNC must not weaken an
			 * earlier caller's wait for durability. */
			e->flags &= flags;
			entry_add_cb(e, done, arg);
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	struct writer_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->path = strdup(path);
	if (!e->path)
		abort();
	e->data = copy;
	e->len = len;
	e->mode = mode;
	e->flags = flags;
	entry_add_cb(e, done, arg);
	if (w->queue_tail)
		w->queue_tail->next = e;
	else
		w->queue = e;
	w->queue_tail = e;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

void berth_writer_when_written(struct berth_writer *w, const char *path, berth_writer_done_fn done,
			       void *arg)
{
	pthread_mutex_lock(&w->mu);
	/* The queued version is the last: once it is written, so is everything before it. */
	for (struct writer_entry *e = w->queue; e; e = e->next) {
		if (strcmp(e->path, path) == 0) {
			entry_add_cb(e, done, arg);
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	for (struct writer_entry *e = w->active; e; e = e->next) {
		if (strcmp(e->path, path) == 0) {
			entry_add_cb(e, done, arg);
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	struct writer_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->path = strdup(path);
	if (!e->path)
		abort();
	entry_add_cb(e, done, arg);
	push_done(w, e);
	pthread_mutex_unlock(&w->mu);
}

static bool active_under(struct berth_writer *w, const char *prefix, size_t n)
{
	for (struct writer_entry *a = w->active; a; a = a->next)
		if (strncmp(a->path, prefix, n) == 0)
			return true;
	return false;
}

void berth_writer_drop(struct berth_writer *w, const char *prefix)
{
	size_t n = strlen(prefix);
	pthread_mutex_lock(&w->mu);
	struct writer_entry *prev = NULL;
	for (struct writer_entry *e = w->queue, *next; e; e = next) {
		next = e->next;
		if (strncmp(e->path, prefix, n) != 0) {
			prev = e;
			continue;
		}
		if (prev)
			prev->next = next;
		else
			w->queue = next;
		if (w->queue_tail == e)
			w->queue_tail = prev;
		free(e->data);
		e->data = NULL;
		e->err = ECANCELED;
		push_done(w, e);
	}
	while (active_under(w, prefix, n))
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void berth_writer_flush(struct berth_writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->queue || w->active)
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void berth_writer_set_delay(struct berth_writer *w, int ms)
{
	pthread_mutex_lock(&w->mu);
	w->delay_ms = ms;
	pthread_mutex_unlock(&w->mu);
}

unsigned long berth_writer_written(struct berth_writer *w)
{
	pthread_mutex_lock(&w->mu);
	unsigned long n = w->written;
	pthread_mutex_unlock(&w->mu);
	return n;
}

int berth_writer_fd(struct berth_writer *w)
{
	return w->efd;
}

int berth_writer_dispatch(struct berth_writer *w)
{
	uint64_t count;
	ssize_t r = read(w->efd, &count, sizeof(count));
	(void)r;
	pthread_mutex_lock(&w->mu);
	struct writer_entry *list = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	int ran = 0;
	for (struct writer_entry *e = list, *next; e; e = next) {
		next = e->next;
		for (size_t i = 0; i < e->ncb; i++, ran++)
			e->cbs[i].fn(e->cbs[i].arg, e->err);
		entry_free(e);
	}
	return ran;
}
