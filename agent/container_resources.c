/* Run options that reach the container's process and cgroups (shm size, ulimits, tmpfs, OOM
 * score, shares, swap, reservation, blkio weight, kernel memory) as Docker's daemon adapts and
 * verifies them at create, and their part of the runtime spec. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth/run_opts.h"
#include "container.h"
#include "volumes.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define DEFAULT_SHM_SIZE (64LL * 1024 * 1024)

/* What this host's cgroups can limit: Docker's sysinfo. */
struct host_cgroups {
	bool swap, reservation, oom_kill_disable, cpu_shares, blkio_weight, kernel_memory,
	    swappiness;
};

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool v2_has(const char *controller)
{
	char buf[512];
	FILE *f = fopen(CGROUP_ROOT "/cgroup.controllers", "re");
	if (!f)
		return false;
	bool found = false;
	if (fgets(buf, sizeof(buf), f))
		for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t && !found;
		     t = strtok_r(NULL, " \n", &save))
			found = !strcmp(t, controller);
	fclose(f);
	return found;
}

/* kmem.limit_in_bytes is deprecated since 5.4 and refused from 6.x: Docker reports it
 * unsupported there. */
static bool kernel_before_6(void)
{
	struct utsname u;
	return uname(&u) == 0 && atoi(u.release) < 6;
}

static void host_cgroups_probe(struct host_cgroups *h)
{
	memset(h, 0, sizeof(*h));
	if (exists(CGROUP_ROOT "/cgroup.controllers")) {
		bool mem = v2_has("memory");
		h->swap = h->reservation = mem;
		h->cpu_shares = v2_has("cpu");
		h->blkio_weight = v2_has("io");
		return;
	}
	h->swap = exists(CGROUP_ROOT "/memory/memory.memsw.limit_in_bytes");
	h->reservation = exists(CGROUP_ROOT "/memory/memory.soft_limit_in_bytes");
	h->oom_kill_disable = exists(CGROUP_ROOT "/memory/memory.oom_control");
	h->swappiness = exists(CGROUP_ROOT "/memory/memory.swappiness");
	h->cpu_shares = exists(CGROUP_ROOT "/cpu/cpu.shares");
	h->blkio_weight = exists(CGROUP_ROOT "/blkio/blkio.weight") ||
			  exists(CGROUP_ROOT "/blkio/blkio.bfq.weight");
	h->kernel_memory =
	    kernel_before_6() && exists(CGROUP_ROOT "/memory/memory.kmem.limit_in_bytes");
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void warn(json_t *warnings, const char *msg)
{
	if (warnings)
		json_array_append_new(warnings, json_string(msg));
}

/* "/run/" and "/run" are one mount point. */
static bool same_path(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && !strncmp(a, b, la);
}

static int check_tmpfs(const json_t *host, struct berth_error *err)
{
	const char *target;
	json_t *opts;
	json_object_foreach((json_t *)json_object_get(host, "Tmpfs"), target, opts)
	{
		struct berth_tmpfs_opts o;
		if (berth_tmpfs_check_target(target, err) < 0 ||
		    berth_tmpfs_parse(json_string_value(opts), &o, err) < 0)
			return -1;
		/* Docker's registerMountPoints: a bind and a tmpfs on one target */
		size_t i;
		json_t *b;
		json_array_foreach(json_object_get(host, "Binds"), i, b)
		{
			char source[4096], dest[4096];
			bool ro;
			struct berth_error ignored = {0};
			if (json_is_string(b) &&
			    volumes_parse_bind(json_string_value(b), source, sizeof(source), dest,
					       sizeof(dest), &ro, &ignored) == 0 &&
			    same_path(dest, target))
				return berth_err(err, 400, "Duplicate mount point: %s", dest);
		}
	}
	return 0;
}

int container_resources_adapt(json_t *host, json_t *warnings, struct berth_error *err)
{
	if (check_tmpfs(host, err) < 0)
		return -1;
	struct host_cgroups h;
	host_cgroups_probe(&h);
	json_int_t memory = num(host, "Memory");
	if (num(host, "MemoryReservation") > 0 && !h.reservation) {
		warn(warnings, "Your kernel does not support memory soft limit capabilities or the "
			       "cgroup is not mounted. Limitation discarded.");
		json_object_set_new(host, "MemoryReservation", json_integer(0));
	}
	if (memory > 0 && num(host, "MemorySwap") != -1 && !h.swap) {
		warn(warnings, "Your kernel does not support swap limit capabilities or the cgroup "
			       "is not mounted. Memory limited without swap.");
		json_object_set_new(host, "MemorySwap", json_integer(-1));
	}
	json_t *swappiness = json_object_get(host, "MemorySwappiness");
	if (json_is_integer(swappiness) && json_integer_value(swappiness) != -1 && !h.swappiness) {
		warn(warnings, "Your kernel does not support memory swappiness capabilities or the "
			       "cgroup is not mounted. Memory swappiness discarded.");
		json_object_set_new(host, "MemorySwappiness", json_null());
	}
	if (num(host, "KernelMemory") != 0 && !h.kernel_memory) {
		warn(warnings, "Your kernel does not support kernel memory limit capabilities or "
			       "the cgroup is not mounted. Limitation discarded.");
		json_object_set_new(host, "KernelMemory", json_integer(0));
	}
	if (json_is_true(json_object_get(host, "OomKillDisable"))) {
		if (!h.oom_kill_disable) {
			warn(warnings, "Your kernel does not support OomKillDisable. "
				       "OomKillDisable discarded.");
			json_object_set_new(host, "OomKillDisable", json_false());
		} else if (memory == 0) {
			warn(warnings,
			     "OOM killer is disabled for the container, but no memory limit "
			     "is set, this can result in the system running out of "
			     "resources.");
		}
	}
	if (num(host, "CpuShares") > 0 && !h.cpu_shares) {
		warn(warnings, "Your kernel does not support CPU shares or the cgroup is not "
			       "mounted. Shares discarded.");
		json_object_set_new(host, "CpuShares", json_integer(0));
	}
	if (num(host, "BlkioWeight") > 0 && !h.blkio_weight) {
		warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is not "
			       "mounted. Weight discarded.");
		json_object_set_new(host, "BlkioWeight", json_integer(0));
	}
	/* adaptContainerSettings: swap as much as memory, and a 64 MB /dev/shm */
	if (memory > 0 && num(host, "MemorySwap") == 0)
		json_object_set_new(host, "MemorySwap",
				    json_integer(memory > LLONG_MAX / 2 ? -1 : memory * 2));
	if (num(host, "ShmSize") == 0)
		json_object_set_new(host, "ShmSize", json_integer(DEFAULT_SHM_SIZE));
	return 0;
}

