/* Daemon logging to stderr with a level and a timestamp, with repeats and floods limited. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdint.h>

enum berth_log_level { BERTH_LOG_DEBUG, BERTH_LOG_INFO, BERTH_LOG_WARN, BERTH_LOG_ERROR };

void berth_log_init(const char *program, enum berth_log_level min_level);
void berth_log(enum berth_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) berth_log(BERTH_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) berth_log(BERTH_LOG_INFO, __VA_ARGS__)
#define log_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)
#define log_error(...) berth_log(BERTH_LOG_ERROR, __VA_ARGS__)

/* Lines written in one second at most; beyond, they are counted and reported once the
 * second is over ("N messages suppressed"). */
#define BERTH_LOG_MAX_PER_SEC 100

/* The limiter behind berth_log (log_limit.c), pure so it can be tested: the same message
 * (and level) again is not written but counted, and reported as "last message repeated N
 * times" at most once a second and when a different message comes; and no more than
 * BERTH_LOG_MAX_PER_SEC lines are written a second. Zero-initialise. */
struct berth_log_limit {
	char last[2048];
	enum berth_log_level last_level;
	long repeats;
	int64_t repeats_ns; /* when repeats were last reported (or the message first came) */
	int64_t window_ns;  /* the start of the current second */
	int written;	    /* lines written in it */
	long dropped;	    /* lines not written for the per-second bound, not yet reported */
};
typedef void (*berth_log_emit_fn)(void *arg, enum berth_log_level level, const char *line);
/* Feed one message at now_ns (a monotonic clock): emit is called for each line to write. */
void berth_log_limit_feed(struct berth_log_limit *l, enum berth_log_level level, const char *msg,
			  int64_t now_ns, berth_log_emit_fn emit, void *arg);

#endif
