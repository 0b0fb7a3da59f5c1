/* Unit tests for the create body checks: every row of the type table refuses a wrong type with
 * Go's message, and the numeric ranges answer with Docker's texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "berth/create_check.h"

/* Put v at path in body ("a.b[].c": arrays of one object), creating objects on the way. */
static void set_path(json_t *body, const char *path, json_t *v)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = body;
	char *save = NULL;
	char *tok = strtok_r(buf, ".", &save);
	while (tok) {
		char *next = strtok_r(NULL, ".", &save);
		size_t len = strlen(tok);
		bool each = len > 2 && strcmp(tok + len - 2, "[]") == 0;
		if (each)
			tok[len - 2] = '\0';
		if (!next && !each) {
			json_object_set_new(cur, tok, v);
			return;
		}
		json_t *child = json_object_get(cur, tok);
		if (each) {
			if (!json_is_array(child)) {
				child = json_array();
				json_object_set_new(cur, tok, child);
			}
			if (!next) {
				json_array_append_new(child, v);
				return;
			}
			json_t *o = json_object();
			json_array_append_new(child, o);
			cur = o;
		} else {
			if (!json_is_object(child)) {
				child = json_object();
				json_object_set_new(cur, tok, child);
			}
			cur = child;
		}
		tok = next;
	}
}

/* A value of the wrong kind for each type. */
static json_t *wrong_value(enum create_type t)
{
	switch (t) {
	case CT_STRING:
	case CT_STRSLICE:
		return json_integer(5);
	case CT_BOOL:
	case CT_INT64:
	case CT_INT32:
	case CT_UINT16:
	case CT_UINT64:
	case CT_DURATION:
	case CT_STRLIST:
	case CT_STRMAP:
	case CT_OBJECT:
	case CT_ARRAY:
	case CT_UINTPAIR:
		return json_string("x");
	}
	return NULL;
}

static void test_every_row_refuses_a_wrong_type(void **state)
{
	size_t rows = 0;
	for (const struct create_field *f = create_fields; f->path; f++, rows++) {
		json_t *body = json_pack("{s:s}", "Image", "busybox");
		set_path(body, f->path, wrong_value(f->type));
		struct berth_error err = {0};
		int rc = create_check_types(body, create_fields, &err);
		if (rc != -1)
			fail_msg("%s: a wrong type was accepted", f->path);
		assert_int_equal(err.status, 400);
		/* Go's field path: JSON names without the [] */
		char field[256], want[512];
		size_t o = 0;
		for (const char *p = f->path; *p; p++)
			if (*p != '[' && *p != ']')
				field[o++] = *p;
		field[o] = '\0';
		snprintf(want, sizeof(want), "into Go struct field %s.%s of type ", f->go_struct,
			 field);
		if (!strstr(err.msg, want))
			fail_msg("%s: \"%s\" lacks \"%s\"", f->path, err.msg, want);
		assert_non_null(strstr(err.msg, "json: cannot unmarshal "));
		json_decref(body);
		/* null is always fine: the field stays unset */
		body = json_pack("{s:s}", "Image", "busybox");
		set_path(body, f->path, json_null());
		assert_int_equal(create_check_types(body, create_fields, &err), 0);
		json_decref(body);
	}
	assert_true(rows > 100);
}

static void expect_type_error(const char *json, const char *msg)
{
	json_error_t jerr;
	json_t *body = json_loads(json, 0, &jerr);
	if (!body)
		fail_msg("bad test JSON %s: %s", json, jerr.text);
	struct berth_error err = {0};
	assert_int_equal(create_check_types(body, create_fields, &err), -1);
	assert_string_equal(err.msg, msg);
	json_decref(body);
}

