/* Atomic file writes off a daemon's event loop: a few threads write (temp file, fsync, rename)
 * what the loop queues, coalescing versions of one file, and report completion back through a
 * descriptor the loop watches. Knows no event library: the loop reads berth_writer_fd() and calls
 * berth_writer_dispatch(), which runs the completion callbacks on the loop's thread. */
#ifndef BERTH_STATE_WRITER_H
#define BERTH_STATE_WRITER_H

#include <stddef.h>
#include <sys/types.h>

struct berth_writer;

/* err is 0 when the version asked for (or a later one) is on disk, an errno otherwise
 * (ECANCELED: dropped by berth_writer_drop before it was written). */
typedef void (*berth_writer_done_fn)(void *arg, int err);

/* threads: 1 to 16. NULL when a thread cannot be made. */
struct berth_writer *berth_writer_new(int threads);
/* Writes everything queued, then stops the threads. Completion callbacks not yet dispatched
 * are dropped (not called). */
void berth_writer_free(struct berth_writer *w);

/* Queue a new whole version of path (data is copied; flags as berth_write_atomic_flags). A
 * version of the same path queued and not yet started is replaced by this one: only the last
 * is written, and the callbacks of both run when it is. done may be NULL. */
void berth_writer_put(struct berth_writer *w, const char *path, const void *data, size_t len,
		      mode_t mode, unsigned flags, berth_writer_done_fn done, void *arg);
/* done runs (from dispatch) once every version of path queued so far is on disk: at once (the
 * next dispatch) when none is pending. */
void berth_writer_when_written(struct berth_writer *w, const char *path, berth_writer_done_fn done,
			       void *arg);
/* Forget queued versions of paths starting with prefix (their callbacks get ECANCELED) and wait
 * for any being written now. For a directory about to be removed. */
void berth_writer_drop(struct berth_writer *w, const char *prefix);
/* Block until everything queued so far is written (shutdown, tests). */
void berth_writer_flush(struct berth_writer *w);

/* Tests: wait ms before each write (the window a crash can fall in, made wide). */
void berth_writer_set_delay(struct berth_writer *w, int ms);
/* How many files the threads have written (for tests: coalesced versions count once). */
unsigned long berth_writer_written(struct berth_writer *w);

/* Readable when completions wait for berth_writer_dispatch. */
int berth_writer_fd(struct berth_writer *w);
/* Run the callbacks of finished writes. Returns how many ran. */
int berth_writer_dispatch(struct berth_writer *w);

#endif
