/* Opening paths inside a root directory: openat2(RESOLVE_IN_ROOT), or a checked walk. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/rootpath.h"

static bool force_walk;
static bool no_openat2;

void berth_root_force_walk(bool on)
{
	__atomic_store_n(&force_walk, on, __ATOMIC_RELAXED);
}

/* The walk's state: the directories entered below the root (each an O_PATH fd we own), and
 * what is left of the path (symlink targets are spliced in front of it). */
struct walk {
	int root_fd;
	int *stack;
	size_t depth, cap;
	char *rest;
	size_t pos;
	bool mkdirs; /* make missing directories on the way (mkdir -p) */
	mode_t mkdir_mode;
};

static int walk_top(const struct walk *w)
{
	return w->depth ? w->stack[w->depth - 1] : w->root_fd;
}

static void walk_pop_to(struct walk *w, size_t depth)
{
	while (w->depth > depth)
		close(w->stack[--w->depth]);
}

static int walk_push(struct walk *w, int fd)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		int *s = realloc(w->stack, cap * sizeof(*s));
		if (!s) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		w->stack = s;
		w->cap = cap;
	}
	w->stack[w->depth++] = fd;
	return 0;
}

char *berth_link_splice(const char *target, const char *rest)
{
	size_t tl = strlen(target), rl = strlen(rest);
	char *s = malloc(tl + rl + 2);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(s, target, tl);
	s[tl] = '/';
	memcpy(s + tl + 1, rest, rl + 1);
	return s;
}

/* Replace the path still to walk by "target/rest". */
static int walk_splice(struct walk *w, const char *target)
{
	char *s = berth_link_splice(target, w->rest + w->pos);
	if (!s)
		return -1;
	free(w->rest);
	w->rest = s;
	w->pos = 0;
	if (target[0] == '/')
		walk_pop_to(w, 0);
	return 0;
}

/* The next component into name; false at the end of the path. *last says no component
 * follows it. */
static bool walk_next(struct walk *w, char name[NAME_MAX + 1], bool *last, int *error)
{
	while (w->rest[w->pos] == '/')
		w->pos++;
	if (!w->rest[w->pos])
		return false;
	size_t len = strcspn(w->rest + w->pos, "/");
	if (len > NAME_MAX) {
		*error = ENAMETOOLONG;
		return false;
	}
	memcpy(name, w->rest + w->pos, len);
	name[len] = '\0';
	w->pos += len;
	size_t after = w->pos;
	while (w->rest[after] == '/')
		after++;
	*last = w->rest[after] == '\0';
	return true;
}

static int walk_run(struct walk *w, int flags, mode_t mode)
{
	char name[NAME_MAX + 1];
	bool last = false;
	int links = 0, error = 0;
	while (walk_next(w, name, &last, &error)) {
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (w->depth)
				walk_pop_to(w, w->depth - 1);
			continue;
		}
		int dir = walk_top(w);
		struct stat st;
		if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last && (flags & O_CREAT))
				return openat(dir, name, flags | O_NOFOLLOW, mode);
			if (errno != ENOENT || !w->mkdirs)
				return -1;
			if (mkdirat(dir, name, w->mkdir_mode) < 0 && errno != EEXIST)
				return -1;
			if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return -1;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			char target[PATH_MAX];
			/* procfs links are magic (/proc/self/fd/N, /proc/N/cwd): their text names
			 * what the fd reaches, even a host path by a way that exists inside the
			 * root (an old root still mounted below /dev), so none is followed. */
			struct statfs sfs;
			if (fstatfs(dir, &sfs) < 0 || sfs.f_type == PROC_SUPER_MAGIC) {
				errno = ELOOP;
				return -1;
			}
			if (++links > BERTH_ROOT_MAX_LINKS) {
				errno = ELOOP;
				return -1;
			}
			ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
			if (n < 0)
				return -1;
			target[n] = '\0';
			if (walk_splice(w, target) < 0)
				return -1;
			continue;
		}
		if (last)
			return openat(dir, name, flags | O_NOFOLLOW, mode);
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		int fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || walk_push(w, fd) < 0)
			return -1;
	}
	if (error) {
		errno = error;
		return -1;
	}
	/* The path ended on a directory already entered (".", "..", "/", a trailing slash). */
	return openat(walk_top(w), ".", flags, mode);
}

static int walk_path(struct walk *w, const char *path, int flags, mode_t mode)
{
	w->rest = strdup(path ? path : "");
	if (!w->rest) {
		errno = ENOMEM;
		return -1;
	}
	int fd = walk_run(w, flags, mode);
	int saved = errno;
	walk_pop_to(w, 0);
	free(w->stack);
	free(w->rest);
	errno = saved;
	return fd;
}

int berth_root_open_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	struct walk w = {.root_fd = root_fd};
	return walk_path(&w, path, flags, mode);
}

int berth_root_open(int root_fd, const char *path, int flags, mode_t mode)
{
	if (!__atomic_load_n(&force_walk, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
		struct open_how how = {
		    .flags = (unsigned long long)flags,
		    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		for (int tries = 0; tries < 16; tries++) {
			int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
			if (fd >= 0 || errno != EAGAIN) {
				if (fd >= 0 || errno != ENOSYS)
					return fd;
				break;
			}
		}
		if (errno == ENOSYS)
			__atomic_store_n(&no_openat2, true, __ATOMIC_RELAXED);
		else
			return -1; /* EAGAIN every time: a rename race that does not end */
	}
	return berth_root_open_walk(root_fd, path, flags, mode);
}

int berth_root_mkdir_p(int root_fd, const char *path, mode_t mode)
{
	struct walk w = {.root_fd = root_fd, .mkdir_mode = mode, .mkdirs = true};
	return walk_path(&w, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

int berth_root_create_p(int root_fd, const char *path, int flags, mode_t mode)
{
	struct walk w = {.root_fd = root_fd, .mkdir_mode = 0755, .mkdirs = true};
	return walk_path(&w, path, flags | O_CREAT, mode);
}
