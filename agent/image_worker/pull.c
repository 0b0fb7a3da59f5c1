/* Pull: resolve the manifest (a manifest list or OCI index narrowed to one platform), verify
 * every manifest and the config against their digests, fetch the missing layers in parallel
 * (pull_layer.c), register the image and move the tag only when all of it is in place.
 * Progress goes out as Docker's JSON messages. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store_private.h"
#include "pull.h"

#define MT_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define ACCEPT_ALL MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_V2 ", " MT_DOCKER_LIST
#define CONFIG_MAX (16 << 20)

struct pull {
	FILE *out;
	pthread_mutex_t out_lock;
	struct pull_layer *layers;
	size_t n_layers;
	size_t next; /* the next layer a thread takes (under out_lock) */
};

static void emit(struct pull *p, const char *id, const char *status)
{
	_cleanup_json_ json_t *j =
	    id ? json_pack("{s:s, s:{}, s:s}", "status", status, "progressDetail", "id", id)
	       : json_pack("{s:s}", "status", status);
	pthread_mutex_lock(&p->out_lock);
	json_dumpf(j, p->out, JSON_COMPACT);
	fputc('\n', p->out);
	fflush(p->out);
	pthread_mutex_unlock(&p->out_lock);
}

void pull_layer_progress(struct pull_layer *l, int64_t done)
{
	(void)l;
	(void)done; /* progress bars are a later step: the CLI prints plain lines for now */
}

static void *layer_thread(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->out_lock);
		struct pull_layer *l = NULL;
		while (p->next < p->n_layers && !l) {
			struct pull_layer *c = &p->layers[p->next++];
			if (!c->present)
				l = c;
		}
		pthread_mutex_unlock(&p->out_lock);
		if (!l)
			return NULL;
		l->rc = pull_layer_fetch(l, &l->err);
		if (l->rc == 0) {
			emit(p, l->short_id, "Verifying Checksum");
			emit(p, l->short_id, "Download complete");
			emit(p, l->short_id, "Pull complete");
		}
	}
}

/* The registry's answer as Docker's pull errors (distribution/errors.go). */
static int reply_error(struct registry *r, const struct registry_reply *rep, const char *what,
		       struct berth_error *err)
{
	_cleanup_free_ char *text = registry_error_text(rep);
	const char *name = r->ref.familiar;
	if (rep->status == 401 && !r->user[0] && !strncasecmp(rep->www_auth, "basic", 5))
		return berth_err(err, 401,
				 "Head \"%s/v2/%s/manifests/%s\": no basic auth credentials",
				 r->base, r->ref.path, r->ref.tag[0] ? r->ref.tag : "latest");
	if (rep->status == 401 || (text && !strncmp(text, "denied:", 7))) {
		if (r->user[0] && rep->status == 401)
			return berth_err(err, 401, "unauthorized: authentication required");
		return berth_err(
		    err, 404,
		    "pull access denied for %s, repository does not exist or may "
		    "require 'docker login': %s",
		    name, text ? text : "denied: requested access to the resource is denied");
	}
	if (rep->status == 404) {
		/* distribution 2.8 says MANIFEST_UNKNOWN for a missing repository too: ask
		 * for its tags to tell the two apart. */
		_cleanup_free_ char *path = berth_strdupf("/v2/%s/tags/list", r->ref.path);
		struct registry_reply tags = {0};
		struct berth_error terr = {0};
		bool no_repo = registry_get(r, path, NULL, 1 << 20, &tags, &terr) == 0 &&
			       (tags.status == 404 || tags.status == 401);
		registry_reply_clear(&tags);
		if (no_repo)
			return berth_err(err, 404,
					 "pull access denied for %s, repository does not exist or "
					 "may require 'docker login': denied: requested access to "
					 "the resource is denied",
					 name);
		return berth_err(err, 404, "manifest for %s not found: %s", what,
				 text ? text : "manifest unknown: manifest unknown");
	}
	return berth_err(err, 502, "%s: the registry answered %ld%s%s", what, rep->status,
			 text ? ": " : "", text ? text : "");
}

/* GET a manifest or blob and check its bytes against digest (when known) and the
 * registry's Docker-Content-Digest. */
