/* runtime.json, read once into struct shim_spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shim.h"

const char **shim_strv_from_json(json_t *arr)
{
	size_t n = json_array_size(arr), i, k = 0;
	const char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		abort();
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (json_is_string(e))
			v[k++] = json_string_value(e);
	}
	return v;
}

static bool strv_has(json_t *arr, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		const char *s = json_string_value(e);
		if (s && (!strcasecmp(s, name) ||
			  (!strncasecmp(s, "CAP_", 4) && !strcasecmp(s + 4, name))))
			return true;
	}
	return false;
}

/* Docker's rules: add ALL = every capability minus the drops; drop ALL = only the adds. */
int shim_caps_from_spec(json_t *cap_add, json_t *cap_drop, uint64_t *caps,
			struct shim_child_error *cerr)
{
	uint64_t c = shim_caps_default(), m;
	size_t i;
	json_t *e;
	json_array_foreach(cap_add, i, e)
	{
		if (!json_is_string(e) || shim_cap_from_name(json_string_value(e), &m) < 0)
			return shim_child_fail(cerr, 125, 0, "unknown capability: \"%s\"",
					       json_is_string(e) ? json_string_value(e) : "?");
	}
	json_array_foreach(cap_drop, i, e)
	{
		if (!json_is_string(e) || shim_cap_from_name(json_string_value(e), &m) < 0)
			return shim_child_fail(cerr, 125, 0, "unknown capability: \"%s\"",
					       json_is_string(e) ? json_string_value(e) : "?");
	}
	if (strv_has(cap_add, "ALL"))
		c = ~0ULL;
	else if (strv_has(cap_drop, "ALL"))
		c = 0;
	json_array_foreach(cap_drop, i, e)
	{
		if (shim_cap_from_name(json_string_value(e), &m) == 0 && m != ~0ULL)
			c &= ~m;
	}
	json_array_foreach(cap_add, i, e)
	{
		if (shim_cap_from_name(json_string_value(e), &m) == 0 && m != ~0ULL)
			c |= m;
	}
	*caps = c;
	return 0;
}

static const char *str_or(json_t *j, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : dflt;
}

static int64_t int_or(json_t *j, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(j, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return dflt;
}

const char **shim_env_defaults(const char *const *env, const char *const *defaults)
{
	size_t n = 0, d = 0;
	while (env[n])
		n++;
	while (defaults[d])
		d++;
	const char **out = calloc(n + d + 1, sizeof(*out));
	if (!out)
		return NULL;
	memcpy(out, env, n * sizeof(*out));
	size_t k = n;
	for (size_t i = 0; i < d; i++) {
		size_t key = strcspn(defaults[i], "=") + 1; /* with the '=' */
		bool set = false;
		for (size_t j = 0; j < n && !set; j++)
			set = !strncmp(env[j], defaults[i], key);
		if (!set)
			out[k++] = defaults[i];
	}
	return out;
}

/* env with PATH and HOSTNAME added when missing, as Docker's daemon does. */
static const char **env_defaults(json_t *arr, const char *hostname)
{
	static char host[300];
	snprintf(host, sizeof(host), "HOSTNAME=%s", hostname);
	const char *defaults[] = {"PATH=" SHIM_DEFAULT_PATH, host, NULL};
	const char **v = shim_strv_from_json(arr);
	const char **out = shim_env_defaults(v, defaults);
	if (!out)
		abort();
	free(v);
	return out;
}

static size_t path_depth(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		if (*p != '/' && (p[-1] == '/'))
			n++;
	return n;
}

/* Parents before children, as Docker sorts mounts (by the number of path components); stable,
 * so that equal depths keep their order. */
static void sort_mounts(struct shim_mount *m, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct shim_mount t = m[i];
		size_t j = i, d = path_depth(t.target);
		for (; j > 0 && path_depth(m[j - 1].target) > d; j--)
			m[j] = m[j - 1];
		m[j] = t;
	}
}

