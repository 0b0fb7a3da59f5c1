/* Create-body fields berth type-checks but does not act on: one table, one check that refuses a
 * value other than the defaults Docker's clients send, so nothing is silently dropped. */
#include <string.h>

#include "berth/create_check.h"

/* Values of a field that mean what berth already does (NULL ends each list). */
static const char *const ipc_ok[] = {"private", "shareable", NULL};
static const char *const cgroupns_ok[] = {"private", NULL};
static const char *const userns_ok[] = {"host", NULL};
static const char *const isolation_ok[] = {"default", NULL};
static const char *const runtime_ok[] = {"runc", "berth", NULL};

#define H "HostConfig."

const struct create_unsupported create_unsupported[] = {
    {"Domainname", "--domainname", NULL},
    {"MacAddress", "--mac-address", NULL},
    {"NetworkDisabled", NULL, NULL},
    {H "Sysctls", "--sysctl", NULL},
    {H "Devices", "--device", NULL},
    {H "DeviceCgroupRules", "--device-cgroup-rule", NULL},
    {H "DeviceRequests", "--gpus", NULL},
    {H "BlkioWeightDevice", "--blkio-weight-device", NULL},
    {H "BlkioDeviceReadBps", "--device-read-bps", NULL},
    {H "BlkioDeviceWriteBps", "--device-write-bps", NULL},
    {H "BlkioDeviceReadIOps", "--device-read-iops", NULL},
    {H "BlkioDeviceWriteIOps", "--device-write-iops", NULL},
    {H "CpuRealtimePeriod", "--cpu-rt-period", NULL},
    {H "CpuRealtimeRuntime", "--cpu-rt-runtime", NULL},
    {H "CpuCount", "--cpu-count", NULL},
    {H "CpuPercent", "--cpu-percent", NULL},
    {H "IOMaximumIOps", "--io-maxiops", NULL},
    {H "IOMaximumBandwidth", "--io-maxbandwidth", NULL},
    {H "KernelMemoryTCP", NULL, NULL},
    {H "GroupAdd", "--group-add", NULL},
    {H "DnsSearch", "--dns-search", NULL},
    {H "DnsOptions", "--dns-option", NULL},
    {H "IpcMode", "--ipc", ipc_ok},
    {H "PidMode", "--pid", NULL},
    {H "UTSMode", "--uts", NULL},
    {H "UsernsMode", "--userns", userns_ok},
    {H "CgroupnsMode", "--cgroupns", cgroupns_ok},
    {H "Cgroup", NULL, NULL},
    {H "CgroupParent", "--cgroup-parent", NULL},
    {H "VolumeDriver", "--volume-driver", NULL},
    {H "VolumesFrom", "--volumes-from", NULL},
    {H "Links", "--link", NULL},
    {H "Runtime", "--runtime", runtime_ok},
    {H "Isolation", "--isolation", isolation_ok},
    {H "Annotations", "--annotation", NULL},
    {H "StorageOpt", "--storage-opt", NULL},
    {NULL, NULL, NULL},
};

/* What Docker's clients send for a field they were not asked to set: null, "", 0, false, [] or
 * {} (the docker CLI sends "IpcMode":"", "Devices":[], docker-py "Links":[]). */
static bool is_default(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	case JSON_TRUE:
		return false;
	default: /* false, null */
		return true;
	}
}

static bool is_allowed(const json_t *v, const char *const *ok)
{
	if (is_default(v))
		return true;
	for (; ok && *ok && json_is_string(v); ok++)
		if (strcmp(json_string_value(v), *ok) == 0)
			return true;
	return false;
}

/* The value at "Field" or "HostConfig.Field" in the body, or NULL. */
static const json_t *lookup(const json_t *body, const char *path)
{
	const char *dot = strchr(path, '.');
	if (!dot)
		return json_object_get(body, path);
	char parent[32];
	size_t len = (size_t)(dot - path);
	if (len >= sizeof(parent))
		return NULL;
	memcpy(parent, path, len);
	parent[len] = '\0';
	const json_t *p = json_object_get(body, parent);
	return json_is_object(p) ? json_object_get(p, dot + 1) : NULL;
}

int create_check_unsupported(const json_t *body, const struct create_unsupported *table,
			     struct berth_error *err)
{
	for (const struct create_unsupported *u = table; u->path; u++) {
		const json_t *v = lookup(body, u->path);
		if (!v || is_allowed(v, u->allowed))
			continue;
		if (u->flag)
			return berth_err(err, 400, "%s is not supported by berth yet (%s)", u->flag,
					 u->path);
		return berth_err(err, 400, "berth does not support %s yet", u->path);
	}
	return 0;
}
