/* The runtime spec (see runtime.h) a container's shim is started with, from config.json. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/duration.h"
#include "agent.h"
#include "container.h"
#include "image_store.h"

/* Replace the variable's entry if the key is there, else append: Docker's ReplaceOrAppend. */
static void env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t i, klen = eq ? (size_t)(eq - kv) : strlen(kv);
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, kv, klen) == 0 && (s[klen] == '=' || s[klen] == '\0')) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

json_t *container_env(struct container *c, bool tty, const json_t *extra)
{
	json_t *config = json_object_get(c->config, "Config");
	const char *hostname = json_string_value(json_object_get(config, "Hostname"));
	char hn[300];
	snprintf(hn, sizeof(hn), "HOSTNAME=%.12s", c->id);
	if (hostname && *hostname)
		snprintf(hn, sizeof(hn), "HOSTNAME=%.280s", hostname);
	json_t *env = json_array();
	json_array_append_new(
	    env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	json_array_append_new(env, json_string(hn));
	if (tty)
		json_array_append_new(env, json_string("TERM=xterm"));
	const json_t *lists[] = {json_object_get(config, "Env"), extra};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *e;
		json_array_foreach(lists[l], i, e)
		{
			if (json_is_string(e))
				env_set(env, json_string_value(e));
		}
	}
	return env;
}

static json_t *string_array_or_empty(json_t *a)
{
	return json_is_array(a) ? json_deep_copy(a) : json_array();
}

json_t *container_console_size(const json_t *size)
{
	json_int_t rows = json_integer_value(json_array_get(size, 0));
	json_int_t cols = json_integer_value(json_array_get(size, 1));
	if (rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535)
		return NULL;
	return json_pack("[I, I]", rows, cols);
}

/* CpuQuota/CpuPeriod as NanoCpus without overflow (a config saved before the create checks
 * may hold any int64): more CPUs than the host has is no limit at all. */
static json_int_t quota_to_nano_cpus(json_int_t quota, json_int_t period)
{
	if (period <= 0)
		period = 100000;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	__int128 nano = (__int128)quota * 1000000000 / period;
	__int128 all = (__int128)(ncpu > 0 ? ncpu : 1) * 1000000000;
	return nano >= all ? 0 : (json_int_t)nano;
}

json_t *container_runtime_spec(struct container *c, const struct image_info *image,
			       struct berth_error *err)
{
	struct agent *agent = c->store->agent;
	json_t *config = json_object_get(c->config, "Config");
	json_t *host = json_object_get(c->config, "HostConfig");
	char dir[4200];
	container_dir(c, dir, sizeof(dir));

	json_t *args = json_array();
	json_t *path = json_object_get(c->config, "Path");
	if (!json_is_string(path)) {
		json_decref(args);
		berth_err(err, 500, "container %.12s has no command", c->id);
		return NULL;
	}
	json_array_append(args, path);
	json_array_extend(args, json_object_get(c->config, "Args"));

	json_t *env = container_env(c, json_is_true(json_object_get(config, "Tty")), NULL);
	const char *hostname = json_string_value(json_object_get(config, "Hostname"));

	json_t *mounts = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c->config, "Mounts"), i, m)
	{
		json_array_append_new(
		    mounts, json_pack("{s:O, s:O, s:b}", "source", json_object_get(m, "Source"),
				      "target", json_object_get(m, "Destination"), "readonly",
				      !json_is_true(json_object_get(m, "RW"))));
	}

	json_int_t nano_cpus = json_integer_value(json_object_get(host, "NanoCpus"));
	json_int_t quota = json_integer_value(json_object_get(host, "CpuQuota"));
	json_int_t period = json_integer_value(json_object_get(host, "CpuPeriod"));
	if (nano_cpus == 0 && quota > 0)
		nano_cpus = quota_to_nano_cpus(quota, period);
	if (nano_cpus < 0)
		nano_cpus = 0;
	json_int_t pids = json_integer_value(json_object_get(host, "PidsLimit"));
	/* pids.max takes no more than the kernel's PID_MAX_LIMIT (2^22): a bigger limit cannot
	 * bind, and writing it would fail the start */
	if (pids > 4194304)
		pids = 0;

	json_t *log_opts = json_object_get(json_object_get(host, "LogConfig"), "Config");
	const char *max_size = json_string_value(json_object_get(log_opts, "max-size"));
	const char *max_file = json_string_value(json_object_get(log_opts, "max-file"));
	int64_t log_max = max_size ? berth_parse_bytes(max_size) : 10 * 1000 * 1000;
	int log_files = max_file ? atoi(max_file) : 3;

	const char *stop = json_string_value(json_object_get(config, "StopSignal"));
	int stop_signal = stop ? container_parse_signal(stop) : SIGTERM;

	const char *netmode = json_string_value(json_object_get(host, "NetworkMode"));
	if (!netmode || strcmp(netmode, "default") == 0)
		netmode = "bridge";

	const char *wd = json_string_value(json_object_get(config, "WorkingDir"));
	const char *user = json_string_value(json_object_get(config, "User"));
	json_t *layers = json_array();
	for (size_t l = 0; l < image->n_layers; l++)
		json_array_append_new(layers, json_string(image->layers[l]));

	json_t *spec = json_pack(
	    "{s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:o, s:I, s:I, s:I, "
	    "s:o, s:o, s:O, s:I, s:i, s:s, s:s, s:i}",
	    "id", c->id, "layers", layers, "args", args, "env", env, "cwd", wd && *wd ? wd : "/",
	    "user", user ? user : "", "hostname", hostname && *hostname ? hostname : c->id, "tty",
	    json_is_true(json_object_get(config, "Tty")), "stdin",
	    json_is_true(json_object_get(config, "OpenStdin")), "init",
	    json_is_true(json_object_get(host, "Init")), "readonly_rootfs",
	    json_is_true(json_object_get(host, "ReadonlyRootfs")), "mounts", mounts, "memory",
	    json_integer_value(json_object_get(host, "Memory")), "nano_cpus", nano_cpus,
	    "pids_limit", pids > 0 ? pids : 0, "cap_add",
	    string_array_or_empty(json_object_get(host, "CapAdd")), "cap_drop",
	    string_array_or_empty(json_object_get(host, "CapDrop")), "log_path",
	    json_object_get(c->config, "LogPath"), "log_max_size",
	    (json_int_t)(log_max > 0 ? log_max : 0), "log_max_file", log_files > 0 ? log_files : 1,
	    "cgroup_parent", agent->cgroup_parent, "network_mode", netmode, "stop_signal",
	    stop_signal > 0 ? stop_signal : SIGTERM);
	if (!spec) {
		berth_err(err, 500, "container %.12s: cannot build the runtime spec", c->id);
		return NULL;
	}
	container_net_spec(c, spec);
	container_security_spec(host, agent->run, spec);
	container_resources_spec(host, spec);
	static const char *const cpusets[][2] = {{"CpusetCpus", "cpuset_cpus"},
						 {"CpusetMems", "cpuset_mems"}};
	for (int k = 0; k < 2; k++) {
		const char *v = json_string_value(json_object_get(host, cpusets[k][0]));
		if (v && *v)
			json_object_set_new(spec, cpusets[k][1], json_string(v));
	}
	json_t *size = container_console_size(json_object_get(host, "ConsoleSize"));
	if (size)
		json_object_set_new(spec, "console_size", size);
	return spec;
}
