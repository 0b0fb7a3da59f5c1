/* .dockerignore parsing and matching with moby/patternmatcher's semantics. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerignore.h"

/* Go's filepath.Clean for slash paths. Returns a malloc'd string. */
static char *path_clean(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return strdup(".");
	bool rooted = p[0] == '/';
	char *out = malloc(n + 2);
	if (!out)
		abort();
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* filepath.Match's syntax check: a '[' must close; a trailing '\' is bad. */
static bool pattern_valid(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return false;
			p++;
		} else if (*p == '[') {
			p++;
			if (*p == '^' || *p == '!')
				p++;
			if (*p == ']')
				return false; /* filepath.Match: empty class */
			while (*p && *p != ']') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return false;
		}
	}
	return true;
}

static int push(struct dockerignore *di, const char *text, bool exclusion)
{
	if (di->npatterns >= DOCKERIGNORE_MAX_PATTERNS)
		return -1;
	struct dockerignore_pattern *p =
	    realloc(di->patterns, (di->npatterns + 1) * sizeof(*di->patterns));
	if (!p)
		abort();
	di->patterns = p;
	p[di->npatterns].text = strdup(text);
	if (!p[di->npatterns].text)
		abort();
	p[di->npatterns].exclusion = exclusion;
	di->npatterns++;
	di->exclusions = di->exclusions || exclusion;
	return 0;
}

int dockerignore_parse(const char *buf, size_t len, struct dockerignore *out,
		       struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while (off < len) {
		const char *l = buf + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		off += n + (nl ? 1 : 0);
		if (n && l[0] == '#')
			continue;
		while (n && isspace((unsigned char)l[n - 1]))
			n--;
		while (n && isspace((unsigned char)*l))
			l++, n--;
		if (!n)
			continue;
		bool invert = l[0] == '!';
		if (invert) {
			l++, n--;
			while (n && isspace((unsigned char)*l))
				l++, n--;
		}
		if (!n) {
			dockerignore_free(out);
			return berth_err(err, 400, "illegal exclusion pattern: \"!\"");
		}
		char *raw = strndup(l, n);
		if (!raw)
			abort();
		if (memchr(raw, '\0', n) || strlen(raw) != n) {
			free(raw);
			continue;
		}
		char *c = path_clean(raw);
		free(raw);
		const char *t = c;
		if (strlen(t) > 1 && t[0] == '/')
			t++;
		if (!pattern_valid(t)) {
			free(c);
			dockerignore_free(out);
			return berth_err(err, 400, "syntax error in pattern");
		}
		int rc = push(out, t, invert);
		free(c);
		if (rc < 0) {
			dockerignore_free(out);
			return berth_err(err, 400, ".dockerignore has more than %d patterns",
					 DOCKERIGNORE_MAX_PATTERNS);
		}
	}
	return 0;
}

void dockerignore_free(struct dockerignore *di)
{
	for (size_t i = 0; i < di->npatterns; i++)
		free(di->patterns[i].text);
	free(di->patterns);
	memset(di, 0, sizeof(*di));
}

/* A bracket class as Go's regexp reads it ([^...], ranges, \x); *pp is just past '['. */
static bool class_match(const char **pp, unsigned char c)
{
	const char *p = *pp;
	bool neg = false, hit = false, first = true;
	if (*p == '^') {
		neg = true;
		p++;
	}
	while (*p && (*p != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)*p++;
		if (lo == '\\' && *p)
			lo = (unsigned char)*p++;
		unsigned char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p++;
			if (hi == '\\' && *p)
				hi = (unsigned char)*p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p == ']')
		p++;
	*pp = p;
	return hit != neg;
}

static size_t utf8_next(const char *s, size_t i, size_t n)
{
	i++;
	while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
		i++;
	return i;
}

/*
 * patternmatcher compiles a pattern to a regexp: * -> [^/]*, ? -> [^/], **\/ -> (.*\/)?,
 * a final ** -> .*, \x -> x, [...] kept. This runs that regexp as a set of reachable
 * positions in the path (linear in pattern times path, no backtracking).
 */
