/* The container's filesystem, built inside its own mount namespace: the overlay rootfs,
 * pivot_root, /proc, /sys, /dev, binds (masks.c: Docker's masked and read-only paths). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/rootpath.h"
#include "berth/run_opts.h"
#include "shim.h"

static const struct {
	const char *name;
	unsigned major, minor;
} devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},	 {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const char *const dev_links[][2] = {
    {"ptmx", "pts/ptmx"},	   {"fd", "/proc/self/fd"},	  {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"},
};

/* A directory under root_fd by a path resolved as if root_fd were "/" (made if missing). */
static int resolve_dir(int root_fd, const char *name)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, root_fd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOENT && mkdirat(root_fd, name, 0755) == 0)
		fd = (int)syscall(SYS_openat2, root_fd, name, &how, sizeof(how));
	return fd;
}

int shim_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* A mount point for a bind below the container's root (root_fd), resolved inside it: a
 * directory or an empty file like the source, parents made. An fd of it, or -1. */
static int make_target(int root_fd, const char *target, bool dir)
{
	if (dir)
		return berth_root_mkdir_p(root_fd, target, 0755);
	int fd = berth_root_open(root_fd, target, O_PATH | O_CLOEXEC, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* e.g. Debian's /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf */
	return berth_root_create_p(root_fd, target, O_WRONLY | O_CLOEXEC, 0644);
}

static int overlay_mount(const struct shim_spec *spec, const char *rootfs,
			 struct shim_child_error *cerr)
{
	static char opts[8192];
	size_t n = 0, cap = sizeof(opts);
	int nl = 0;
	while (spec->layers[nl])
		nl++;
	n += (size_t)snprintf(opts + n, cap - n, "lowerdir=");
	for (int i = nl - 1; i >= 0 && n < cap; i--)
		n += (size_t)snprintf(opts + n, cap - n, "%s%s", spec->layers[i], i ? ":" : "");
	if (n < cap)
		n += (size_t)snprintf(opts + n, cap - n, ",upperdir=%s/upper,workdir=%s/work",
				      spec->dir, spec->dir);
	/* The kernel takes one page of mount data. */
	if (n >= 4000)
		return shim_child_fail(cerr, 125, 0, "overlay mount options too long (%d layers)",
				       nl);
	if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
		return shim_child_fail(cerr, 125, errno, "mount overlay on %s", rootfs);
	return 0;
}

/* Fill /dev (already a tmpfs: see shim_mounts_setup). */
static int mount_dev(const struct shim_spec *spec, struct shim_child_error *cerr)
{
	char path[64], shm[64];
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		snprintf(path, sizeof(path), "/dev/%s", devices[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0)
			return shim_child_fail(cerr, 125, errno, "mknod %s", path);
		chmod(path, 0666); /* despite the umask */
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_links[i][0]);
		symlink(dev_links[i][1], path);
	}
	mkdir("/dev/pts", 0755);
	mkdir("/dev/shm", 01777);
	mkdir("/dev/mqueue", 0755);
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
		return shim_child_fail(cerr, 125, errno, "mount /dev/pts");
	snprintf(shm, sizeof(shm), "mode=1777,size=%lld", (long long)spec->shm_size);
	if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm) < 0)
		return shim_child_fail(cerr, 125, errno, "mount /dev/shm (%s)", shm);
	mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	return 0;
}

/* Bind fd onto target, a path in the container (after pivot_root: "/" is its root), resolved
 * inside the root (no symlink or magic link leads out) and mounted on through its fd. */
static int bind_fd(int fd, const char *target, bool readonly, struct shim_child_error *cerr)
{
	char src[64], dst[64];
	struct stat st;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fstat(fd, &st) < 0 || root_fd < 0)
		return shim_child_fail(cerr, 125, errno, "create mount point %s", target);
	_cleanup_close_ int target_fd = make_target(root_fd, target, S_ISDIR(st.st_mode));
	if (target_fd < 0)
		return shim_child_fail(cerr, 125, errno, "create mount point %s", target);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", target_fd);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "bind mount %s", target);
	if (!readonly)
		return 0;
	/* The fd is the mount point beneath: the new mount is found by resolving again. */
	_cleanup_close_ int mnt_fd = berth_root_open(root_fd, target, O_PATH | O_CLOEXEC, 0);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", mnt_fd);
	if (mnt_fd < 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "remount %s read-only", target);
	return 0;
}

