/* Short and long syntax of service ports, expose and volumes; command words; host paths. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "compose_internal.h"

/* A port list may expand ranges; past this a file is a mistake (or an attack), not a service. */
#define PORTS_MAX 65536

struct port_range {
	long lo, hi;
};

/* "8080" or "8000-8010"; NULL/"" give lo = hi = 0. */
static int parse_range(const char *s, size_t len, struct port_range *r)
{
	r->lo = r->hi = 0;
	if (len == 0)
		return 0;
	char buf[32];
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	r->lo = strtol(buf, &end, 10);
	r->hi = r->lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		r->hi = strtol(end + 1, &end, 10);
	}
	if (*end || r->lo < 1 || r->hi > 65535 || r->hi < r->lo)
		return -1;
	return 0;
}

static bool valid_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool valid_protocol(const char *p)
{
	return !strcmp(p, "tcp") || !strcmp(p, "udp") || !strcmp(p, "sctp");
}

static json_t *port_entry(const char *mode, const char *ip, long target, const char *published,
			  const char *proto)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "mode", mode, "host_ip", ip, "target",
			 (json_int_t)target, "published", published, "protocol", proto);
}

static int short_port(const char *spec, const struct cnode *n, const char *path, json_t *out,
		      struct berth_error *err)
{
	char ip[64] = "", proto[16] = "tcp";
	const char *s = spec, *slash = strrchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
	if (slash) {
		snprintf(proto, sizeof(proto), "%s", slash + 1);
		if (!valid_protocol(proto))
			return cnode_err(err, n, path,
					 "invalid port \"%s\": unknown protocol \"%s\"", spec,
					 slash + 1);
	}
	const char *end = s + len;
	if (*s == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || close + 1 >= end || close[1] != ':' ||
		    close - s - 1 >= (long)sizeof(ip))
			goto bad;
		snprintf(ip, sizeof(ip), "%.*s", (int)(close - s - 1), s + 1);
		s = close + 2;
	} else {
		int colons = 0;
		for (const char *c = s; c < end; c++)
			colons += *c == ':';
		if (colons > 2)
			goto bad;
		if (colons == 2) {
			const char *c = memchr(s, ':', len);
			if (c - s >= (long)sizeof(ip))
				goto bad;
			snprintf(ip, sizeof(ip), "%.*s", (int)(c - s), s);
			s = c + 1;
		}
	}
	if (*ip && !valid_ip(ip))
		return cnode_err(err, n, path, "invalid port \"%s\": invalid IP address \"%s\"",
				 spec, ip);
	const char *colon = memchr(s, ':', end - s);
	struct port_range pub = {0}, tgt;
	if (colon && parse_range(s, colon - s, &pub) < 0)
		goto bad;
	const char *t = colon ? colon + 1 : s;
	if (parse_range(t, end - t, &tgt) < 0 || tgt.lo == 0)
		goto bad;
	long count = tgt.hi - tgt.lo + 1;
	if (pub.lo && pub.hi - pub.lo + 1 != count && count != 1)
		return cnode_err(
		    err, n, path,
		    "invalid port \"%s\": the published and target ranges differ in size", spec);
	if (json_array_size(out) + count > PORTS_MAX)
		return cnode_err(err, n, path, "too many ports");
	for (long i = 0; i < count; i++) {
		char published[16] = "";
		if (pub.lo && count == 1 && pub.hi != pub.lo)
			snprintf(published, sizeof(published), "%ld-%ld", pub.lo, pub.hi);
		else if (pub.lo)
			snprintf(published, sizeof(published), "%ld", pub.lo + i);
		json_array_append_new(out, port_entry("ingress", ip, tgt.lo + i, published, proto));
	}
	return 0;
bad:
	return cnode_err(err, n, path, "invalid port \"%s\"", spec);
}

