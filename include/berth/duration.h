/* Human durations as Docker prints them, and RFC 3339 timestamps. */
#ifndef BERTH_DURATION_H
#define BERTH_DURATION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Go's units.HumanDuration: "Less than a second", "1 second", "47 seconds", "About a minute",
 * "3 minutes", "About an hour", "2 hours", "2 days", "2 weeks", "2 months", "2 years". */
void berth_human_duration(double seconds, char *out, size_t size);
/* Nanoseconds since the epoch, from CLOCK_REALTIME. */
int64_t berth_now_ns(void);
/* RFC 3339 with nanoseconds, UTC: 2026-11-28T01:42:40.123456789Z ("0001-01-01T00:00:00Z" for 0) */
void berth_format_rfc3339(int64_t ns, char *out, size_t size);
/* Parse what berth_format_rfc3339 writes (and Go's other RFC 3339 forms); 0 on failure. */
int64_t berth_parse_rfc3339(const char *s);
/* Parse a Go duration ("10s", "1m30s", "500ms") or a plain number of seconds; -1 on error. */
int64_t berth_parse_duration_ns(const char *s);
/* Parse "512m", "1g", "100k", "1024" (bytes) as docker does; -1 on error. */
int64_t berth_parse_bytes(const char *s);
/* Docker's units.HumanSize: "2.1MB", "0B" (decimal, 3 significant digits). */
void berth_human_size(double bytes, char *out, size_t size);

#endif
