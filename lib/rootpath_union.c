/* The union of an image's layer directories (overlayfs' view) without mounting it: lookups,
 * listings and path resolution that honour whiteouts and opaque directories and never leave
 * the layers. */
#include <dirent.h>
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

#include "berth/rootpath.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

void berth_union_dir_close(struct berth_union_dir *dir)
{
	for (size_t i = 0; dir->fds && i < dir->n; i++)
		if (dir->fds[i] >= 0)
			close(dir->fds[i]);
	free(dir->fds);
	dir->fds = NULL;
	dir->n = 0;
}

static int union_alloc(struct berth_union_dir *dir, size_t n)
{
	dir->n = n;
	dir->fds = malloc((n ? n : 1) * sizeof(int));
	if (!dir->fds) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		dir->fds[i] = -1;
	return 0;
}

static bool exists_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ".wh.NAME" beside NAME: NAME is deleted from the layers below. */
static bool whiteout_file(int dirfd, const char *name)
{
	char wh[NAME_MAX + 8];
	if (snprintf(wh, sizeof(wh), ".wh.%s", name) >= (int)sizeof(wh))
		return false;
	return exists_at(dirfd, wh);
}

/* overlayfs' own whiteout, as the layer unpacker writes them. */
static bool whiteout_dev(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		return true;
	return exists_at(fd, ".wh..wh..opq");
}

/* The merged directory NAME whose topmost part is in layer top. */
static int union_child(const struct berth_union_dir *dir, const char *name, size_t top,
		       struct berth_union_dir *child)
{
	if (union_alloc(child, dir->n) < 0)
		return -1;
	for (size_t j = top + 1; j-- > 0;) {
		int parent = dir->fds[j];
		if (parent < 0)
			continue;
		if (j < top) {
			struct stat st;
			if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno != ENOENT)
					goto fail;
				if (whiteout_file(parent, name))
					break;
				continue;
			}
			if (!S_ISDIR(st.st_mode))
				break; /* a file or a whiteout hides what is below */
		}
		int fd = openat(parent, name, DIR_FLAGS);
		if (fd < 0)
			goto fail;
		child->fds[j] = fd;
		if (opaque(fd) || whiteout_file(parent, name))
			break;
	}
	return 0;
fail:;
	int e = errno;
	berth_union_dir_close(child);
	errno = e;
	return -1;
}

int berth_union_lookup(const struct berth_union_dir *dir, const char *name, size_t *layer,
		       struct stat *st, struct berth_union_dir *child)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    !strncmp(name, ".wh.", 4)) {
		errno = ENOENT;
		return -1;
	}
	for (size_t i = dir->n; i-- > 0;) {
		int fd = dir->fds[i];
		if (fd < 0)
			continue;
		struct stat s;
		if (fstatat(fd, name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return -1;
			if (whiteout_file(fd, name))
				break;
			continue;
		}
		if (whiteout_dev(&s))
			break;
		if (layer)
			*layer = i;
		if (st)
			*st = s;
		if (child && S_ISDIR(s.st_mode))
			return union_child(dir, name, i, child);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

char **berth_union_list(const struct berth_union_dir *dir)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < dir->n; i++) {
		if (dir->fds[i] < 0)
			continue;
		/* A fresh open file description: a dup would share (and move) the offset. */
		int fd = openat(dir->fds[i], ".", DIR_FLAGS);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			free_names(names, n);
			errno = e;
			return NULL;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    !strncmp(de->d_name, ".wh.", 4))
				continue;
			if (n + 1 >= cap) {
				cap = cap ? cap * 2 : 32;
				char **g = realloc(names, cap * sizeof(*names));
				if (!g)
					abort();
				names = g;
			}
			names[n] = strdup(de->d_name);
			if (!names[n])
				abort();
			n++;
		}
		closedir(d);
	}
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if ((out && !strcmp(names[out - 1], names[i])) ||
		    berth_union_lookup(dir, names[i], NULL, NULL, NULL) < 0) {
			free(names[i]);
			continue;
		}
		names[out++] = names[i];
	}
	char **res = realloc(names, (out + 1) * sizeof(*names));
	if (!res)
		abort();
	res[out] = NULL;
	return res;
}

/* Resolution state: the merged directories entered, and the path still to walk. */
struct union_walk {
	struct berth_union_dir *levels;
	size_t depth, cap; /* levels[0] is the root */
	char *rest;
	size_t pos;
};

static void pop_to(struct union_walk *w, size_t depth)
{
	while (w->depth > depth)
		berth_union_dir_close(&w->levels[--w->depth]);
}

static int union_splice(struct union_walk *w, const char *target)
{
	char *s = berth_link_splice(target, w->rest + w->pos);
	if (!s)
		return -1;
	free(w->rest);
	w->rest = s;
	w->pos = 0;
	if (target[0] == '/')
		pop_to(w, 1);
	return 0;
}

static int union_walk(struct union_walk *w)
{
	int links = 0;
	for (;;) {
		while (w->rest[w->pos] == '/')
			w->pos++;
		if (!w->rest[w->pos])
			return 0;
		size_t len = strcspn(w->rest + w->pos, "/");
		char name[NAME_MAX + 1];
		if (len > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, w->rest + w->pos, len);
		name[len] = '\0';
		w->pos += len;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (w->depth > 1)
				pop_to(w, w->depth - 1);
			continue;
		}
		struct berth_union_dir *cur = &w->levels[w->depth - 1];
		struct berth_union_dir child = {0};
		size_t layer;
		struct stat st;
		if (berth_union_lookup(cur, name, &layer, &st, &child) < 0)
			return -1;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			if (++links > BERTH_ROOT_MAX_LINKS) {
				errno = ELOOP;
				return -1;
			}
			ssize_t n = readlinkat(cur->fds[layer], name, target, sizeof(target) - 1);
			if (n < 0)
				return -1;
			target[n] = '\0';
			if (union_splice(w, target) < 0)
				return -1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (w->depth == w->cap) {
			size_t cap = w->cap * 2;
			struct berth_union_dir *g = realloc(w->levels, cap * sizeof(*g));
			if (!g) {
				berth_union_dir_close(&child);
				errno = ENOMEM;
				return -1;
			}
			w->levels = g;
			w->cap = cap;
		}
		w->levels[w->depth++] = child;
	}
}

int berth_union_open_dir(const int *layer_fds, size_t n, const char *path,
			 struct berth_union_dir *out)
{
	struct union_walk w = {.cap = 16};
	w.levels = calloc(w.cap, sizeof(*w.levels));
	w.rest = strdup(path ? path : "");
	int rc = -1;
	if (!w.levels || !w.rest || union_alloc(&w.levels[0], n) < 0) {
		errno = ENOMEM;
		goto out;
	}
	w.depth = 1;
	for (size_t i = 0; i < n; i++)
		if ((w.levels[0].fds[i] = openat(layer_fds[i], ".", DIR_FLAGS)) < 0)
			goto out;
	if (union_walk(&w) < 0)
		goto out;
	*out = w.levels[--w.depth];
	rc = 0;
out:;
	int e = errno;
	if (w.levels)
		pop_to(&w, 0);
	free(w.levels);
	free(w.rest);
	errno = e;
	return rc;
}
