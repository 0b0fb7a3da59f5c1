/* The log limiter: repeated messages folded into "last message repeated N times", and a bound
 * on the lines written per second (a daemon out of fds or flooded by a client must not fill
 * $BERTH_RUN, a tmpfs, with millions of lines). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "berth/log.h"

#define SECOND_NS 1000000000LL

/* Write a line within the per-second bound; returns whether it was written. */
static bool limited_emit(struct berth_log_limit *l, enum berth_log_level level, const char *line,
			 berth_log_emit_fn emit, void *arg)
{
	if (l->written >= BERTH_LOG_MAX_PER_SEC) {
		l->dropped++;
		return false;
	}
	l->written++;
	emit(arg, level, line);
	return true;
}

static void report_repeats(struct berth_log_limit *l, int64_t now_ns, berth_log_emit_fn emit,
			   void *arg)
{
	char note[64];
	snprintf(note, sizeof(note), "last message repeated %ld time%s", l->repeats,
		 l->repeats == 1 ? "" : "s");
	l->repeats = 0;
	l->repeats_ns = now_ns;
	limited_emit(l, l->last_level, note, emit, arg);
}

void berth_log_limit_feed(struct berth_log_limit *l, enum berth_log_level level, const char *msg,
			  int64_t now_ns, berth_log_emit_fn emit, void *arg)
{
	if (now_ns - l->window_ns >= SECOND_NS || now_ns < l->window_ns) {
		l->window_ns = now_ns;
		l->written = 0;
		if (l->dropped) {
			char note[96];
			snprintf(note, sizeof(note),
				 "%ld message%s suppressed (more than %d a second)", l->dropped,
				 l->dropped == 1 ? "" : "s", BERTH_LOG_MAX_PER_SEC);
			l->dropped = 0;
			limited_emit(l, BERTH_LOG_WARN, note, emit, arg);
		}
	}
	if (l->last[0] && level == l->last_level && strcmp(msg, l->last) == 0) {
		l->repeats++;
		if (now_ns - l->repeats_ns >= SECOND_NS)
			report_repeats(l, now_ns, emit, arg);
		return;
	}
	if (l->repeats)
		report_repeats(l, now_ns, emit, arg);
	l->repeats_ns = now_ns;
	/* A line not written is no message to count repeats of: they are counted as dropped. */
	if (limited_emit(l, level, msg, emit, arg)) {
		snprintf(l->last, sizeof(l->last), "%s", msg);
		l->last_level = level;
	} else {
		l->last[0] = '\0';
	}
}
