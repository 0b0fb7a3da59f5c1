/* Content-addressed image store under $BERTH_ROOT: blobs, unpacked layers, repository tags. */
#ifndef BERTH_IMAGE_STORE_H
#define BERTH_IMAGE_STORE_H

#include <jansson.h>
#include "berth/error.h"

struct image_store;

/* Everything a container needs from its image. */
struct image_info {
	char id[72];	  /* "sha256:<64 hex>" (the config digest) */
	json_t *config;	  /* the image config JSON (OCI/Docker: "config", "rootfs", ...), owned */
	char **layers;	  /* NULL-terminated absolute paths of unpacked layer dirs, bottom first */
	size_t n_layers;
};
void image_info_clear(struct image_info *info);

struct image_store *image_store_open(const char *root, struct berth_error *err);
void image_store_free(struct image_store *store);

/* Resolve a reference as Docker does: a full or short image ID ("sha256:" optional), or a
 * name ("busybox" = "busybox:latest", "docker.io/library/busybox:latest" = "busybox:latest").
 * 404 "No such image: busybox:latest" when missing. */
int image_store_resolve(struct image_store *store, const char *ref, struct image_info *out,
			struct berth_error *err);

/* Normalise a user reference to the "name:tag" key images.json uses; 400 on a bad name. */
int image_ref_normalize(const char *ref, char *out, size_t size, struct berth_error *err);

#endif