static int long_port(const struct cnode *n, const char *path, json_t *out, struct berth_error *err)
{
	if (compose_check_keys(n, COMPOSE_SEC_PORT, path, err) < 0)
		return -1;
	char sub[COMPOSE_PATH_MAX];
	const struct cnode *v;
	long long target;
	snprintf(sub, sizeof(sub), "%s.target", path);
	if (!(v = cnode_get(n, "target")))
		return cnode_err(err, n, path, "target is required");
	if (cget_int(v, sub, 1, 65535, &target, err) < 0)
		return -1;
	const char *mode = "ingress", *ip = "", *proto = "tcp", *published = "";
	char pubbuf[32] = "";
	if ((v = cnode_get(n, "published")) && !cnode_is_null(v)) {
		snprintf(sub, sizeof(sub), "%s.published", path);
		struct port_range r;
		if (cget_string(v, sub, &published, err) < 0)
			return -1;
		if (*published && parse_range(published, strlen(published), &r) < 0)
			return cnode_err(err, v, sub, "invalid port \"%s\"", published);
		snprintf(pubbuf, sizeof(pubbuf), "%s", published);
	}
	if ((v = cnode_get(n, "host_ip")) && !cnode_is_null(v)) {
		snprintf(sub, sizeof(sub), "%s.host_ip", path);
		if (cget_string(v, sub, &ip, err) < 0)
			return -1;
		if (*ip && !valid_ip(ip))
			return cnode_err(err, v, sub, "invalid IP address \"%s\"", ip);
	}
	if ((v = cnode_get(n, "protocol"))) {
		snprintf(sub, sizeof(sub), "%s.protocol", path);
		if (cget_string(v, sub, &proto, err) < 0)
			return -1;
		if (!valid_protocol(proto))
			return cnode_err(err, v, sub, "unknown protocol \"%s\"", proto);
	}
	if ((v = cnode_get(n, "mode"))) {
		snprintf(sub, sizeof(sub), "%s.mode", path);
		if (cget_string(v, sub, &mode, err) < 0)
			return -1;
		if (strcmp(mode, "ingress") && strcmp(mode, "host"))
			return cnode_err(err, v, sub, "must be ingress or host");
	}
	json_t *p = port_entry(mode, ip, target, pubbuf, proto);
	const char *extra[] = {"name", "app_protocol"};
	for (size_t i = 0; i < 2; i++) {
		const char *s;
		if (!(v = cnode_get(n, extra[i])))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, extra[i]);
		if (cget_string(v, sub, &s, err) < 0) {
			json_decref(p);
			return -1;
		}
		json_object_set_new(p, extra[i], json_string(s));
	}
	json_array_append_new(out, p);
	return 0;
}

int compose_ports(const struct cnode *n, const char *path, json_t *out, struct berth_error *err)
{
	if (cget_kind(n, CNODE_SEQ, path, err) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const struct cnode *it = n->vals[i];
		int rc;
		if (it->kind == CNODE_MAP)
			rc = long_port(it, sub, out, err);
		else if (it->kind == CNODE_SCALAR && !cnode_is_null(it))
			rc = short_port(it->value, it, sub, out, err);
		else
			rc = cnode_err(err, it, sub, "must be a string or a mapping, not %s",
				       cnode_kind_name(it));
		if (rc < 0)
			return -1;
	}
	return 0;
}

int compose_expose(const struct cnode *n, const char *path, json_t *out, struct berth_error *err)
{
	if (cget_kind(n, CNODE_SEQ, path, err) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		char sub[COMPOSE_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		const char *s;
		if (cget_string(n->vals[i], sub, &s, err) < 0)
			return -1;
		const char *slash = strchr(s, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		struct port_range r;
		if (parse_range(s, slash ? (size_t)(slash - s) : strlen(s), &r) < 0 || r.lo == 0 ||
		    !valid_protocol(proto))
			return cnode_err(err, n->vals[i], sub, "invalid port \"%s\"", s);
		if (json_array_size(out) + (r.hi - r.lo + 1) > PORTS_MAX)
			return cnode_err(err, n->vals[i], sub, "too many ports");
		for (long p = r.lo; p <= r.hi; p++) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%ld/%s", p, proto);
			json_array_append_new(out, json_string(buf));
		}
	}
	return 0;
}

/* Lexical clean of an absolute path ("/a/./b/../c" → "/a/c"), in place. */
void compose_clean_path(char *p)
{
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t len = in - seg;
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

char *compose_abs_path(const char *path, const struct compose_ctx *ctx)
{
	char *p;
	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		const char *home = compose_env_get(ctx->env, "HOME");
		p = berth_strdupf("%s/%s", home ? home : "/root", path + 1);
	} else if (path[0] == '/') {
		p = berth_strdupf("%s", path);
	} else {
		p = berth_strdupf("%s/%s", ctx->working_dir, path);
	}
	compose_clean_path(p);
	return p;
}

int compose_split_words(const char *s, json_t *out, const char **problem)
{
	size_t len = strlen(s);
	_cleanup_free_ char *word = malloc(len + 1);
	if (!word)
		abort();
	size_t w = 0;
	bool in_word = false;
	for (const char *p = s; *p; p++) {
		if (isspace((unsigned char)*p)) {
			if (in_word)
				json_array_append_new(out, json_stringn(word, w));
			w = 0;
			in_word = false;
			continue;
		}
		in_word = true;
		if (*p == '\\') {
			if (p[1])
				word[w++] = *++p;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			char q = *p++;
			while (*p && *p != q) {
				/* as go-shellwords (compose's): \ escapes any character in "" */
				if (q == '"' && *p == '\\' && p[1])
					p++;
				word[w++] = *p++;
			}
			if (!*p) {
				*problem = "unterminated quote";
				return -1;
			}
			continue;
		}
		if (strchr(";&|<>", *p)) {
			/* compose's splitter silently stops here; berth says why instead */
			*problem =
			    "unquoted shell operator (a string command runs without a shell: "
			    "use [\"sh\", \"-c\", \"...\"])";
			return -1;
		}
		word[w++] = *p;
	}
	if (in_word)
		json_array_append_new(out, json_stringn(word, w));
	return 0;
}
