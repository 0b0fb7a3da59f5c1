/* The scheduler's pure parts: a service to a Docker create body, names, replica numbers,
 * scale-down order, placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sched.h"

static json_t *model(void)
{
	json_error_t e;
	json_t *m = json_loads(
	    "{\"name\": \"demo\", \"services\": {\"web\": {"
	    "\"image\": \"echo-image:latest\", \"command\": [\"httpd\", \"-f\"],"
	    "\"entrypoint\": [\"/bin/sh\", \"-c\"], \"environment\": {\"A\": \"1\", \"B\": null},"
	    "\"ports\": [{\"target\": 8080, \"published\": \"9000\", \"protocol\": \"tcp\", "
	    "\"host_ip\": \"\"}],"
	    "\"expose\": [\"9090\"],"
	    "\"volumes\": [{\"type\": \"volume\", \"source\": \"data\", \"target\": \"/data\"},"
	    "              {\"type\": \"bind\", \"source\": \"/srv\", \"target\": \"/srv\", "
	    "\"read_only\": true}],"
	    "\"restart\": \"on-failure:3\", \"init\": true, \"user\": \"33\", \"working_dir\": "
	    "\"/www\","
	    "\"stop_signal\": \"SIGINT\", \"stop_grace_period\": 5000000000, \"hostname\": \"h\","
	    "\"healthcheck\": {\"test\": [\"CMD\", \"true\"], \"interval\": 1000000000, "
	    "\"retries\": 2},"
	    "\"labels\": {\"tier\": \"front\"},"
	    "\"deploy\": {\"resources\": {\"limits\": {\"cpus\": 0.5, \"memory\": 67108864, "
	    "\"pids\": 100},"
	    "             \"reservations\": {\"cpus\": 0.25, \"memory\": 1048576}}},"
	    "\"networks\": {\"default\": null, \"back\": {\"aliases\": [\"api\"]}}}},"
	    "\"networks\": {\"default\": {\"name\": \"demo_default\"}, \"back\": {\"name\": "
	    "\"demo_back\"}},"
	    "\"volumes\": {\"data\": {\"name\": \"demo_data\"}}}",
	    0, &e);
	assert_non_null(m);
	return m;
}

static void test_create_body(void **state)
{
	json_t *m = model();
	struct berth_error err = {0};
	json_t *b = sched_create_body(m, "demo", "web", 2, "abc", &err);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "Image")), "echo-image:latest");
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "Cmd"), 1)), "-f");
	assert_int_equal(json_array_size(json_object_get(b, "Env")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "Env"), 0)), "A=1");
	assert_non_null(json_object_get(json_object_get(b, "ExposedPorts"), "8080/tcp"));
	assert_non_null(json_object_get(json_object_get(b, "ExposedPorts"), "9090/tcp"));
	json_t *h = json_object_get(b, "HostConfig");
	json_t *pb =
	    json_array_get(json_object_get(json_object_get(h, "PortBindings"), "8080/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(pb, "HostPort")), "9000");
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "Binds"), 0)),
			    "demo_data:/data");
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "Binds"), 1)),
			    "/srv:/srv:ro");
	json_t *rp = json_object_get(h, "RestartPolicy");
	assert_string_equal(json_string_value(json_object_get(rp, "Name")), "on-failure");
	assert_int_equal(json_integer_value(json_object_get(rp, "MaximumRetryCount")), 3);
	assert_int_equal(json_integer_value(json_object_get(h, "Memory")), 67108864);
	assert_int_equal(json_integer_value(json_object_get(h, "NanoCpus")), 500000000);
	assert_int_equal(json_integer_value(json_object_get(h, "PidsLimit")), 100);
	assert_true(json_is_true(json_object_get(h, "Init")));
	assert_string_equal(json_string_value(json_object_get(h, "NetworkMode")), "demo_default");
	assert_int_equal(json_integer_value(json_object_get(b, "StopTimeout")), 5);
	assert_string_equal(json_string_value(json_object_get(b, "StopSignal")), "SIGINT");
	assert_string_equal(json_string_value(json_object_get(b, "User")), "33");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(b, "Healthcheck"), "Interval")),
	    1000000000);
	json_t *labels = json_object_get(b, "Labels");
	assert_string_equal(
	    json_string_value(json_object_get(labels, "com.docker.compose.project")), "demo");
	assert_string_equal(
	    json_string_value(json_object_get(labels, "com.docker.compose.container-number")), "2");
	assert_string_equal(json_string_value(json_object_get(labels, "com.docker.compose.oneoff")),
			    "False");
	assert_string_equal(json_string_value(json_object_get(labels, "tier")), "front");
	json_t *ep = json_object_get(
	    json_object_get(json_object_get(b, "NetworkingConfig"), "EndpointsConfig"),
	    "demo_default");
	assert_string_equal(json_string_value(json_array_get(json_object_get(ep, "Aliases"), 0)),
			    "web");
	char **nets = sched_service_networks(m, "demo", "web");
	assert_string_equal(nets[0], "demo_default");
	assert_string_equal(nets[1], "demo_back");
	assert_null(nets[2]);
	for (char **n = nets; *n; n++)
		free(*n);
	free(nets);
	double cpus;
	int64_t mem;
	sched_plan_reservations(json_object_get(json_object_get(m, "services"), "web"), &cpus,
				&mem);
	assert_true(cpus > 0.24 && cpus < 0.26);
	assert_int_equal(mem, 1048576);
	json_decref(b);
	json_decref(m);
}

static void test_create_body_errors(void **state)
{
	json_t *m = json_pack("{s:{s:{s:{s:s}}}}", "services", "web", "build", "context", ".");
	struct berth_error err = {0};
	assert_null(sched_create_body(m, "p", "web", 1, "", &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "build is not supported yet"));
	assert_null(sched_create_body(m, "p", "nope", 1, "", &err));
	assert_int_equal(err.status, 404);
	json_decref(m);
}

static void test_names_and_hash(void **state)
{
	char name[64], h1[17], h2[17];
	json_t *svc = json_pack("{s:s}", "image", "busybox");
	sched_container_name("demo", "web", svc, 7, name, sizeof(name));
	assert_string_equal(name, "demo-web-7");
	json_object_set_new(svc, "container_name", json_string("fixed"));
	sched_container_name("demo", "web", svc, 1, name, sizeof(name));
	assert_string_equal(name, "fixed");
	sched_config_hash(svc, h1);
	json_object_set_new(svc, "image", json_string("other"));
	sched_config_hash(svc, h2);
	assert_int_equal(strlen(h1), 16);
	assert_string_not_equal(h1, h2);
	json_decref(svc);
}

static void test_numbers(void **state)
{
	int out[4];
	sched_plan_numbers(NULL, 0, 3, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[2], 3);
	int used[] = {5, 1, 2};
	sched_plan_numbers(used, 3, 4, out);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 4);
	assert_int_equal(out[2], 6);
	assert_int_equal(out[3], 7);
}

static void test_scale_down_order(void **state)
{
	int numbers[] = {3, 1, 5, 2, 4};
	bool remove[5];
	sched_plan_scale_down(numbers, 5, 2, remove);
	assert_true(remove[0]); /* keeps 1 and 2 */
	assert_false(remove[1]);
	assert_true(remove[2]);
	assert_false(remove[3]);
	assert_true(remove[4]);
	sched_plan_scale_down(numbers, 5, 5, remove);
	for (int i = 0; i < 5; i++)
		assert_false(remove[i]);
	sched_plan_scale_down(numbers, 5, 0, remove);
	for (int i = 0; i < 5; i++)
		assert_true(remove[i]);
}

static void test_placement(void **state)
{
	char reason[128];
	assert_true(sched_plan_fits(2, 1 << 30, 1.0, 0, 0.9, 0, reason, sizeof(reason)));
	assert_false(sched_plan_fits(2, 1 << 30, 1.8, 0, 0.9, 0, reason, sizeof(reason)));
	assert_string_equal(reason, "insufficient cpus: needs 0.90, 0.20 of 2.00 left");
	assert_false(
	    sched_plan_fits(2, 1LL << 30, 0, 900LL << 20, 0, 200LL << 20, reason, sizeof(reason)));
	assert_string_equal(reason, "insufficient memory: needs 200MiB, 124MiB of 1.0GiB left");
	assert_true(sched_plan_fits(2, 1LL << 30, 0, 0, 0, 0, reason, sizeof(reason)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_body),	     cmocka_unit_test(test_create_body_errors),
	    cmocka_unit_test(test_names_and_hash),   cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_scale_down_order), cmocka_unit_test(test_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