static int get_verified(struct registry *r, const char *kind, const char *ref_part,
			const char *digest, size_t max, const char *what,
			struct registry_reply *rep, char out_digest[72], struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("/v2/%s/%s/%s", r->ref.path, kind, ref_part);
	if (registry_get(r, path, !strcmp(kind, "manifests") ? ACCEPT_ALL : NULL, max, rep, err) <
	    0) {
		if (err->status == 413)
			return berth_err(err, 400, "%s: manifest too big (over %zu bytes)", what,
					 max);
		return -1;
	}
	if (rep->status != 200)
		return reply_error(r, rep, what, err);
	char hex[65];
	berth_sha256_hex(rep->body, rep->len, hex);
	snprintf(out_digest, 72, "sha256:%s", hex);
	if (digest && strcmp(digest, out_digest))
		return berth_err(err, 502, "%s: content does not match its digest %s (got %s)",
				 what, digest, out_digest);
	if (rep->digest[0] && !strncmp(rep->digest, "sha256:", 7) &&
	    strcmp(rep->digest, out_digest))
		return berth_err(err, 502,
				 "%s: content does not match the registry's digest %s (got %s)",
				 what, rep->digest, out_digest);
	return 0;
}

static void host_platform(char *os, char *arch, char *variant)
{
	struct utsname u;
	strcpy(os, "linux");
	strcpy(arch, "amd64");
	variant[0] = '\0';
	if (uname(&u) == 0 && !strcmp(u.machine, "aarch64"))
		strcpy(arch, "arm64");
}

static int parse_platform(const char *s, char os[32], char arch[32], char variant[32],
			  struct berth_error *err)
{
	if (!s || !*s) {
		host_platform(os, arch, variant);
		return 0;
	}
	variant[0] = '\0';
	char extra[32] = "";
	int n = sscanf(s, "%31[^/]/%31[^/]/%31[^/]/%31s", os, arch, variant, extra);
	if (n < 2 || n > 3)
		return berth_err(err, 400,
				 "\"%s\": unknown operating system or architecture: invalid "
				 "argument",
				 s);
	return 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* From a list or index, the digest of the manifest for os/arch[/variant]. */
static int select_platform(json_t *index, const char *os, const char *arch, const char *variant,
			   char digest[136], struct berth_error *err)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(index, "manifests"), i, m)
	{
		json_t *pf = json_object_get(m, "platform");
		if (!str(pf, "os") || strcmp(str(pf, "os"), os) || !str(pf, "architecture") ||
		    strcmp(str(pf, "architecture"), arch))
			continue;
		if (variant[0] && (!str(pf, "variant") || strcmp(str(pf, "variant"), variant)))
			continue;
		const char *d = str(m, "digest");
		if (!d || strlen(d) >= 136)
			continue;
		strcpy(digest, d);
		return 0;
	}
	return berth_err(err, 404,
			 "no matching manifest for %s/%s%s%s in the manifest list entries", os,
			 arch, variant[0] ? "/" : "", variant);
}

static bool image_present(struct image_store *store, const char *id, const char *key)
{
	json_t *rec = image_store_record(store, id);
	bool tagged = false;
	if (rec) {
		pthread_mutex_lock(&store->lock);
		const char *t = json_string_value(json_object_get(store->tags, key));
		tagged = t && !strcmp(t, id);
		pthread_mutex_unlock(&store->lock);
	}
	json_decref(rec);
	return tagged;
}

