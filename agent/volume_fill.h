/* Filling a volume from the image's content at its mount path, as Docker does. */
#ifndef BERTH_VOLUME_FILL_H
#define BERTH_VOLUME_FILL_H

struct image_info;

/* Copy what the image has at target into the volume directory data when data is empty:
 * target resolved in the union of the image's layers (symlinks and ".." never leave them,
 * whiteouts and opaque directories honoured), files, directories and symlinks copied by fd
 * with their owners, modes and times. Nothing is copied when target is not a directory in the
 * image. 0, or -1 with errno (logged) when the copy failed part way. */
int volume_fill_from_image(const struct image_info *image, const char *target, const char *data);

#endif
