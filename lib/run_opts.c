/* --ulimit and --tmpfs option parsing, with Docker's rules and messages. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "berth/run_opts.h"

static const struct {
	const char *name;
	int resource;
} ulimits[] = {
    {"core", RLIMIT_CORE},	   {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},	   {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},	   {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},	   {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},	   {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},	   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

int berth_ulimit_resource(const char *name)
{
	for (size_t i = 0; name && i < sizeof(ulimits) / sizeof(ulimits[0]); i++)
		if (!strcmp(name, ulimits[i].name))
			return ulimits[i].resource;
	return -1;
}

/* Go's strconv.ParseInt(s, 10, 64), with its messages. */
static int parse_int64(const char *s, size_t len, int64_t *out, struct berth_error *err)
{
	char buf[64];
	if (len >= sizeof(buf))
		return berth_err(err, 400, "strconv.ParseInt: parsing \"%.*s\": value out of range",
				 (int)len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	const char *p = buf + (buf[0] == '+' || buf[0] == '-');
	bool digits = *p != '\0';
	for (; *p; p++)
		digits &= isdigit((unsigned char)*p) != 0;
	if (!digits)
		return berth_err(err, 400, "strconv.ParseInt: parsing \"%s\": invalid syntax", buf);
	errno = 0;
	long long v = strtoll(buf, NULL, 10);
	if (errno == ERANGE)
		return berth_err(err, 400, "strconv.ParseInt: parsing \"%s\": value out of range",
				 buf);
	*out = v;
	return 0;
}

int berth_ulimit_parse(const char *s, struct berth_ulimit *u, struct berth_error *err)
{
	const char *eq = strchr(s, '=');
	memset(u, 0, sizeof(*u));
	if (!eq)
		return berth_err(err, 400, "invalid ulimit argument: %s", s);
	size_t nlen = (size_t)(eq - s);
	if (nlen >= sizeof(u->name))
		return berth_err(err, 400, "invalid ulimit type: %.*s", (int)nlen, s);
	memcpy(u->name, s, nlen);
	u->resource = berth_ulimit_resource(u->name);
	if (u->resource < 0)
		return berth_err(err, 400, "invalid ulimit type: %s", u->name);
	const char *vals = eq + 1, *colon = strchr(vals, ':');
	if (colon && strchr(colon + 1, ':'))
		return berth_err(err, 400,
				 "too many limit value arguments - %s, can only have up to two, "
				 "`soft[:hard]`",
				 vals);
	size_t slen = colon ? (size_t)(colon - vals) : strlen(vals);
	if (colon && parse_int64(colon + 1, strlen(colon + 1), &u->hard, err) < 0)
		return -1;
	if (parse_int64(vals, slen, &u->soft, err) < 0)
		return -1;
	if (!colon)
		u->hard = u->soft;
	if (u->hard != -1 && u->soft > u->hard)
		return berth_err(err, 400,
				 "ulimit soft limit must be less than or equal to hard limit: "
				 "%lld > %lld",
				 (long long)u->soft, (long long)u->hard);
	return 0;
}

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} tmpfs_flags[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

static const struct {
	const char *name;
	unsigned long flags;
} tmpfs_propagation[] = {
    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* The keys the kernel's tmpfs takes that Docker lets through, and what their values look
 * like: a number with an optional size suffix, an octal mode, a decimal id, or anything. */
enum tmpfs_value { TV_SIZE, TV_COUNT, TV_OCTAL, TV_DECIMAL, TV_ANY };
static const struct {
	const char *key;
	enum tmpfs_value kind;
} tmpfs_keys[] = {
    {"size", TV_SIZE},	 {"nr_blocks", TV_COUNT}, {"nr_inodes", TV_COUNT}, {"mode", TV_OCTAL},
    {"uid", TV_DECIMAL}, {"gid", TV_DECIMAL},	  {"mpol", TV_ANY},
};

static bool value_ok(const char *v, size_t len, enum tmpfs_value kind)
{
	size_t digits = 0;
	while (digits < len && isdigit((unsigned char)v[digits]))
		digits++;
	if (len == 0 || (kind != TV_ANY && digits == 0) || len > 32)
		return false;
	switch (kind) {
	case TV_SIZE:
	case TV_COUNT:
		if (digits == len)
			return true;
		return digits + 1 == len &&
		       (strchr("kKmMgGtTpPeE", v[digits]) || (kind == TV_SIZE && v[digits] == '%'));
	case TV_OCTAL:
		for (size_t i = 0; i < len; i++)
			if (v[i] < '0' || v[i] > '7')
				return false;
		return true;
	case TV_DECIMAL:
		return digits == len;
	case TV_ANY:
		return memchr(v, ',', len) == NULL;
	}
	return false;
}

static int invalid_option(const char *o, size_t len, struct berth_error *err)
{
	const char *eq = memchr(o, '=', len);
	if (!eq)
		return berth_err(err, 400, "invalid tmpfs option [\"%.*s\"]", (int)len, o);
	return berth_err(err, 400, "invalid tmpfs option [\"%.*s\" \"%.*s\"]", (int)(eq - o), o,
			 (int)(len - (size_t)(eq - o) - 1), eq + 1);
}

int berth_tmpfs_parse(const char *opts, struct berth_tmpfs_opts *out, struct berth_error *err)
{
	const char *vals[sizeof(tmpfs_keys) / sizeof(tmpfs_keys[0])] = {0};
	size_t lens[sizeof(tmpfs_keys) / sizeof(tmpfs_keys[0])] = {0};
	memset(out, 0, sizeof(*out));
	out->flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
	out->propagation = MS_PRIVATE | MS_REC;
	for (const char *o = opts ? opts : ""; *o;) {
		size_t len = strcspn(o, ",");
		const char *eq = memchr(o, '=', len);
		bool known = len == 0;
		for (size_t i = 0;
		     !known && !eq && i < sizeof(tmpfs_flags) / sizeof(tmpfs_flags[0]); i++) {
			if (strlen(tmpfs_flags[i].name) != len ||
			    strncmp(o, tmpfs_flags[i].name, len))
				continue;
			known = true;
			if (tmpfs_flags[i].clear)
				out->flags &= ~tmpfs_flags[i].flag;
			else
				out->flags |= tmpfs_flags[i].flag;
		}
		for (size_t i = 0;
		     !known && !eq && i < sizeof(tmpfs_propagation) / sizeof(tmpfs_propagation[0]);
		     i++) {
			if (strlen(tmpfs_propagation[i].name) == len &&
			    !strncmp(o, tmpfs_propagation[i].name, len)) {
				known = true;
				out->propagation = tmpfs_propagation[i].flags;
			}
		}
		for (size_t i = 0; !known && eq && i < sizeof(tmpfs_keys) / sizeof(tmpfs_keys[0]);
		     i++) {
			size_t klen = (size_t)(eq - o);
			if (strlen(tmpfs_keys[i].key) != klen ||
			    strncmp(o, tmpfs_keys[i].key, klen))
				continue;
			if (!value_ok(eq + 1, len - klen - 1, tmpfs_keys[i].kind))
				return invalid_option(o, len, err);
			known = true;
			vals[i] = eq + 1;
			lens[i] = len - klen - 1;
		}
		if (!known)
			return invalid_option(o, len, err);
		o += len;
		if (*o == ',')
			o++;
	}
	size_t n = 0;
	for (size_t i = 0; i < sizeof(tmpfs_keys) / sizeof(tmpfs_keys[0]); i++)
		if (vals[i])
			n += (size_t)snprintf(out->data + n, sizeof(out->data) - n, "%s%s=%.*s",
					      n ? "," : "", tmpfs_keys[i].key, (int)lens[i],
					      vals[i]);
	return 0;
}

int berth_tmpfs_check_target(const char *target, struct berth_error *err)
{
	if (!target || target[0] != '/')
		return berth_err(err, 400, "invalid mount path: '%s' mount path must be absolute",
				 target ? target : "");
	if (target[strspn(target, "/")] == '\0')
		return berth_err(err, 400, "invalid specification: destination can't be '/'");
	return 0;
}
