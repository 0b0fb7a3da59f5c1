/* A service's privileged, cap_add, cap_drop and security_opt, checked when the file loads (as
 * docker compose and then the daemon check them), and security_opt's seccomp=FILE read relative
 * to the project directory into the model, so the scheduler never reads client paths. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "berth/capability.h"
#include "berth/cleanup.h"
#include "berth/seccomp_profile.h"
#include "compose_internal.h"

#define PROFILE_MAX (4 << 20)

/* Go's strconv.ParseBool. */
static bool go_bool(const char *s)
{
	static const char *const b[] = {"1", "t", "T", "TRUE",	"true",	 "True",
					"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < sizeof(b) / sizeof(*b); i++)
		if (!strcmp(s, b[i]))
			return true;
	return false;
}

static int caps(const struct cnode *v, const char *path, json_t *svc, struct berth_error *err)
{
	const char *key = strrchr(path, '.') + 1;
	json_t *list = cget_string_list(v, path, false, err);
	if (!list)
		return -1;
	json_object_set_new(svc, key, list);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(e);
		uint64_t m;
		if (berth_cap_from_name(s, &m) == 0)
			continue;
		/* the daemon's words: invalid CapAdd: unknown capability: "CAP_NOPE" */
		char name[64], sub[COMPOSE_PATH_MAX + 24];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		snprintf(name, sizeof(name), "%s%.50s", strncasecmp(s, "CAP_", 4) ? "CAP_" : "", s);
		for (char *c = name; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return cnode_err(err, v->vals[i], sub, "invalid %s: unknown capability: \"%s\"",
				 strcmp(key, "cap_add") ? "CapDrop" : "CapAdd", name);
	}
	return 0;
}

/* The profile's compact JSON, as docker compose sends it; errors in its words. */
static int read_profile(const struct cnode *n, const char *path, const char *file,
			const struct compose_ctx *ctx, json_t *profiles, struct berth_error *err)
{
	_cleanup_free_ char *abs = compose_abs_path(file, ctx);
	/* not blocking on a FIFO (or a device): only a regular file is a profile */
	int fd = abs ? open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return cnode_err(err, n, path,
				 "opening seccomp profile (%s) failed: %s is not a "
				 "regular file",
				 file, abs);
	}
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (!f) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s", strerror(abs ? errno : ENOMEM));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		return cnode_err(err, n, path, "opening seccomp profile (%s) failed: open %s: %s",
				 file, abs ? abs : file, msg);
	}
	_cleanup_free_ char *buf = malloc(PROFILE_MAX + 1);
	size_t len = buf ? fread(buf, 1, PROFILE_MAX + 1, f) : 0;
	if (!buf || ferror(f) || len > PROFILE_MAX)
		return cnode_err(err, n, path, "opening seccomp profile (%s) failed: %s", file,
				 !buf		     ? "out of memory"
				 : len > PROFILE_MAX ? "larger than 4 MiB"
						     : strerror(errno));
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(buf, len, 0, &jerr);
	if (!j || !json_is_object(j))
		return cnode_err(err, n, path,
				 "compacting json for seccomp profile (%s) failed: %s", file,
				 j ? "not a JSON object" : jerr.text);
	_cleanup_free_ char *compact = json_dumps(j, JSON_COMPACT);
	if (!compact)
		return cnode_err(err, n, path, "out of memory");
	/* what the agent will refuse at create, refused now, before anything is made */
	struct utsname u;
	uname(&u);
	struct seccomp_target t = {.arch = seccomp_native_arch(u.machine)};
	sscanf(u.release, "%u.%u", &t.kernel_major, &t.kernel_minor);
	struct seccomp_profile sp;
	struct berth_error e2 = {0};
	if (seccomp_profile_parse(compact, strlen(compact), &t, &sp, &e2) < 0)
		return cnode_err(err, n, path, "%s: %s", file, e2.msg);
	seccomp_profile_free(&sp);
	json_object_set_new(profiles, file, json_string(compact));
	return 0;
}

/* One option as compose (then the daemon) checks it: KEY=VALUE or the old KEY:VALUE. */
static int security_opt(const struct cnode *n, const char *path, const char *opt,
			const struct compose_ctx *ctx, json_t *profiles, struct berth_error *err)
{
	if (!strcmp(opt, "no-new-privileges") || !strcmp(opt, "systempaths=unconfined"))
		return 0;
	size_t k = strcspn(opt, strchr(opt, '=') ? "=" : ":");
	if (!opt[k])
		return cnode_err(err, n, path, "Invalid security-opt: \"%s\"", opt);
	const char *v = opt + k + 1;
	if (k == 7 && !strncmp(opt, "seccomp", 7)) {
		if (!strcmp(v, "unconfined") || !strcmp(v, "builtin"))
			return 0;
		return read_profile(n, path, v, ctx, profiles, err);
	}
	if (k == 17 && !strncmp(opt, "no-new-privileges", 17) && go_bool(v))
		return 0;
	/* berth has neither AppArmor nor SELinux: only the values that turn them off */
	if ((k == 8 && !strncmp(opt, "apparmor", 8) && !strcmp(v, "unconfined")) ||
	    (k == 5 && !strncmp(opt, "label", 5) && !strcmp(v, "disable")))
		return 0;
	if ((k == 8 && !strncmp(opt, "apparmor", 8)) || (k == 5 && !strncmp(opt, "label", 5)))
		return cnode_err(err, n, path,
				 "invalid --security-opt: \"%s\": berth does not support %s", opt,
				 opt[0] == 'a' ? "AppArmor (only apparmor=unconfined)"
					       : "SELinux labels (only label=disable)");
	return cnode_err(err, n, path, "invalid --security-opt 2: \"%s\"", opt);
}

int compose_security(const struct cnode *v, const char *path, json_t *svc,
		     const struct compose_ctx *ctx, struct berth_error *err)
{
	const char *key = strrchr(path, '.') + 1;
	if (cnode_is_null(v))
		return 0;
	if (!strcmp(key, "privileged")) {
		bool b;
		if (cget_bool(v, path, &b, err) < 0)
			return -1;
		if (b) /* compose-go omits false */
			json_object_set_new(svc, key, json_true());
		return 0;
	}
	if (strcmp(key, "security_opt"))
		return caps(v, path, svc, err);
	json_t *list = cget_string_list(v, path, false, err);
	if (!list)
		return -1;
	json_object_set_new(svc, key, list);
	json_t *profiles = json_object();
	json_object_set_new(svc, COMPOSE_SECCOMP_PROFILES, profiles);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		char sub[COMPOSE_PATH_MAX + 24];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (security_opt(v->vals[i], sub, json_string_value(e), ctx, profiles, err) < 0)
			return -1;
	}
	if (!json_object_size(profiles))
		json_object_del(svc, COMPOSE_SECCOMP_PROFILES);
	return 0;
}
