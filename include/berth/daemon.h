/* What berth's daemons (agent, netd, scheduler) share around their event loop: logging and
 * SIGPIPE at start, the pid file, and SIGTERM/SIGINT ending the loop. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <event2/event.h>

#include "berth/error.h"
#include "berth/log.h"

struct berth_daemon_signals {
	struct event *term;
	struct event *intr;
	struct event_base *base;
	const char *what; /* logged as "signal N: what" */
};

/* Log as program from min_level on; ignore SIGPIPE (a client going away must not kill us). */
void berth_daemon_init(const char *program, enum berth_log_level min_level);
/* Write "PID\n" to path atomically. */
int berth_daemon_write_pid(const char *path, struct berth_error *err);
/* On SIGTERM or SIGINT, log "signal N: what" and break base's loop. */
void berth_daemon_signals_add(struct berth_daemon_signals *sig, struct event_base *base,
			      const char *what);
void berth_daemon_signals_free(struct berth_daemon_signals *sig);

#endif
