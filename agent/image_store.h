/* Content-addressed image store under $BERTH_ROOT: blobs, unpacked layers, repository tags. */
#ifndef BERTH_IMAGE_STORE_H
#define BERTH_IMAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "berth/error.h"
#include "berth/image_ref.h"

struct image_store;

/* err->status of a change that found images.lock held by another process and did not wait. */
#define IMAGE_STORE_BUSY 503

/* Everything a container needs from its image. */
struct image_info {
	char id[72];	/* "sha256:<64 hex>" (the config digest) */
	json_t *config; /* the image config JSON (OCI/Docker: "config", "rootfs", ...), owned */
	char **layers;	/* NULL-terminated absolute paths of unpacked layer dirs, bottom first */
	size_t n_layers;
};
void image_info_clear(struct image_info *info);

/* Open the store for a long-lived owner (the agent): sweeps what crashed runs left in tmp/.
 * Its changes (tag, remove, prune) never wait for images.lock, which a worker holds while it
 * registers an image: they fail with IMAGE_STORE_BUSY instead, before changing anything, and
 * the agent's loop retries them on a timer (api_images.c). Reloads take no lock at all. */
struct image_store *image_store_open(const char *root, struct berth_error *err);
/* Open it beside a running agent (berth-image-worker): no sweep, removals done at once. */
struct image_store *image_store_attach(const char *root, struct berth_error *err);
void image_store_free(struct image_store *store);
/* Re-read the index from disk, after another process (a worker) changed it. Takes no disk
 * lock: never waits. */
int image_store_reload(struct image_store *store, struct berth_error *err);
/* Remove what process pid left in tmp/ (a worker that died): every temporary name a
 * process makes there carries "-<pid>-". */
void image_store_sweep_pid(struct image_store *store, pid_t pid);
/* Remove unpacked layers and blobs that no image references: what a worker killed between
 * unpacking and registering leaves. Only while no worker runs: a running one may hold layers
 * it has yet to register (so a worker registers what it unpacks in the same run). */
/* -1 when images.lock was busy (the agent does not wait for it): try again later. */
int image_store_collect_orphans(struct image_store *store);

/* Resolve a reference as Docker does: a full or short image ID ("sha256:" optional), or a
 * name ("busybox" = "busybox:latest", "docker.io/library/busybox:latest" = "busybox:latest").
 * 404 "No such image: busybox:latest" when missing. */
int image_store_resolve(struct image_store *store, const char *ref, struct image_info *out,
			struct berth_error *err);

/* References (Docker's grammar) are parsed in lib/image_ref.c: berth/image_ref.h. */

/*
 * ---- What only berth-image-worker does (agent/image_worker/, library
 * berth_image_worker_core): everything that needs libarchive or libcrypto. berth-agent does
 * not link it; it runs the berth-image-worker program instead (image_job.c). ----
 */

/* ---- Digests and layers (image_worker/layer.c) ---- */

/* OCI chain IDs: chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " + diff[n]).
 * All "sha256:<hex>". */
void image_chain_ids(const char *const *diff_ids, size_t n, char (*chain)[72]);

/* Read a possibly compressed (gzip, zstd, xz, bzip2) layer from fd, write the plain tar to
 * out_path and give its digest ("sha256:<hex>", the layer's diff ID) and size. */
int image_layer_decompress(int fd, const char *out_path, char diff_id[72], int64_t *size,
			   struct berth_error *err);
/* Unpack a layer tar (plain or compressed) into the existing directory dir, applying OCI
 * whiteouts in overlayfs format. Refuses (400) entries that escape dir, write through
 * symlinks, hard-link outside, device nodes, and broken or non-tar input. */
int image_layer_unpack(const char *tar_path, const char *dir, struct berth_error *err);
/* The same from an archive opened for reading (a tar format, any source: a pull's
 * stream). */
struct archive;
int image_layer_unpack_archive(struct archive *a, const char *dir, struct berth_error *err);
/* Unpack tar_path into $root/layers/<chain hex> unless it exists: unpack into a temporary
 * dir in $root/tmp and rename, so no half-unpacked layer is ever visible. 1 if it unpacked, 0 if
 * the layer was there already. */
