/* Layer tars: decompression with digests, and unpacking into overlay lowerdirs with OCI
 * whiteouts, where no entry may land outside the layer directory. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store.h"

BERTH_DEFINE_CLEANUP(struct archive *, archive_read_free)
#define _cleanup_archive_ _cleanup_(archive_read_freep)

void image_chain_ids(const char *const *diff_ids, size_t n, char (*chain)[72])
{
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			snprintf(chain[0], 72, "%s", diff_ids[0]);
			continue;
		}
		_cleanup_free_ char *s = berth_strdupf("%s %s", chain[i - 1], diff_ids[i]);
		char hex[65];
		berth_sha256_hex(s, strlen(s), hex);
		snprintf(chain[i], 72, "sha256:%s", hex);
	}
}

static int write_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = off >= 0 ? pwrite(fd, p, len, off) : write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int image_layer_decompress(int fd, const char *out_path, char diff_id[72], int64_t *size,
			   struct berth_error *err)
{
	_cleanup_archive_ struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
		return berth_err(err, 400, "truncated or corrupt layer: %s",
				 archive_error_string(a));
	_cleanup_close_ int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return berth_err_errno(err, 500, errno, "create %s", out_path);
	struct berth_sha256 *h = berth_sha256_new();
	int64_t total = 0;
	struct archive_entry *e;
	int r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_OK) {
		const void *buf;
		size_t len;
		la_int64_t off;
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			berth_sha256_update(h, buf, len);
			if (write_all(out, buf, len, -1) < 0) {
				berth_sha256_free(h);
				return berth_err_errno(err, 500, errno, "write %s", out_path);
			}
			total += (int64_t)len;
		}
	}
	if (r != ARCHIVE_EOF) {
		berth_sha256_free(h);
		return berth_err(err, 400, "truncated or corrupt layer: %s",
				 archive_error_string(a) ? archive_error_string(a) : "read error");
	}
	if (fsync(out) < 0) {
		berth_sha256_free(h);
		return berth_err_errno(err, 500, errno, "fsync %s", out_path);
	}
	char hex[65];
	berth_sha256_final_hex(h, hex);
	snprintf(diff_id, 72, "sha256:%s", hex);
	if (size)
		*size = total;
	return 0;
}

/* Clean a member name in place: drop "./" and empty components; refuse absolute paths and
 * "..". The empty result is the layer root. */
static int clean_member(const char *what, const char *name, char *out, size_t size,
			struct berth_error *err)
{
	if (!name)
		return berth_err(err, 400, "invalid tar entry: no name");
	if (name[0] == '/')
		return berth_err(err, 400, "invalid tar entry \"%s\": absolute %s", name, what);
	size_t o = 0;
	const char *p = name;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && !strncmp(p, "..", 2))
			return berth_err(err, 400,
					 "invalid tar entry \"%s\": %s escapes the layer directory",
					 name, what);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > size)
				return berth_err(err, 400,
						 "invalid tar entry \"%s\": path too long", name);
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	return 0;
}

/* Open the directory holding clean path `path` (relative to root_fd) without following any
 * symlink, creating missing directories when create is set. *base points into path. */
static int open_parent(int root_fd, char *path, const char **base, bool create, const char *member,
		       struct berth_error *err)
{
	char *last = strrchr(path, '/');
	int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "dup");
	if (!last) {
		*base = path;
		return fd;
	}
	*last = '\0';
	*base = last + 1;
	char *comp = path;
	for (;;) {
		char *slash = strchr(comp, '/');
		if (slash)
			*slash = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int saved = errno;
				close(fd);
				return berth_err_errno(err, 500, saved, "mkdir %s", path);
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int saved = errno;
			struct stat st;
			bool link =
			    fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
			close(fd);
			if (slash)
				*slash = '/';
			*last = '/';
			if (link)
				return berth_err(
				    err, 400,
				    "invalid tar entry \"%s\": would be written through "
				    "the symlink \"%.*s\"",
				    member, (int)(slash ? slash - path : last - path), path);
			return berth_err_errno(err, saved == ENOENT ? 400 : 500, saved,
					       "invalid tar entry \"%s\": open parent directory",
					       member);
		}
		close(fd);
		fd = nfd;
		if (!slash)
			break;
		*slash = '/';
		comp = slash + 1;
	}
	*last = '/';
	return fd;
}

