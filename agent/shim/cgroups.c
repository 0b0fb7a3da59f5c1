/* The container's cgroups: one per v1 controller (hybrid hosts) or one on the v2 hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static const char *const v1_controllers[] = {"memory", "cpu",	  "cpuacct", "pids",
					     "cpuset", "freezer", "devices", "blkio"};

/* Docker's default device rules: nothing but the devices a container's /dev holds, plus mknod. */
static const char *const device_allow[] = {
    "c *:* m",	 "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
};

/* cpu.cfs_quota_us for a 100 ms period: the kernel takes no less than 1 ms. */
static long long shim_cfs_quota(int64_t nano_cpus)
{
	long long quota = (long long)(nano_cpus / 10000);
	return quota < 1000 ? 1000 : quota;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

static ssize_t read_file(const char *dir, const char *name, char *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static bool is_v2(void)
{
	return access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0;
}

void shim_cgroups_for(const char *cgroup_parent, const char *id, struct shim_cgroups *cg)
{
	memset(cg, 0, sizeof(*cg));
	const char *parent = cgroup_parent && *cgroup_parent ? cgroup_parent : "berth";
	cg->v2 = is_v2();
	if (cg->v2) {
		snprintf(cg->path[0], sizeof(cg->path[0]), CGROUP_ROOT "/%s/%s", parent, id);
		snprintf(cg->memory, sizeof(cg->memory), "%s", cg->path[0]);
		cg->n = 1;
		return;
	}
	for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
		char root[128];
		snprintf(root, sizeof(root), CGROUP_ROOT "/%s/cgroup.procs", v1_controllers[i]);
		if (access(root, F_OK) != 0)
			continue;
		snprintf(cg->path[cg->n], sizeof(cg->path[0]), CGROUP_ROOT "/%s/%s/%s",
			 v1_controllers[i], parent, id);
		if (!strcmp(v1_controllers[i], "memory"))
			snprintf(cg->memory, sizeof(cg->memory), "%s", cg->path[cg->n]);
		cg->n++;
	}
}

/* cpuset cgroups start empty: copy cpus and mems from the parent, or no task may join. */
static void cpuset_inherit(const char *dir)
{
	char parent[256], buf[256];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = '\0';
	const char *files[] = {"cpuset.cpus", "cpuset.mems"};
	for (int i = 0; i < 2; i++) {
		if (read_file(dir, files[i], buf, sizeof(buf)) > 1)
			continue;
		if (read_file(parent, files[i], buf, sizeof(buf)) <= 1)
			cpuset_inherit(parent), read_file(parent, files[i], buf, sizeof(buf));
		write_file(dir, files[i], buf);
	}
}

static int mkdir_parent_and_self(const char *dir, bool cpuset)
{
	char parent[256];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	if (mkdir(parent, 0755) == 0 && cpuset)
		cpuset_inherit(parent);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (cpuset)
		cpuset_inherit(dir);
	return 0;
}

static int device_rules(const char *dir, struct shim_child_error *cerr)
{
	if (write_file(dir, "devices.deny", "a") < 0)
		return shim_child_fail(cerr, 125, errno, "set device rules");
	for (size_t i = 0; i < sizeof(device_allow) / sizeof(device_allow[0]); i++)
		write_file(dir, "devices.allow", device_allow[i]);
	return 0;
}

/* The requested cpus and mems (cpuset.cpus/.mems on v1 and v2 alike). Written on a cgroup that
 * already holds the init (a pool zygote's child), the kernel re-pins it at once. */
static int cpuset_limits(const struct shim_spec *spec, const char *dir,
			 struct shim_child_error *cerr)
{
	if (spec->cpuset_cpus && *spec->cpuset_cpus &&
	    write_file(dir, "cpuset.cpus", spec->cpuset_cpus) < 0)
		return shim_child_fail(cerr, 125, errno, "set cpuset cpus %s", spec->cpuset_cpus);
	if (spec->cpuset_mems && *spec->cpuset_mems &&
	    write_file(dir, "cpuset.mems", spec->cpuset_mems) < 0)
		return shim_child_fail(cerr, 125, errno, "set cpuset mems %s", spec->cpuset_mems);
	return 0;
}

static bool has_cpuset(const struct shim_spec *spec)
{
	return (spec->cpuset_cpus && *spec->cpuset_cpus) ||
	       (spec->cpuset_mems && *spec->cpuset_mems);
}

/* value into dir/name; what (if not NULL) names it in the error. */
static int write_int(const char *dir, const char *name, long long value, const char *what,
		     struct shim_child_error *cerr)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", value);
	if (write_file(dir, name, v) == 0)
		return 0;
	return what ? shim_child_fail(cerr, 125, errno, "set %s %s", what, v) : -1;
}

