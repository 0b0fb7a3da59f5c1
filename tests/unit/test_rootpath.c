/* Unit tests for lib/rootpath.c (paths inside a root: openat2 and the checked walk) and
 * lib/rootpath_union.c (the union of layer directories), on temporary directories. Each root
 * test runs twice: once through openat2 and once through the walk. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/fsutil.h"
#include "berth/rootpath.h"

struct fixture {
	char top[64];
	char root[96]; /* top/root: the root under test */
	char host[96]; /* top/host: outside it, with a file "marker" */
	int root_fd;
};

static void mkfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static int setup_mode(void **state, bool walk)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->top, sizeof(f->top), "/tmp/test-rootpath.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->root, sizeof(f->root), "%s/root", f->top);
	snprintf(f->host, sizeof(f->host), "%s/host", f->top);
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(mkdir(f->host, 0755), 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/marker", f->host);
	mkfile(p);
	f->root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->root_fd >= 0);
	berth_root_force_walk(walk);
	*state = f;
	return 0;
}

static int setup_kernel(void **state)
{
	return setup_mode(state, false);
}

static int setup_walk(void **state)
{
	return setup_mode(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->root_fd);
	berth_rm_rf(f->top, NULL);
	free(f);
	berth_root_force_walk(false);
	return 0;
}

static void at(const struct fixture *f, char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", f->root, rel);
}

