/* Unit tests for the container store: names, lookup, status text, filters, config merge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "container.h"

static struct container *add(struct container_store *store, const char *id, const char *name,
			     const char *config_json)
{
	struct container *c = calloc(1, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->name = strdup(name);
	c->config = json_loads(config_json, 0, NULL);
	assert_non_null(c->config);
	container_store_add(store, c);
	return c;
}

#define ID_A "aaaa111111111111111111111111111111111111111111111111111111111111"
#define ID_B "aaaa222222222222222222222222222222222222222222222222222222222222"
#define ID_C "bbbb333333333333333333333333333333333333333333333333333333333333"

static struct container_store *sample_store(void)
{
	struct container_store *store = container_store_new(NULL, "/nonexistent");
	add(store, ID_A, "/web",
	    "{\"Path\":\"sh\",\"Args\":[\"-c\",\"echo hi\"],\"Config\":{\"Image\":\"busybox\","
	    "\"Labels\":{\"tier\":\"front\",\"app\":\"x\"}}}");
	add(store, ID_B, "/db", "{\"Path\":\"top\",\"Args\":[],\"Config\":{\"Labels\":{}}}");
	add(store, ID_C, "/aaaa2", "{\"Path\":\"true\",\"Config\":{}}");
	return store;
}

static void test_find(void **state)
{
	struct container_store *store = sample_store();
	struct berth_error err = {0};
	assert_ptr_equal(container_find(store, ID_A, &err), container_find(store, "web", &err));
	assert_string_equal(container_find(store, "/web", &err)->id, ID_A);
	assert_string_equal(container_find(store, "aaaa1", &err)->id, ID_A);
	assert_string_equal(container_find(store, "bb", &err)->id, ID_C);
	/* an exact name wins over an ID prefix */
	assert_string_equal(container_find(store, "aaaa2", &err)->id, ID_C);

	assert_null(container_find(store, "aaaa", &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "multiple IDs found with provided prefix: aaaa");
	assert_null(container_find(store, "nope", &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.msg, "No such container: nope");
	assert_null(container_find(store, "", &err));
	container_store_free(store);
}

static void test_names(void **state)
{
	struct container_store *store = sample_store();
	struct berth_error err = {0};
	assert_int_equal(container_name_check(store, "new_one.1-x", &err), 0);
	assert_int_equal(container_name_check(store, "-bad", &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg,
			    "Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
			    "are allowed");
	assert_int_equal(container_name_check(store, "a b", &err), -1);
	assert_int_equal(container_name_check(store, "x", &err), -1);
	assert_int_equal(container_name_check(store, "web", &err), -1);
	assert_int_equal(err.status, 409);
	assert_string_equal(
	    err.msg, "Conflict. The container name \"/web\" is already in use by container \"" ID_A
		     "\". You have to remove (or rename) that container to be able to reuse "
		     "that name.");
	container_store_free(store);
}

static void test_status_text(void **state)
{
	struct container_store *store = sample_store();
	struct container *c = container_find(store, "web", NULL);
	char buf[96];
	int64_t s = 1000000000LL;
	c->status = CONTAINER_CREATED;
	container_status_text(c, 100 * s, buf, sizeof(buf));
	assert_string_equal(buf, "Created");
	c->status = CONTAINER_RUNNING;
	c->started_ns = 97 * s;
	container_status_text(c, 100 * s, buf, sizeof(buf));
	assert_string_equal(buf, "Up 3 seconds");
	c->status = CONTAINER_EXITED;
	c->exit_code = 137;
	c->finished_ns = 100 * s;
	container_status_text(c, 220 * s, buf, sizeof(buf));
	assert_string_equal(buf, "Exited (137) 2 minutes ago");
	c->status = CONTAINER_REMOVING;
	container_status_text(c, 220 * s, buf, sizeof(buf));
	assert_string_equal(buf, "Removal In Progress");
	assert_string_equal(container_status_name(CONTAINER_EXITED), "exited");
	assert_int_equal(container_status_parse("paused"), CONTAINER_PAUSED);

	char *cmd = container_command_string(c);
	assert_string_equal(cmd, "sh -c echo hi");
	free(cmd);
	container_store_free(store);
}

static bool match(struct container *c, const char *filters)
{
	json_t *f = json_loads(filters, 0, NULL);
	assert_int_equal(container_filters_check(f, NULL), 0);
	bool r = container_filters_match(c, f);
	json_decref(f);
	return r;
}

static void test_filters(void **state)
{
	struct container_store *store = sample_store();
	struct container *web = container_find(store, "web", NULL);
	web->status = CONTAINER_RUNNING;
	assert_true(match(web, "{\"status\":[\"running\"]}"));
	assert_false(match(web, "{\"status\":[\"exited\"]}"));
	assert_true(match(web, "{\"status\":[\"exited\",\"running\"]}"));
	assert_true(match(web, "{\"label\":[\"tier\"]}"));
	assert_true(match(web, "{\"label\":[\"tier=front\",\"app=x\"]}"));
	assert_false(match(web, "{\"label\":[\"tier=front\",\"app=y\"]}"));
	assert_true(match(web, "{\"label\":{\"tier=front\":true}}"));
	assert_true(match(web, "{\"name\":[\"we\"]}"));
	assert_true(match(web, "{\"name\":[\"^web$\"]}"));
	assert_false(match(web, "{\"name\":[\"db\"]}"));
	assert_true(match(web, "{\"id\":[\"aaaa1\"]}"));
	assert_false(match(web, "{\"id\":[\"bbbb\"]}"));
	assert_true(match(web, "{\"ancestor\":[\"busybox\"]}"));

	struct berth_error err = {0};
	json_t *bad = json_loads("{\"colour\":[\"red\"]}", 0, NULL);
	assert_int_equal(container_filters_check(bad, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "invalid filter 'colour'");
	json_decref(bad);
	bad = json_loads("{\"status\":[\"sleeping\"]}", 0, NULL);
	assert_int_equal(container_filters_check(bad, &err), -1);
	json_decref(bad);
	container_store_free(store);
}

static json_t *merge(const char *request, const char *image, struct berth_error *err)
{
	json_t *r = json_loads(request, 0, NULL), *i = json_loads(image, 0, NULL);
	assert_non_null(r);
	json_t *out = container_merge_config(r, i, err);
	json_decref(r);
	json_decref(i);
	return out;
}

static void assert_json(json_t *j, const char *key, const char *expected)
{
	char *s = json_dumps(json_object_get(j, key), JSON_COMPACT | JSON_ENCODE_ANY);
	assert_string_equal(s, expected);
	free(s);
}

static void test_merge(void **state)
{
	struct berth_error err = {0};
	const char *image =
	    "{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/w\","
	    "\"Labels\":{\"l1\":\"img\",\"l2\":\"img\"},\"StopSignal\":\"SIGQUIT\","
	    "\"ExposedPorts\":{\"80/tcp\":{}}}";
	json_t *c = merge("{\"Image\":\"busybox\",\"Env\":[\"A=2\",\"B=3\"],\"Cmd\":null,"
			  "\"Labels\":{\"l2\":\"me\"},\"HostConfig\":{\"Memory\":1}}",
			  image, &err);
	assert_non_null(c);
	assert_json(c, "Env", "[\"A=2\",\"B=3\",\"PATH=/bin\"]");
	assert_json(c, "Cmd", "[\"sh\"]");
	assert_json(c, "Entrypoint", "null");
	assert_json(c, "WorkingDir", "\"/w\"");
	assert_json(c, "StopSignal", "\"SIGQUIT\"");
	assert_json(c, "Labels", "{\"l1\":\"img\",\"l2\":\"me\"}");
	assert_json(c, "ExposedPorts", "{\"80/tcp\":{}}");
	assert_null(json_object_get(c, "HostConfig"));
	assert_json(c, "Tty", "false");
	json_decref(c);

	/* The user's entrypoint drops the image's Cmd. */
	c = merge("{\"Image\":\"x\",\"Entrypoint\":[\"top\"]}", image, &err);
	assert_json(c, "Entrypoint", "[\"top\"]");
	assert_json(c, "Cmd", "null");
	json_decref(c);
	/* ...unless the user gave a Cmd too. */
	c = merge("{\"Image\":\"x\",\"Entrypoint\":[\"top\"],\"Cmd\":[\"-b\"]}", image, &err);
	assert_json(c, "Cmd", "[\"-b\"]");
	json_decref(c);
	/* The image's entrypoint stays when the user gives only a Cmd. */
	c = merge("{\"Image\":\"x\",\"Cmd\":[\"a\"]}", "{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"b\"]}",
		  &err);
	assert_json(c, "Entrypoint", "[\"/ep\"]");
	assert_json(c, "Cmd", "[\"a\"]");
	json_decref(c);

	c = merge("{\"Image\":\"x\"}", "{\"Env\":[\"PATH=/bin\"]}", &err);
	assert_null(c);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "No command specified");
	c = merge("{\"Image\":\"x\",\"Entrypoint\":[\"\"]}", "{\"Cmd\":[\"sh\"]}", &err);
	assert_null(c);
}

static void test_signals(void **state)
{
	assert_int_equal(container_parse_signal("SIGTERM"), 15);
	assert_int_equal(container_parse_signal("KILL"), 9);
	assert_int_equal(container_parse_signal("sigusr1"), 10);
	assert_int_equal(container_parse_signal("2"), 2);
	assert_int_equal(container_parse_signal("NOPE"), -1);
	assert_int_equal(container_parse_signal("99"), -1);
	assert_int_equal(container_parse_signal(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),	cmocka_unit_test(test_names),
	    cmocka_unit_test(test_status_text), cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_merge),	cmocka_unit_test(test_signals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
