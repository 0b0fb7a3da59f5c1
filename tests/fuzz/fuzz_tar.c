/* libFuzzer harness: unpacking an arbitrary (maybe compressed) layer tar through
 * image_layer_install must never crash, and must never change anything outside its layer
 * directory.
 *
 * The layer directory sits DEPTH levels deep in a fresh temporary tree that also holds
 * sentinels (files, a directory, a symlink) at every level, so a member that climbs with
 * "..", or a link that points up, lands inside the tree. Before the first run the harness
 * records the whole tree except the layer directory (path, type, mode, inode, link count,
 * size, mtime and ctime in ns, symlink target); after every run it records it again and
 * aborts on any difference: a file created, removed, written, renamed, hard-linked (its link
 * count and ctime change) or chmod-ed anywhere outside the layer is a crash libFuzzer keeps.
 * Absolute member names and absolute link targets are refused by the unpacker before any
 * write (clean_member) and every open is relative to the layer's fd with O_NOFOLLOW; an
 * escape through them would have to go through the same walk, which the nested tree sees. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "image_store.h"

#define DEPTH 24

static char base[64];
static char root[PATH_MAX]; /* the directory image_layer_install is given */
static char *before;	    /* the snapshot of everything outside root */
static char *snap;
static size_t snap_len, snap_cap;

static void snap_add(const char *line)
{
	size_t n = strlen(line);
	if (snap_len + n + 1 > snap_cap) {
		snap_cap = (snap_len + n + 1) * 2;
		snap = realloc(snap, snap_cap);
		if (!snap)
			abort();
	}
	memcpy(snap + snap_len, line, n + 1);
	snap_len += n;
}

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (strcmp(path, root) == 0)
		return FTW_SKIP_SUBTREE;
	char target[PATH_MAX] = "", line[2 * PATH_MAX + 200];
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
	}
	/* The directories on the way to root are opened, never changed: their times count too. */
	snprintf(line, sizeof(line), "%s %o %lu %lu %lld %lld.%09ld %lld.%09ld %s\n", path,
		 st->st_mode, (unsigned long)st->st_ino, (unsigned long)st->st_nlink,
		 (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec, target);
	snap_add(line);
	return FTW_CONTINUE;
}

static const char *snapshot(void)
{
	snap_len = 0;
	if (snap)
		snap[0] = '\0';
	if (nftw(base, walk_one, 16, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
		abort();
	return snap;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (berth_write_atomic(p, text, strlen(text), 0644, NULL) < 0)
		abort();
}

static void cleanup(void)
{
	berth_rm_rf(base, NULL);
}

static void setup(void)
{
	/* On tmpfs when there is one: the unpacker's syncs then cost nothing. */
	snprintf(base, sizeof(base), "%s/berth-fuzz-tar.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(base))
		abort();
	/* base/etc/{passwd,shadow}, base/outside/, then d/d/.../d/root with sentinels. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/etc", base);
	mkdir(dir, 0755);
	put_file(dir, "passwd", "root:x:0:0::/root:/bin/sh\n");
	put_file(dir, "shadow", "root:*:1::::::\n");
	snprintf(dir, sizeof(dir), "%s/outside", base);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s", base);
	for (int i = 0; i < DEPTH; i++) {
		put_file(dir, "sentinel", "s\n");
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/up", dir);
		if (symlink("..", p) < 0)
			abort();
		size_t n = strlen(dir);
		snprintf(dir + n, sizeof(dir) - n, "/d");
		if (mkdir(dir, 0755) < 0)
			abort();
	}
	snprintf(root, sizeof(root), "%s/root", dir);
	if (mkdir(root, 0755) < 0)
		abort();
	atexit(cleanup); /* (a crash leaves the tree to look at) */
	before = strdup(snapshot());
	if (!before)
		abort();
}

static void report(const char *now)
{
	/* The first line that differs, from both sides. */
	size_t i = 0, line = 0;
	while (before[i] && before[i] == now[i]) {
		if (before[i] == '\n')
			line = i + 1;
		i++;
	}
	fprintf(stderr,
		"fuzz_tar: the layer changed something outside %s\nbefore: %.*s\nafter:  %.*s\n",
		root, (int)strcspn(before + line, "\n"), before + line,
		(int)strcspn(now + line, "\n"), now + line);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base[0])
		setup();
	char tar[PATH_MAX + 16], sub[PATH_MAX + 16];
	snprintf(tar, sizeof(tar), "%s/in.tar", root);
	if (berth_write_atomic_flags(tar, data, size, 0644, BERTH_WRITE_NO_SYNC, NULL) < 0)
		abort();
	struct berth_error err = {0};
	image_layer_install(root, tar, "sha256:0000", &err);
	/* Clean up inside root (root itself stays, so its parent does not change). */
	snprintf(sub, sizeof(sub), "%s/layers", root);
	berth_rm_rf(sub, NULL);
	snprintf(sub, sizeof(sub), "%s/tmp", root);
	berth_rm_rf(sub, NULL);
	/* FUZZ_TAR_SELFTEST=1: change one sentinel, to show the check fires (it must abort). */
	if (getenv("FUZZ_TAR_SELFTEST")) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/../../sentinel", root);
		berth_write_atomic(p, "changed\n", 8, 0644, NULL);
	}
	const char *now = snapshot();
	if (strcmp(before, now) != 0)
		report(now);
	return 0;
}
