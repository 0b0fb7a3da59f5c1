/* Daemon logging: "time program level: message" on stderr, through the limiter of
 * log_limit.c; libevent's own warnings come this way too. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "berth/log.h"

static const char *log_program = "berth";
static enum berth_log_level log_min = BERTH_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct berth_log_limit log_limit;

static void log_from_libevent(int severity, const char *msg)
{
	enum berth_log_level level = severity == EVENT_LOG_DEBUG  ? BERTH_LOG_DEBUG
				     : severity == EVENT_LOG_MSG  ? BERTH_LOG_INFO
				     : severity == EVENT_LOG_WARN ? BERTH_LOG_WARN
								  : BERTH_LOG_ERROR;
	berth_log(level, "libevent: %s", msg);
}

void berth_log_init(const char *program, enum berth_log_level min_level)
{
	log_program = program;
	log_min = min_level;
	const char *env = getenv("BERTH_LOG_LEVEL");
	if (env && strcmp(env, "debug") == 0)
		log_min = BERTH_LOG_DEBUG;
	event_set_log_callback(log_from_libevent);
}

static void log_write(void *arg, enum berth_log_level level, const char *line)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000, log_program,
		names[level], line);
}

void berth_log(enum berth_log_level level, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&log_lock);
	berth_log_limit_feed(&log_limit, level, line,
			     (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, log_write, NULL);
	pthread_mutex_unlock(&log_lock);
}