/* Memory, then memory+swap (the kernel wants memsw >= memory at every step), the soft limit,
 * the OOM killer switch and kernel memory. */
static int memory_v1(const struct shim_spec *spec, const char *dir, struct shim_child_error *cerr)
{
	if (spec->memory > 0 &&
	    write_int(dir, "memory.limit_in_bytes", spec->memory, "memory limit", cerr) < 0)
		return -1;
	/* absent without swap accounting (the agent then discards it with a warning) */
	if (spec->memory > 0 && spec->memory_swap > 0 &&
	    write_int(dir, "memory.memsw.limit_in_bytes", spec->memory_swap, NULL, cerr) < 0 &&
	    errno != ENOENT)
		return shim_child_fail(cerr, 125, errno, "set memory+swap limit %lld",
				       (long long)spec->memory_swap);
	if (spec->memory_reservation > 0 &&
	    write_int(dir, "memory.soft_limit_in_bytes", spec->memory_reservation,
		      "memory reservation", cerr) < 0)
		return -1;
	if (spec->memory_swappiness >= 0 && spec->memory_swappiness <= 100 &&
	    write_int(dir, "memory.swappiness", spec->memory_swappiness, "memory swappiness",
		      cerr) < 0)
		return -1;
	if (spec->oom_kill_disable && write_file(dir, "memory.oom_control", "1") < 0)
		return shim_child_fail(cerr, 125, errno, "disable the OOM killer");
	if (spec->kernel_memory > 0 &&
	    write_int(dir, "memory.kmem.limit_in_bytes", spec->kernel_memory, "kernel memory limit",
		      cerr) < 0)
		return -1;
	return 0;
}

/* devices: false when the pool has already written the (fixed) device rules. */
static int limits_v1(const struct shim_spec *spec, const char *dir, bool devices,
		     struct shim_child_error *cerr)
{
	char v[64];
	const char *ctrl = strrchr(dir, '/');
	/* dir is .../<ctrl>/<parent>/<id>: find <ctrl> after CGROUP_ROOT */
	ctrl = dir + strlen(CGROUP_ROOT "/");
#define IS(name) (!strncmp(ctrl, name "/", strlen(name) + 1))
	if (IS("memory")) {
		return memory_v1(spec, dir, cerr);
	} else if (IS("cpu")) {
		if (spec->nano_cpus > 0) {
			snprintf(v, sizeof(v), "%lld", (long long)shim_cfs_quota(spec->nano_cpus));
			if (write_file(dir, "cpu.cfs_period_us", "100000") < 0 ||
			    write_file(dir, "cpu.cfs_quota_us", v) < 0)
				return shim_child_fail(cerr, 125, errno, "set cpu quota %s", v);
		}
		if (spec->cpu_shares > 0 &&
		    write_int(dir, "cpu.shares", spec->cpu_shares, "cpu shares", cerr) < 0)
			return -1;
	} else if (IS("blkio") && spec->blkio_weight > 0) {
		/* the CFQ weight, or BFQ's where the kernel has only that scheduler */
		if (write_int(dir, "blkio.weight", spec->blkio_weight, NULL, cerr) < 0 &&
		    write_int(dir, "blkio.bfq.weight", spec->blkio_weight, "blkio weight", cerr) <
			0)
			return -1;
	} else if (IS("pids") && spec->pids_limit > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)spec->pids_limit);
		if (write_file(dir, "pids.max", v) < 0)
			return shim_child_fail(cerr, 125, errno, "set pids limit %s", v);
	} else if (IS("cpuset")) {
		return cpuset_limits(spec, dir, cerr);
	} else if (IS("devices") && devices) {
		if (device_rules(dir, cerr) < 0)
			return -1;
	}
	/* --privileged: every device, as Docker's "a *:* rwm" */
	if (IS("devices") && spec->privileged && write_file(dir, "devices.allow", "a") < 0)
		return shim_child_fail(cerr, 125, errno, "allow all devices");
