/* Unit tests for the table of create fields berth refuses: every row is a known field, refuses a
 * set value with a message naming the field (and the flag), and the defaults Docker's clients
 * send on every create pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "berth/create_check.h"

static const struct create_field *type_row(const char *path)
{
	for (const struct create_field *f = create_fields; f->path; f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* A set value of the field's type. */
static json_t *set_value(enum create_type t)
{
	switch (t) {
	case CT_STRING:
		return json_string("x");
	case CT_BOOL:
		return json_true();
	case CT_STRLIST:
	case CT_STRSLICE:
		return json_pack("[s]", "x");
	case CT_STRMAP:
		return json_pack("{s:s}", "k", "v");
	case CT_ARRAY:
		return json_pack("[{s:s}]", "PathOnHost", "/dev/null");
	case CT_OBJECT:
		return json_pack("{s:s}", "k", "v");
	default:
		return json_integer(1);
	}
}

static json_t *body_with(const char *path, json_t *v)
{
	json_t *body = json_pack("{s:s, s:{}}", "Image", "busybox", "HostConfig");
	const char *dot = strchr(path, '.');
	json_object_set_new(dot ? json_object_get(body, "HostConfig") : body, dot ? dot + 1 : path,
			    v);
	return body;
}

static void every_row_refused(void **state)
{
	(void)state;
	int rows = 0;
	for (const struct create_unsupported *u = create_unsupported; u->path; u++, rows++) {
		const struct create_field *f = type_row(u->path);
		if (!f)
			fail_msg("%s is not in the type table", u->path);
		json_t *body = body_with(u->path, set_value(f->type));
		struct berth_error err = {0};
		assert_int_equal(create_check_unsupported(body, create_unsupported, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.msg, u->path));
		assert_non_null(strstr(err.msg, "berth"));
		if (u->flag)
			assert_non_null(strstr(err.msg, u->flag));
		json_decref(body);
	}
	assert_true(rows >= 30);
}

static void messages(void **state)
{
	(void)state;
	struct berth_error err = {0};
	json_t *body =
	    body_with("HostConfig.Sysctls", json_pack("{s:s}", "net.ipv4.ip_forward", "1"));
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), -1);
	assert_string_equal(err.msg,
			    "--sysctl is not supported by berth yet (HostConfig.Sysctls)");
	json_decref(body);
	body = body_with("HostConfig.Cgroup", json_string("container:abc"));
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), -1);
	assert_string_equal(err.msg, "berth does not support HostConfig.Cgroup yet");
	json_decref(body);
	body = body_with("Domainname", json_string("example.org"));
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), -1);
	assert_string_equal(err.msg, "--domainname is not supported by berth yet (Domainname)");
	json_decref(body);
}

/* The HostConfig the docker CLI 20.10 sends for a plain `docker run` (and docker-py's
 * empty lists), Config's empty strings, and the modes that mean what berth does. */
static void defaults_accepted(void **state)
{
	(void)state;
	static const char body_text[] =
	    "{\"Hostname\":\"\",\"Domainname\":\"\",\"MacAddress\":\"\",\"NetworkDisabled\":false,"
	    "\"Image\":\"busybox\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"\",\"Config\":{}},"
	    "\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"CgroupnsMode\":\"\",\"Dns\":[],"
	    "\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
	    "\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":[],\"PidMode\":\"\",\"UTSMode\":\"\","
	    "\"UsernsMode\":\"\",\"ConsoleSize\":[0,0],\"Isolation\":\"\",\"CgroupParent\":\"\","
	    "\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,"
	    "\"BlkioDeviceReadIOps\":null,\"BlkioDeviceWriteIOps\":null,\"CpuRealtimePeriod\":0,"
	    "\"CpuRealtimeRuntime\":0,\"Devices\":[],\"DeviceCgroupRules\":null,"
	    "\"DeviceRequests\":null,\"KernelMemoryTCP\":0,\"CpuCount\":0,\"CpuPercent\":0,"
	    "\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"Sysctls\":{},\"StorageOpt\":null,"
	    "\"Annotations\":{},\"Runtime\":\"\"}}";
	json_t *body = json_loads(body_text, 0, NULL);
	assert_non_null(body);
	struct berth_error err = {0};
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), 0);
	json_decref(body);
	static const char *const ok[][2] = {
	    {"HostConfig.IpcMode", "private"},	    {"HostConfig.IpcMode", "shareable"},
	    {"HostConfig.CgroupnsMode", "private"}, {"HostConfig.UsernsMode", "host"},
	    {"HostConfig.Isolation", "default"},    {"HostConfig.Runtime", "runc"},
	    {"HostConfig.Runtime", "berth"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		body = body_with(ok[i][0], json_string(ok[i][1]));
		assert_int_equal(create_check_unsupported(body, create_unsupported, &err), 0);
		json_decref(body);
	}
	static const char *const refused[][2] = {
	    {"HostConfig.IpcMode", "host"},	  {"HostConfig.CgroupnsMode", "host"},
	    {"HostConfig.UsernsMode", "private"}, {"HostConfig.Runtime", "crun"},
	    {"HostConfig.PidMode", "host"},	  {"HostConfig.UTSMode", "host"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		body = body_with(refused[i][0], json_string(refused[i][1]));
		assert_int_equal(create_check_unsupported(body, create_unsupported, &err), -1);
		assert_non_null(strstr(err.msg, refused[i][0]));
		json_decref(body);
	}
	/* No HostConfig at all, or one of the wrong type (the type check answers for it). */
	body = json_pack("{s:s}", "Image", "busybox");
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), 0);
	json_object_set_new(body, "HostConfig", json_string("x"));
	assert_int_equal(create_check_unsupported(body, create_unsupported, &err), 0);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_row_refused),
	    cmocka_unit_test(messages),
	    cmocka_unit_test(defaults_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
