/* Bind mounts and named volumes ($BERTH_ROOT/volumes/NAME/_data) for -v. */
#ifndef BERTH_VOLUMES_H
#define BERTH_VOLUMES_H

#include <jansson.h>
#include "berth/error.h"

struct image_info;

/* Resolve HostConfig.Binds ("HOST:CTR[:ro]", "NAME:CTR[:ro]") and the image's VOLUMEs
 * (anonymous volumes) into Docker's inspect "Mounts" entries appended to mounts. A named
 * volume is created on first use and filled from the image's content at its path. */
int volumes_resolve(const char *root, const json_t *binds, const json_t *config_volumes,
		    const struct image_info *image, json_t *mounts, struct berth_error *err);

/* Parse one bind spec; fills source, target and readonly. 400 on a bad spec. */
int volumes_parse_bind(const char *spec, char *source, size_t ssize, char *target, size_t tsize,
		       bool *readonly, struct berth_error *err);

/* Remove the anonymous volumes among mounts (docker rm -v). */
void volumes_remove_anonymous(const char *root, const json_t *mounts);

/*
 * Local volumes as Docker's API shows them: {"CreatedAt", "Driver": "local", "Labels",
 * "Mountpoint", "Name", "Options", "Scope": "local"}. Each is $BERTH_ROOT/volumes/NAME/_data
 * with its metadata in NAME/volume.json (volumes made by -v before the metadata existed get
 * it derived: the directory's time, no labels).
 */
/* The volume, or NULL with 404 "get NAME: no such volume". */
json_t *volumes_inspect(const char *root, const char *name, struct berth_error *err);
/* Every volume, sorted by name. */
json_t *volumes_list(const char *root);
/* Create (an empty or NULL name gets a random 64-hex one); an existing volume is returned as
 * it is, as Docker's local driver does. 400 for a bad name, 404 for a driver other than local. */
json_t *volumes_create(const char *root, const char *name, const char *driver,
		       const json_t *labels, const json_t *options, struct berth_error *err);
/* Remove the volume's files (in the background); 404 when it does not exist. The caller
 * checks that no container uses it. */
int volumes_remove(const char *root, const char *name, struct berth_error *err);
/* Disk used by the volume's data, in bytes (a walk: for prune's SpaceReclaimed). */
int64_t volumes_size(const char *root, const char *name);

#endif