#undef IS
	return 0;
}

/* runc's conversion of cpu.shares (2..262144) to cpu.weight (1..10000), clamped for a config
 * saved before the create checks clamped the shares. */
static long long shares_to_weight(int64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int limits_v2(const struct shim_spec *spec, const char *dir, struct shim_child_error *cerr)
{
	char v[64];
	if (spec->memory > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)spec->memory);
		if (write_file(dir, "memory.max", v) < 0)
			return shim_child_fail(cerr, 125, errno, "set memory limit %s", v);
		/* runc's conversion: swap.max is memory+swap minus memory */
		if (spec->memory_swap > 0)
			snprintf(v, sizeof(v), "%lld",
				 (long long)(spec->memory_swap > spec->memory
						 ? spec->memory_swap - spec->memory
						 : 0));
		else
			snprintf(v, sizeof(v), "%s", spec->memory_swap < 0 ? "max" : "0");
		write_file(dir, "memory.swap.max", v);
	}
	if (spec->memory_reservation > 0 &&
	    write_int(dir, "memory.low", spec->memory_reservation, "memory reservation", cerr) < 0)
		return -1;
	if (spec->cpu_shares > 0 && write_int(dir, "cpu.weight", shares_to_weight(spec->cpu_shares),
					      "cpu weight", cerr) < 0)
		return -1;
	if (spec->blkio_weight > 0 &&
	    write_int(dir, "io.bfq.weight", spec->blkio_weight, NULL, cerr) < 0 &&
	    write_int(dir, "io.weight", spec->blkio_weight, "io weight", cerr) < 0)
		return -1;
	if (spec->nano_cpus > 0) {
		snprintf(v, sizeof(v), "%lld 100000", (long long)shim_cfs_quota(spec->nano_cpus));
		if (write_file(dir, "cpu.max", v) < 0)
			return shim_child_fail(cerr, 125, errno, "set cpu quota");
	}
	if (spec->pids_limit > 0) {
		snprintf(v, sizeof(v), "%lld", (long long)spec->pids_limit);
		if (write_file(dir, "pids.max", v) < 0)
			return shim_child_fail(cerr, 125, errno, "set pids limit %s", v);
	}
	return cpuset_limits(spec, dir, cerr);
}

int shim_cgroups_create(const struct shim_spec *spec, struct shim_cgroups *cg,
			struct shim_child_error *cerr)
{
	shim_cgroups_for(spec->cgroup_parent, spec->id, cg);
	if (cg->v2) {
		char parent[256];
		snprintf(parent, sizeof(parent), "%s", cg->path[0]);
		*strrchr(parent, '/') = '\0';
		mkdir(parent, 0755);
		/* Delegate the controllers down to the container's level. */
		write_file(CGROUP_ROOT, "cgroup.subtree_control", "+memory +cpu +pids");
		write_file(parent, "cgroup.subtree_control", "+memory +cpu +pids");
		/* cpuset on its own line: a host without it still gets the others. Only when
		 * asked, so that other containers keep no cpuset to inherit from. */
		if (has_cpuset(spec)) {
			write_file(CGROUP_ROOT, "cgroup.subtree_control", "+cpuset");
			write_file(parent, "cgroup.subtree_control", "+cpuset");
		}
		if (spec->blkio_weight > 0) {
			write_file(CGROUP_ROOT, "cgroup.subtree_control", "+io");
			write_file(parent, "cgroup.subtree_control", "+io");
		}
		if (mkdir(cg->path[0], 0755) < 0 && errno != EEXIST)
			return shim_child_fail(cerr, 125, errno, "create cgroup %s", cg->path[0]);
		return limits_v2(spec, cg->path[0], cerr);
	}
	for (int i = 0; i < cg->n; i++) {
		bool cpuset = strstr(cg->path[i], "/cpuset/") != NULL;
		if (mkdir_parent_and_self(cg->path[i], cpuset) < 0)
			return shim_child_fail(cerr, 125, errno, "create cgroup %s", cg->path[i]);
		if (limits_v1(spec, cg->path[i], true, cerr) < 0)
			return -1;
	}
	return 0;
}

