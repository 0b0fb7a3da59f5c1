/* The daemons' common start-up and shutdown: log set-up, SIGPIPE, pid file, stop signals. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "berth/daemon.h"
#include "berth/fsutil.h"

void berth_daemon_init(const char *program, enum berth_log_level min_level)
{
	berth_log_init(program, min_level);
	signal(SIGPIPE, SIG_IGN);
}

int berth_daemon_write_pid(const char *path, struct berth_error *err)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	return berth_write_atomic(path, text, (size_t)n, 0644, err);
}

static void daemon_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct berth_daemon_signals *s = arg;
	log_info("signal %d: %s", (int)sig, s->what);
	event_base_loopbreak(s->base);
}

void berth_daemon_signals_add(struct berth_daemon_signals *sig, struct event_base *base,
			      const char *what)
{
	sig->base = base;
	sig->what = what;
	sig->term = evsignal_new(base, SIGTERM, daemon_on_signal, sig);
	sig->intr = evsignal_new(base, SIGINT, daemon_on_signal, sig);
	event_add(sig->term, NULL);
	event_add(sig->intr, NULL);
}

void berth_daemon_signals_free(struct berth_daemon_signals *sig)
{
	if (sig->term)
		event_free(sig->term);
	if (sig->intr)
		event_free(sig->intr);
	sig->term = sig->intr = NULL;
}
