/* HostConfig.SecurityOpt and Privileged: checked at create as Docker's daemon parses them, and
 * turned into the runtime spec's "privileged", "no_new_privileges" and "seccomp". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "berth/capability.h"
#include "berth/seccomp_profile.h"
#include "container.h"

/* Go's strconv.ParseBool: 1 true, 0 false, -1 neither. */
static int parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, t[i]))
			return 1;
		if (!strcmp(s, f[i]))
			return 0;
	}
	return -1;
}

/* One option split at its first '=' (or ':', the old spelling) into key and value. */
static bool split_opt(const char *opt, char *key, size_t size, const char **value)
{
	size_t k = strcspn(opt, strchr(opt, '=') ? "=" : ":");
	if (!opt[k] || k >= size)
		return false;
	memcpy(key, opt, k);
	key[k] = '\0';
	*value = opt + k + 1;
	return true;
}

/* A profile's JSON, read for the host's arch with Docker's default capabilities. */
static int check_profile(const char *json, struct berth_error *err)
{
	struct utsname u;
	uname(&u);
	struct seccomp_target t = {.caps = 0, .arch = seccomp_native_arch(u.machine)};
	sscanf(u.release, "%u.%u", &t.kernel_major, &t.kernel_minor);
	struct seccomp_profile p;
	if (seccomp_profile_parse(json, strlen(json), &t, &p, err) < 0)
		return -1;
	seccomp_profile_free(&p);
	return 0;
}

/* MaskedPaths/ReadonlyPaths: absent or null for Docker's lists; a list (the docker CLI sends
 * [] for --security-opt systempaths=unconfined) replaces them. */
static int check_paths(const json_t *host, const char *key, struct berth_error *err)
{
	json_t *l = json_object_get(host, key), *e;
	size_t i;
	if (l && !json_is_null(l) && !json_is_array(l))
		return berth_err(err, 400, "%s: not a list of paths", key);
	json_array_foreach(l, i, e)
	{
		const char *s = json_string_value(e);
		if (!s || s[0] != '/' || strlen(s) > 4000)
			return berth_err(err, 400, "%s: \"%s\" is not an absolute path", key,
					 s ? s : "(not a string)");
	}
	return 0;
}

/* CapAdd/CapDrop: known names only, refused at create as Docker refuses them. */
static int check_caps(const json_t *host, const char *key, struct berth_error *err)
{
	json_t *l = json_object_get(host, key), *e;
	size_t i;
	if (l && !json_is_null(l) && !json_is_array(l))
		return berth_err(err, 400, "invalid %s: not a list of capabilities", key);
	json_array_foreach(l, i, e)
	{
		const char *s = json_string_value(e);
		uint64_t m;
		if (!s || berth_cap_from_name(s, &m) < 0) {
			char name[64];
			snprintf(name, sizeof(name), "%s%.50s",
				 s && strncasecmp(s, "CAP_", 4) ? "CAP_" : "", s ? s : "?");
			for (char *c = name; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			return berth_err(err, 400, "invalid %s: unknown capability: \"%s\"", key,
					 name);
		}
	}
	return 0;
}

int container_check_security(const json_t *host, struct berth_error *err)
{
	if (check_paths(host, "MaskedPaths", err) < 0 ||
	    check_paths(host, "ReadonlyPaths", err) < 0 || check_caps(host, "CapAdd", err) < 0 ||
	    check_caps(host, "CapDrop", err) < 0)
		return -1;
	json_t *opts = json_object_get(host, "SecurityOpt");
	if (opts && !json_is_null(opts) && !json_is_array(opts))
		return berth_err(err, 400, "SecurityOpt: not a list of strings");
	size_t i;
	json_t *e;
	json_array_foreach(opts, i, e)
	{
		const char *opt = json_string_value(e), *v;
		char key[32];
		if (!opt)
			return berth_err(err, 400, "SecurityOpt: not a list of strings");
		if (!strcmp(opt, "no-new-privileges") || !strcmp(opt, "disable"))
			continue;
		if (!split_opt(opt, key, sizeof(key), &v))
			return berth_err(err, 400, "invalid --security-opt 1: \"%s\"", opt);
		if (!strcmp(key, "no-new-privileges")) {
			if (parse_bool(v) < 0)
				return berth_err(err, 400, "invalid --security-opt 2: \"%s\"", opt);
		} else if (!strcmp(key, "seccomp")) {
			if (strcmp(v, "unconfined") && strcmp(v, "builtin") &&
			    check_profile(v, err) < 0)
				return -1;
		} else if (!strcmp(key, "apparmor")) {
			/* No AppArmor here: only "unconfined" says what berth does. */
			if (strcmp(v, "unconfined"))
				return berth_err(err, 400,
						 "invalid --security-opt: \"%s\": berth does not "
						 "support AppArmor (only apparmor=unconfined)",
						 opt);
		} else if (!strcmp(key, "label")) {
			/* No SELinux labels either: only "disable" says what berth does. */
			if (strcmp(v, "disable"))
				return berth_err(err, 400,
						 "invalid --security-opt: \"%s\": berth does not "
						 "support SELinux labels (only label=disable)",
						 opt);
		} else {
			return berth_err(err, 400, "invalid --security-opt 2: \"%s\"", opt);
		}
	}
	return 0;
}

void container_security_spec(const json_t *host, const char *run_dir, json_t *spec)
{
	/* where the shim caches berth's default filter, for `berth-shim exec` to find it */
	json_object_set_new(spec, "run_dir", json_string(run_dir));
	bool privileged = json_is_true(json_object_get(host, "Privileged"));
	bool nnp = false;
	const char *seccomp = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(host, "SecurityOpt"), i, e)
	{
		const char *opt = json_string_value(e), *v;
		char key[32];
		if (!opt)
			continue;
		if (!strcmp(opt, "no-new-privileges"))
			nnp = true;
		else if (split_opt(opt, key, sizeof(key), &v) && !strcmp(key, "no-new-privileges"))
			nnp = parse_bool(v) == 1;
		else if (split_opt(opt, key, sizeof(key), &v) && !strcmp(key, "seccomp"))
			seccomp = strcmp(v, "builtin") ? v : NULL;
	}
	static const char *const paths[][2] = {{"MaskedPaths", "masked_paths"},
					       {"ReadonlyPaths", "readonly_paths"}};
	for (int k = 0; k < 2; k++) {
		json_t *l = json_object_get(host, paths[k][0]);
		if (json_is_array(l))
			json_object_set_new(spec, paths[k][1], json_deep_copy(l));
	}
	json_object_set_new(spec, "privileged", json_boolean(privileged));
	json_object_set_new(spec, "no_new_privileges", json_boolean(nnp));
	/* Privileged containers get no filter at all, as in Docker. */
	if (privileged)
		seccomp = "unconfined";
	if (seccomp)
		json_object_set_new(spec, "seccomp", json_string(seccomp));
}
