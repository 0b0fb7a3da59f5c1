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
 * Beyond the tree, fanotify (below) reports every change this process makes on the host's
 * file systems during a run: one outside the layer directory, at any path, aborts too.
 * FUZZ_TAR_SELFTEST=1|2 shows each check firing.  */
#include <fcntl.h>
#include <ftw.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
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

/* ---- A second watch, for the whole host: fanotify (root, Linux >= 5.9) reports every
 * change this process makes on every file system that supports it (/, /dev/shm, /dev ...),
 * with the directory and the name. A change outside root during a run is an escape, wherever
 * it lands: an absolute path the walk above cannot see included. Without the capability the
 * harness says so once and keeps the tree check alone. FUZZ_TAR_NO_FANOTIFY=1 turns it off. */
#define MAX_FS 32
static int fan_fd = -1;
static struct {
	int fd; /* a directory on that file system, for open_by_handle_at */
	fsid_t fsid;
} fs[MAX_FS];
static int n_fs;

static void fan_setup(void)
{
	if (getenv("FUZZ_TAR_NO_FANOTIFY"))
		return;
	fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_NONBLOCK | FAN_CLOEXEC,
			       O_RDONLY);
	if (fan_fd < 0) {
		fprintf(stderr, "fuzz_tar: no fanotify (%m): checking the temporary tree only\n");
		return;
	}
	FILE *m = fopen("/proc/self/mounts", "re");
	char line[4096];
	while (m && fgets(line, sizeof(line), m) && n_fs < MAX_FS) {
		char dev[1024], dir[1024];
		if (sscanf(line, "%1023s %1023s", dev, dir) != 2)
			continue;
		uint64_t mask = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO |
				FAN_ATTRIB | FAN_MODIFY | FAN_DELETE_SELF | FAN_ONDIR;
		if (fanotify_mark(fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, dir) <
		    0)
			continue; /* proc, sysfs, cgroup: no file handles, nothing to unpack into */
		struct statfs sf;
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fstatfs(dfd, &sf) < 0) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		fs[n_fs].fd = dfd;
		fs[n_fs++].fsid = sf.f_fsid;
	}
	if (m)
		fclose(m);
}

/* The path an event names, or "" when its directory is gone (removed in the same run). */
static void fan_path(const struct fanotify_event_info_fid *fid, char *out, size_t size)
{
	out[0] = '\0';
	struct file_handle *fh = (struct file_handle *)fid->handle;
	const char *name = (const char *)fh->f_handle + fh->handle_bytes;
	for (int i = 0; i < n_fs; i++) {
		if (memcmp(&fs[i].fsid, &fid->fsid, sizeof(fid->fsid)) != 0)
			continue;
		int d = open_by_handle_at(fs[i].fd, fh, O_PATH | O_CLOEXEC);
		if (d < 0)
			return;
		char link[64], dir[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", d);
		ssize_t n = readlink(link, dir, sizeof(dir) - 1);
		close(d);
		if (n <= 0)
			return;
		dir[n] = '\0';
		snprintf(out, size, "%s/%s", dir, name);
		return;
	}
}

/* Read every queued event; with check set, abort on one of ours outside `inside`. */
static void fan_drain(bool check, const char *inside)
{
	if (fan_fd < 0)
		return;
	char buf[16384];
	/* Events follow each other unaligned (a name's length is any): copy each one out. */
	static uint64_t
	    one[(sizeof(struct fanotify_event_metadata) + MAX_HANDLE_SZ + 512 + PATH_MAX) / 8];
	size_t in_len = strlen(inside);
	for (;;) {
		ssize_t len = read(fan_fd, buf, sizeof(buf));
		if (len <= 0)
			return;
		for (size_t off = 0; off + sizeof(struct fanotify_event_metadata) <= (size_t)len;) {
			struct fanotify_event_metadata *ev = (struct fanotify_event_metadata *)one;
			memcpy(ev, buf + off, sizeof(*ev));
			if (ev->event_len < sizeof(*ev) || off + ev->event_len > (size_t)len ||
			    ev->event_len > sizeof(one))
				abort();
			memcpy(one, buf + off, ev->event_len);
			off += ev->event_len;
			if (!check || ev->pid != getpid() || ev->event_len <= ev->metadata_len)
				continue;
			struct fanotify_event_info_fid *fid =
			    (struct fanotify_event_info_fid *)((char *)one + ev->metadata_len);
			if (fid->hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME)
				continue;
			char path[2 * PATH_MAX];
			fan_path(fid, path, sizeof(path));
			if (!path[0] || (strncmp(path, inside, in_len) == 0 &&
					 (path[in_len] == '/' || path[in_len] == '\0')))
				continue;
			fprintf(stderr,
				"fuzz_tar: the layer changed %s (fanotify mask 0x%llx), outside "
				"%s\n",
				path, (unsigned long long)ev->mask, inside);
			abort();
		}
	}
}

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
	fan_setup();
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
	fan_drain(false, root); /* whatever came before this run */
	struct berth_error err = {0};
	image_layer_install(root, tar, "sha256:0000", &err);
	/* Clean up inside root (root itself stays, so its parent does not change). */
	snprintf(sub, sizeof(sub), "%s/layers", root);
	berth_rm_rf(sub, NULL);
	snprintf(sub, sizeof(sub), "%s/tmp", root);
	berth_rm_rf(sub, NULL);
	/* FUZZ_TAR_SELFTEST=1: change a sentinel in the tree; =2: create and remove a file in
	 * /tmp, outside the tree (only fanotify sees that). Either must abort. */
	const char *selftest = getenv("FUZZ_TAR_SELFTEST");
	if (selftest) {
		char p[PATH_MAX + 16];
		if (atoi(selftest) == 2)
			snprintf(p, sizeof(p), "/tmp/berth-fuzz-tar-selftest.%d", (int)getpid());
		else
			snprintf(p, sizeof(p), "%s/../../sentinel", root);
		berth_write_atomic_flags(p, "changed\n", 8, 0644, BERTH_WRITE_NO_SYNC, NULL);
		if (atoi(selftest) == 2)
			unlink(p);
	}
	fan_drain(true, root);
	const char *now = snapshot();
	if (strcmp(before, now) != 0)
		report(now);
	return 0;
}