/* The fd is the file at path (same inode). */
static void assert_same(int fd, const char *path)
{
	struct stat a, b;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

static void test_plain_and_dotdot(void **state)
{
	struct fixture *f = *state;
	char p[256];
	at(f, p, sizeof(p), "a");
	assert_int_equal(mkdir(p, 0755), 0);
	at(f, p, sizeof(p), "a/file");
	mkfile(p);
	int fd = berth_root_open(f->root_fd, "/a/./file", O_RDONLY | O_CLOEXEC, 0);
	assert_same(fd, p);
	close(fd);
	/* ".." above the root stays at the root: top/host/marker is out of reach. */
	fd = berth_root_open(f->root_fd, "../host/marker", O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
	fd = berth_root_open(f->root_fd, "/../../../../../a/file", O_RDONLY | O_CLOEXEC, 0);
	assert_same(fd, p);
	close(fd);
	fd = berth_root_open(f->root_fd, "a/../..", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	assert_same(fd, f->root);
	close(fd);
	fd = berth_root_open(f->root_fd, "a/file/x", O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOTDIR);
}

static void test_symlinks_stay_inside(void **state)
{
	struct fixture *f = *state;
	char p[256], t[256];
	/* x -> the host dir by its absolute host path; up -> ../../host by dots. */
	at(f, p, sizeof(p), "x");
	assert_int_equal(symlink(f->host, p), 0);
	at(f, p, sizeof(p), "up");
	assert_int_equal(symlink("../../../host", p), 0);
	assert_int_equal(berth_root_open(f->root_fd, "x/marker", O_RDONLY | O_CLOEXEC, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(berth_root_open(f->root_fd, "up/marker", O_RDONLY | O_CLOEXEC, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* ...and both land on the root's own copy of those paths. */
	at(f, p, sizeof(p), "host");
	assert_int_equal(mkdir(p, 0755), 0);
	at(f, t, sizeof(t), "host/marker");
	mkfile(t);
	int fd = berth_root_open(f->root_fd, "up/marker", O_RDONLY | O_CLOEXEC, 0);
	assert_same(fd, t);
	close(fd);
	/* a relative link inside, and a loop */
	at(f, p, sizeof(p), "rel");
	assert_int_equal(symlink("host", p), 0);
	fd = berth_root_open(f->root_fd, "rel/marker", O_RDONLY | O_CLOEXEC, 0);
	assert_same(fd, t);
	close(fd);
	at(f, p, sizeof(p), "loop1");
	assert_int_equal(symlink("loop2", p), 0);
	at(f, p, sizeof(p), "loop2");
	assert_int_equal(symlink("/loop1", p), 0);
	assert_int_equal(berth_root_open(f->root_fd, "loop1/x", O_RDONLY | O_CLOEXEC, 0), -1);
	assert_int_equal(errno, ELOOP);
	/* O_NOFOLLOW opens the last link itself (O_PATH) */
	fd = berth_root_open(f->root_fd, "x", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
}

static void test_magic_link(void **state)
{
	struct fixture *f = *state;
	char p[256], link[64];
	int host_fd = open(f->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(host_fd >= 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
	at(f, p, sizeof(p), "magic");
	assert_int_equal(symlink(link, p), 0);
	int fd = berth_root_open(f->root_fd, "magic/marker", O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(fd, -1); /* ELOOP from openat2, ENOENT from the walk */
	assert_true(errno == ELOOP || errno == ENOENT);
	/* a new file through it is not made on the host either */
	fd = berth_root_open(f->root_fd, "magic/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(fd, -1);
	snprintf(p, sizeof(p), "%s/new", f->host);
	assert_int_equal(access(p, F_OK), -1);
	close(host_fd);
}

/* The walk follows no symlink on procfs: a magic link's text may name a host path that is
 * reachable inside the root (the shim's old root under /dev), so reading it is not enough. */
static void test_walk_procfs(void **state)
{
	struct fixture *f = *state;
	char p[256];
	at(f, p, sizeof(p), "proc");
	assert_int_equal(mkdir(p, 0555), 0);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", p, "proc", 0, NULL) < 0)
		skip();
	/* the fixture's fd sees the old namespace's mounts: look again */
	int root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(root_fd >= 0);
	int fd = berth_root_open_walk(root_fd, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ELOOP);
	at(f, p, sizeof(p), "fdlink");
	assert_int_equal(symlink("/proc/self/fd/0", p), 0);
	assert_int_equal(berth_root_mkdir_p(root_fd, "fdlink/x", 0755), -1);
	assert_int_equal(errno, ELOOP);
	/* plain procfs files are still reached */
	fd = berth_root_open_walk(root_fd, "/proc/1/../uptime", O_RDONLY | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	close(fd);
	at(f, p, sizeof(p), "proc");
	umount2(p, MNT_DETACH);
	close(root_fd);
}

static void test_create_through_link(void **state)
{
	struct fixture *f = *state;
	char p[256], t[256];
	at(f, p, sizeof(p), "c");
	/* an absolute link to a host path that exists: created inside, not on the host */
	snprintf(t, sizeof(t), "%s/created", f->host);
	assert_int_equal(symlink(t, p), 0);
	int fd = berth_root_open(f->root_fd, "c", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(fd, -1); /* root/<top>/host does not exist */
	assert_int_equal(access(t, F_OK), -1);
	at(f, p, sizeof(p), "d");
	assert_int_equal(symlink("/made", p), 0);
	fd = berth_root_open(f->root_fd, "d", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	at(f, t, sizeof(t), "made");
	assert_same(fd, t);
	close(fd);
}

static void test_mkdir_p(void **state)
{
	struct fixture *f = *state;
	char p[256], t[256];
	int fd = berth_root_mkdir_p(f->root_fd, "/a/../../b/./c/", 0755);
	at(f, t, sizeof(t), "b/c");
	assert_same(fd, t);
	close(fd);
	/* through a link to the host dir by its host path: made inside the root, as Docker
	 * makes a dangling link's target, and nothing on the host */
	at(f, p, sizeof(p), "h");
	assert_int_equal(symlink(f->host, p), 0);
	fd = berth_root_mkdir_p(f->root_fd, "h/e", 0755);
	snprintf(t, sizeof(t), "%s%s/e", f->root, f->host);
	assert_same(fd, t);
	close(fd);
	snprintf(t, sizeof(t), "%s/e", f->host);
	assert_int_equal(access(t, F_OK), -1);
	/* through a magic link: never followed by the kernel */
	int host_fd = open(f->host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
	at(f, p, sizeof(p), "magic");
	assert_int_equal(symlink(link, p), 0);
	fd = berth_root_mkdir_p(f->root_fd, "magic/m", 0755);
	assert_true(fd >= 0);
	close(fd);
	close(host_fd);
	snprintf(t, sizeof(t), "%s/m", f->host);
	assert_int_equal(access(t, F_OK), -1);
	/* a link that stays inside is followed */
	at(f, p, sizeof(p), "lb");
	assert_int_equal(symlink("../../b", p), 0);
	fd = berth_root_mkdir_p(f->root_fd, "lb/d", 0700);
	at(f, t, sizeof(t), "b/d");
	assert_same(fd, t);
	close(fd);
	fd = berth_root_mkdir_p(f->root_fd, "/", 0755);
	assert_same(fd, f->root);
	close(fd);
	at(f, p, sizeof(p), "b/file");
	mkfile(p);
	assert_int_equal(berth_root_mkdir_p(f->root_fd, "b/file/x", 0755), -1);
	assert_int_equal(errno, ENOTDIR);
	/* a file through a dangling link (Debian's /etc/resolv.conf): its target made inside */
	at(f, p, sizeof(p), "etc");
	assert_int_equal(mkdir(p, 0755), 0);
	at(f, p, sizeof(p), "etc/resolv.conf");
	assert_int_equal(symlink("../run/systemd/resolve/stub-resolv.conf", p), 0);
	fd = berth_root_create_p(f->root_fd, "/etc/resolv.conf", O_WRONLY | O_CLOEXEC, 0644);
	at(f, t, sizeof(t), "run/systemd/resolve/stub-resolv.conf");
	assert_same(fd, t);
	close(fd);
}

/* Union: three layers under top/l0 (lowest) .. top/l2. */
struct layers {
	char top[64];
	char dir[3][96];
	int fds[3];
};

static int setup_layers(void **state)
{
	struct layers *l = calloc(1, sizeof(*l));
	snprintf(l->top, sizeof(l->top), "/tmp/test-union.XXXXXX");
	assert_non_null(mkdtemp(l->top));
	for (int i = 0; i < 3; i++) {
		snprintf(l->dir[i], sizeof(l->dir[i]), "%s/l%d", l->top, i);
		assert_int_equal(mkdir(l->dir[i], 0755), 0);
		l->fds[i] = open(l->dir[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	*state = l;
	return 0;
}

static int teardown_layers(void **state)
{
	struct layers *l = *state;
	for (int i = 0; i < 3; i++)
		close(l->fds[i]);
	berth_rm_rf(l->top, NULL);
	free(l);
	return 0;
}

static void lpath(const struct layers *l, int i, const char *rel, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", l->dir[i], rel);
}

static void lmkdir(const struct layers *l, int i, const char *rel)
{
	char p[256];
	lpath(l, i, rel, p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
}

static void lfile(const struct layers *l, int i, const char *rel)
{
	char p[256];
	lpath(l, i, rel, p, sizeof(p));
	mkfile(p);
}

static void llink(const struct layers *l, int i, const char *rel, const char *target)
{
	char p[256];
	lpath(l, i, rel, p, sizeof(p));
	assert_int_equal(symlink(target, p), 0);
}

/* The union listing of path, joined with ",". */
static void assert_list(const struct layers *l, const char *path, const char *want)
{
	struct berth_union_dir d;
	assert_int_equal(berth_union_open_dir(l->fds, 3, path, &d), 0);
	char **names = berth_union_list(&d);
	assert_non_null(names);
	char got[512] = "";
	for (size_t i = 0; names[i]; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, names[i]);
		free(names[i]);
	}
	free(names);
	berth_union_dir_close(&d);
	assert_string_equal(got, want);
}

static void assert_open_fails(const struct layers *l, const char *path, int err)
{
	struct berth_union_dir d;
	assert_int_equal(berth_union_open_dir(l->fds, 3, path, &d), -1);
	assert_int_equal(errno, err);
}

static void test_union_whiteouts(void **state)
{
	struct layers *l = *state;
	lmkdir(l, 0, "v");
	lfile(l, 0, "v/a");
	lfile(l, 0, "v/b");
	lfile(l, 0, "v/c");
	lmkdir(l, 1, "v");
	lfile(l, 1, "v/d");
	lfile(l, 1, "v/.wh.b"); /* an OCI whiteout file */
	assert_list(l, "/v", "a,c,d");
	/* an overlayfs whiteout (0/0 character device), as the layer unpacker writes them */
	lmkdir(l, 2, "v");
	char p[256];
	lpath(l, 2, "v/a", p, sizeof(p));
	if (mknod(p, S_IFCHR, makedev(0, 0)) == 0)
		assert_list(l, "/v", "c,d");
	/* a whited-out directory is not there to resolve */
	lmkdir(l, 0, "gone");
	lfile(l, 1, ".wh.gone");
	assert_open_fails(l, "gone", ENOENT);
}

static void test_union_opaque(void **state)
{
	struct layers *l = *state;
	lmkdir(l, 0, "v");
	lfile(l, 0, "v/low");
	lmkdir(l, 1, "v");
	lfile(l, 1, "v/mid");
	lmkdir(l, 2, "v");
	lfile(l, 2, "v/top");
	assert_list(l, "v", "low,mid,top");
	lfile(l, 1, "v/.wh..wh..opq");
	assert_list(l, "v", "mid,top");
	/* the overlayfs form: trusted.overlay.opaque=y on the directory */
	char p[256];
	lpath(l, 2, "v", p, sizeof(p));
	if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) == 0)
		assert_list(l, "v", "top");
}

static void test_union_symlinks(void **state)
{
	struct layers *l = *state;
	/* x -> a host directory (absolute) and VOLUME /x/sub: resolved in the layers only */
	llink(l, 0, "x", "/etc");
	assert_open_fails(l, "/x/sub", ENOENT);
	assert_open_fails(l, "/x", ENOENT);
	llink(l, 0, "up", "../../../../../../tmp");
	assert_open_fails(l, "/up", ENOENT);
	assert_open_fails(l, "/../../../../etc", ENOENT);
	/* ...and inside the layers, links are followed in the union view */
	lmkdir(l, 1, "etc");
	lfile(l, 1, "etc/inside");
	assert_list(l, "/x", "inside");
	llink(l, 0, "toroot", "../../..");
	assert_list(l, "/toroot/../../x/", "inside"); /* ".." clamps at the root */
	/* a lower layer's link under an upper layer's directory of the same name: the dir */
	llink(l, 0, "y", "/etc");
	lmkdir(l, 2, "y");
	lfile(l, 2, "y/own");
	assert_list(l, "y", "own");
	/* an upper layer's link over a lower directory: the link */
	lmkdir(l, 0, "z");
	lfile(l, 0, "z/lowz");
	llink(l, 2, "z", "etc");
	assert_list(l, "z", "inside");
	/* a file is not a directory; loops end */
	lfile(l, 0, "f");
	assert_open_fails(l, "f", ENOTDIR);
	assert_open_fails(l, "f/g", ENOTDIR);
	llink(l, 0, "loop", "loop");
	assert_open_fails(l, "loop", ELOOP);
}

static void test_union_file_hides_lower_dir(void **state)
{
	struct layers *l = *state;
	lmkdir(l, 0, "v");
	lfile(l, 0, "v/low");
	lfile(l, 1, "v"); /* a file in the middle */
	lmkdir(l, 2, "v");
	lfile(l, 2, "v/top");
	assert_list(l, "v", "top");
	struct berth_union_dir root, child;
	assert_int_equal(berth_union_open_dir(l->fds, 3, "/", &root), 0);
	size_t layer;
	struct stat st;
	assert_int_equal(berth_union_lookup(&root, "v", &layer, &st, &child), 0);
	assert_int_equal(layer, 2);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(child.fds[0] < 0 && child.fds[1] < 0 && child.fds[2] >= 0);
	berth_union_dir_close(&child);
	assert_int_equal(berth_union_lookup(&root, ".wh.v", &layer, &st, NULL), -1);
	assert_int_equal(berth_union_lookup(&root, "..", &layer, &st, NULL), -1);
	berth_union_dir_close(&root);
}

#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_kernel, teardown),                                \
	    cmocka_unit_test_setup_teardown(t, setup_walk, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_plain_and_dotdot),
	    BOTH(test_symlinks_stay_inside),
	    BOTH(test_magic_link),
	    BOTH(test_create_through_link),
	    cmocka_unit_test_setup_teardown(test_walk_procfs, setup_walk, teardown),
	    BOTH(test_mkdir_p),
	    cmocka_unit_test_setup_teardown(test_union_whiteouts, setup_layers, teardown_layers),
	    cmocka_unit_test_setup_teardown(test_union_opaque, setup_layers, teardown_layers),
	    cmocka_unit_test_setup_teardown(test_union_symlinks, setup_layers, teardown_layers),
	    cmocka_unit_test_setup_teardown(test_union_file_hides_lower_dir, setup_layers,
					    teardown_layers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