/* Remove whatever is at name in dirfd (no following), unless both it and the new entry
 * are directories. Returns 1 when an existing directory is kept. */
static int clear_target(int dirfd, const char *name, bool new_is_dir, struct berth_error *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berth_err_errno(err, 500, errno, "stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (new_is_dir)
			return 1;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
		return berth_rm_rf(path, err);
	}
	if (unlinkat(dirfd, name, 0) < 0)
		return berth_err_errno(err, 500, errno, "unlink %s", name);
	return 0;
}

static int apply_xattrs(struct archive_entry *e, int fd, int dirfd, const char *name,
			struct berth_error *err)
{
	const char *key;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
		/* overlayfs reads trusted.overlay.*: a layer must not steer it. */
		if (!strncmp(key, "trusted.overlay.", 16))
			continue;
		int r;
		if (fd >= 0) {
			r = fsetxattr(fd, key, value, size, 0);
		} else {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
			r = lsetxattr(path, key, value, size, 0);
		}
		if (r < 0 && errno != ENOTSUP && errno != EPERM)
			return berth_err_errno(err, 500, errno, "set xattr %s on %s", key, name);
	}
	return 0;
}

struct dir_fixup {
	char *path;
	struct timespec times[2];
};

struct unpack {
	struct archive *a;
	int root_fd;
	struct dir_fixup *fixups;
	size_t n_fixups, cap_fixups;
};

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec =
	    archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e)
						      : archive_entry_mtime_nsec(e);
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int write_file(struct unpack *u, struct archive_entry *e, int dirfd, const char *base,
		      const char *member, struct berth_error *err)
{
	_cleanup_close_ int fd =
	    openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", member);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK)
		if (write_all(fd, buf, len, off) < 0)
			return berth_err_errno(err, 500, errno, "write %s", member);
	if (r != ARCHIVE_EOF)
		return berth_err(err, 400, "truncated or corrupt tar archive at \"%s\": %s", member,
				 archive_error_string(u->a));
	if (ftruncate(fd, archive_entry_size(e)) < 0)
		return berth_err_errno(err, 500, errno, "truncate %s", member);
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0 ||
	    fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return berth_err_errno(err, 500, errno, "set owner/mode of %s", member);
	if (apply_xattrs(e, fd, -1, base, err) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(e, ts);
	futimens(fd, ts);
	return 0;
}

static int make_dir(struct unpack *u, struct archive_entry *e, int dirfd, const char *base,
		    const char *clean, const char *member, struct berth_error *err)
{
	_cleanup_close_ int fd = -1;
	if (!*clean) {
		fd = fcntl(u->root_fd, F_DUPFD_CLOEXEC, 3);
	} else {
		int kept = clear_target(dirfd, base, true, err);
		if (kept < 0)
			return -1;
		if (!kept && mkdirat(dirfd, base, 0700) < 0)
			return berth_err_errno(err, 500, errno, "mkdir %s", member);
		fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "open %s", member);
	if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0 ||
	    fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return berth_err_errno(err, 500, errno, "set owner/mode of %s", member);
	if (apply_xattrs(e, fd, -1, base, err) < 0)
		return -1;
	/* Creating children changes a directory's mtime: set it once all entries are in. */
	if (u->n_fixups == u->cap_fixups) {
		u->cap_fixups = u->cap_fixups ? u->cap_fixups * 2 : 64;
		u->fixups = realloc(u->fixups, u->cap_fixups * sizeof(*u->fixups));
		if (!u->fixups)
			abort();
	}
	struct dir_fixup *f = &u->fixups[u->n_fixups++];
	f->path = strdup(clean);
	if (!f->path)
		abort();
	entry_times(e, f->times);
	return 0;
}

static int make_hardlink(struct unpack *u, struct archive_entry *e, int dirfd, const char *base,
			 const char *member, struct berth_error *err)
{
	char target[PATH_MAX];
	if (clean_member("hard link target", archive_entry_hardlink(e), target, sizeof(target),
			 err) < 0)
		return berth_err_wrap(err, "hard link \"%s\"", member);
	if (!*target)
		return berth_err(err, 400, "invalid tar entry \"%s\": hard link to a directory",
				 member);
	const char *tbase;
	_cleanup_close_ int tdir = open_parent(u->root_fd, target, &tbase, false, member, err);
	if (tdir < 0)
		return -1;
	struct stat st;
	if (fstatat(tdir, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err(err, 400,
				 "invalid tar entry \"%s\": hard link target \"%s\" is not in the "
				 "layer",
				 member, archive_entry_hardlink(e));
	if (S_ISDIR(st.st_mode))
		return berth_err(err, 400, "invalid tar entry \"%s\": hard link to a directory",
				 member);
	if (tdir == dirfd && !strcmp(tbase, base))
		return 0;
	if (clear_target(dirfd, base, false, err) < 0)
		return -1;
	if (linkat(tdir, tbase, dirfd, base, 0) < 0)
		return berth_err_errno(err, 500, errno, "link %s", member);
	return 0;
}

static int whiteout(int dirfd, const char *base, const char *member, struct berth_error *err)
{
	if (!strcmp(base, ".wh..wh..opq")) {
		if (fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return berth_err_errno(err, 500, errno, "mark %s opaque", member);
		return 0;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return 0; /* aufs bookkeeping (.wh..wh.plnk etc.), meaningless here */
	const char *name = base + 4;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return berth_err(err, 400, "invalid tar entry \"%s\": bad whiteout", member);
	if (clear_target(dirfd, name, false, err) < 0)
		return -1;
	if (mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return berth_err_errno(err, 500, errno, "create whiteout for %s", member);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, struct berth_error *err)
{
	const char *member = archive_entry_pathname(e);
	char clean[PATH_MAX];
	if (clean_member("path", member, clean, sizeof(clean), err) < 0)
		return -1;
	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	if (!*clean && (type != AE_IFDIR || hardlink))
		return berth_err(err, 400, "invalid tar entry \"%s\": not a directory", member);
	const char *base = clean;
	_cleanup_close_ int dirfd = -1;
	if (*clean) {
		dirfd = open_parent(u->root_fd, clean, &base, true, member, err);
		if (dirfd < 0)
			return -1;
	}
	if (!strncmp(base, ".wh.", 4))
		return whiteout(dirfd, base, member, err);
	if (hardlink)
		return make_hardlink(u, e, dirfd, base, member, err);
	if (type == AE_IFDIR)
		return make_dir(u, e, dirfd, base, clean, member, err);
	if (type == AE_IFSOCK)
		return 0;
	if (type == AE_IFCHR || type == AE_IFBLK) {
		/* A 0/0 character device is already an overlayfs whiteout. */
		if (type == AE_IFBLK || archive_entry_rdevmajor(e) || archive_entry_rdevminor(e))
			return berth_err(err, 400,
					 "invalid tar entry \"%s\": device nodes are not allowed "
					 "in image layers (%s device %u:%u)",
					 member, type == AE_IFBLK ? "block" : "character",
					 (unsigned)archive_entry_rdevmajor(e),
					 (unsigned)archive_entry_rdevminor(e));
		if (clear_target(dirfd, base, false, err) < 0)
			return -1;
		if (mknodat(dirfd, base, S_IFCHR, makedev(0, 0)) < 0)
			return berth_err_errno(err, 500, errno, "create whiteout %s", member);
		return 0;
	}
	if (type != AE_IFREG && type != AE_IFLNK && type != AE_IFIFO)
		return berth_err(err, 400, "invalid tar entry \"%s\": unsupported type %o", member,
				 (unsigned)type);
	if (clear_target(dirfd, base, false, err) < 0)
		return -1;
	if (type == AE_IFREG)
		return write_file(u, e, dirfd, base, member, err);
	if (type == AE_IFLNK) {
		/* The target is only a string here; it is resolved inside the container. */
		const char *target = archive_entry_symlink(e);
		if (!target || symlinkat(target, dirfd, base) < 0)
			return berth_err_errno(err, 500, target ? errno : EINVAL, "symlink %s",
					       member);
	} else if (mknodat(dirfd, base, S_IFIFO | (archive_entry_perm(e) & 07777), 0) < 0) {
		return berth_err_errno(err, 500, errno, "mkfifo %s", member);
	}
	if (fchownat(dirfd, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) <
	    0)
		return berth_err_errno(err, 500, errno, "chown %s", member);
	if (type == AE_IFIFO && fchmodat(dirfd, base, archive_entry_perm(e) & 07777, 0) < 0)
		return berth_err_errno(err, 500, errno, "chmod %s", member);
	if (apply_xattrs(e, -1, dirfd, base, err) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(e, ts);
	utimensat(dirfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static void apply_fixups(struct unpack *u)
{
	for (size_t i = u->n_fixups; i-- > 0;) {
		struct dir_fixup *f = &u->fixups[i];
		if (!*f->path) {
			futimens(u->root_fd, f->times);
			continue;
		}
		const char *base;
		_cleanup_close_ int dirfd =
		    open_parent(u->root_fd, f->path, &base, false, f->path, NULL);
		if (dirfd >= 0)
			utimensat(dirfd, base, f->times, AT_SYMLINK_NOFOLLOW);
	}
}

int image_layer_unpack(const char *tar_path, const char *dir, struct berth_error *err)
{
	_cleanup_archive_ struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, tar_path, 1 << 16) != ARCHIVE_OK)
		return berth_err(err, 400, "not a tar archive: %s", archive_error_string(a));
	return image_layer_unpack_archive(a, dir, err);
}

int image_layer_unpack_archive(struct archive *a, const char *dir, struct berth_error *err)
{
	_cleanup_close_ int root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root_fd < 0)
		return berth_err_errno(err, 500, errno, "open %s", dir);
	struct unpack u = {.a = a, .root_fd = root_fd};
	int rc = 0;
	size_t n = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			r = ARCHIVE_OK;
		if (r != ARCHIVE_OK) {
			const char *msg = archive_error_string(a) ? archive_error_string(a) : "";
			if (n == 0)
				rc = berth_err(err, 400, "not a tar archive: %s", msg);
			else
				rc = berth_err(err, 400, "truncated or corrupt tar archive: %s",
					       msg);
			break;
		}
		n++;
		if (unpack_entry(&u, e, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		apply_fixups(&u);
	for (size_t i = 0; i < u.n_fixups; i++)
		free(u.fixups[i].path);
	free(u.fixups);
	return rc;
}

int image_layer_install(const char *root, const char *tar_path, const char *chain_id,
			struct berth_error *err)
{
	const char *hex = strncmp(chain_id, "sha256:", 7) ? chain_id : chain_id + 7;
	_cleanup_free_ char *dir = berth_strdupf("%s/layers/%s", root, hex);
	struct stat st;
	if (stat(dir, &st) == 0)
		return 0;
	_cleanup_free_ char *layers = berth_strdupf("%s/layers", root);
	_cleanup_free_ char *tmpdir = berth_strdupf("%s/tmp", root);
	if (berth_mkdir_p(layers, 0700, err) < 0 || berth_mkdir_p(tmpdir, 0700, err) < 0)
		return -1;
	/* In tmp/ with our pid in the name: what a killed worker leaves is swept by pid. */
	_cleanup_free_ char *tmp = berth_strdupf("%s/layer-%d-XXXXXX", tmpdir, (int)getpid());
	if (!mkdtemp(tmp))
		return berth_err_errno(err, 500, errno, "mkdtemp %s", tmp);
	chmod(tmp, 0755);
	if (image_layer_unpack(tar_path, tmp, err) < 0) {
		berth_rm_rf(tmp, NULL);
		return -1;
	}
	if (rename(tmp, dir) < 0) {
		int saved = errno;
		berth_rm_rf(tmp, NULL);
		/* Another load unpacked the same layer first: theirs is as good. */
		if (saved == EEXIST || saved == ENOTEMPTY)
			return 0;
		return berth_err_errno(err, 500, saved, "rename %s", dir);
	}
	return 1;
}
