/* CPU lists ("0-3,8"): Docker's parsing rules, the kernel's canonical form. */
#include <stdio.h>
#include <string.h>

#include "berth/cpuset.h"

void berth_cpuset_clear(struct berth_cpuset *set)
{
	memset(set, 0, sizeof(*set));
}

void berth_cpuset_add(struct berth_cpuset *set, int n)
{
	if (n >= 0 && n < BERTH_CPUSET_MAX)
		set->bits[n / 64] |= 1ULL << (n % 64);
}

bool berth_cpuset_has(const struct berth_cpuset *set, int n)
{
	return n >= 0 && n < BERTH_CPUSET_MAX && (set->bits[n / 64] >> (n % 64)) & 1;
}

int berth_cpuset_count(const struct berth_cpuset *set)
{
	int n = 0;
	for (size_t i = 0; i < BERTH_CPUSET_MAX / 64; i++)
		n += __builtin_popcountll(set->bits[i]);
	return n;
}

bool berth_cpuset_subset(const struct berth_cpuset *a, const struct berth_cpuset *b)
{
	for (size_t i = 0; i < BERTH_CPUSET_MAX / 64; i++)
		if (a->bits[i] & ~b->bits[i])
			return false;
	return true;
}

int berth_cpuset_next(const struct berth_cpuset *set, int from)
{
	if (from < 0)
		from = 0;
	for (int i = from / 64; i < BERTH_CPUSET_MAX / 64; i++) {
		uint64_t w = set->bits[i];
		if (i == from / 64)
			w &= ~0ULL << (from % 64);
		if (w)
			return i * 64 + __builtin_ctzll(w);
	}
	return -1;
}

/* One decimal number of at most 5 digits (BERTH_CPUSET_MAX has 4); leading zeros allowed. */
static const char *parse_number(const char *p, int *out)
{
	long v = 0;
	const char *start = p;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v >= BERTH_CPUSET_MAX)
			return NULL;
		p++;
	}
	if (p == start)
		return NULL;
	*out = (int)v;
	return p;
}

int berth_cpuset_parse(const char *s, struct berth_cpuset *set)
{
	berth_cpuset_clear(set);
	size_t len = strlen(s);
	if (len && s[len - 1] == '\n')
		len--;
	if (len == 0)
		return 0;
	const char *p = s, *end = s + len;
	for (;;) {
		int lo, hi;
		if (!(p = parse_number(p, &lo)))
			return -1;
		hi = lo;
		if (p < end && *p == '-' && (!(p = parse_number(p + 1, &hi)) || hi < lo))
			return -1;
		for (int n = lo; n <= hi; n++)
			berth_cpuset_add(set, n);
		if (p == end)
			return 0;
		if (*p != ',')
			return -1;
		p++;
	}
}

size_t berth_cpuset_format(const struct berth_cpuset *set, char *buf, size_t size)
{
	size_t len = 0;
	if (size)
		buf[0] = '\0';
	for (int lo = berth_cpuset_next(set, 0); lo >= 0;) {
		int hi = lo;
		while (berth_cpuset_has(set, hi + 1))
			hi++;
		char item[32];
		int n = hi > lo ? snprintf(item, sizeof(item), "%s%d-%d", len ? "," : "", lo, hi)
				: snprintf(item, sizeof(item), "%s%d", len ? "," : "", lo);
		if (len + (size_t)n < size)
			memcpy(buf + len, item, (size_t)n + 1);
		len += (size_t)n;
		lo = berth_cpuset_next(set, hi + 1);
	}
	return len;
}
