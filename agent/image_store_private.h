/* Internals shared by the image store's files (image_*.c); not for other parts of the agent. */
#ifndef BERTH_IMAGE_STORE_PRIVATE_H
#define BERTH_IMAGE_STORE_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include "image_store.h"

/*
 * images: "sha256:<hex>" → record {"config": <image config>, "chain_ids": [...], "size": N,
 * "last_tag_time": "..."}; on disk the config is blobs/sha256/<hex> and the rest
 * images/<hex>.json (with the chain IDs, so that readers need not hash). tags: "name:tag" →
 * "sha256:<hex>", on disk images.json. Records are replaced or changed only with lock held.
 * Several processes write the store (the agent, berth-image-worker runs): every
 * read-modify-write of images.json and images/ holds the flock on images.lock
 * (image_store_lock_disk) and starts from image_store_reload_locked. Plain reloads take no
 * lock (image_store_reload says why).
 */
struct image_store {
	pthread_mutex_t lock;
	bool inline_trash; /* a short-lived worker: delete at once, no background thread */
	bool lock_nowait;  /* the agent: a held images.lock fails with IMAGE_STORE_BUSY */
	char root[PATH_MAX];
	json_t *images;
	json_t *tags;
};

/* "sha256:<hex>" → "<hex>" (a bare hex stays as it is). */
const char *image_hex(const char *id);
void image_now_rfc3339(char *out, size_t size);
/* With lock held. */
int image_store_resolve_id_locked(struct image_store *store, const char *ref, char id[72],
				  struct berth_error *err);
int image_store_save_tags(struct image_store *store, struct berth_error *err);
json_t *image_store_tags_of_locked(struct image_store *store, const char *id);
/* A reference to the record of id (NULL if none); json_decref it. */
json_t *image_store_record(struct image_store *store, const char *id);
/* With lock held: re-read the index from disk (take the disk lock first). */
void image_store_reload_locked(struct image_store *store);
/* flock(LOCK_EX or LOCK_SH) on $root/images.lock; returns the fd to pass to unlock. In the
 * agent (lock_nowait) it does not wait: IMAGE_STORE_BUSY when another process holds it. */
int image_store_lock_disk(struct image_store *store, int how, struct berth_error *err);
void image_store_unlock_disk(int fd);
/* A record from an image config and its metadata ({"size", "chain_ids", "last_tag_time"}). */
json_t *image_record_new(json_t *config, json_t *meta);
int image_store_save_meta(struct image_store *store, const char *id, json_t *rec,
			  struct berth_error *err);
/* Move a path out of the way (a rename into $root/tmp) and delete it in the background. */
void image_store_trash(struct image_store *store, const char *path);

#endif
