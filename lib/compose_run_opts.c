/* A service's run options that reach the container's process, mounts and cgroups: shm_size,
 * ulimits, tmpfs, oom_score_adj, cpu_shares, memswap_limit, checked as the daemon would. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "berth/run_opts.h"
#include "compose_internal.h"

/* nofile: 1024, or nofile: {soft: 1024, hard: 2048} (both, as compose's schema requires). */
static int ulimits(const struct cnode *v, const char *path, json_t *svc, struct berth_error *err)
{
	if (cget_kind(v, CNODE_MAP, path, err) < 0)
		return -1;
	json_t *out = json_object();
	json_object_set_new(svc, "ulimits", out);
	for (size_t i = 0; i < v->n; i++) {
		const char *name = v->keys[i]->value;
		const struct cnode *val = v->vals[i];
		char sub[COMPOSE_PATH_MAX], sub2[COMPOSE_PATH_MAX + 8];
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		if (berth_ulimit_resource(name) < 0)
			return cnode_err(err, v->keys[i], sub, "invalid ulimit type: %s", name);
		long long soft, hard;
		if (val->kind == CNODE_SCALAR) {
			if (cget_int(val, sub, -1, LLONG_MAX, &soft, err) < 0)
				return -1;
			hard = soft;
		} else {
			if (cget_kind(val, CNODE_MAP, sub, err) < 0 ||
			    compose_check_keys(val, COMPOSE_SEC_ULIMIT, sub, err) < 0)
				return -1;
			const struct cnode *s = cnode_get(val, "soft"), *h = cnode_get(val, "hard");
			if (!s || !h)
				return cnode_err(err, val, sub, "needs both soft and hard");
			snprintf(sub2, sizeof(sub2), "%s.soft", sub);
			if (cget_int(s, sub2, -1, LLONG_MAX, &soft, err) < 0)
				return -1;
			snprintf(sub2, sizeof(sub2), "%s.hard", sub);
			if (cget_int(h, sub2, -1, LLONG_MAX, &hard, err) < 0)
				return -1;
		}
		if (hard != -1 && (soft == -1 || soft > hard))
			return cnode_err(err, val, sub,
					 "ulimit soft limit must be less than or equal to hard "
					 "limit: %lld > %lld",
					 soft, hard);
		json_object_set_new(
		    out, name,
		    json_pack("{s:I, s:I}", "soft", (json_int_t)soft, "hard", (json_int_t)hard));
	}
	return 0;
}

/* "/run:size=64m" or a list of them, each checked as the daemon checks HostConfig.Tmpfs. */
static int tmpfs(const struct cnode *v, const char *path, json_t *svc, struct berth_error *err)
{
	json_t *list = cget_string_list(v, path, true, err);
	if (!list)
		return -1;
	json_object_set_new(svc, "tmpfs", list);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		char target[COMPOSE_PATH_MAX];
		const char *s = json_string_value(e), *colon = strchr(s, ':');
		snprintf(target, sizeof(target), "%.*s", (int)(colon ? colon - s : (long)strlen(s)),
			 s);
		struct berth_tmpfs_opts o;
		struct berth_error e2 = {0};
		if (berth_tmpfs_check_target(target, &e2) < 0 ||
		    berth_tmpfs_parse(colon ? colon + 1 : "", &o, &e2) < 0)
			return cnode_err(err, v->kind == CNODE_SEQ ? v->vals[i] : v, path, "%s",
					 e2.msg);
	}
	return 0;
}

int compose_run_option(const struct cnode *v, const char *path, json_t *svc,
		       const struct compose_ctx *ctx, struct berth_error *err)
{
	(void)ctx;
	const char *key = strrchr(path, '.') + 1;
	int64_t bytes;
	long long n;
	if (cnode_is_null(v))
		return 0;
	if (!strcmp(key, "ulimits"))
		return ulimits(v, path, svc, err);
	if (!strcmp(key, "tmpfs"))
		return tmpfs(v, path, svc, err);
	if (!strcmp(key, "shm_size")) {
		if (cget_bytes(v, path, &bytes, err) < 0)
			return -1;
		json_object_set_new(svc, key, json_integer(bytes));
	} else if (!strcmp(key, "memswap_limit")) {
		/* -1: unlimited swap */
		if (v->kind == CNODE_SCALAR && !strcmp(v->value, "-1"))
			bytes = -1;
		else if (cget_bytes(v, path, &bytes, err) < 0)
			return -1;
		json_object_set_new(svc, key, json_integer(bytes));
	} else if (!strcmp(key, "oom_score_adj")) {
		if (cget_int(v, path, -1000, 1000, &n, err) < 0)
			return -1;
		json_object_set_new(svc, key, json_integer(n));
	} else if (!strcmp(key, "cpu_shares")) {
		if (cget_int(v, path, 0, LLONG_MAX, &n, err) < 0)
			return -1;
		json_object_set_new(svc, key, json_integer(n));
	}
	return 0;
}