/* X-Registry-Auth: base64url of {"username","password"} (or an empty object). */
static void decode_auth(struct registry *r, const char *b64)
{
	if (!b64 || !*b64)
		return;
	size_t n = strlen(b64);
	_cleanup_free_ char *std = calloc(n + 4, 1);
	_cleanup_free_ unsigned char *raw = calloc(n + 4, 1);
	if (!std || !raw)
		abort();
	for (size_t i = 0; i < n; i++)
		std[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
	while (n % 4)
		std[n++] = '=';
	int len = EVP_DecodeBlock(raw, (unsigned char *)std, (int)n);
	if (len < 0)
		return;
	while (len > 0 && raw[len - 1] == '\0')
		len--;
	_cleanup_json_ json_t *j = json_loadb((char *)raw, (size_t)len, 0, NULL);
	const char *u = str(j, "username"), *pw = str(j, "password");
	if (u && pw) {
		snprintf(r->user, sizeof(r->user), "%s", u);
		snprintf(r->password, sizeof(r->password), "%s", pw);
	}
	explicit_bzero(raw, (size_t)len);
}

static int pull_image(struct image_store *store, struct registry *r,
		      const struct pull_options *opts, struct pull *p, struct berth_error *err)
{
	const struct image_ref *ref = &r->ref;
	char key[600];
	image_ref_key(ref, key, sizeof(key));
	const char *tag = ref->tag[0] ? ref->tag : ref->digest[0] ? NULL : "latest";
	char os[32], arch[32], variant[32];
	if (parse_platform(opts->platform, os, arch, variant, err) < 0)
		return -1;

	struct registry_reply rep = {0};
	char top_digest[72], digest[72];
	const char *wanted = ref->digest[0] ? ref->digest : NULL;
	int rc = get_verified(r, "manifests", wanted ? wanted : tag, wanted, REGISTRY_MANIFEST_MAX,
			      key, &rep, top_digest, err);
	json_t *manifest = rc == 0 ? json_loadb(rep.body, rep.len, 0, NULL) : NULL;
	if (rc == 0 && !json_is_object(manifest))
		rc = berth_err(err, 502, "%s: the manifest is not JSON", key);
	const char *mt = rc == 0 ? (str(manifest, "mediaType") ?: rep.content_type) : "";
	if (rc == 0 && (!strcmp(mt, MT_DOCKER_LIST) || !strcmp(mt, MT_OCI_INDEX) ||
			json_is_array(json_object_get(manifest, "manifests")))) {
		char child[136];
		rc = select_platform(manifest, os, arch, variant, child, err);
		json_decref(manifest);
		manifest = NULL;
		if (rc == 0)
			rc = get_verified(r, "manifests", child, child, REGISTRY_MANIFEST_MAX, key,
					  &rep, digest, err);
		if (rc == 0)
			manifest = json_loadb(rep.body, rep.len, 0, NULL);
		if (rc == 0 && !json_is_object(manifest))
			rc = berth_err(err, 502, "%s: the manifest is not JSON", key);
		mt = rc == 0 ? (str(manifest, "mediaType") ?: rep.content_type) : "";
	}
	registry_reply_clear(&rep);
	if (rc == 0 && strcmp(mt, MT_DOCKER_V2) && strcmp(mt, MT_OCI_MANIFEST) &&
	    !json_is_object(json_object_get(manifest, "config")))
		rc = berth_err(err, 400, "%s: unsupported manifest media type \"%s\"", key, mt);
	_cleanup_json_ json_t *m = manifest;
	if (rc < 0)
		return -1;
	json_t *layers = json_object_get(m, "layers");
	const char *config_digest = str(json_object_get(m, "config"), "digest");
	if (!config_digest || strncmp(config_digest, "sha256:", 7) || strlen(config_digest) != 71 ||
	    !berth_is_hex(config_digest + 7, 64) || !json_is_array(layers))
		return berth_err(err, 502, "%s: the manifest names no config or layers", key);

	_cleanup_free_ char *from = berth_strdupf("Pulling from %s", ref->path);
	emit(p, ref->tag[0] ? ref->tag : ref->digest[0] ? ref->digest : "latest", from);
	if (image_present(store, config_digest, key)) {
		_cleanup_free_ char *rd = berth_strdupf("%s@%s", ref->familiar, top_digest);
		if (image_store_add_repo_digest(store, config_digest, rd, err) < 0)
			return -1;
		char line[200];
		snprintf(line, sizeof(line), "Digest: %s", top_digest);
		emit(p, NULL, line);
		_cleanup_free_ char *st = berth_strdupf("Status: Image is up to date for %s", key);
		emit(p, NULL, st);
		return 0;
	}

	/* The config: verified, then its diff IDs give each layer's chain ID. */
	char cdig[72];
	if (get_verified(r, "blobs", config_digest, config_digest, CONFIG_MAX, key, &rep, cdig,
			 err) < 0) {
		registry_reply_clear(&rep);
		return -1;
	}
	_cleanup_json_ json_t *config = json_loadb(rep.body, rep.len, 0, NULL);
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(layers);
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n) {
		registry_reply_clear(&rep);
		return berth_err(err, 502,
				 "%s: the image config's rootfs.diff_ids do not match the "
				 "manifest's %zu layers",
				 key, n);
	}
	if (opts->platform && opts->platform[0] && str(config, "architecture") &&
	    (strcmp(str(config, "architecture"), arch) ||
	     (str(config, "os") && strcmp(str(config, "os"), os)))) {
		registry_reply_clear(&rep);
		return berth_err(err, 400,
				 "image with reference %s was found but does not match the "
				 "specified platform: wanted %s/%s, actual: %s/%s",
				 key, os, arch, str(config, "os") ?: "",
				 str(config, "architecture"));
	}
	struct pull_layer *ls = calloc(n + 1, sizeof(*ls));
	const char **diffs = calloc(n + 1, sizeof(*diffs));
	char(*chain)[72] = calloc(n + 1, sizeof(*chain));
	if (!ls || !diffs || !chain)
		abort();
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *d = json_array_get(layers, i);
		const char *dg = str(d, "digest"),
			   *diff = json_string_value(json_array_get(diff_ids, i));
		if (!dg || strlen(dg) != 71 || strncmp(dg, "sha256:", 7) ||
		    !berth_is_hex(dg + 7, 64) || !diff || strlen(diff) != 71 ||
		    strncmp(diff, "sha256:", 7) || !berth_is_hex(diff + 7, 64))
			rc = berth_err(err, 502, "%s: layer %zu has a malformed digest", key, i);
		diffs[i] = diff ? diff : "";
		if (rc == 0) {
			snprintf(ls[i].digest, sizeof(ls[i].digest), "%s", dg);
			snprintf(ls[i].diff_id, sizeof(ls[i].diff_id), "%s", diff);
			snprintf(ls[i].short_id, sizeof(ls[i].short_id), "%.12s", dg + 7);
			json_t *sz = json_object_get(d, "size");
			ls[i].size = json_is_integer(sz) ? json_integer_value(sz) : -1;
		}
	}
	if (rc == 0)
		image_chain_ids(diffs, n, chain);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct pull_layer *l = &ls[i];
		snprintf(l->chain_id, sizeof(l->chain_id), "%s", chain[i]);
		l->pull = p;
		l->reg = r;
		l->root = store->root;
		_cleanup_free_ char *dir =
		    berth_strdupf("%s/layers/%s", store->root, image_hex(l->chain_id));
		struct stat st;
		l->present = stat(dir, &st) == 0;
		emit(p, l->short_id, l->present ? "Already exists" : "Pulling fs layer");
	}
	if (rc == 0) {
		p->layers = ls;
		p->n_layers = n;
		int nt = opts->max_concurrent > 0 ? opts->max_concurrent : PULL_MAX_CONCURRENT;
		pthread_t th[16];
		int started = 0;
		for (int t = 0; t < nt && t < 16 && (size_t)t < n; t++)
			if (pthread_create(&th[started], NULL, layer_thread, p) == 0)
				started++;
		if (started == 0 && n > 0)
			layer_thread(p);
		for (int t = 0; t < started; t++)
			pthread_join(th[t], NULL);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!ls[i].present && ls[i].rc < 0) {
				*err = ls[i].err;
				rc = -1;
			}
	}
	char id[72];
	const char *tags[1] = {key};
	if (rc == 0)
		rc = image_store_register(store, rep.body, rep.len, tags, 1, NULL, id, err);
	_cleanup_free_ char *repo_digest = berth_strdupf("%s@%s", ref->familiar, top_digest);
	if (rc == 0)
		rc = image_store_add_repo_digest(store, id, repo_digest, err);
	registry_reply_clear(&rep);
	free(ls);
	free(diffs);
	free(chain);
	if (rc < 0)
		return -1;
	char line[200];
	snprintf(line, sizeof(line), "Digest: %s", top_digest);
	emit(p, NULL, line);
	_cleanup_free_ char *st = berth_strdupf("Status: Downloaded newer image for %s", key);
	emit(p, NULL, st);
	return 0;
}

int image_pull(struct image_store *store, const char *ref_str, const struct pull_options *opts,
	       FILE *out, struct berth_error *err)
{
	struct image_ref ref;
	if (image_ref_parse(ref_str, &ref, err) < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct registry r;
	registry_init(&r, &ref, err);
	decode_auth(&r, opts->auth);
	struct pull p = {.out = out};
	pthread_mutex_init(&p.out_lock, NULL);
	int rc = pull_image(store, &r, opts, &p, err);
	pthread_mutex_destroy(&p.out_lock);
	registry_clear(&r);
	return rc;
}
