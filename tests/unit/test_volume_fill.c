/* Unit tests for agent/volume_fill.c: a volume filled from an image's layers on temporary
 * directories (union semantics, nothing from outside the layers, no write through a link,
 * owners and modes, only into an empty volume, deep trees). */
#include <errno.h>
#include <fcntl.h>
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
#include "image_store.h"
#include "volume_fill.h"

struct fixture {
	char top[64];
	char *layers[3];
	char data[128];
	char host[128];
	struct image_info image;
};

static void put(const char *dir, const char *rel, const char *content)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void mk(const char *dir, const char *rel)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(berth_mkdir_p(p, 0755, NULL), 0);
}

static void ln(const char *dir, const char *rel, const char *target)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *dir, const char *rel)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->top, sizeof(f->top), "/tmp/test-volume-fill.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	for (int i = 0; i < 2; i++) {
		f->layers[i] = berth_strdupf("%s/l%d", f->top, i);
		mk(f->layers[i], "");
	}
	f->image.layers = f->layers;
	f->image.n_layers = 2;
	snprintf(f->data, sizeof(f->data), "%s/data", f->top);
	snprintf(f->host, sizeof(f->host), "%s/host", f->top);
	mk(f->data, "");
	mk(f->host, "");
	put(f->host, "secret", "HOST");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	berth_rm_rf(f->top, NULL);
	for (int i = 0; i < 2; i++)
		free(f->layers[i]);
	free(f);
	return 0;
}

static void test_union_copy(void **state)
{
	struct fixture *f = *state;
	mk(f->layers[0], "v/o");
	put(f->layers[0], "v/gone", "x");
	put(f->layers[0], "v/keep", "keep");
	put(f->layers[0], "v/o/low", "x");
	ln(f->layers[0], "v/d", f->host); /* a link to the host dir, copied as a link */
	mk(f->layers[1], "v/d");
	mk(f->layers[1], "v/o");
	put(f->layers[1], "v/.wh.gone", "");
	put(f->layers[1], "v/o/.wh..wh..opq", "");
	put(f->layers[1], "v/o/top", "top");
	put(f->layers[1], "v/d/planted", "p");
	char p[256];
	snprintf(p, sizeof(p), "%s/v/keep", f->layers[0]);
	assert_int_equal(chown(p, 33, 44), 0);
	assert_int_equal(chmod(p, 04750), 0);
	assert_int_equal(volume_fill_from_image(&f->image, "/v", f->data), 0);
	assert_true(exists(f->data, "keep"));
	assert_false(exists(f->data, "gone"));
	assert_true(exists(f->data, "o/top"));
	assert_false(exists(f->data, "o/low"));
	assert_true(exists(f->data, "d/planted"));
	assert_false(exists(f->host, "planted"));
	struct stat st;
	snprintf(p, sizeof(p), "%s/keep", f->data);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 33);
	assert_int_equal(st.st_gid, 44);
	assert_int_equal(st.st_mode & 07777, 04750);
	/* not again into a volume that has files */
	put(f->layers[1], "v/new", "n");
	assert_int_equal(volume_fill_from_image(&f->image, "/v", f->data), 0);
	assert_false(exists(f->data, "new"));
}

static void test_escapes(void **state)
{
	struct fixture *f = *state;
	ln(f->layers[0], "x", f->host);
	ln(f->layers[1], "up", "../../../../../../../../..");
	char dots[512];
	snprintf(dots, sizeof(dots), "/../../../../../../../..%s", f->host);
	const char *targets[] = {"/x", "/x/", dots, "/up/tmp", "/up", "/x/../x"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		assert_int_equal(volume_fill_from_image(&f->image, targets[i], f->data), 0);
		assert_false(exists(f->data, "secret"));
	}
	/* "/up" is the image's own root: its entries, not the host's */
	assert_true(exists(f->data, "x"));
	assert_true(exists(f->data, "up"));
}

static void test_deep_tree(void **state)
{
	struct fixture *f = *state;
	/* as deep as a layer path may be (PATH_MAX): the copy recurses per level. Made by fd,
	 * one level at a time (mkdir -p by path would walk the whole path each step). */
	mk(f->layers[0], "deep");
	char p[256];
	snprintf(p, sizeof(p), "%s/deep", f->layers[0]);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int depth = 1;
	for (; depth < 1990; depth++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
		assert_true(fd >= 0);
	}
	int out = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(out >= 0);
	close(out);
	close(fd);
	assert_int_equal(volume_fill_from_image(&f->image, "/deep", f->data), 0);
	fd = open(f->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 1; i < depth; i++) {
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		assert_true(fd >= 0);
	}
	struct stat st;
	assert_int_equal(fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_union_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
