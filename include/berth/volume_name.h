/* Names of local volumes, as Docker's local driver takes them. */
#ifndef BERTH_VOLUME_NAME_H
#define BERTH_VOLUME_NAME_H

#include <jansson.h>

#include "berth/error.h"

/* A volume name is a directory under $BERTH_ROOT/volumes: one file name at most. */
#define VOLUME_NAME_MAX 255

/* 400 with Docker's message unless name matches [a-zA-Z0-9][a-zA-Z0-9_.-]+ and fits in
 * VOLUME_NAME_MAX bytes. No leading '/' (container names take one; volume names do not). */
int volume_name_check(const char *name, struct berth_error *err);
/* Every named volume (a source not starting with '/') in HostConfig.Binds. */
int volume_binds_check(const json_t *binds, struct berth_error *err);

#endif