static bool regex_match(const char *pat, const char *s)
{
	size_t n = strlen(s);
	uint8_t *cur = calloc(n + 1, 1), *nxt = calloc(n + 1, 1);
	if (!cur || !nxt)
		abort();
	cur[0] = 1;
	const char *p = pat;
	while (*p) {
		memset(nxt, 0, n + 1);
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			if (*p == '/')
				p++;
			bool all = *p == '\0';
			size_t first = n + 1;
			for (size_t i = 0; i <= n; i++)
				if (cur[i]) {
					first = i;
					break;
				}
			for (size_t j = first; j <= n; j++)
				if (j == first || all || s[j - 1] == '/')
					nxt[j] = 1;
			if (!all) /* (.*\/)? also allows the empty match at every reachable i */
				for (size_t i = 0; i <= n; i++)
					nxt[i] |= cur[i];
		} else if (*p == '*') {
			p++;
			bool on = false; /* some reachable i <= j with no '/' in s[i..j) */
			for (size_t j = 0; j <= n; j++) {
				on = on || cur[j];
				nxt[j] = on;
				if (j < n && s[j] == '/')
					on = false;
			}
		} else if (*p == '?') {
			p++;
			for (size_t i = 0; i < n; i++)
				if (cur[i] && s[i] != '/')
					nxt[utf8_next(s, i, n)] = 1;
		} else if (*p == '[') {
			const char *start = p + 1, *q = start;
			for (size_t i = 0; i < n; i++) {
				q = start;
				if (cur[i] && class_match(&q, (unsigned char)s[i]))
					nxt[i + 1] = 1;
			}
			q = start;
			class_match(&q, 0);
			p = q;
		} else {
			char c = *p++;
			if (c == '\\' && *p)
				c = *p++;
			for (size_t i = 0; i < n; i++)
				if (cur[i] && s[i] == c)
					nxt[i + 1] = 1;
		}
		uint8_t *t = cur;
		cur = nxt;
		nxt = t;
	}
	bool ok = cur[n];
	free(cur);
	free(nxt);
	return ok;
}

bool dockerignore_match(const char *pattern, const char *path)
{
	bool wild = strpbrk(pattern, "*?[]\\") != NULL;
	if (!wild)
		return strcmp(pattern, path) == 0;
	/* patternmatcher's suffixMatch: a leading ** followed by plain text */
	if (pattern[0] == '*' && pattern[1] == '*' && !strpbrk(pattern + 2, "*?[]\\")) {
		const char *suffix = pattern + 2;
		size_t sl = strlen(suffix), pl = strlen(path);
		if (pl >= sl && strcmp(path + pl - sl, suffix) == 0)
			return true;
		return suffix[0] == '/' && strcmp(path, suffix + 1) == 0;
	}
	return regex_match(pattern, path);
}

bool dockerignore_excluded(const struct dockerignore *di, const char *path)
{
	bool matched = false;
	size_t plen = strlen(path);
	const char *slash = strrchr(path, '/');
	size_t parent_len = slash ? (size_t)(slash - path) : 0;
	char *buf = malloc(plen + 1);
	if (!buf)
		abort();
	for (size_t i = 0; i < di->npatterns; i++) {
		const struct dockerignore_pattern *p = &di->patterns[i];
		if (p->exclusion != matched)
			continue;
		bool m = dockerignore_match(p->text, path);
		for (size_t j = 0; !m && j < parent_len; j++) {
			if (path[j + 1] != '/' && j + 1 != parent_len)
				continue;
			memcpy(buf, path, j + 1);
			buf[j + 1] = '\0';
			m = dockerignore_match(p->text, buf);
		}
		if (m)
			matched = !p->exclusion;
	}
	free(buf);
	return matched;
}

bool dockerignore_dir_may_include(const struct dockerignore *di, const char *dir)
{
	if (!di->exclusions)
		return false;
	size_t dl = strlen(dir);
	for (size_t i = 0; i < di->npatterns; i++) {
		const char *t = di->patterns[i].text;
		size_t tl = strlen(t);
		if (!di->patterns[i].exclusion)
			continue;
		/* moby's archive walk: HasPrefix(pattern + "/", dir + "/") */
		if (tl + 1 >= dl + 1 && strncmp(t, dir, dl) == 0 &&
		    (tl == dl ? true : t[dl] == '/'))
			return true;
	}
	return false;
}

int dockerignore_keep_build_files(struct dockerignore *di, const char *dockerfile)
{
	if (dockerignore_excluded(di, ".dockerignore") && push(di, ".dockerignore", true) < 0)
		return -1;
	if (dockerfile && *dockerfile && dockerignore_excluded(di, dockerfile)) {
		char *c = path_clean(dockerfile);
		int rc = push(di, c, true);
		free(c);
		return rc;
	}
	return 0;
}
