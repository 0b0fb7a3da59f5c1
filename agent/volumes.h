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

#endif
