/* Copy an image's directory into a new volume: resolved and read in the union of the layers,
 * written below the volume's directory fd, never through a symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "berth/rootpath.h"
#include "image_store.h"
#include "volume_fill.h"

/* Owner, mode (after chown: it clears set-id bits) and times of what is now dst/name. */
static void copy_meta(int dst, const char *name, int fd, const struct stat *st)
{
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fd >= 0) {
		if (fchown(fd, st->st_uid, st->st_gid) < 0)
			log_debug("volume: chown %s: %m", name);
		if (fchmod(fd, st->st_mode & 07777) < 0)
			log_debug("volume: chmod %s: %m", name);
		futimens(fd, times);
		return;
	}
	if (fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		log_debug("volume: chown %s: %m", name);
	utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW);
}

static __attribute__((noinline)) int copy_file(int src, int dst, const char *name,
					       const struct stat *st)
{
	_cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	_cleanup_close_ int out =
	    openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				return -1;
			off += w;
		}
	if (n < 0)
		return -1;
	copy_meta(dst, name, out, st);
	return 0;
}

/* Out of line, like copy_file: copy_entry recurses once per directory level (an image path
 * may be PATH_MAX deep), so its own frame stays small. */
static __attribute__((noinline)) int copy_link(int src, int dst, const char *name,
					       const struct stat *st)
{
	char target[4096];
	ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	if (symlinkat(target, dst, name) < 0)
		return -1;
	copy_meta(dst, name, -1, st);
	return 0;
}

static int copy_dir(const struct berth_union_dir *src, int dst);

static int copy_entry(const struct berth_union_dir *src, int dst, const char *name)
{
	size_t layer;
	struct stat st;
	struct berth_union_dir child = {0};
	if (berth_union_lookup(src, name, &layer, &st, &child) < 0)
		return errno == ENOENT ? 0 : -1;
	int sfd = src->fds[layer];
	if (S_ISDIR(st.st_mode)) {
		int rc = -1;
		if (mkdirat(dst, name, 0700) == 0) {
			_cleanup_close_ int d =
			    openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (d >= 0 && copy_dir(&child, d) == 0) {
				copy_meta(dst, name, d, &st);
				rc = 0;
			}
		}
		int e = errno;
		berth_union_dir_close(&child);
		errno = e;
		return rc;
	}
	if (S_ISLNK(st.st_mode))
		return copy_link(sfd, dst, name, &st);
	if (S_ISREG(st.st_mode))
		return copy_file(sfd, dst, name, &st);
	return 0; /* devices, fifos and sockets are not copied into a volume */
}

static int copy_dir(const struct berth_union_dir *src, int dst)
{
	char **names = berth_union_list(src);
	if (!names)
		return -1;
	int rc = 0;
	for (size_t i = 0; names[i]; i++) {
		if (rc == 0 && copy_entry(src, dst, names[i]) < 0) {
			log_warn("volume: copying %s from the image: %m", names[i]);
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static bool dir_empty(int fd)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return false;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

int volume_fill_from_image(const struct image_info *image, const char *target, const char *data)
{
	if (!image || !image->n_layers)
		return 0;
	_cleanup_close_ int dst = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0 || !dir_empty(dst))
		return 0;
	size_t n = image->n_layers;
	_cleanup_free_ int *fds = calloc(n, sizeof(int));
	if (!fds)
		abort();
	size_t opened = 0;
	int rc = -1;
	struct berth_union_dir src = {0};
	for (; opened < n; opened++)
		if ((fds[opened] = open(image->layers[opened],
					O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			log_warn("volume: open layer %s: %m", image->layers[opened]);
			goto out;
		}
	if (berth_union_open_dir(fds, n, target, &src) < 0) {
		/* Not a directory in the image (or outside it): Docker copies nothing. */
		rc = errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -1;
		if (rc < 0)
			log_warn("volume: resolving %s in the image: %m", target);
		goto out;
	}
	rc = copy_dir(&src, dst);
	/* The volume's root takes the owner, mode and times of the image's directory. */
	struct stat st;
	for (size_t i = n; i-- > 0;)
		if (src.fds[i] >= 0 && fstat(src.fds[i], &st) == 0) {
			copy_meta(-1, target, dst, &st);
			break;
		}
out:
	berth_union_dir_close(&src);
	for (size_t i = 0; i < opened; i++)
		close(fds[i]);
	return rc;
}
