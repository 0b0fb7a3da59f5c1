/* HostConfig.CpusetCpus and CpusetMems: what the host has, and Docker's checks at create. */
#include <stdio.h>
#include <string.h>

#include "berth/cpuset.h"
#include "container.h"

/* The first of paths that can be read, trimmed, into buf; else fallback. */
static void read_first(const char *const *paths, const char *fallback, char *buf, size_t size)
{
	for (; *paths; paths++) {
		FILE *f = fopen(*paths, "re");
		if (!f)
			continue;
		bool ok = fgets(buf, (int)size, f) != NULL;
		fclose(f);
		buf[ok ? strcspn(buf, "\n") : 0] = '\0';
		if (buf[0])
			return;
	}
	snprintf(buf, size, "%s", fallback);
}

/* What containers may be given: the root cpuset (v1), the root's effective set (v2), else the
 * CPUs and nodes online. Docker reads the same files (sysinfo). */
static void host_cpuset(bool mems, char *buf, size_t size)
{
	static const char *const cpus[] = {"/sys/fs/cgroup/cpuset/cpuset.cpus",
					   "/sys/fs/cgroup/cpuset.cpus.effective",
					   "/sys/devices/system/cpu/online", NULL};
	static const char *const nodes[] = {"/sys/fs/cgroup/cpuset/cpuset.mems",
					    "/sys/fs/cgroup/cpuset.mems.effective",
					    "/sys/devices/system/node/online", NULL};
	read_first(mems ? nodes : cpus, "0", buf, size);
}

static int check_one(const json_t *host, const char *key, bool mems, struct berth_error *err)
{
	json_t *v = json_object_get(host, key);
	if (!v || json_is_null(v))
		return 0;
	const char *what = mems ? "mems" : "cpus";
	if (!json_is_string(v))
		return berth_err(err, 400, "Invalid value for cpuset %s: not a string", what);
	const char *s = json_string_value(v);
	if (!*s)
		return 0; /* unset: both CLIs always send "", and reading the host's set costs a create */
	struct berth_cpuset want, have;
	if (berth_cpuset_parse(s, &want) < 0 || strchr(s, '\n'))
		return berth_err(err, 400, "Invalid value %s for cpuset %s", s, what);
	char avail[1024];
	host_cpuset(mems, avail, sizeof(avail));
	if (berth_cpuset_parse(avail, &have) < 0)
		return 0; /* a host file we cannot read: let the kernel judge at start */
	if (!berth_cpuset_subset(&want, &have))
		return berth_err(
		    err, 400,
		    mems ? "Requested memory nodes are not available - requested %s, "
			   "available: %s"
			 : "Requested CPUs are not available - requested %s, available: %s",
		    s, avail);
	return 0;
}

int container_check_cpuset(const json_t *host, struct berth_error *err)
{
	if (check_one(host, "CpusetCpus", false, err) < 0 ||
	    check_one(host, "CpusetMems", true, err) < 0)
		return -1;
	return 0;
}
