/* .dockerignore: Docker's patterns (moby/patternmatcher) for what a build context leaves out. */
#ifndef BERTH_DOCKERIGNORE_H
#define BERTH_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DOCKERIGNORE_MAX_PATTERNS 10000

struct dockerignore_pattern {
	char *text;	/* cleaned: filepath.Clean, leading '/' dropped, no '!' */
	bool exclusion; /* a `!` line: re-includes what it matches */
};

struct dockerignore {
	struct dockerignore_pattern *patterns;
	size_t npatterns;
	bool exclusions;
};

/* Parse a .dockerignore file's bytes. Returns 0, or -1 with Docker's message. */
int dockerignore_parse(const char *buf, size_t len, struct dockerignore *out,
		       struct berth_error *err);
void dockerignore_free(struct dockerignore *di);
/* Add the `!.dockerignore` and `!<dockerfile>` Docker adds when they are excluded. */
int dockerignore_keep_build_files(struct dockerignore *di, const char *dockerfile);
/* Is this context-relative path (slash-separated, no leading /) excluded? Last match wins;
 * a pattern matching a parent directory matches the path too. */
bool dockerignore_excluded(const struct dockerignore *di, const char *path);
/* For an excluded directory: may an exception pattern re-include something below it? */
bool dockerignore_dir_may_include(const struct dockerignore *di, const char *dir);
/* One pattern against one path (exposed for tests). */
bool dockerignore_match(const char *pattern, const char *path);

#endif