int image_layer_install(const char *root, const char *tar_path, const char *chain_id,
			struct berth_error *err);

/* Register an image whose layers are already in place (image_worker/register.c); tags
 * ("name:tag" keys) move to it. moved_from (may be NULL) gets, per tag, the id it was taken
 * from or "". */
int image_store_register(struct image_store *store, const char *config_bytes, size_t config_len,
			 const char *const *tags, size_t n_tags, json_t *moved_from, char id[72],
			 struct berth_error *err);

/* Record "name@sha256:<manifest digest>" as a RepoDigest of image id (replacing the
 * repository's previous one). */
int image_store_add_repo_digest(struct image_store *store, const char *id, const char *repo_digest,
				struct berth_error *err);

/* ---- Store operations (image_store.c, image_query.c, image_remove.c), thread-safe ---- */

/* Resolve ref to "sha256:<hex>" only. */
int image_store_resolve_id(struct image_store *store, const char *ref, char id[72],
			   struct berth_error *err);
int image_store_tag(struct image_store *store, const char *ref, const char *repo, const char *tag,
		    struct berth_error *err);
/* Docker's GET /images/json array; filters is the parsed ?filters JSON or NULL. */
json_t *image_store_list(struct image_store *store, bool all, json_t *filters,
			 struct berth_error *err);
/* Docker's GET /images/{name}/json object. */
json_t *image_store_inspect(struct image_store *store, const char *ref, struct berth_error *err);
/* Callback telling whether a container uses image id; fills a 64-hex container id. */
typedef bool (*image_in_use_fn)(void *arg, const char *image_id, char container_id[65]);
/* Docker's DELETE /images/{name}: the array of {"Untagged"}/{"Deleted"} records. */
json_t *image_store_remove(struct image_store *store, const char *ref, bool force,
			   image_in_use_fn in_use, void *in_use_arg, struct berth_error *err);
/* Docker's POST /images/prune: {"ImagesDeleted":[...],"SpaceReclaimed":N}. dangling_only is
 * Docker's default; false removes every image no container uses. */
json_t *image_store_prune(struct image_store *store, bool dangling_only, image_in_use_fn in_use,
			  void *in_use_arg, struct berth_error *err);
/* Repository tags of an image ("busybox:latest"), as a JSON array of strings. */
json_t *image_store_tags_of(struct image_store *store, const char *id);
const char *image_store_root(struct image_store *store);

/* ---- Archives (image_worker/import.c, load.c, save.c): berth-image-worker only ---- */

/* docker import: a rootfs tar (maybe compressed) in tar_path, or read from fd (once, a pipe
 * will do) → one-layer image. repo_tag may be NULL (untagged); changes are Dockerfile lines
 * (CMD, ENV, ...). */
int image_archive_import(struct image_store *store, const char *tar_path, const char *repo_tag,
			 const char *const *changes, size_t n_changes, char id[72],
			 struct berth_error *err);
int image_archive_import_fd(struct image_store *store, int fd, const char *repo_tag,
			    const char *const *changes, size_t n_changes, char id[72],
			    struct berth_error *err);
/* docker load: a docker-save archive (old or new layout) or an OCI image layout tar, from a
 * file or read once from fd. Appends Docker's progress messages
 * ({"stream": "Loaded image: x:y\n"}) to messages. */
int image_archive_load(struct image_store *store, const char *tar_path, json_t *messages,
		       struct berth_error *err);
int image_archive_load_fd(struct image_store *store, int fd, json_t *messages,
			  struct berth_error *err);
/* docker save: write a tar that docker load accepts (and the OCI layout files) to out_path,
 * or stream it to fd. */
int image_archive_save(struct image_store *store, const char *const *refs, size_t n_refs,
		       const char *out_path, struct berth_error *err);
int image_archive_save_fd(struct image_store *store, const char *const *refs, size_t n_refs, int fd,
			  struct berth_error *err);
/* Apply one Dockerfile-style change line ("ENV A=b") to an image's "config" object. 400 on a
 * bad line. */
int image_archive_apply_change(json_t *config, const char *line, struct berth_error *err);

#endif
