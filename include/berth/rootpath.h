/* Paths inside a root directory (an image's layers, a container's rootfs): resolved as if the
 * root were "/", so that no symlink, ".." or magic link in the tree reaches outside it. The
 * only way the agent and the shim open paths that come from images, containers or requests.
 * Depends on libc alone (the shim links it statically). */
#ifndef BERTH_ROOTPATH_H
#define BERTH_ROOTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Symlinks followed in one resolution before ELOOP (the kernel's own limit). */
#define BERTH_ROOT_MAX_LINKS 40

/*
 * Open path below the directory root_fd as if root_fd were "/": absolute symlinks and ".."
 * at the top stay at root_fd, magic links (/proc/self/fd/N...) are refused (ELOOP). flags and
 * mode are openat(2)'s; O_NOFOLLOW applies to the last component, O_CREAT creates it (the
 * parents must exist). openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), or the checked walk
 * below where the kernel has no openat2. -1 with errno.
 */
int berth_root_open(int root_fd, const char *path, int flags, mode_t mode);
/* The same by a component-by-component walk: every step an openat with O_NOFOLLOW, every
 * symlink read with readlinkat and its text resolved again below root_fd, so the kernel never
 * follows a link, and no symlink on procfs is followed at all (ELOOP: a magic link's text can
 * name a host path by a way that exists inside the root, such as an old root still mounted
 * below /dev during setup). What berth_root_open falls back to on ENOSYS;
 * public so that tests cover it on kernels with openat2. */
int berth_root_open_walk(int root_fd, const char *path, int flags, mode_t mode);
/* Make path below root_fd and its missing parents (mkdir -p) by the checked walk: symlinks
 * followed inside the root (a dangling one gets its target made, as Docker's MkdirAllInRoot
 * does), ".." clamped at the root. An O_PATH fd of the directory, or -1 with errno (ENOTDIR
 * when a component is not a directory). */
int berth_root_mkdir_p(int root_fd, const char *path, mode_t mode);
/* Open (O_CREAT) the file path below root_fd, its missing parents made 0755 as
 * berth_root_mkdir_p makes them; a dangling symlink on the way (or at the end) gets its target
 * made inside the root. -1 with errno. */
int berth_root_create_p(int root_fd, const char *path, int flags, mode_t mode);
/* Force the walk in berth_root_open (tests; 0 restores the default). */
void berth_root_force_walk(bool on);

/*
 * The union of an image's layer directories, as overlayfs shows it: layer_fds[0] is the lowest
 * layer, layer_fds[n-1] the top. The topmost layer that has an entry wins; an overlay whiteout
 * (a 0/0 character device) or a ".wh.NAME" file hides NAME in lower layers; a directory marked
 * opaque (xattr trusted.overlay.opaque=y, or holding ".wh..wh..opq") hides the lower layers'
 * directories of the same path; a non-directory hides lower directories.
 */

/* One directory of the union: per layer, an O_RDONLY directory fd at that path or -1 where the
 * layer does not contribute. */
struct berth_union_dir {
	int *fds;
	size_t n;
};

/* Resolve path in the union (symlinks followed in the union view, ".." clamped at the root,
 * at most BERTH_ROOT_MAX_LINKS links) to a directory; fills out (free with
 * berth_union_dir_close). -1 with errno: ENOENT, ENOTDIR (a component or the end is not a
 * directory), ELOOP. */
int berth_union_open_dir(const int *layer_fds, size_t n, const char *path,
			 struct berth_union_dir *out);
/* What NAME is in the union directory dir: 0 and *layer (the winning layer) and *st (its
 * lstat) when it exists, -1 with ENOENT when it is absent or whited out. With child non-NULL
 * and NAME a directory, child gets the merged directory (close it). */
int berth_union_lookup(const struct berth_union_dir *dir, const char *name, size_t *layer,
		       struct stat *st, struct berth_union_dir *child);
/* The names visible in dir (no ".", "..", whiteouts or hidden entries), sorted; a malloc'd
 * NULL-terminated array of malloc'd strings, or NULL with errno. */
char **berth_union_list(const struct berth_union_dir *dir);
void berth_union_dir_close(struct berth_union_dir *dir);

/* "target/rest" (malloc'd; NULL with errno ENOMEM): the path left to walk once a symlink's
 * text replaces the component that named it. Shared by the walks in rootpath*.c. */
char *berth_link_splice(const char *target, const char *rest);

#endif
