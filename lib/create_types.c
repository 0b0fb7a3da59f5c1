/* The create body's known fields and their Go types: one table, one checker that answers as
 * Go's encoding/json does when a value has the wrong type. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/create_check.h"

#define W "ContainerConfigWrapper"
#define H "HostConfig"

const struct create_field create_fields[] = {
    /* Config, embedded in the wrapper */
    {"Hostname", W, "string", CT_STRING},
    {"Domainname", W, "string", CT_STRING},
    {"User", W, "string", CT_STRING},
    {"AttachStdin", W, "bool", CT_BOOL},
    {"AttachStdout", W, "bool", CT_BOOL},
    {"AttachStderr", W, "bool", CT_BOOL},
    {"ExposedPorts", W, "nat.PortSet", CT_OBJECT},
    {"Tty", W, "bool", CT_BOOL},
    {"OpenStdin", W, "bool", CT_BOOL},
    {"StdinOnce", W, "bool", CT_BOOL},
    {"Env", W, "[]string", CT_STRLIST},
    {"Cmd", W, "strslice.StrSlice", CT_STRSLICE},
    {"Healthcheck", W, "container.HealthConfig", CT_OBJECT},
    {"Healthcheck.Test", "HealthConfig", "[]string", CT_STRLIST},
    {"Healthcheck.Interval", "HealthConfig", "time.Duration", CT_DURATION},
    {"Healthcheck.Timeout", "HealthConfig", "time.Duration", CT_DURATION},
    {"Healthcheck.StartPeriod", "HealthConfig", "time.Duration", CT_DURATION},
    {"Healthcheck.StartInterval", "HealthConfig", "time.Duration", CT_DURATION},
    {"Healthcheck.Retries", "HealthConfig", "int", CT_INT64},
    {"ArgsEscaped", W, "bool", CT_BOOL},
    {"Image", W, "string", CT_STRING},
    {"Volumes", W, "map[string]struct {}", CT_OBJECT},
    {"WorkingDir", W, "string", CT_STRING},
    {"Entrypoint", W, "strslice.StrSlice", CT_STRSLICE},
    {"NetworkDisabled", W, "bool", CT_BOOL},
    {"MacAddress", W, "string", CT_STRING},
    {"OnBuild", W, "[]string", CT_STRLIST},
    {"Labels", W, "map[string]string", CT_STRMAP},
    {"StopSignal", W, "string", CT_STRING},
    {"StopTimeout", W, "int", CT_INT64},
    {"Shell", W, "strslice.StrSlice", CT_STRSLICE},
    {"NetworkingConfig", W, "network.NetworkingConfig", CT_OBJECT},
    {"NetworkingConfig.EndpointsConfig", "NetworkingConfig", "map[string]*network.EndpointSettings",
     CT_OBJECT},
    {"HostConfig", W, "container.HostConfig", CT_OBJECT},
    /* HostConfig */
    {"HostConfig.Binds", H, "[]string", CT_STRLIST},
    {"HostConfig.ContainerIDFile", H, "string", CT_STRING},
    {"HostConfig.LogConfig", H, "container.LogConfig", CT_OBJECT},
    {"HostConfig.LogConfig.Type", "LogConfig", "string", CT_STRING},
    {"HostConfig.LogConfig.Config", "LogConfig", "map[string]string", CT_STRMAP},
    {"HostConfig.NetworkMode", H, "container.NetworkMode", CT_STRING},
    {"HostConfig.PortBindings", H, "nat.PortMap", CT_OBJECT},
    {"HostConfig.RestartPolicy", H, "container.RestartPolicy", CT_OBJECT},
    {"HostConfig.RestartPolicy.Name", "RestartPolicy", "container.RestartPolicyMode", CT_STRING},
    {"HostConfig.RestartPolicy.MaximumRetryCount", "RestartPolicy", "int", CT_INT64},
    {"HostConfig.AutoRemove", H, "bool", CT_BOOL},
    {"HostConfig.VolumeDriver", H, "string", CT_STRING},
    {"HostConfig.VolumesFrom", H, "[]string", CT_STRLIST},
    {"HostConfig.ConsoleSize", H, "[2]uint", CT_UINTPAIR},
    {"HostConfig.Annotations", H, "map[string]string", CT_STRMAP},
    {"HostConfig.CapAdd", H, "strslice.StrSlice", CT_STRSLICE},
    {"HostConfig.CapDrop", H, "strslice.StrSlice", CT_STRSLICE},
    {"HostConfig.CgroupnsMode", H, "container.CgroupnsMode", CT_STRING},
    {"HostConfig.Dns", H, "[]string", CT_STRLIST},
    {"HostConfig.DnsOptions", H, "[]string", CT_STRLIST},
    {"HostConfig.DnsSearch", H, "[]string", CT_STRLIST},
    {"HostConfig.ExtraHosts", H, "[]string", CT_STRLIST},
    {"HostConfig.GroupAdd", H, "[]string", CT_STRLIST},
    {"HostConfig.IpcMode", H, "container.IpcMode", CT_STRING},
    {"HostConfig.Cgroup", H, "container.CgroupSpec", CT_STRING},
    {"HostConfig.Links", H, "[]string", CT_STRLIST},
    {"HostConfig.OomScoreAdj", H, "int", CT_INT64},
    {"HostConfig.PidMode", H, "container.PidMode", CT_STRING},
    {"HostConfig.Privileged", H, "bool", CT_BOOL},
    {"HostConfig.PublishAllPorts", H, "bool", CT_BOOL},
    {"HostConfig.ReadonlyRootfs", H, "bool", CT_BOOL},
    {"HostConfig.SecurityOpt", H, "[]string", CT_STRLIST},
    {"HostConfig.StorageOpt", H, "map[string]string", CT_STRMAP},
    {"HostConfig.Tmpfs", H, "map[string]string", CT_STRMAP},
    {"HostConfig.UTSMode", H, "container.UTSMode", CT_STRING},
    {"HostConfig.UsernsMode", H, "container.UsernsMode", CT_STRING},
    {"HostConfig.ShmSize", H, "int64", CT_INT64},
    {"HostConfig.Sysctls", H, "map[string]string", CT_STRMAP},
    {"HostConfig.Runtime", H, "string", CT_STRING},
    {"HostConfig.Isolation", H, "container.Isolation", CT_STRING},
    {"HostConfig.Init", H, "bool", CT_BOOL},
    {"HostConfig.MaskedPaths", H, "[]string", CT_STRLIST},
    {"HostConfig.ReadonlyPaths", H, "[]string", CT_STRLIST},
    {"HostConfig.Mounts", H, "[]mount.Mount", CT_ARRAY},
    /* Resources, embedded in HostConfig */
    {"HostConfig.CpuShares", H, "int64", CT_INT64},
    {"HostConfig.Memory", H, "int64", CT_INT64},
    {"HostConfig.NanoCpus", H, "int64", CT_INT64},
    {"HostConfig.CgroupParent", H, "string", CT_STRING},
    {"HostConfig.BlkioWeight", H, "uint16", CT_UINT16},
    {"HostConfig.BlkioWeightDevice", H, "[]*blkiodev.WeightDevice", CT_ARRAY},
    {"HostConfig.BlkioDeviceReadBps", H, "[]*blkiodev.ThrottleDevice", CT_ARRAY},
    {"HostConfig.BlkioDeviceWriteBps", H, "[]*blkiodev.ThrottleDevice", CT_ARRAY},
    {"HostConfig.BlkioDeviceReadIOps", H, "[]*blkiodev.ThrottleDevice", CT_ARRAY},
    {"HostConfig.BlkioDeviceWriteIOps", H, "[]*blkiodev.ThrottleDevice", CT_ARRAY},
    {"HostConfig.CpuPeriod", H, "int64", CT_INT64},
    {"HostConfig.CpuQuota", H, "int64", CT_INT64},
    {"HostConfig.CpuRealtimePeriod", H, "int64", CT_INT64},
    {"HostConfig.CpuRealtimeRuntime", H, "int64", CT_INT64},
    {"HostConfig.CpusetCpus", H, "string", CT_STRING},
    {"HostConfig.CpusetMems", H, "string", CT_STRING},
    {"HostConfig.Devices", H, "[]container.DeviceMapping", CT_ARRAY},
    {"HostConfig.DeviceCgroupRules", H, "[]string", CT_STRLIST},
    {"HostConfig.DeviceRequests", H, "[]container.DeviceRequest", CT_ARRAY},
    {"HostConfig.KernelMemory", H, "int64", CT_INT64},
    {"HostConfig.KernelMemoryTCP", H, "int64", CT_INT64},
    {"HostConfig.MemoryReservation", H, "int64", CT_INT64},
    {"HostConfig.MemorySwap", H, "int64", CT_INT64},
    {"HostConfig.MemorySwappiness", H, "int64", CT_INT64},
    {"HostConfig.OomKillDisable", H, "bool", CT_BOOL},
    {"HostConfig.PidsLimit", H, "int64", CT_INT64},
    {"HostConfig.Ulimits", H, "[]*units.Ulimit", CT_ARRAY},
    {"HostConfig.Ulimits[]", H, "units.Ulimit", CT_OBJECT},
    {"HostConfig.Ulimits[].Name", "Ulimit", "string", CT_STRING},
    {"HostConfig.Ulimits[].Hard", "Ulimit", "int64", CT_INT64},
    {"HostConfig.Ulimits[].Soft", "Ulimit", "int64", CT_INT64},
    {"HostConfig.CpuCount", H, "int64", CT_INT64},
    {"HostConfig.CpuPercent", H, "int64", CT_INT64},
    {"HostConfig.IOMaximumIOps", H, "uint64", CT_UINT64},
    {"HostConfig.IOMaximumBandwidth", H, "uint64", CT_UINT64},
    {NULL, NULL, NULL, 0},
};

