/* --security-opt as the docker CLI sends it: seccomp=FILE becomes seccomp=<the file's compact
 * JSON> (the daemon never reads client paths), systempaths=unconfined empty MaskedPaths and
 * ReadonlyPaths; the rest goes as given, for the agent to check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "container_opts.h"

#define PROFILE_MAX (4 << 20)

/* Go's error text for a failed open: "open PATH: no such file or directory". */
static int profile_error(const char *path, int e, struct berth_error *err)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", strerror(e));
	if (msg[0] >= 'A' && msg[0] <= 'Z')
		msg[0] = (char)(msg[0] - 'A' + 'a');
	return berth_err(err, 400, "opening seccomp profile (%s) failed: open %s: %s", path, path,
			 msg);
}

static json_t *seccomp_opt(const char *path, struct berth_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return profile_error(path, errno, err), NULL;
	_cleanup_free_ char *buf = malloc(PROFILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, PROFILE_MAX + 1, f) : 0;
	if (!buf || ferror(f))
		return profile_error(path, buf ? errno : ENOMEM, err), NULL;
	if (n > PROFILE_MAX)
		return berth_err(err, 400,
				 "opening seccomp profile (%s) failed: larger than %d MiB", path,
				 PROFILE_MAX >> 20),
		       NULL;
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(buf, n, 0, &jerr);
	if (!j)
		return berth_err(err, 400, "compacting json for seccomp profile (%s) failed: %s",
				 path, jerr.text),
		       NULL;
	_cleanup_free_ char *compact = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!compact)
		return berth_err(err, 500, "out of memory"), NULL;
	size_t len = strlen(compact) + sizeof("seccomp=");
	char *opt = malloc(len);
	if (!opt)
		return berth_err(err, 500, "out of memory"), NULL;
	snprintf(opt, len, "seccomp=%s", compact);
	json_t *s = json_string(opt);
	free(opt);
	return s;
}

json_t *cli_security_opts(const struct cli_value *v, json_t *host, struct berth_error *err)
{
	if (!v->count)
		return json_null();
	json_t *l = json_array();
	for (size_t i = 0; i < v->count; i++) {
		const char *opt = v->list[i], *val = NULL;
		/* as the docker CLI: no masked or read-only paths, sent as empty lists */
		if (!strcmp(opt, "systempaths=unconfined")) {
			json_object_set_new(host, "MaskedPaths", json_array());
			json_object_set_new(host, "ReadonlyPaths", json_array());
			continue;
		}
		if (!strncmp(opt, "seccomp=", 8) || !strncmp(opt, "seccomp:", 8))
			val = opt + 8;
		if (!val || !strcmp(val, "unconfined") || !strcmp(val, "builtin")) {
			json_array_append_new(l, json_string(opt));
			continue;
		}
		json_t *s = seccomp_opt(val, err);
		if (!s) {
			json_decref(l);
			return NULL;
		}
		json_array_append_new(l, s);
	}
	return l;
}
