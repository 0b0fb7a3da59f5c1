/* berth-image-worker pull: a reference → a registered image, over the registry API v2. */
#ifndef BERTH_IMAGE_WORKER_PULL_H
#define BERTH_IMAGE_WORKER_PULL_H

#include <stdint.h>
#include <stdio.h>

#include "registry.h"

#define PULL_MAX_CONCURRENT 3 /* Docker's max-concurrent-downloads default */

struct pull;

/* One layer to fetch: the manifest's descriptor and the config's diff ID for it. */
struct pull_layer {
	struct pull *pull;
	struct registry *reg;
	const char *root;
	char digest[136];
	int64_t size;
	char diff_id[72];
	char chain_id[72];
	char short_id[13]; /* the 12 hex Docker shows */
	bool present;	   /* layers/<chain id> exists already */
	int rc;
	struct berth_error err;
};

/* Download, verify and unpack l into layers/<chain id> (pull_layer.c). */
int pull_layer_fetch(struct pull_layer *l, struct berth_error *err);
/* Called as bytes arrive (from l's thread). */
void pull_layer_progress(struct pull_layer *l, int64_t done);

struct pull_options {
	const char *platform; /* "os/arch[/variant]" or NULL for the host's */
	const char *auth;     /* X-Registry-Auth (base64url JSON) or NULL */
	int max_concurrent;
};

/* Pull ref into store, writing Docker's JSON progress messages to out (one per line). */
int image_pull(struct image_store *store, const char *ref, const struct pull_options *opts,
	       FILE *out, struct berth_error *err);

#endif