static void test_go_messages(void **state)
{
	expect_type_error("{\"HostConfig\":{\"Memory\":\"64m\"}}",
			  "json: cannot unmarshal string into Go struct field "
			  "HostConfig.HostConfig.Memory of type int64");
	expect_type_error("{\"HostConfig\":{\"BlkioWeight\":70000}}",
			  "json: cannot unmarshal number 70000 into Go struct field "
			  "HostConfig.HostConfig.BlkioWeight of type uint16");
	expect_type_error("{\"HostConfig\":{\"BlkioWeight\":-1}}",
			  "json: cannot unmarshal number -1 into Go struct field "
			  "HostConfig.HostConfig.BlkioWeight of type uint16");
	expect_type_error("{\"HostConfig\":{\"CpuQuota\":1.5}}",
			  "json: cannot unmarshal number 1.5 into Go struct field "
			  "HostConfig.HostConfig.CpuQuota of type int64");
	expect_type_error("{\"Env\":[\"A=1\",true]}",
			  "json: cannot unmarshal bool into Go struct field "
			  "ContainerConfigWrapper.Env of type string");
	expect_type_error("{\"Cmd\":{}}", "json: cannot unmarshal object into Go struct field "
					  "ContainerConfigWrapper.Cmd of type string");
	expect_type_error("{\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":[]}]}}",
			  "json: cannot unmarshal array into Go struct field "
			  "Ulimit.HostConfig.Ulimits.Hard of type int64");
	expect_type_error("{\"HostConfig\":{\"Ulimits\":[5]}}",
			  "json: cannot unmarshal number into Go struct field "
			  "HostConfig.HostConfig.Ulimits of type units.Ulimit");
	expect_type_error("{\"HostConfig\":{\"ConsoleSize\":[24,-80]}}",
			  "json: cannot unmarshal number -80 into Go struct field "
			  "HostConfig.HostConfig.ConsoleSize of type uint");
	expect_type_error("[]", "json: cannot unmarshal array into Go value of type "
				"ContainerConfigWrapper");
	/* right types pass; unknown fields are ignored, as Go ignores them */
	json_t *ok = json_loads("{\"Image\":\"b\",\"Cmd\":\"sh\",\"Entrypoint\":[\"a\",\"b\"],"
				"\"Labels\":{\"a\":\"b\"},\"Whatever\":[1],\"HostConfig\":{"
				"\"Memory\":7000000,\"ConsoleSize\":[24,80],\"Ulimits\":[{"
				"\"Name\":\"nofile\",\"Soft\":1,\"Hard\":2}],\"Init\":null}}",
				0, NULL);
	struct berth_error err = {0};
	assert_int_equal(create_check_types(ok, create_fields, &err), 0);
	json_decref(ok);
}

static void expect_limit(const char *host, const char *config, const char *msg)
{
	json_t *h = json_loads(host, 0, NULL);
	json_t *c = json_loads(config ? config : "{}", 0, NULL);
	assert_non_null(h);
	struct berth_error err = {0};
	int rc = create_check_limits(h, c, 2, &err);
	if (msg) {
		assert_int_equal(rc, -1);
		assert_string_equal(err.msg, msg);
		assert_int_equal(err.status, 400);
	} else {
		if (rc != 0)
			fail_msg("%s: %s", host, err.msg);
	}
	json_decref(h);
	json_decref(c);
}

static void test_limits(void **state)
{
	expect_limit("{\"CpuQuota\":9223372036854775807,\"CpuPeriod\":1}", NULL,
		     "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second "
		     "(i.e. 1000000)");
	expect_limit("{\"CpuQuota\":9223372036854775807,\"CpuPeriod\":1000}", NULL, NULL);
	expect_limit("{\"NanoCpus\":2000000001}", NULL,
		     "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
	expect_limit("{\"NanoCpus\":2000000000}", NULL, NULL);
	expect_limit("{\"NanoCpus\":9223372036854775807}", NULL,
		     "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
	expect_limit("{\"Memory\":6291455}", NULL, "Minimum memory limit allowed is 6MB");
	expect_limit("{\"Memory\":6291456,\"MemorySwap\":-1}", NULL, NULL);
	expect_limit("{\"MemorySwappiness\":-1}", NULL, NULL);
	expect_limit("{\"MemorySwappiness\":-2}", NULL,
		     "Invalid value: -2, valid memory swappiness range is 0-100");
	expect_limit("{\"BlkioWeight\":1001}", NULL, "Range of blkio weight is from 10 to 1000");
	expect_limit("{\"OomScoreAdj\":-1001}", NULL,
		     "Invalid value -1001, range for oom score adj is [-1000, 1000]");
	expect_limit("{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":-1,\"Hard\":10}]}", NULL,
		     "ulimit soft limit must be less than or equal to hard limit: -1 > 10");
	expect_limit("{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":-1}]}", NULL, NULL);
	expect_limit("{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":"
		     "4294967296}}",
		     NULL, "maximum retry count cannot be more than 2147483647");
	expect_limit("{}", "{\"StopTimeout\":-2}",
		     "invalid StopTimeout -2: must be -1 (wait forever) to 2147483647 seconds");
	expect_limit("{}", "{\"StopTimeout\":-1}", NULL);
	expect_limit("{}", "{\"Healthcheck\":{\"Timeout\":-5}}",
		     "Timeout in Healthcheck cannot be less than 1ms");
	expect_limit("{}", "{\"Healthcheck\":{\"Retries\":2147483648}}",
		     "Retries in Healthcheck cannot be more than 2147483647");
	/* shares are clamped, not refused */
	json_t *h = json_pack("{s:i}", "CpuShares", -5);
	assert_int_equal(create_check_limits(h, NULL, 2, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "CpuShares")), 2);
	json_decref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_row_refuses_a_wrong_type),
	    cmocka_unit_test(test_go_messages),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
