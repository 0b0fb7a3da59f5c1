/* Daemon logging: "time program level: message" on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/log.h"

static const char *log_program = "berth";
static enum berth_log_level log_min = BERTH_LOG_INFO;

void berth_log_init(const char *program, enum berth_log_level min_level)
{
	log_program = program;
	log_min = min_level;
	const char *env = getenv("BERTH_LOG_LEVEL");
	if (env && strcmp(env, "debug") == 0)
		log_min = BERTH_LOG_DEBUG;
}

void berth_log(enum berth_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (level < log_min)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000, log_program,
		names[level], line);
}