/* Go's name for a JSON value in "cannot unmarshal X": the literal for a number that is the
 * right kind but does not fit. */
static const char *value_name(const json_t *v, bool literal, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	case JSON_INTEGER:
		if (!literal)
			return "number";
		snprintf(buf, size, "number %" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		if (!literal)
			return "number";
		snprintf(buf, size, "number %g", json_real_value(v));
		return buf;
	default:
		return "null";
	}
}

/* The field path Go prints: JSON names without the [] of slices. */
static void go_field(const char *path, char *out, size_t size)
{
	size_t o = 0;
	for (const char *p = path; *p && o + 1 < size; p++)
		if (*p != '[' && *p != ']')
			out[o++] = *p;
	out[o] = '\0';
}

static int type_error(const struct create_field *f, const json_t *v, const char *go_type,
		      bool literal, struct berth_error *err)
{
	char field[256], num[64];
	go_field(f->path, field, sizeof(field));
	return berth_err(err, 400,
			 "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
			 value_name(v, literal, num, sizeof(num)), f->go_struct, field, go_type);
}

static bool number_fits(const json_t *v, enum create_type t)
{
	if (!json_is_integer(v))
		return false;
	json_int_t n = json_integer_value(v);
	switch (t) {
	case CT_INT32:
		return n >= INT32_MIN && n <= INT32_MAX;
	case CT_UINT16:
		return n >= 0 && n <= UINT16_MAX;
	case CT_UINT64:
		return n >= 0;
	default:
		return true;
	}
}

