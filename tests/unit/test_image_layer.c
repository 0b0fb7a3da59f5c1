/* Unit tests for layer unpacking: whiteouts and opaque dirs (checked through a real overlay
 * mount), metadata, compression, chain IDs, and every hostile tarball refused cleanly. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store.h"

/* One tar member to write: type 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c'/'b'
 * device, 'p' fifo. */
struct member {
	char type;
	const char *name;
	const char *data; /* file content, or link target */
	unsigned major, minor;
};

static char tmp[256];

static void write_tar(const char *path, const struct member *m, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter == 'g')
		archive_write_add_filter_gzip(a);
	else if (filter == 'z')
		archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_uid(e, 1234);
		archive_entry_set_gid(e, 99);
		archive_entry_set_mtime(e, 1000000 + (time_t)i, 0);
		size_t len = 0;
		switch (m[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0640);
			len = strlen(m[i].data);
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0750);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, m[i].data);
			archive_entry_set_perm(e, 0777);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, m[i].data);
			archive_entry_set_perm(e, 0644);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(e, m[i].type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdevmajor(e, m[i].major);
			archive_entry_set_rdevminor(e, m[i].minor);
			archive_entry_set_perm(e, 0600);
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, 0600);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			archive_write_data(a, m[i].data, len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/berth-layer-test.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	char p[300];
	snprintf(p, sizeof(p), "%s/outside", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root", tmp);
	mkdir(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	berth_rm_rf(tmp, NULL);
	return 0;
}

static char *path_of(const char *rel)
{
	return berth_strdupf("%s/%s", tmp, rel);
}

static bool exists(const char *rel)
{
	char *p = path_of(rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static int count_entries(const char *rel)
{
	char *p = path_of(rel);
	DIR *d = opendir(p);
	free(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Install a hostile tar through image_layer_install: refused with msg_part, no layer dir or
 * temporary dir left, nothing written outside. */
static void refused(const struct member *m, size_t n, const char *msg_part)
{
	char *tar = path_of("evil.tar");
	char *root = path_of("root");
	write_tar(tar, m, n, 0);
	struct berth_error err = {0};
	assert_int_equal(image_layer_install(root, tar, "sha256:abcd", &err), -1);
	if (!strstr(err.msg, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
	assert_int_equal(err.status, 400);
	assert_int_equal(count_entries("root/layers"), 0);
	assert_int_equal(count_entries("outside"), 0);
	assert_false(exists("evil"));
	assert_false(exists("passwd"));
	free(tar);
	free(root);
}

static void test_hostile_paths(void **state)
{
	char *outside = path_of("outside");
	char *abs_target = berth_strdupf("%s/x", outside);
	const struct member dotdot[] = {{'f', "ok", "1"}, {'f', "../evil", "x"}};
	refused(dotdot, 2, "escapes the layer directory");
	const struct member nested[] = {{'d', "a/"}, {'f', "a/../../evil", "x"}};
	refused(nested, 2, "escapes the layer directory");
	const struct member absolute[] = {{'f', abs_target, "x"}};
	refused(absolute, 1, "absolute path");
	/* A symlink may point anywhere as a string, but nothing is written through it. */
	const struct member through[] = {{'l', "link", outside}, {'f', "link/evil", "x"}};
	refused(through, 2, "through the symlink \"link\"");
	const struct member through_dir[] = {{'l', "link", outside}, {'d', "link/sub/"}};
	refused(through_dir, 2, "through the symlink");
	const struct member rel_through[] = {
	    {'d', "d/"}, {'l', "d/up", "../.."}, {'f', "d/up/outside/evil", "x"}};
	refused(rel_through, 3, "through the symlink \"d/up\"");
	const struct member hard_out[] = {{'h', "h", "../outside/passwd"}};
	refused(hard_out, 1, "escapes the layer directory");
	const struct member hard_abs[] = {{'h', "h", "/etc/passwd"}};
	refused(hard_abs, 1, "absolute hard link target");
	const struct member hard_via_link[] = {{'l', "etc", "/etc"}, {'h', "h", "etc/passwd"}};
	refused(hard_via_link, 2, "through the symlink \"etc\"");
	const struct member hard_missing[] = {{'h', "h", "nothere"}};
	refused(hard_missing, 1, "is not in the layer");
	const struct member blockdev[] = {{'b', "dev/sda", NULL, 8, 0}};
	refused(blockdev, 1, "device nodes are not allowed in image layers (block device 8:0)");
	const struct member chardev[] = {{'c', "dev/null", NULL, 1, 3}};
	refused(chardev, 1, "character device 1:3");
	free(outside);
	free(abs_target);
}

static void test_broken_input(void **state)
{
	char *root = path_of("root");
	char *tar = path_of("bad.tar");
	struct berth_error err = {0};
	/* Not a tar at all. */
	assert_int_equal(berth_write_atomic(tar, "hello, I am not a tar\n", 22, 0644, NULL), 0);
	assert_int_equal(image_layer_install(root, tar, "sha256:abcd", &err), -1);
	assert_non_null(strstr(err.msg, "not a tar archive"));
	assert_int_equal(count_entries("root/layers"), 0);
	/* Empty input. */
	assert_int_equal(berth_write_atomic(tar, "", 0, 0644, NULL), 0);
	assert_int_equal(image_layer_install(root, tar, "sha256:abcd", &err), -1);
	assert_int_equal(count_entries("root/layers"), 0);
	/* Truncated in the middle of a file's data. */
	char big[8192];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const struct member m[] = {{'f', "a", "small"}, {'f', "big", big}};
	write_tar(tar, m, 2, 0);
	assert_int_equal(truncate(tar, 512 * 3 + 4000), 0);
	berth_err_clear(&err);
	assert_int_equal(image_layer_install(root, tar, "sha256:abcd", &err), -1);
	assert_non_null(strstr(err.msg, "truncated or corrupt"));
	assert_int_equal(count_entries("root/layers"), 0);
	/* Truncated gzip. */
	write_tar(tar, m, 2, 'g');
	struct stat st;
	stat(tar, &st);
	assert_int_equal(truncate(tar, st.st_size / 2), 0);
	berth_err_clear(&err);
	assert_int_equal(image_layer_install(root, tar, "sha256:abcd", &err), -1);
	assert_int_equal(count_entries("root/layers"), 0);
	int fd = open(tar, O_RDONLY);
	char diff[72];
	char *out = path_of("plain");
	assert_int_equal(image_layer_decompress(fd, out, diff, NULL, &err), -1);
	if (!strstr(err.msg, "truncated or corrupt layer"))
		fail_msg("%s", err.msg);
	close(fd);
	free(out);
	free(tar);
	free(root);
}

static void test_metadata_and_compression(void **state)
{
	const struct member m[] = {
	    {'d', "./"},
	    {'d', "etc/"},
	    {'f', "etc/hosts", "127.0.0.1 x\n"},
	    {'l', "bin/sh", "/bin/busybox"},
	    {'h', "etc/hosts2", "etc/hosts"},
	    {'p', "run/fifo"},
	    {'f', "./dup", "one"},
	    {'f', "dup", "two"},
	};
	const int filters[] = {0, 'g', 'z'};
	for (size_t fi = 0; fi < 3; fi++) {
		char *tar = path_of("m.tar");
		char *root = path_of("root");
		write_tar(tar, m, sizeof(m) / sizeof(m[0]), filters[fi]);
		struct berth_error err = {0};
		char chain[80];
		snprintf(chain, sizeof(chain), "sha256:%064zu", fi);
		int rc = image_layer_install(root, tar, chain, &err);
		if (rc != 1)
			fail_msg("install (filter %d): %s", filters[fi], err.msg);
		char *layer = berth_strdupf("%s/layers/%064zu", root, fi);
		char *p = berth_strdupf("%s/etc/hosts", layer);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 99);
		assert_int_equal(st.st_mode & 07777, 0640);
		assert_int_equal(st.st_mtime, 1000002);
		assert_int_equal(st.st_nlink, 2);
		free(p);
		p = berth_strdupf("%s/etc", layer);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0750);
		assert_int_equal(st.st_mtime, 1000001); /* set after its children were made */
		free(p);
		p = berth_strdupf("%s/bin/sh", layer);
		char target[64] = "";
		assert_int_equal(readlink(p, target, sizeof(target) - 1), 12);
		assert_string_equal(target, "/bin/busybox");
		free(p);
		p = berth_strdupf("%s/run/fifo", layer);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISFIFO(st.st_mode));
		free(p);
		p = berth_strdupf("%s/dup", layer);
		char *data = NULL;
		assert_int_equal(berth_read_file(p, &data, NULL, NULL), 0);
		assert_string_equal(data, "two");
		free(data);
		free(p);
		/* Installing again reuses the layer. */
		assert_int_equal(image_layer_install(root, tar, chain, &err), 0);
		free(layer);
		free(tar);
		free(root);
	}
}

static void test_decompress_digest(void **state)
{
	const struct member m[] = {{'f', "a", "hello"}};
	char *plain = path_of("p.tar"), *gz = path_of("p.tar.gz"), *out = path_of("out.tar");
	write_tar(plain, m, 1, 0);
	write_tar(gz, m, 1, 'g');
	char *data = NULL;
	size_t len;
	assert_int_equal(berth_read_file(plain, &data, &len, NULL), 0);
	char hex[65], want[72];
	berth_sha256_hex(data, len, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	free(data);
	char diff[72];
	int64_t size;
	int fd = open(gz, O_RDONLY);
	assert_int_equal(image_layer_decompress(fd, out, diff, &size, NULL), 0);
	close(fd);
	assert_string_equal(diff, want);
	assert_int_equal(size, (int64_t)len);
	free(plain);
	free(gz);
	free(out);
}

static void test_chain_ids(void **state)
{
	const char *diffs[] = {"sha256:aaaa", "sha256:bbbb", "sha256:cccc"};
	char chain[3][72];
	image_chain_ids(diffs, 3, chain);
	assert_string_equal(chain[0], "sha256:aaaa");
	char hex[65], want[72];
	berth_sha256_hex("sha256:aaaa sha256:bbbb", 23, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(chain[1], want);
	char *s = berth_strdupf("%s sha256:cccc", want);
	berth_sha256_hex(s, strlen(s), hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	assert_string_equal(chain[2], want);
	free(s);
}

/* Two layers, the second deleting a file and making a directory opaque; the overlay of both
 * must show what the OCI spec says. */
static void test_whiteouts(void **state)
{
	const struct member l1[] = {
	    {'d', "a/"}, {'f', "a/f1", "1"}, {'f', "a/f2", "2"},
	    {'d', "b/"}, {'f', "b/x", "x"},  {'f', "c", "c"},
	};
	const struct member l2[] = {
	    {'f', "a/.wh.f1", ""},     {'d', "b/"},	   {'f', "b/.wh..wh..opq", ""},
	    {'f', "b/y", "y"},	       {'f', ".wh.c", ""}, {'f', "new/.wh.ghost", ""},
	    {'f', ".wh..wh.plnk", ""},
	};
	char *t1 = path_of("l1.tar"), *t2 = path_of("l2.tar"), *root = path_of("root");
	write_tar(t1, l1, 6, 0);
	write_tar(t2, l2, 7, 'g');
	struct berth_error err = {0};
	assert_int_equal(image_layer_install(root, t1, "sha256:1111", &err), 1);
	if (image_layer_install(root, t2, "sha256:2222", &err) != 1)
		fail_msg("%s", err.msg);
	struct stat st;
	char *p = berth_strdupf("%s/layers/2222/a/f1", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	free(p);
	p = berth_strdupf("%s/layers/2222/a/.wh.f1", root);
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = berth_strdupf("%s/layers/2222/b", root);
	char v[8] = "";
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	free(p);
	p = berth_strdupf("%s/layers/2222/new/ghost", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	free(p);

	/* Mount the two as overlay lowerdirs in a private mount namespace. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		print_message("no mount namespace: overlay check skipped\n");
	} else {
		char *merged = path_of("merged");
		mkdir(merged, 0755);
		char *opts = berth_strdupf("lowerdir=%s/layers/2222:%s/layers/1111", root, root);
		assert_int_equal(mount("overlay", merged, "overlay", MS_RDONLY, opts), 0);
		char *q;
		q = berth_strdupf("%s/a/f1", merged);
		assert_int_not_equal(lstat(q, &st), 0);
		free(q);
		q = berth_strdupf("%s/a/f2", merged);
		assert_int_equal(lstat(q, &st), 0);
		free(q);
		q = berth_strdupf("%s/b/x", merged);
		assert_int_not_equal(lstat(q, &st), 0);
		free(q);
		q = berth_strdupf("%s/b/y", merged);
		assert_int_equal(lstat(q, &st), 0);
		free(q);
		q = berth_strdupf("%s/c", merged);
		assert_int_not_equal(lstat(q, &st), 0);
		free(q);
		umount2(merged, MNT_DETACH);
		free(opts);
		free(merged);
	}
	free(t1);
	free(t2);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hostile_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metadata_and_compression, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decompress_digest, setup, teardown),
	    cmocka_unit_test(test_chain_ids),
	    cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