void container_resources_spec(const json_t *host, json_t *spec)
{
	json_int_t shm = num(host, "ShmSize");
	json_object_set_new(spec, "shm_size", json_integer(shm > 0 ? shm : DEFAULT_SHM_SIZE));
	json_t *ulimits = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(host, "Ulimits"), i, u)
	{
		const char *name = json_string_value(json_object_get(u, "Name"));
		int resource = berth_ulimit_resource(name);
		if (resource >= 0)
			json_array_append_new(ulimits,
					      json_pack("{s:s, s:i, s:I, s:I}", "name", name,
							"resource", resource, "soft",
							num(u, "Soft"), "hard", num(u, "Hard")));
	}
	json_object_set_new(spec, "ulimits", ulimits);
	json_t *tmpfs = json_array();
	const char *target;
	json_object_foreach((json_t *)json_object_get(host, "Tmpfs"), target, u)
	{
		const char *opts = json_string_value(u);
		json_array_append_new(
		    tmpfs, json_pack("{s:s, s:s}", "target", target, "options", opts ? opts : ""));
	}
	json_object_set_new(spec, "tmpfs", tmpfs);
	static const char *const keys[][2] = {
	    {"OomScoreAdj", "oom_score_adj"}, {"CpuShares", "cpu_shares"},
	    {"MemorySwap", "memory_swap"},    {"MemoryReservation", "memory_reservation"},
	    {"BlkioWeight", "blkio_weight"},  {"KernelMemory", "kernel_memory"},
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		json_object_set_new(spec, keys[k][1], json_integer(num(host, keys[k][0])));
	/* -1 or unset: the kernel's (the parent's) */
	json_t *swappiness = json_object_get(host, "MemorySwappiness");
	json_object_set_new(
	    spec, "memory_swappiness",
	    json_integer(json_is_integer(swappiness) ? json_integer_value(swappiness) : -1));
	json_object_set_new(spec, "oom_kill_disable",
			    json_boolean(json_is_true(json_object_get(host, "OomKillDisable"))));
}
