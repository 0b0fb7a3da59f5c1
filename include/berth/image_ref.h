/* Image references: Docker's reference grammar (distribution/reference), normalised names.
 * Pure: strings in, a struct out (lib/image_ref.c, fuzzed by tests/fuzz/fuzz_image_ref.c). */
#ifndef BERTH_IMAGE_REF_H
#define BERTH_IMAGE_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "berth/error.h"

/* Normalise a user reference to the "name:tag" key images.json uses; 400 on a bad name. */
int image_ref_normalize(const char *ref, char *out, size_t size, struct berth_error *err);

struct image_ref {
	char domain[256];   /* "docker.io", "localhost:5000" */
	char path[256];	    /* "library/busybox" */
	char familiar[256]; /* "busybox", "localhost:5000/x" (Docker's FamiliarName) */
	char tag[130];	    /* "" when none was given */
	char digest[136];   /* "sha256:<hex>" or "" */
};
/* 400 "invalid reference format..." on a bad reference. */
int image_ref_parse(const char *s, struct image_ref *out, struct berth_error *err);
/* "familiar:tag" with tag defaulting to "latest" (or "familiar@digest" for a digest-only ref). */
void image_ref_key(const struct image_ref *ref, char *out, size_t size);
/* A tag alone: [\w][\w.-]{0,127}. */
bool image_ref_tag_valid(const char *tag);

/* Docker's fully qualified form: "docker.io/library/busybox:latest",
 * "127.0.0.1:5000/x:latest", "docker.io/library/busybox@sha256:..." (tag kept before a digest). */
void image_ref_full(const struct image_ref *ref, char *out, size_t size);

#endif
