/* Docker's human durations and sizes, Go durations, RFC 3339 timestamps. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/duration.h"

void berth_human_duration(double d, char *out, size_t size)
{
	long seconds = (long)d;
	long minutes = (long)(d / 60);
	long hours = (long)(d / 3600 + 0.5);
	if (seconds < 1)
		snprintf(out, size, "Less than a second");
	else if (seconds == 1)
		snprintf(out, size, "1 second");
	else if (seconds < 60)
		snprintf(out, size, "%ld seconds", seconds);
	else if (minutes == 1)
		snprintf(out, size, "About a minute");
	else if (minutes < 60)
		snprintf(out, size, "%ld minutes", minutes);
	else if (hours == 1)
		snprintf(out, size, "About an hour");
	else if (hours < 48)
		snprintf(out, size, "%ld hours", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(out, size, "%ld days", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(out, size, "%ld weeks", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(out, size, "%ld months", hours / 24 / 30);
	else
		snprintf(out, size, "%ld years", (long)(d / 3600) / 24 / 365);
}

int64_t berth_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void berth_format_rfc3339(int64_t ns, char *out, size_t size)
{
	if (ns <= 0) {
		snprintf(out, size, "0001-01-01T00:00:00Z");
		return;
	}
	time_t sec = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%09ldZ", base, frac);
}

int64_t berth_parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t frac = 0;
	if (*p == '.') {
		int64_t scale = 100000000LL;
		for (p++; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	int64_t offset = 0;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2)
			return 0;
		offset = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
	}
	time_t sec = timegm(&tm);
	if (sec < 0)
		return 0;
	return ((int64_t)sec - offset) * 1000000000LL + frac;
}

int64_t berth_parse_duration_ns(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	/* digits, '.' and units only: no "inf", "nan", hex or exponents to overflow a cast */
	if (s[strspn(s, "0123456789.nsuhm")] != '\0')
		return -1;
	double plain = strtod(s, &end);
	if (*end == '\0')
		return plain < 0 || plain * 1e9 >= 9.2e18 ? -1 : (int64_t)(plain * 1e9);
	if (strcmp(s, "0") == 0)
		return 0;
	const char *p = s;
	double total = 0;
	while (*p) {
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return -1;
		p = end;
		double unit;
		if (!strncmp(p, "ns", 2))
			unit = 1, p += 2;
		else if (!strncmp(p, "us", 2))
			unit = 1e3, p += 2;
		else if (!strncmp(p, "ms", 2))
			unit = 1e6, p += 2;
		else if (*p == 's')
			unit = 1e9, p += 1;
		else if (*p == 'm')
			unit = 60e9, p += 1;
		else if (*p == 'h')
			unit = 3600e9, p += 1;
		else
			return -1;
		total += v * unit;
	}
	return total < 9.2e18 ? (int64_t)total : -1;
}

int64_t berth_parse_bytes(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	double v = strtod(s, &end);
	/* no "inf", "nan" or hex floats; and nothing a cast to int64 would overflow */
	if (end == s || !(v >= 0) || strspn(s, "0123456789.") != (size_t)(end - s))
		return -1;
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		return v < 9.2e18 ? (int64_t)v : -1;
	case 'b':
		mult = 1;
		break;
	case 'k':
		mult = 1024.0;
		break;
	case 'm':
		mult = 1024.0 * 1024;
		break;
	case 'g':
		mult = 1024.0 * 1024 * 1024;
		break;
	case 't':
		mult = 1024.0 * 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	end++;
	if (mult != 1 && tolower((unsigned char)*end) == 'b')
		end++;
	if (*end != '\0')
		return -1;
	return v * mult < 9.2e18 ? (int64_t)(v * mult) : -1;
}

void berth_human_size(double bytes, char *out, size_t size)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int i = 0;
	while (bytes >= 1000 && i < 5) {
		bytes /= 1000;
		i++;
	}
	snprintf(out, size, "%.3g%s", bytes, units[i]);
}