/* A --tmpfs on target, resolved inside the root (made if missing) and mounted on through its
 * fd, with Docker's options (noexec,nosuid,nodev unless overridden). */
static int mount_tmpfs(const char *target, const char *options, struct shim_child_error *cerr)
{
	struct berth_tmpfs_opts o;
	struct berth_error e = {0};
	if (berth_tmpfs_parse(options, &o, &e) < 0)
		return shim_child_fail(cerr, 125, 0, "%s", e.msg);
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = root_fd < 0 ? -1 : berth_root_mkdir_p(root_fd, target, 0755);
	if (fd < 0)
		return shim_child_fail(cerr, 125, errno, "create mount point %s", target);
	char dst[64];
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);
	if (mount("tmpfs", dst, "tmpfs", o.flags, o.data) < 0)
		return shim_child_fail(cerr, 125, errno, "mount tmpfs on %s (%s)", target, o.data);
	_cleanup_close_ int mnt_fd = berth_root_open(root_fd, target, O_PATH | O_CLOEXEC, 0);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", mnt_fd);
	if (mnt_fd < 0 || mount(NULL, dst, NULL, o.propagation, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "set propagation of %s", target);
	return 0;
}

int shim_mounts_setup(const struct shim_spec *spec, struct shim_child_error *cerr)
{
	char rootfs[4096], oldroot[64];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", spec->dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "make / private");
	if (overlay_mount(spec, rootfs, cerr) < 0)
		return -1;

	/* Host-side sources, opened before the host's tree goes out of reach. */
	static const char *const etc_files[] = {"hostname", "hosts", "resolv.conf"};
	int etc_fd[3], *mount_fd = calloc(spec->n_mounts + 1, sizeof(int));
	for (int i = 0; i < 3; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", spec->dir, etc_files[i]);
		etc_fd[i] = open(p, O_PATH | O_CLOEXEC);
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		mount_fd[i] = -1;
		if (spec->mounts[i].tmpfs)
			continue;
		mount_fd[i] = open(spec->mounts[i].source, O_PATH | O_CLOEXEC);
		if (mount_fd[i] < 0)
			return shim_child_fail(cerr, 125, errno,
					       "invalid mount config for type \"bind\": bind "
					       "source path does not exist: %s",
					       spec->mounts[i].source);
	}
	int sys_fd = spec->host_network ? -1 : open("/sys", O_PATH | O_CLOEXEC);
	struct shim_host_devices *host_devs = spec->privileged ? shim_host_devices_scan() : NULL;

	/* /dev's tmpfs goes on first, found without leaving the rootfs (RESOLVE_IN_ROOT), and
	 * holds the old root during pivot_root: the container's upper dir sees no writes, and the
	 * old root's name is one the image cannot guess or point a symlink into. */
	_cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dev_fd = resolve_dir(root_fd, "dev");
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", dev_fd);
	if (dev_fd < 0 ||
	    mount("tmpfs", fdpath, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
		return shim_child_fail(cerr, 125, errno, "mount /dev");
	_cleanup_close_ int devtmp_fd = resolve_dir(root_fd, "dev");
	unsigned long long rnd = 0;
	getrandom(&rnd, sizeof(rnd), 0);
	snprintf(oldroot, sizeof(oldroot), ".oldroot-%016llx", rnd);
	char put_old[128];
	snprintf(put_old, sizeof(put_old), "/proc/self/fd/%d/%s", devtmp_fd, oldroot);
	if (devtmp_fd < 0 || mkdirat(devtmp_fd, oldroot, 0700) < 0)
		return shim_child_fail(cerr, 125, errno, "mkdir /dev/%s", oldroot);
	if (syscall(SYS_pivot_root, rootfs, put_old) < 0)
		return shim_child_fail(cerr, 125, errno, "pivot_root %s", rootfs);
	if (chdir("/") < 0)
		return shim_child_fail(cerr, 125, errno, "chdir /");

	if (shim_mkdir_p("/proc", 0555) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "mount /proc");
	shim_mkdir_p("/sys", 0555);
	/* --privileged: a writable /sys, as Docker gives it */
	unsigned long ro = (spec->privileged ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("sysfs", "/sys", "sysfs", ro, NULL) < 0) {
		/* sysfs of a netns we do not own: a read-only bind of the host's instead. */
		if (sys_fd < 0 || bind_fd(sys_fd, "/sys", !spec->privileged, cerr) < 0)
			return shim_child_fail(cerr, 125, errno, "mount /sys");
	}
	if (mount_dev(spec, cerr) < 0 || shim_host_devices_make(host_devs, cerr) < 0)
		return -1;
	if (shim_mkdir_p("/etc", 0755) < 0)
		return shim_child_fail(cerr, 125, errno, "mkdir /etc");
	for (int i = 0; i < 3; i++) {
		char target[64];
		snprintf(target, sizeof(target), "/etc/%s", etc_files[i]);
		if (etc_fd[i] >= 0 && bind_fd(etc_fd[i], target, false, cerr) < 0)
			return -1;
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct shim_mount *m = &spec->mounts[i];
		if (m->tmpfs ? mount_tmpfs(m->target, m->tmpfs, cerr) < 0
			     : bind_fd(mount_fd[i], m->target, m->readonly, cerr) < 0)
			return -1;
	}
	if (shim_mask_paths(spec, cerr) < 0)
		return -1;

	for (int i = 0; i < 3; i++)
		if (etc_fd[i] >= 0)
			close(etc_fd[i]);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (mount_fd[i] >= 0)
			close(mount_fd[i]);
	free(mount_fd);
	if (sys_fd >= 0)
		close(sys_fd);
	if (fchdir(devtmp_fd) < 0 || umount2(oldroot, MNT_DETACH) < 0)
		return shim_child_fail(cerr, 125, errno, "unmount the old root");
	unlinkat(devtmp_fd, oldroot, AT_REMOVEDIR);
	if (chdir("/") < 0)
		return shim_child_fail(cerr, 125, errno, "chdir /");
	/* The working dir is made before / turns read-only (Docker makes it at create), inside
	 * the root (spawn.c enters it the same way). */
	if (spec->cwd && *spec->cwd) {
		int cwd_fd = berth_root_mkdir_p(root_fd, spec->cwd, 0755);
		if (cwd_fd >= 0)
			close(cwd_fd);
	}
	if (spec->readonly_rootfs &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return shim_child_fail(cerr, 125, errno, "remount / read-only");
	return 0;
}

/* Rewritten only when it changed: a truncate-and-write on ext4 starts writeback at close. */
static int write_small_file(const char *path, const char *buf, size_t n)
{
	char old[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, old, sizeof(old));
		close(fd);
		if (r == (ssize_t)n && memcmp(old, buf, n) == 0)
			return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, n);
	close(fd);
	return w < 0 ? -1 : 0;
}

int shim_write_etc_files(const struct shim_spec *spec)
{
	char path[4096], buf[8192];
	size_t n;
	snprintf(path, sizeof(path), "%s/hostname", spec->dir);
	n = (size_t)snprintf(buf, sizeof(buf), "%s\n", spec->hostname);
	if (write_small_file(path, buf, n) < 0)
		return -1;

	snprintf(path, sizeof(path), "%s/hosts", spec->dir);
	n = (size_t)snprintf(buf, sizeof(buf),
			     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			     "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
			     "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
	json_t *hosts = json_object_get(spec->json, "hosts");
	size_t i;
	json_t *v;
	bool named = false;
	json_array_foreach(hosts, i, v)
	{
		if (json_is_string(v) && n < sizeof(buf)) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\n",
					      json_string_value(v));
			if (strstr(json_string_value(v), spec->hostname))
				named = true;
		}
	}
	if (!named && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "127.0.0.1\t%s\n", spec->hostname);
	if (n > sizeof(buf))
		n = sizeof(buf);
	if (write_small_file(path, buf, n) < 0)
		return -1;

	snprintf(path, sizeof(path), "%s/resolv.conf", spec->dir);
	json_t *dns = json_object_get(spec->json, "dns");
	n = 0;
	if (json_array_size(dns) > 0) {
		json_array_foreach(dns, i, v)
		{
			if (json_is_string(v) && n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "nameserver %s\n",
						      json_string_value(v));
		}
	} else {
		int hfd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
		ssize_t r = hfd >= 0 ? read(hfd, buf, sizeof(buf)) : 0;
		n = r > 0 ? (size_t)r : 0;
		if (hfd >= 0)
			close(hfd);
	}
	if (n > sizeof(buf))
		n = sizeof(buf);
	if (write_small_file(path, buf, n) < 0)
		return -1;
	return 0;
}
