/* libFuzzer harness for .dockerignore (lib/dockerignore.c): any file parses or fails with a
 * message; every line is also tried as a path; and for plain ASCII patterns without classes the
 * linear matcher agrees with a naive backtracking reading of patternmatcher's regexp. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerignore.h"

/* The regexp patternmatcher builds, matched by backtracking (small inputs only). */
static bool naive(const char *p, const char *s)
{
	if (!*p)
		return !*s;
	if (p[0] == '*' && p[1] == '*') {
		const char *rest = p + 2;
		if (*rest == '/')
			rest++;
		if (!*rest)
			return true; /* .* */
		if (naive(rest, s))
			return true; /* (.*\/)? empty */
		for (const char *q = s; *q; q++)
			if (*q == '/' && naive(rest, q + 1))
				return true;
		return false;
	}
	if (*p == '*') {
		for (const char *q = s;; q++) {
			if (naive(p + 1, q))
				return true;
			if (!*q || *q == '/')
				return false;
		}
	}
	if (*p == '?')
		return *s && *s != '/' && naive(p + 1, s + 1);
	char c = *p;
	const char *next = p + 1;
	if (c == '\\' && p[1]) {
		c = p[1];
		next = p + 2;
	}
	return *s == c && naive(next, s + 1);
}

static bool plain_ascii(const char *s, size_t max)
{
	size_t n = 0;
	for (; *s; s++, n++)
		if ((unsigned char)*s >= 0x80 || *s == '[' || *s == ']' || n > max)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dockerignore di;
	struct berth_error err = {0};
	if (dockerignore_parse((const char *)data, size, &di, &err) < 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	char *copy = malloc(size + 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	size_t tried = 0;
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && tried < 64;
	     line = strtok_r(NULL, "\n", &save), tried++) {
		bool ex = dockerignore_excluded(&di, line);
		if (ex)
			(void)dockerignore_dir_may_include(&di, line);
		for (size_t i = 0; i < di.npatterns && i < 16; i++) {
			const char *pat = di.patterns[i].text;
			bool got = dockerignore_match(pat, line);
			bool lead = pat[0] == '*' && pat[1] == '*' && !strpbrk(pat + 2, "*?[]\\");
			if (!lead && plain_ascii(pat, 12) && plain_ascii(line, 24) &&
			    got != naive(pat, line))
				abort();
		}
	}
	free(copy);
	dockerignore_keep_build_files(&di, "Dockerfile");
	dockerignore_free(&di);
	return 0;
}
