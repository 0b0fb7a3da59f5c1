/* CPU and memory-node lists as cgroup cpuset files and Docker's --cpuset-cpus write them
 * ("0-3,8"): parse, format, set operations. */
#ifndef BERTH_CPUSET_H
#define BERTH_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Docker accepts numbers up to 8192 (or the host's highest, when larger) in a list. */
#define BERTH_CPUSET_MAX 8192

struct berth_cpuset {
	uint64_t bits[BERTH_CPUSET_MAX / 64];
};

/* Docker's rules (pkg/parsers.ParseUintList): comma-separated numbers and ranges "a-b" with
 * a <= b, duplicates allowed, no blanks; "" is the empty set. -1 when malformed or a number is
 * above BERTH_CPUSET_MAX - 1. One trailing newline (as in a cgroup file) is allowed. */
int berth_cpuset_parse(const char *s, struct berth_cpuset *set);
/* The canonical form, ranges merged and ascending ("0-2,5"); "" for the empty set. Returns the
 * length it needs, as snprintf does. */
size_t berth_cpuset_format(const struct berth_cpuset *set, char *buf, size_t size);
void berth_cpuset_clear(struct berth_cpuset *set);
void berth_cpuset_add(struct berth_cpuset *set, int n);
bool berth_cpuset_has(const struct berth_cpuset *set, int n);
int berth_cpuset_count(const struct berth_cpuset *set);
/* Is every member of a in b? */
bool berth_cpuset_subset(const struct berth_cpuset *a, const struct berth_cpuset *b);
/* The lowest member >= from, or -1: for (n = next(s, 0); n >= 0; n = next(s, n + 1)). */
int berth_cpuset_next(const struct berth_cpuset *set, int from);

#endif
