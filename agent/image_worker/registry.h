/* The registry HTTP API v2 client of berth-image-worker (libcurl): auth, manifests, blobs. */
#ifndef BERTH_IMAGE_WORKER_REGISTRY_H
#define BERTH_IMAGE_WORKER_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "berth/error.h"
#include "image_store.h"

#define REGISTRY_MANIFEST_MAX (4 << 20) /* Docker's limit on a manifest's size */

/* One repository on one registry, for one pull. Thread-safe: layer threads share it. */
struct registry {
	struct image_ref ref;
	char base[300]; /* "http://127.0.0.1:5000", "https://registry-1.docker.io" */
	char user[256]; /* from X-Registry-Auth / the worker's stdin; "" when anonymous */
	char password[512];
	pthread_mutex_t lock;
	char *authorization; /* the cached "Authorization: ..." header, or NULL */
};

struct registry_reply {
	long status;
	char content_type[128];
	char digest[136]; /* Docker-Content-Digest, or "" */
	char *body;	  /* malloc'd, NUL-terminated */
	size_t len;
	char www_auth[1024]; /* the last WWW-Authenticate seen */
};
void registry_reply_clear(struct registry_reply *r);

/* Fill base for ref's registry: plain HTTP only for loopback hosts, TLS verified otherwise. */
int registry_init(struct registry *r, const struct image_ref *ref, struct berth_error *err);
void registry_clear(struct registry *r);

/* GET path (below base) into memory, at most max bytes (413 beyond), authenticating on a
 * 401 (Basic, or a Bearer token for the challenge's scope, cached in r) and retrying once. */
int registry_get(struct registry *r, const char *path, const char *accept, size_t max,
		 struct registry_reply *out, struct berth_error *err);

/* An easy handle for a blob GET: URL, auth header, redirects that drop Authorization when
 * the host changes, TLS settings. headers receives the slist to free after the transfer. */
CURL *registry_blob_handle(struct registry *r, const char *digest, struct curl_slist **headers);

/* The registry's error body ({"errors":[{"code","message"}]}) as Docker prints it
 * ("manifest unknown: manifest unknown"), or NULL. */
char *registry_error_text(const struct registry_reply *reply);

#endif
