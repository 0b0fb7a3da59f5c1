/* WWW-Authenticate parsing: `Bearer realm="…",service="…",scope="…"` and `Basic realm="…"`. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "berth/www_auth.h"

struct cursor {
	const char *p, *end;
};

static void skip_space(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static bool is_token_char(char ch)
{
	return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* A token (or token68 when allow68) into out; its length, or -1. */
static int read_token(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;
	while (c->p < c->end && is_token_char(*c->p)) {
		if (n + 1 >= size)
			return -1;
		out[n++] = *c->p++;
	}
	out[n] = '\0';
	return (int)n;
}

/* A quoted-string (with \ escapes) or a token, into out. */
static int read_value(struct cursor *c, char *out, size_t size)
{
	if (c->p < c->end && *c->p == '"') {
		size_t n = 0;
		c->p++;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			if (n + 1 >= size)
				return -1;
			out[n++] = *c->p++;
		}
		if (c->p >= c->end)
			return -1; /* unterminated */
		c->p++;
		out[n] = '\0';
		return 0;
	}
	return read_token(c, out, size) < 0 ? -1 : 0;
}

/* The parameters of one challenge, up to the next scheme or the end. */
static int read_params(struct cursor *c, struct berth_auth_challenge *out)
{
	for (;;) {
		skip_space(c);
		while (c->p < c->end && *c->p == ',') {
			c->p++;
			skip_space(c);
		}
		if (c->p >= c->end)
			return 0;
		const char *start = c->p;
		char name[32];
		if (read_token(c, name, sizeof(name)) <= 0)
			return -1;
		skip_space(c);
		if (c->p >= c->end || *c->p != '=') {
			c->p = start; /* the next challenge's scheme */
			return 0;
		}
		c->p++;
		skip_space(c);
		char *dst = NULL;
		size_t size = 0;
		if (!strcasecmp(name, "realm"))
			dst = out->realm, size = sizeof(out->realm);
		else if (!strcasecmp(name, "service"))
			dst = out->service, size = sizeof(out->service);
		else if (!strcasecmp(name, "scope"))
			dst = out->scope, size = sizeof(out->scope);
		else if (!strcasecmp(name, "error"))
			dst = out->error, size = sizeof(out->error);
		char skip[1024];
		if (read_value(c, dst ? dst : skip, dst ? size : sizeof(skip)) < 0)
			return -1;
		skip_space(c);
		if (c->p < c->end && *c->p != ',')
			return -1;
	}
}

int berth_www_auth_parse(const char *value, size_t len, struct berth_auth_challenge *out)
{
	struct cursor c = {value, value + len};
	for (;;) {
		memset(out, 0, sizeof(*out));
		skip_space(&c);
		while (c.p < c.end && *c.p == ',') {
			c.p++;
			skip_space(&c);
		}
		if (c.p >= c.end)
			return -1;
		char scheme[32];
		if (read_token(&c, scheme, sizeof(scheme)) <= 0)
			return -1;
		if (read_params(&c, out) < 0) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
		if (!strcasecmp(scheme, "basic"))
			out->scheme = BERTH_AUTH_BASIC;
		else if (!strcasecmp(scheme, "bearer"))
			out->scheme = BERTH_AUTH_BEARER;
		if (out->scheme != BERTH_AUTH_NONE)
			return 0;
	}
}
