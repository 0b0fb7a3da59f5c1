/* Image references: Docker's reference grammar (distribution/reference), normalised names. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "berth/id.h"
#include "berth/image_ref.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ (separator [a-z0-9]+)*, separator: [._] | __ | -+ */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		size_t sep = i;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == sep || i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* domain-component ('.' domain-component)* (':' port)?; components [a-zA-Z0-9] with inner '-'. */
static bool domain_valid(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host_len = colon ? (size_t)(colon - s) : n;
	if (colon) {
		size_t plen = n - host_len - 1;
		if (plen == 0)
			return false;
		for (size_t i = host_len + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
	}
	size_t start = 0;
	for (size_t i = 0; i <= host_len; i++) {
		if (i < host_len && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0)
			return false;
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			if (!isalnum((unsigned char)c) && !(c == '-' && k != start && k != i - 1))
				return false;
		}
		start = i + 1;
	}
	return true;
}

bool image_ref_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)tag[0]) && tag[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = tag[i];
		if (!isalnum((unsigned char)c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* algorithm ':' hex{32,}; only sha256 (64 hex) is useful to us, but accept the grammar. */
static bool digest_valid(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d || !isalpha((unsigned char)d[0]))
		return false;
	for (const char *p = d; p < colon; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_+.", *p))
			return false;
	size_t hl = strlen(colon + 1);
	if (hl < 32 || !berth_is_hex(colon + 1, hl))
		return false;
	if (!strncmp(d, "sha256:", 7) && hl != 64)
		return false;
	return true;
}

static int bad_ref(struct berth_error *err)
{
	return berth_err(err, 400, "invalid reference format");
}

int image_ref_parse(const char *s, struct image_ref *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(s);
	if (len == 0 || len > 512)
		return bad_ref(err);
	if (len == 64 && berth_is_hex(s, 64))
		return berth_err(err, 400,
				 "invalid repository name (%s), cannot specify 64-byte hexadecimal "
				 "strings",
				 s);
	char buf[520];
	memcpy(buf, s, len + 1);

	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (!digest_valid(at + 1) || strlen(at + 1) >= sizeof(out->digest))
			return bad_ref(err);
		strcpy(out->digest, at + 1);
	}
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		if (!image_ref_tag_valid(colon + 1))
			return bad_ref(err);
		strcpy(out->tag, colon + 1);
	}
	char *name = buf;
	if (*name == '\0' || strlen(name) > 255)
		return bad_ref(err);

	/* splitDockerDomain: the first component is a domain if it has '.' or ':', is
	 * "localhost", or has upper-case letters. */
	char *first_slash = strchr(name, '/');
	const char *domain = "docker.io";
	char *remainder = name;
	if (first_slash) {
		size_t fl = (size_t)(first_slash - name);
		bool upper = false;
		for (size_t i = 0; i < fl; i++)
			upper |= isupper((unsigned char)name[i]) != 0;
		if (memchr(name, '.', fl) || memchr(name, ':', fl) ||
		    (fl == 9 && !strncmp(name, "localhost", 9)) || upper) {
			*first_slash = '\0';
			domain = name;
			remainder = first_slash + 1;
			if (!domain_valid(domain, strlen(domain)))
				return bad_ref(err);
		}
	} else if (strchr(name, ':')) {
		return bad_ref(err);
	}
	if (!strcmp(domain, "index.docker.io"))
		domain = "docker.io";
	bool hub = !strcmp(domain, "docker.io");
	int w;
	if (hub && !strchr(remainder, '/'))
		w = snprintf(out->path, sizeof(out->path), "library/%s", remainder);
	else
		w = snprintf(out->path, sizeof(out->path), "%s", remainder);
	if (w >= (int)sizeof(out->path))
		return berth_err(err, 400,
				 "invalid reference format: repository name must not be "
				 "more than 255 characters");
	for (const char *p = out->path; *p; p++)
		if (isupper((unsigned char)*p))
			return berth_err(err, 400,
					 "invalid reference format: repository name (%s) must be "
					 "lowercase",
					 out->path);
	/* Every path component must match the grammar. */
	const char *c = out->path;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!path_component_valid(c, n))
			return bad_ref(err);
		if (!e)
			break;
		c = e + 1;
	}
	if (snprintf(out->domain, sizeof(out->domain), "%s", domain) >= (int)sizeof(out->domain) ||
	    strlen(out->domain) + 1 + strlen(out->path) > 255)
		return berth_err(err, 400,
				 "invalid reference format: repository name must not be "
				 "more than 255 characters");
	/* A hub repository whose first component would read as a registry ("localhost/x",
	 * "a.b/x") keeps "docker.io/" in its key: the short form names another image. */
	size_t first = strcspn(out->path, "/");
	bool looks_like_domain =
	    out->path[first] == '/' &&
	    (memchr(out->path, '.', first) || (first == 9 && !strncmp(out->path, "localhost", 9)));
	if (hub && !strncmp(out->path, "library/", 8) && !strchr(out->path + 8, '/'))
		snprintf(out->familiar, sizeof(out->familiar), "%s", out->path + 8);
	else if (hub && !looks_like_domain)
		snprintf(out->familiar, sizeof(out->familiar), "%s", out->path);
	else if (snprintf(out->familiar, sizeof(out->familiar), "%s/%s", out->domain, out->path) >=
		 (int)sizeof(out->familiar))
		return bad_ref(err);
	return 0;
}

void image_ref_key(const struct image_ref *ref, char *out, size_t size)
{
	if (ref->digest[0] && !ref->tag[0])
		snprintf(out, size, "%s@%s", ref->familiar, ref->digest);
	else
		snprintf(out, size, "%s:%s", ref->familiar, ref->tag[0] ? ref->tag : "latest");
}

int image_ref_normalize(const char *ref, char *out, size_t size, struct berth_error *err)
{
	struct image_ref r;
	if (image_ref_parse(ref, &r, err) < 0)
		return -1;
	image_ref_key(&r, out, size);
	return 0;
}

void image_ref_full(const struct image_ref *ref, char *out, size_t size)
{
	if (ref->digest[0])
		snprintf(out, size, "%s/%s%s%s@%s", ref->domain, ref->path, ref->tag[0] ? ":" : "",
			 ref->tag, ref->digest);
	else
		snprintf(out, size, "%s/%s:%s", ref->domain, ref->path,
			 ref->tag[0] ? ref->tag : "latest");
}
