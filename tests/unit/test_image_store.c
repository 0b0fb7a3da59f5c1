/* Unit tests for the image store: import with changes, resolution, tags, save → load round
 * trip in both layouts, Docker's removal rules and conflict texts, prune, reopening. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "image_store.h"

static char tmp[256];
static const char *user_id = "3f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e";
static char in_use_image[72];

static bool in_use(void *arg, const char *image_id, char container_id[65])
{
	if (strcmp(image_id, in_use_image))
		return false;
	strcpy(container_id, user_id);
	return true;
}

static char *p(const char *rel)
{
	return berth_strdupf("%s/%s", tmp, rel);
}

/* A tiny rootfs tar: bin/sh and etc/passwd. */
static void make_rootfs(const char *path, const char *content)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	const char *names[] = {"bin/sh", "etc/passwd"};
	for (int i = 0; i < 2; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, (la_int64_t)strlen(content));
		archive_write_header(a, e);
		archive_write_data(a, content, strlen(content));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/berth-store-test.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	in_use_image[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	berth_rm_rf(tmp, NULL);
	return 0;
}

static void test_import_resolve_tag(void **state)
{
	char *root = p("root"), *tar = p("rootfs.tar");
	make_rootfs(tar, "one");
	struct berth_error err = {0};
	struct image_store *s = image_store_open(root, &err);
	assert_non_null(s);
	const char *changes[] = {"CMD [\"sh\"]", "ENV A=1 B=\"two words\"",
				 "WORKDIR /tmp", "EXPOSE 80 53/udp",
				 "LABEL k=v",	 "ENTRYPOINT echo hi"};
	char id[72];
	if (image_archive_import(s, tar, "busybox", changes, 6, id, &err) < 0)
		fail_msg("%s", err.msg);
	struct image_info info;
	assert_int_equal(image_store_resolve(s, "busybox", &info, &err), 0);
	assert_string_equal(info.id, id);
	assert_int_equal(info.n_layers, 1);
	struct stat st;
	char *sh = berth_strdupf("%s/bin/sh", info.layers[0]);
	assert_int_equal(stat(sh, &st), 0);
	free(sh);
	json_t *cfg = json_object_get(info.config, "config");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Env"), 1)),
			    "B=two words");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(cfg, "Entrypoint"), 2)), "echo hi");
	assert_non_null(json_object_get(json_object_get(cfg, "ExposedPorts"), "53/udp"));
	assert_string_equal(json_string_value(json_object_get(cfg, "WorkingDir")), "/tmp");
	image_info_clear(&info);

	const char *forms[] = {
	    "busybox:latest", "docker.io/library/busybox", id, id + 7, "sha256:", NULL};
	char short_id[20];
	snprintf(short_id, sizeof(short_id), "%.10s", id + 7);
	forms[4] = short_id;
	for (int i = 0; forms[i]; i++) {
		char got[72];
		if (image_store_resolve_id(s, forms[i], got, &err) < 0)
			fail_msg("%s: %s", forms[i], err.msg);
		assert_string_equal(got, id);
	}
	char none[72];
	assert_int_equal(image_store_resolve_id(s, "nosuch", none, &err), -1);
	assert_int_equal(err.status, 404);
	assert_string_equal(err.msg, "No such image: nosuch:latest");
	assert_int_equal(image_store_resolve_id(s, "UPPER", none, &err), -1);
	assert_int_equal(err.status, 400);

	const char *bad[] = {"BOGUS bla"};
	assert_int_equal(image_archive_import(s, tar, "x", bad, 1, none, &err), -1);
	assert_string_equal(err.msg, "BOGUS is not a valid change command");

	assert_int_equal(image_store_tag(s, "busybox", "example.com/app", "v2", &err), 0);
	json_t *tags = image_store_tags_of(s, id);
	assert_int_equal(json_array_size(tags), 2);
	json_decref(tags);
	json_t *list = image_store_list(s, false, NULL, &err);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(list, 0), "RepoTags")), 2);
	json_decref(list);
	json_t *insp = image_store_inspect(s, "example.com/app:v2", &err);
	assert_non_null(insp);
	assert_string_equal(json_string_value(json_object_get(insp, "Id")), id);
	json_decref(insp);

	/* Reopen: tags and records come back from disk. */
	image_store_free(s);
	s = image_store_open(root, &err);
	char again[72];
	assert_int_equal(image_store_resolve_id(s, "example.com/app:v2", again, &err), 0);
	assert_string_equal(again, id);
	image_store_free(s);
	free(root);
	free(tar);
}

