/* Docker's masked and read-only paths (moby daemon/pkg/oci defaults, 2025), applied in the
 * container's mount namespace after pivot_root. A path that does not exist is skipped; any other
 * failure fails the start, so a container never runs with a mask missing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "shim.h"

static const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* A file is covered by /dev/null, a directory by an empty read-only tmpfs. */
static int mask_one(const char *p, struct shim_child_error *cerr)
{
	if (mount("/dev/null", p, NULL, MS_BIND, NULL) == 0 || errno == ENOENT)
		return 0;
	if (errno == ENOTDIR && mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) == 0)
		return 0;
	return shim_child_fail(cerr, 125, errno, "mask %s", p);
}

/* A read-only bind of the path on itself, keeping its nosuid/nodev/noexec. */
static int readonly_one(const char *p, struct shim_child_error *cerr)
{
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : shim_child_fail(cerr, 125, errno, "bind %s", p);
	struct statvfs sv;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	if (statvfs(p, &sv) == 0)
		flags |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
			 (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
			 (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
	if (mount(NULL, p, NULL, flags, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "remount %s read-only", p);
	return 0;
}

/* /sys/devices/system/cpu/cpuN/thermal_throttle: a side channel on the host's CPU load
 * (GHSA-6fw5-f8r9-fgfm), masked for every CPU that has one. */
static int mask_thermal(struct shim_child_error *cerr)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/devices/system/cpu");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned n;
		char rest;
		if (sscanf(e->d_name, "cpu%u%c", &n, &rest) != 1)
			continue;
		char p[128];
		snprintf(p, sizeof(p), "/sys/devices/system/cpu/cpu%u/thermal_throttle", n);
		if (access(p, F_OK) == 0 && mask_one(p, cerr) < 0)
			return -1;
	}
	return 0;
}

/* Each path of a list given in the spec (HostConfig.MaskedPaths/ReadonlyPaths). */
static int each_path(json_t *list, int (*fn)(const char *, struct shim_child_error *),
		     struct shim_child_error *cerr)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *p = json_string_value(e);
		if (p && p[0] == '/' && fn(p, cerr) < 0)
			return -1;
	}
	return 0;
}

int shim_mask_paths(const struct shim_spec *spec, struct shim_child_error *cerr)
{
	if (spec->privileged)
		return 0;
	if (spec->masked_paths) {
		if (each_path(spec->masked_paths, mask_one, cerr) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++)
			if (mask_one(masked_paths[i], cerr) < 0)
				return -1;
		if (mask_thermal(cerr) < 0)
			return -1;
	}
	if (spec->readonly_paths)
		return each_path(spec->readonly_paths, readonly_one, cerr);
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++)
		if (readonly_one(readonly_paths[i], cerr) < 0)
			return -1;
	return 0;
}
