/* Files and directories: atomic writes, recursive mkdir/remove, whole-file reads. */
#ifndef BERTH_FSUTIL_H
#define BERTH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "berth/error.h"

/* Write data to path via path.tmp-XXXXXX, fsync, rename, fsync dir. */
int berth_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct berth_error *err);
/* json_dumps(j, JSON_COMPACT) then berth_write_atomic. */
int berth_write_json_atomic(const char *path, const json_t *j, struct berth_error *err);

/* Flags for the _flags variants. */
enum {
	/* Atomic (temp file + rename) but not fsynced: a crash of any process still leaves the
	 * old or the new file, only a power loss may lose the new one. For state that is
	 * thrown away anyway (an auto-removed container's). */
	BERTH_WRITE_NO_SYNC = 1,
};
int berth_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode,
			     unsigned flags, struct berth_error *err);
int berth_write_json_atomic_flags(const char *path, const json_t *j, unsigned flags,
				  struct berth_error *err);
/* Remove a tree later: rename it into trash_dir (same filesystem) at once, then delete it in a
 * detached thread. Falls back to removing it now when the rename fails. What a crash leaves in
 * trash_dir is for its owner to clear at start. */
void berth_trash(const char *path, const char *trash_dir);
/* Read a whole file; *out is NUL-terminated (len excludes the NUL). */
int berth_read_file(const char *path, char **out, size_t *len, struct berth_error *err);
/* Read a whole file of at most max bytes (400 past that, without reading further); with
 * regular_only, 400 for anything but a regular file (/dev/zero, a FIFO, a directory). */
int berth_read_file_max(const char *path, size_t max, bool regular_only, char **out, size_t *len,
			struct berth_error *err);
json_t *berth_read_json(const char *path, struct berth_error *err);
int berth_mkdir_p(const char *path, mode_t mode, struct berth_error *err);
/* Remove a tree without following symlinks and without crossing mount points. */
int berth_rm_rf(const char *path, struct berth_error *err);
/* Total bytes of regular files below path (st_blocks-based is not used: apparent size). */
long long berth_dir_size(const char *path);
/* asprintf that aborts on out-of-memory. */
char *berth_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
