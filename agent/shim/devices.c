/* --privileged: the host's devices in the container's /dev, as Docker gives them (runc's
 * HostDevices: every char and block device under /dev but pts, shm, mqueue, fd and console). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define MAX_DEVICES 4096
#define MAX_DEPTH 4

struct shim_host_device {
	char path[128]; /* relative to /dev */
	mode_t mode;
	dev_t rdev;
	uid_t uid;
	gid_t gid;
};

struct shim_host_devices {
	size_t n;
	struct shim_host_device dev[];
};

static bool skipped(const char *name)
{
	static const char *const skip[] = {"pts",     "shm",  "mqueue",	     "fd",
					   "console", ".lxc", ".lxd-mounts", ".udev"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(name, skip[i]))
			return true;
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static void scan(int dirfd, const char *rel, int depth, struct shim_host_devices *d)
{
	DIR *dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(dir)) && d->n < MAX_DEVICES) {
		struct stat st;
		if (skipped(e->d_name) || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char path[sizeof(d->dev[0].path)];
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "",
				     e->d_name) >= sizeof(path))
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			int sub = openat(dirfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub >= 0)
				scan(sub, path, depth + 1, d);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			struct shim_host_device *v = &d->dev[d->n++];
			snprintf(v->path, sizeof(v->path), "%s", path);
			v->mode = st.st_mode, v->rdev = st.st_rdev;
			v->uid = st.st_uid, v->gid = st.st_gid;
		}
	}
	closedir(dir);
}

struct shim_host_devices *shim_host_devices_scan(void)
{
	struct shim_host_devices *d =
	    calloc(1, sizeof(*d) + MAX_DEVICES * sizeof(struct shim_host_device));
	int fd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!d || fd < 0) {
		free(d);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	scan(fd, "", 0, d);
	return d;
}

int shim_host_devices_make(struct shim_host_devices *d, struct shim_child_error *cerr)
{
	for (size_t i = 0; d && i < d->n; i++) {
		const struct shim_host_device *v = &d->dev[i];
		char path[sizeof(v->path) + 8];
		snprintf(path, sizeof(path), "/dev/%s", v->path);
		char *slash = strrchr(path, '/');
		*slash = '\0';
		if (shim_mkdir_p(path, 0755) < 0)
			return shim_child_fail(cerr, 125, errno, "mkdir %s", path);
		*slash = '/';
		/* The default devices (null, zero, tty...) are there already. */
		if (mknod(path, v->mode, v->rdev) < 0) {
			if (errno == EEXIST)
				continue;
			return shim_child_fail(cerr, 125, errno, "mknod %s", path);
		}
		if (chmod(path, v->mode & 07777) < 0 || lchown(path, v->uid, v->gid) < 0)
			return shim_child_fail(cerr, 125, errno, "set the owner and mode of %s",
					       path);
	}
	free(d);
	return 0;
}