static void test_save_load_round_trip(void **state)
{
	char *root = p("root"), *root2 = p("root2"), *tar = p("rootfs.tar"), *out = p("out.tar");
	make_rootfs(tar, "two");
	struct berth_error err = {0};
	struct image_store *s = image_store_open(root, &err);
	char id[72];
	assert_int_equal(image_archive_import(s, tar, "app:1", NULL, 0, id, &err), 0);
	assert_int_equal(image_store_tag(s, "app:1", "app", "2", &err), 0);
	const char *refs[] = {"app:1", "app:2"};
	if (image_archive_save(s, refs, 2, out, &err) < 0)
		fail_msg("%s", err.msg);
	struct image_store *s2 = image_store_open(root2, &err);
	json_t *msgs = json_array();
	if (image_archive_load(s2, out, msgs, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "stream")),
			    "Loaded image: app:1\n");
	json_decref(msgs);
	char got[72];
	assert_int_equal(image_store_resolve_id(s2, "app:2", got, &err), 0);
	assert_string_equal(got, id);
	/* Loading again moves nothing and says so the Docker way. */
	msgs = json_array();
	assert_int_equal(image_archive_load(s2, out, msgs, &err), 0);
	json_decref(msgs);
	image_store_free(s2);
	image_store_free(s);
	free(root);
	free(root2);
	free(tar);
	free(out);
}

static void test_remove_rules(void **state)
{
	char *root = p("root"), *tar = p("rootfs.tar"), *tar2 = p("rootfs2.tar");
	make_rootfs(tar, "three");
	make_rootfs(tar2, "four");
	struct berth_error err = {0};
	struct image_store *s = image_store_open(root, &err);
	char id[72], id2[72];
	assert_int_equal(image_archive_import(s, tar, "busybox", NULL, 0, id, &err), 0);
	assert_int_equal(image_archive_import(s, tar2, NULL, NULL, 0, id2, &err), 0);
	snprintf(in_use_image, sizeof(in_use_image), "%s", id);

	assert_null(image_store_remove(s, "busybox", false, in_use, NULL, &err));
	assert_int_equal(err.status, 409);
	char want[512];
	snprintf(want, sizeof(want),
		 "conflict: unable to remove repository reference \"busybox\" (must force) - "
		 "container 3f1e2d3c4b5a is using its referenced image %.12s",
		 id + 7);
	assert_string_equal(err.msg, want);
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", id + 7);
	assert_null(image_store_remove(s, short_id, false, in_use, NULL, &err));
	snprintf(want, sizeof(want),
		 "conflict: unable to delete %s (must be forced) - image is being used by running "
		 "container 3f1e2d3c4b5a",
		 short_id);
	assert_string_equal(err.msg, want);
	char got[72];
	assert_int_equal(image_store_resolve_id(s, "busybox", got, &err), 0);

	/* Prune leaves used and tagged images; removes the dangling one with its layer. */
	json_t *pr = image_store_prune(s, true, in_use, NULL, &err);
	assert_non_null(pr);
	json_t *deleted = json_object_get(pr, "ImagesDeleted");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(deleted, 0), "Deleted")), id2);
	assert_true(json_integer_value(json_object_get(pr, "SpaceReclaimed")) > 0);
	json_decref(pr);
	assert_int_equal(image_store_resolve_id(s, id2, got, &err), -1);

	/* Not in use any more: untag, delete the image and its layer. */
	in_use_image[0] = '\0';
	json_t *rec = image_store_remove(s, "busybox:latest", false, in_use, NULL, &err);
	assert_non_null(rec);
	assert_int_equal(json_array_size(rec), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 0), "Untagged")),
			    "busybox:latest");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 1), "Deleted")),
			    id);
	json_decref(rec);
	char *cfg = berth_strdupf("%s/blobs/sha256/%s", root, id + 7);
	struct stat st;
	assert_int_not_equal(stat(cfg, &st), 0);
	free(cfg);
	image_store_free(s);
	free(root);
	free(tar);
	free(tar2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_import_resolve_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_rules, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
