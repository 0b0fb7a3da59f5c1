/* Atomic file writes, whole-file reads, mkdir -p and rm -rf that stays on one filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"

char *berth_strdupf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int berth_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct berth_error *err)
{
	return berth_write_atomic_flags(path, data, len, mode, 0, err);
}

int berth_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode,
			     unsigned flags, struct berth_error *err)
{
	bool sync = !(flags & BERTH_WRITE_NO_SYNC);
	_cleanup_free_ char *tmp = berth_strdupf("%s.tmp-XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", tmp);
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		int saved = errno;
		unlink(tmp);
		return berth_err_errno(err, 500, saved, "write %s", tmp);
	}
	/* Replacing a file: its directory entry exists already, and whether the new name or the
	 * old one survives a power cut, either is whole (the data was synced first). Only a new
	 * name needs the directory synced. (Half the fsyncs of a state file rewritten three
	 * times per container start; each one blocks a daemon's loop.) */
	bool replacing = sync && access(path, F_OK) == 0;
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return berth_err_errno(err, 500, saved, "rename %s", path);
	}
	if (!sync || replacing)
		return 0;
	_cleanup_free_ char *dir_copy = strdup(path);
	_cleanup_close_ int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

int berth_write_json_atomic(const char *path, const json_t *j, struct berth_error *err)
{
	return berth_write_json_atomic_flags(path, j, 0, err);
}

int berth_write_json_atomic_flags(const char *path, const json_t *j, unsigned flags,
				  struct berth_error *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return berth_err(err, 500, "encode %s: out of memory", path);
	return berth_write_atomic_flags(path, s, strlen(s), 0600, flags, err);
}

/* Read all of fd into a NUL-terminated buffer; more than max bytes is a 400. */
static int read_fd_all(int fd, const char *path, size_t max, char **out, size_t *len,
		       struct berth_error *err)
{
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		abort();
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				abort();
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berth_err_errno(err, 500, errno, "read %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return berth_err(err, 400, "%s is larger than %zu bytes", path, max);
	}
	buf[n] = '\0';
	*out = steal_pointer(&buf);
	if (len)
		*len = n;
	return 0;
}

int berth_read_file(const char *path, char **out, size_t *len, struct berth_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s", path);
	return read_fd_all(fd, path, SIZE_MAX, out, len, err);
}

json_t *berth_read_json(const char *path, struct berth_error *err)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		berth_err(err, errno == ENOENT ? 404 : 500, "%s: %s (line %d)", path, jerr.text,
			  jerr.line);
	return j;
}

int berth_mkdir_p(const char *path, mode_t mode, struct berth_error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return berth_err(err, 500, "path too long: %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return berth_err_errno(err, 500, errno, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return berth_err_errno(err, 500, errno, "mkdir %s", buf);
	return 0;
}

static int rm_rf_at(int parent_fd, const char *name, dev_t dev, struct berth_error *err)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berth_err_errno(err, 500, errno, "stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev)
			return berth_err(err, 500, "refusing to remove %s: a mount point", name);
		int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berth_err_errno(err, 500, errno, "open %s", name);
		_cleanup_closedir_ DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return berth_err_errno(err, 500, errno, "opendir %s", name);
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (rm_rf_at(dirfd(d), de->d_name, dev, err) < 0)
				return -1;
		}
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return berth_err_errno(err, 500, errno, "rmdir %s", name);
		return 0;
	}
	if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
		return berth_err_errno(err, 500, errno, "unlink %s", name);
	return 0;
}

int berth_rm_rf(const char *path, struct berth_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : berth_err_errno(err, 500, errno, "stat %s", path);
	return rm_rf_at(AT_FDCWD, path, st.st_dev, err);
}

static long long dir_size_at(int parent_fd, const char *name)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	long long total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		total += dir_size_at(dirfd(d), de->d_name);
	}
	return total;
}

long long berth_dir_size(const char *path)
{
	return dir_size_at(AT_FDCWD, path);
}

static void *trash_worker(void *arg)
{
	char *path = arg;
	berth_rm_rf(path, NULL);
	free(path);
	return NULL;
}

void berth_trash(const char *path, const char *trash_dir)
{
	static unsigned counter;
	char *dest = berth_strdupf("%s/trash-%d-%u", trash_dir, getpid(),
				   __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	if (rename(path, dest) < 0) {
		free(dest);
		berth_rm_rf(path, NULL);
		return;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, trash_worker, dest) != 0)
		trash_worker(dest);
	pthread_attr_destroy(&attr);
}

int berth_read_file_max(const char *path, size_t max, bool regular_only, char **out, size_t *len,
			struct berth_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return berth_err_errno(err, errno == ENOENT ? 404 : 400, errno, "open %s", path);
	if (fstat(fd, &st) < 0)
		return berth_err_errno(err, 500, errno, "stat %s", path);
	if (regular_only && !S_ISREG(st.st_mode))
		return berth_err(err, 400, "%s is not a regular file", path);
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return berth_err(err, 400, "%s is larger than %zu bytes", path, max);
	/* blocking reads from here (O_NONBLOCK only kept open() off a FIFO with no writer) */
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return read_fd_all(fd, path, max, out, len, err);
}
