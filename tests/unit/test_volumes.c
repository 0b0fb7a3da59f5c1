/* Unit tests for agent/volumes.c's volume store (create, inspect, list, remove, metadata) and
 * for which published ports of a compose replica container_net.c marks as balanced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/fsutil.h"
#include "container.h"
#include "volumes.h"

static int setup(void **state)
{
	char tmpl[] = "/tmp/test-volumes.XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	*state = strdup(dir);
	return 0;
}

static int teardown(void **state)
{
	berth_rm_rf(*state, NULL);
	free(*state);
	return 0;
}

static void test_create_inspect(void **state)
{
	const char *root = *state;
	struct berth_error err = {0};
	json_t *labels = json_pack("{s:s}", "a", "b");
	json_t *v = volumes_create(root, "data", NULL, labels, NULL, &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "Name")), "data");
	assert_string_equal(json_string_value(json_object_get(v, "Driver")), "local");
	assert_string_equal(json_string_value(json_object_get(v, "Scope")), "local");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "Labels"), "a")),
			    "b");
	assert_true(json_is_null(json_object_get(v, "Options")));
	char want[4200];
	snprintf(want, sizeof(want), "%s/volumes/data/_data", root);
	assert_string_equal(json_string_value(json_object_get(v, "Mountpoint")), want);
	const char *at = json_string_value(json_object_get(v, "CreatedAt"));
	assert_int_equal(strlen(at), 20); /* 2026-01-02T03:04:05Z */
	assert_int_equal(at[19], 'Z');
	json_decref(v);
	/* again: the existing volume, its labels kept */
	v = volumes_create(root, "data", "local", NULL, NULL, &err);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "Labels"), "a")),
			    "b");
	json_decref(v);
	json_decref(labels);
	/* a random name */
	v = volumes_create(root, "", NULL, NULL, NULL, &err);
	assert_int_equal(strlen(json_string_value(json_object_get(v, "Name"))), 64);
	json_decref(v);
}

static void test_bad_input(void **state)
{
	const char *root = *state;
	struct berth_error err = {0};
	assert_null(volumes_create(root, "a/b", NULL, NULL, NULL, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "includes invalid characters for a local volume name"));
	err = (struct berth_error){0};
	assert_null(volumes_create(root, "..", NULL, NULL, NULL, &err));
	assert_int_equal(err.status, 400);
	err = (struct berth_error){0};
	assert_null(volumes_create(root, "vv", "nfs", NULL, NULL, &err));
	assert_int_equal(err.status, 404);
	err = (struct berth_error){0};
	json_t *opts = json_pack("{s:s}", "type", "tmpfs");
	assert_null(volumes_create(root, "vv", NULL, NULL, opts, &err));
	assert_int_equal(err.status, 400);
	json_decref(opts);
	err = (struct berth_error){0};
	assert_null(volumes_inspect(root, "nope", &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.msg, "get nope: no such volume");
	err = (struct berth_error){0};
	assert_null(volumes_inspect(root, "../etc", &err));
	assert_int_equal(err.status, 404);
	err = (struct berth_error){0};
	assert_int_equal(volumes_remove(root, "nope", &err), -1);
	assert_int_equal(err.status, 404);
}

static void test_list_remove_size(void **state)
{
	const char *root = *state;
	struct berth_error err = {0};
	json_decref(volumes_create(root, "zz", NULL, NULL, NULL, &err));
	json_decref(volumes_create(root, "aa", NULL, NULL, NULL, &err));
	/* a volume made by -v before metadata existed: just the directory */
	char path[4200];
	snprintf(path, sizeof(path), "%s/volumes/old/_data", root);
	assert_int_equal(berth_mkdir_p(path, 0755, &err), 0);
	json_t *list = volumes_list(root);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Name")),
			    "aa");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "Name")),
			    "old");
	json_t *old = json_array_get(list, 1);
	assert_true(json_is_null(json_object_get(old, "Labels")));
	assert_non_null(json_string_value(json_object_get(old, "CreatedAt")));
	json_decref(list);
	snprintf(path, sizeof(path), "%s/volumes/aa/_data/f", root);
	FILE *f = fopen(path, "w");
	fputs("12345", f);
	fclose(f);
	assert_int_equal(volumes_size(root, "aa"), 5);
	assert_int_equal(volumes_remove(root, "aa", &err), 0);
	snprintf(path, sizeof(path), "%s/volumes/aa", root);
	assert_int_not_equal(access(path, F_OK), 0);
	list = volumes_list(root);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
}

/* Compose replicas: only a port with a fixed host port is a balanced service port. */
static void test_compose_ports(void **state)
{
	(void)state;
	struct berth_error err = {0};
	json_t *config =
	    json_pack("{s:{s:s, s:s}, s:{s:{}, s:{}}}", "Labels", "com.docker.compose.project", "p",
		      "com.docker.compose.service", "web", "ExposedPorts", "8080/tcp", "9090/tcp");
	json_t *host = json_pack("{s:{s:[{s:s}], s:[{s:s}]}}", "PortBindings", "8080/tcp",
				 "HostPort", "9000", "9090/tcp", "HostPort", "");
	json_t *req =
	    container_net_endpoint_request("id", "/p-web-1", config, host, NULL, "bridge", &err);
	assert_non_null(req);
	size_t i;
	json_t *p;
	int balanced = 0, own = 0;
	json_array_foreach(json_object_get(req, "Ports"), i, p)
	{
		int ctr = (int)json_integer_value(json_object_get(p, "ContainerPort"));
		const char *svc = json_string_value(json_object_get(p, "Service"));
		if (ctr == 8080) {
			assert_string_equal(svc, "p/web");
			balanced++;
		} else {
			assert_null(svc);
			assert_int_equal(json_integer_value(json_object_get(p, "HostPort")), 0);
			own++;
		}
	}
	assert_int_equal(balanced, 1);
	assert_int_equal(own, 1);
	json_decref(req);
	/* without the compose labels: no service at all */
	json_object_del(config, "Labels");
	req = container_net_endpoint_request("id", "/x", config, host, NULL, "bridge", &err);
	json_array_foreach(json_object_get(req, "Ports"), i, p)
	    assert_null(json_object_get(p, "Service"));
	json_decref(req);
	json_decref(config);
	json_decref(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_inspect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_remove_size, setup, teardown),
	    cmocka_unit_test(test_compose_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