int shim_cgroups_pool_create(const char *cgroup_parent, const char *slot, pid_t pid,
			     struct shim_cgroups *cg, struct shim_child_error *cerr)
{
	shim_cgroups_for(cgroup_parent, slot, cg);
	if (cg->v2)
		return shim_child_fail(cerr, 125, 0, "no pool on the v2 hierarchy (no rename)");
	for (int i = 0; i < cg->n; i++) {
		bool cpuset = strstr(cg->path[i], "/cpuset/") != NULL;
		if (mkdir_parent_and_self(cg->path[i], cpuset) < 0)
			return shim_child_fail(cerr, 125, errno, "create cgroup %s", cg->path[i]);
		if (!strncmp(cg->path[i], CGROUP_ROOT "/devices/",
			     strlen(CGROUP_ROOT "/devices/")) &&
		    device_rules(cg->path[i], cerr) < 0)
			return -1;
	}
	return shim_cgroups_add(cg, pid, cerr);
}

int shim_cgroups_rename(const struct shim_spec *spec, struct shim_cgroups *pool,
			struct shim_cgroups *cg, struct shim_child_error *cerr)
{
	struct shim_cgroups to;
	shim_cgroups_for(spec->cgroup_parent, spec->id, &to);
	/* Whatever is not renamed stays at its pool name, so that removing cg removes all. */
	*cg = *pool;
	pool->n = 0;
	if (to.n != cg->n || to.v2)
		return shim_child_fail(cerr, 125, 0, "the pool's cgroups do not match the host's");
	snprintf(cg->memory, sizeof(cg->memory), "%s", to.memory);
	for (int i = 0; i < cg->n; i++) {
		/* A cgroup left by an earlier run of this container (empty, or rmdir fails). */
		if (rename(cg->path[i], to.path[i]) < 0 &&
		    (rmdir(to.path[i]) < 0 || rename(cg->path[i], to.path[i]) < 0))
			return shim_child_fail(cerr, 125, errno, "rename cgroup %s to %s",
					       cg->path[i], to.path[i]);
		memcpy(cg->path[i], to.path[i], sizeof(cg->path[i]));
	}
	return 0;
}

int shim_cgroups_limits(const struct shim_spec *spec, const struct shim_cgroups *cg,
			struct shim_child_error *cerr)
{
	if (cg->v2)
		return limits_v2(spec, cg->path[0], cerr);
	for (int i = 0; i < cg->n; i++)
		if (limits_v1(spec, cg->path[i], false, cerr) < 0)
			return -1;
	return 0;
}

int shim_cgroups_add(const struct shim_cgroups *cg, pid_t pid, struct shim_child_error *cerr)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++)
		if (write_file(cg->path[i], "cgroup.procs", v) < 0)
			return shim_child_fail(cerr, 125, errno, "join cgroup %s", cg->path[i]);
	return 0;
}

bool shim_cgroups_oom_killed(const struct shim_cgroups *cg)
{
	char buf[1024];
	if (!cg->memory[0])
		return false;
	if (read_file(cg->memory, cg->v2 ? "memory.events" : "memory.oom_control", buf,
		      sizeof(buf)) <= 0)
		return false;
	const char *p = strstr(buf, "oom_kill ");
	return p && atoll(p + 9) > 0;
}

/* SIGKILL every task left; returns how many were found. */
static int kill_tasks(const char *dir)
{
	char buf[4096];
	if (read_file(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return 0;
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, "\n", &save); t;
	     t = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)atoi(t);
		if (pid > 0 && kill(pid, SIGKILL) == 0)
			n++;
	}
	return n;
}

void shim_cgroups_remove(const struct shim_cgroups *cg)
{
	for (int i = 0; i < cg->n; i++) {
		/* Tasks may take a moment to leave after the init's namespace dies: bounded wait.
		 */
		for (int tries = 0; tries < 500; tries++) {
			if (rmdir(cg->path[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			kill_tasks(cg->path[i]);
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
}