static int check_value(const struct create_field *f, const json_t *v, struct berth_error *err)
{
	size_t i;
	const char *k;
	json_t *e;
	if (json_is_null(v))
		return 0;
	switch (f->type) {
	case CT_STRING:
		return json_is_string(v) ? 0 : type_error(f, v, f->go_type, false, err);
	case CT_BOOL:
		return json_is_boolean(v) ? 0 : type_error(f, v, f->go_type, false, err);
	case CT_INT64:
	case CT_INT32:
	case CT_UINT16:
	case CT_UINT64:
	case CT_DURATION:
		if (!json_is_number(v))
			return type_error(f, v, f->go_type, false, err);
		return number_fits(v, f->type) ? 0 : type_error(f, v, f->go_type, true, err);
	case CT_STRSLICE:
		if (json_is_string(v))
			return 0;
		if (!json_is_array(v))
			return type_error(f, v, "string", false, err);
		__attribute__((fallthrough)); /* a list of strings */
	case CT_STRLIST:
		if (!json_is_array(v))
			return type_error(f, v, f->go_type, false, err);
		json_array_foreach(v, i, e) if (!json_is_string(e) &&
						!json_is_null(e)) return type_error(f, e, "string",
										    false, err);
		return 0;
	case CT_STRMAP:
		if (!json_is_object(v))
			return type_error(f, v, f->go_type, false, err);
		json_object_foreach((json_t *)v, k,
				    e) if (!json_is_string(e) &&
					   !json_is_null(e)) return type_error(f, e, "string",
									       false, err);
		return 0;
	case CT_OBJECT:
		return json_is_object(v) ? 0 : type_error(f, v, f->go_type, false, err);
	case CT_ARRAY:
		return json_is_array(v) ? 0 : type_error(f, v, f->go_type, false, err);
	case CT_UINTPAIR:
		if (!json_is_array(v))
			return type_error(f, v, f->go_type, false, err);
		json_array_foreach(v, i, e)
		{
			if (!json_is_number(e))
				return type_error(f, e, "uint", false, err);
			if (!number_fits(e, CT_UINT64))
				return type_error(f, e, "uint", true, err);
		}
		return 0;
	}
	return 0;
}

/* Walk the rest of f->path from v: through objects by name, through arrays at "[]". */
static int check_path(const struct create_field *f, const char *rest, const json_t *v,
		      struct berth_error *err)
{
	if (!*rest)
		return check_value(f, v, err);
	const char *dot = strchrnul(rest, '.');
	size_t len = (size_t)(dot - rest);
	bool each = len > 2 && rest[len - 2] == '[' && rest[len - 1] == ']';
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)(each ? len - 2 : len), rest);
	/* A parent of the wrong type has its own row in the table. */
	const json_t *child = json_is_object(v) ? json_object_get(v, name) : NULL;
	if (!child || json_is_null(child))
		return 0;
	const char *next = *dot ? dot + 1 : dot;
	if (!each)
		return check_path(f, next, child, err);
	if (!json_is_array(child))
		return 0;
	size_t i;
	json_t *e;
	json_array_foreach(child, i, e) if (check_path(f, next, e, err) < 0) return -1;
	return 0;
}

int create_check_types(const json_t *body, const struct create_field *table,
		       struct berth_error *err)
{
	char num[64];
	if (!json_is_object(body))
		return berth_err(err, 400, "json: cannot unmarshal %s into Go value of type %s",
				 body ? value_name(body, false, num, sizeof(num)) : "null", W);
	for (const struct create_field *f = table; f->path; f++)
		if (check_path(f, f->path, body, err) < 0)
			return -1;
	return 0;
}