int shim_spec_load(const char *dir, const char *run_dir, struct shim_spec *s,
		   struct shim_child_error *cerr)
{
	char path[4096];
	json_error_t jerr;
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->run_dir = run_dir;
	json_t *j = s->json = json_load_file(path, 0, &jerr);
	if (!j)
		return shim_child_fail(cerr, 125, 0, "read %s: %s", path, jerr.text);
	s->id = str_or(j, "id", NULL);
	if (!s->id || strlen(s->id) < 12 || strchr(s->id, '/'))
		return shim_child_fail(cerr, 125, 0, "%s: no valid \"id\"", path);
	json_t *args = json_object_get(j, "args");
	if (json_array_size(args) == 0 || !json_is_string(json_array_get(args, 0)))
		return shim_child_fail(cerr, 125, 0, "no command specified");
	s->args = shim_strv_from_json(args);
	s->layers = shim_strv_from_json(json_object_get(j, "layers"));
	if (!s->layers[0])
		return shim_child_fail(cerr, 125, 0, "%s: no \"layers\"", path);
	static char hostname[65];
	snprintf(hostname, sizeof(hostname), "%s", str_or(j, "hostname", ""));
	/* no hostname, or the whole ID: the short ID, as Docker */
	if (!hostname[0] || !strcmp(hostname, s->id))
		snprintf(hostname, sizeof(hostname), "%.12s", s->id);
	s->hostname = hostname;
	s->env = env_defaults(json_object_get(j, "env"), hostname);
	s->cwd = str_or(j, "cwd", "/");
	s->user = str_or(j, "user", "");
	s->tty = json_is_true(json_object_get(j, "tty"));
	json_t *size = json_object_get(j, "console_size");
	s->rows = (unsigned short)json_integer_value(json_array_get(size, 0));
	s->cols = (unsigned short)json_integer_value(json_array_get(size, 1));
	s->stdin_open = json_is_true(json_object_get(j, "stdin"));
	s->init = json_is_true(json_object_get(j, "init"));
	s->readonly_rootfs = json_is_true(json_object_get(j, "readonly_rootfs"));
	json_t *mounts = json_object_get(j, "mounts"), *m;
	json_t *tmpfs = json_object_get(j, "tmpfs");
	size_t i;
	s->mounts =
	    calloc(json_array_size(mounts) + json_array_size(tmpfs) + 1, sizeof(*s->mounts));
	json_array_foreach(mounts, i, m)
	{
		const char *src = str_or(m, "source", NULL), *dst = str_or(m, "target", NULL);
		if (!src || !dst || dst[0] != '/')
			return shim_child_fail(cerr, 125, 0,
					       "invalid mount %zu: need absolute "
					       "\"source\" and \"target\"",
					       i);
		s->mounts[s->n_mounts++] = (struct shim_mount){
		    src, dst, json_is_true(json_object_get(m, "readonly")), NULL};
	}
	json_array_foreach(tmpfs, i, m)
	{
		const char *dst = str_or(m, "target", NULL);
		if (!dst || dst[0] != '/')
			return shim_child_fail(cerr, 125, 0, "invalid tmpfs mount %zu", i);
		s->mounts[s->n_mounts++] =
		    (struct shim_mount){"tmpfs", dst, false, str_or(m, "options", "")};
	}
	sort_mounts(s->mounts, s->n_mounts);
	s->memory = int_or(j, "memory", 0);
	s->nano_cpus = int_or(j, "nano_cpus", 0);
	s->pids_limit = int_or(j, "pids_limit", 0);
	s->memory_swap = int_or(j, "memory_swap", 0);
	s->memory_reservation = int_or(j, "memory_reservation", 0);
	s->cpu_shares = int_or(j, "cpu_shares", 0);
	s->blkio_weight = int_or(j, "blkio_weight", 0);
	s->kernel_memory = int_or(j, "kernel_memory", 0);
	s->memory_swappiness = int_or(j, "memory_swappiness", -1);
	s->oom_kill_disable = json_is_true(json_object_get(j, "oom_kill_disable"));
	s->shm_size = int_or(j, "shm_size", 0);
	if (s->shm_size <= 0)
		s->shm_size = 64LL * 1024 * 1024;
	s->oom_score_adj = (int)int_or(j, "oom_score_adj", 0);
	s->ulimits =
	    json_is_array(json_object_get(j, "ulimits")) ? json_object_get(j, "ulimits") : NULL;
	s->cpuset_cpus = str_or(j, "cpuset_cpus", NULL);
	s->cpuset_mems = str_or(j, "cpuset_mems", NULL);
	s->privileged = json_is_true(json_object_get(j, "privileged"));
	s->no_new_privs = json_is_true(json_object_get(j, "no_new_privileges"));
	s->seccomp = str_or(j, "seccomp", NULL);
	s->masked_paths = json_is_array(json_object_get(j, "masked_paths"))
			      ? json_object_get(j, "masked_paths")
			      : NULL;
	s->readonly_paths = json_is_array(json_object_get(j, "readonly_paths"))
				? json_object_get(j, "readonly_paths")
				: NULL;
	if (s->privileged)
		s->caps = ~0ULL;
	else if (shim_caps_from_spec(json_object_get(j, "cap_add"), json_object_get(j, "cap_drop"),
				     &s->caps, cerr) < 0)
		return -1;
	s->log_path = str_or(j, "log_path", NULL);
	/* 0 or absent: the default, 10 MB x 3; negative: never rotate */
	s->log_max_size = int_or(j, "log_max_size", 0);
	s->log_max_file = (int)int_or(j, "log_max_file", 3);
	if (s->log_max_size == 0) {
		s->log_max_size = 10 * 1024 * 1024;
		s->log_max_file = 3;
	}
	s->cgroup_parent = str_or(j, "cgroup_parent", "berth");
	const char *mode = str_or(j, "network_mode", "");
	s->host_network = !strcmp(mode, "host");
	s->netns = s->host_network ? NULL : str_or(j, "netns", NULL);
	if (s->netns && !*s->netns)
		s->netns = NULL;
	return 0;
}
