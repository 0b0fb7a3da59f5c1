/* The image store's state: image records, repository tags (images.json), resolution by name
 * or ID, registration and deletion. Every operation here is quick and thread-safe. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "image_store_private.h"

void image_info_clear(struct image_info *info)
{
	if (!info)
		return;
	json_decref(info->config);
	if (info->layers) {
		for (size_t i = 0; info->layers[i]; i++)
			free(info->layers[i]);
		free(info->layers);
	}
	memset(info, 0, sizeof(*info));
}

const char *image_store_root(struct image_store *store)
{
	return store->root;
}

const char *image_hex(const char *id)
{
	return strncmp(id, "sha256:", 7) ? id : id + 7;
}

void image_now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Build a record from a config already in blobs/ and its metadata file. */
static json_t *record_new(const char *root, json_t *config, json_t *meta)
{
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(diff_ids);
	const char **diffs = calloc(n + 1, sizeof(*diffs));
	char(*chain)[72] = calloc(n + 1, sizeof(*chain));
	if (!diffs || !chain)
		abort();
	for (size_t i = 0; i < n; i++) {
		diffs[i] = json_string_value(json_array_get(diff_ids, i));
		if (!diffs[i])
			diffs[i] = "";
	}
	image_chain_ids(diffs, n, chain);
	json_t *chain_ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(chain_ids, json_string(chain[i]));
	free(diffs);
	free(chain);
	json_t *rec = json_pack("{s:O, s:o}", "config", config, "chain_ids", chain_ids);
	json_object_set(rec, "size", json_object_get(meta, "size"));
	json_t *ltt = json_object_get(meta, "last_tag_time");
	if (json_is_string(ltt))
		json_object_set(rec, "last_tag_time", ltt);
	(void)root;
	return rec;
}

static int save_meta(struct image_store *store, const char *id, json_t *rec,
		     struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images/%s.json", store->root, image_hex(id));
	_cleanup_json_ json_t *meta = json_object();
	json_object_set(meta, "size", json_object_get(rec, "size"));
	json_t *ltt = json_object_get(rec, "last_tag_time");
	if (ltt)
		json_object_set(meta, "last_tag_time", ltt);
	return berth_write_json_atomic(path, meta, err);
}

int image_store_save_tags(struct image_store *store, struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images.json", store->root);
	return berth_write_json_atomic(path, store->tags, err);
}

static void load_images(struct image_store *store)
{
	_cleanup_free_ char *dir = berth_strdupf("%s/images", store->root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != 64 + 5 || strcmp(de->d_name + 64, ".json") ||
		    !berth_is_hex(de->d_name, 64))
			continue;
		char hex[65];
		memcpy(hex, de->d_name, 64);
		hex[64] = '\0';
		_cleanup_free_ char *mpath = berth_strdupf("%s/%s", dir, de->d_name);
		_cleanup_free_ char *cpath = berth_strdupf("%s/blobs/sha256/%s", store->root, hex);
		_cleanup_json_ json_t *meta = berth_read_json(mpath, NULL);
		_cleanup_json_ json_t *config = berth_read_json(cpath, NULL);
		if (!meta || !config) {
			log_warn("image %s: missing config or metadata, ignored", hex);
			continue;
		}
		char id[72];
		snprintf(id, sizeof(id), "sha256:%s", hex);
		json_object_set_new(store->images, id, record_new(store->root, config, meta));
	}
}

/* Leftovers of a crash: half-unpacked layers, staging dirs, trash. */
static void clean_leftovers(const char *root)
{
	_cleanup_free_ char *tmp = berth_strdupf("%s/tmp", root);
	berth_rm_rf(tmp, NULL);
	_cleanup_free_ char *layers = berth_strdupf("%s/layers", root);
	_cleanup_closedir_ DIR *d = opendir(layers);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, ".tmp-"))
			continue;
		_cleanup_free_ char *p = berth_strdupf("%s/%s", layers, de->d_name);
		berth_rm_rf(p, NULL);
	}
}

struct image_store *image_store_open(const char *root, struct berth_error *err)
{
	static const char *const dirs[] = {"blobs/sha256", "layers", "images", "tmp"};
	clean_leftovers(root);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *p = berth_strdupf("%s/%s", root, dirs[i]);
		if (berth_mkdir_p(p, 0700, err) < 0)
			return NULL;
	}
	struct image_store *store = calloc(1, sizeof(*store));
	if (!store)
		abort();
	pthread_mutex_init(&store->lock, NULL);
	snprintf(store->root, sizeof(store->root), "%s", root);
	store->images = json_object();
	load_images(store);
	_cleanup_free_ char *tags_path = berth_strdupf("%s/images.json", root);
	struct berth_error lerr = {0};
	store->tags = berth_read_json(tags_path, &lerr);
	if (!store->tags || !json_is_object(store->tags)) {
		if (store->tags || lerr.status != 404)
			log_warn("images.json unreadable, starting without tags: %s", lerr.msg);
		json_decref(store->tags);
		store->tags = json_object();
	}
	/* Drop tags whose image is gone (a crash between the two writes). */
	const char *key;
	json_t *val;
	void *tmp;
	json_object_foreach_safe(store->tags, tmp, key, val)
	{
		if (!json_object_get(store->images, json_string_value(val) ?: ""))
			json_object_del(store->tags, key);
	}
	return store;
}

void image_store_free(struct image_store *store)
{
	if (!store)
		return;
	json_decref(store->tags);
	json_decref(store->images);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

int image_store_register(struct image_store *store, const char *config_bytes, size_t config_len,
			 const char *const *tags, size_t n_tags, json_t *moved_from, char id[72],
			 struct berth_error *err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *config = json_loadb(config_bytes, config_len, 0, &jerr);
	if (!config || !json_is_object(config))
		return berth_err(err, 400, "invalid image config: %s",
				 config ? "not an object" : jerr.text);
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids))
		return berth_err(err, 400, "invalid image config: no rootfs.diff_ids");
	char hex[65];
	berth_sha256_hex(config_bytes, config_len, hex);
	snprintf(id, 72, "sha256:%s", hex);

	_cleanup_json_ json_t *rec = record_new(store->root, config, NULL);
	long long size = 0;
	size_t i;
	json_t *chain;
	json_array_foreach(json_object_get(rec, "chain_ids"), i, chain)
	{
		_cleanup_free_ char *dir =
		    berth_strdupf("%s/layers/%s", store->root, image_hex(json_string_value(chain)));
		struct stat st;
		if (stat(dir, &st) < 0)
			return berth_err(err, 500, "layer %s is not unpacked",
					 json_string_value(chain));
		size += berth_dir_size(dir);
	}
	json_object_set_new(rec, "size", json_integer(size));
	_cleanup_free_ char *cpath = berth_strdupf("%s/blobs/sha256/%s", store->root, hex);
	struct stat st;
	if (stat(cpath, &st) < 0 &&
	    berth_write_atomic(cpath, config_bytes, config_len, 0644, err) < 0)
		return -1;

	char now[64];
	image_now_rfc3339(now, sizeof(now));
	pthread_mutex_lock(&store->lock);
	json_t *old = json_object_get(store->images, id);
	if (old && json_object_get(old, "last_tag_time"))
		json_object_set(rec, "last_tag_time", json_object_get(old, "last_tag_time"));
	if (n_tags)
		json_object_set_new(rec, "last_tag_time", json_string(now));
	int rc = save_meta(store, id, rec, err);
	if (rc == 0) {
		json_object_set(store->images, id, rec);
		for (size_t t = 0; t < n_tags; t++) {
			const char *prev = json_string_value(json_object_get(store->tags, tags[t]));
			if (moved_from)
				json_object_set_new(
				    moved_from, tags[t],
				    json_string(prev && strcmp(prev, id) ? prev : ""));
			json_object_set_new(store->tags, tags[t], json_string(id));
		}
		rc = image_store_save_tags(store, err);
	}
	pthread_mutex_unlock(&store->lock);
	return rc;
}

/* Find an image ID for ref, with store->lock held. */
int image_store_resolve_id_locked(struct image_store *store, const char *ref, char id[72],
				  struct berth_error *err)
{
	size_t len = strlen(ref);
	if (len == 0)
		return berth_err(err, 400, "invalid reference format");
	const char *hex = image_hex(ref);
	if (strlen(hex) == 64 && berth_is_hex(hex, 64)) {
		snprintf(id, 72, "sha256:%s", hex);
		if (json_object_get(store->images, id))
			return 0;
		return berth_err(err, 404, "No such image: %s", id);
	}
	struct image_ref r;
	bool parsed = image_ref_parse(ref, &r, err) == 0;
	if (!parsed && strncmp(ref, "sha256:", 7))
		return -1;
	char key[600] = "";
	if (parsed) {
		image_ref_key(&r, key, sizeof(key));
		const char *v = json_string_value(json_object_get(store->tags, key));
		if (v) {
			snprintf(id, 72, "%s", v);
			return 0;
		}
	}
	/* An ID prefix. */
	size_t hl = strlen(hex);
	if (hl > 0 && hl <= 64 && berth_is_hex(hex, hl)) {
		const char *k, *found = NULL;
		int matches = 0;
		json_t *v;
		json_object_foreach(store->images, k, v)
		{
			if (!strncmp(k + 7, hex, hl)) {
				found = k;
				matches++;
			}
		}
		if (matches == 1) {
			snprintf(id, 72, "%s", found);
			return 0;
		}
	}
	return berth_err(err, 404, "No such image: %s", key[0] ? key : ref);
}

int image_store_resolve_id(struct image_store *store, const char *ref, char id[72],
			   struct berth_error *err)
{
	pthread_mutex_lock(&store->lock);
	int rc = image_store_resolve_id_locked(store, ref, id, err);
	pthread_mutex_unlock(&store->lock);
	return rc;
}

json_t *image_store_record(struct image_store *store, const char *id)
{
	pthread_mutex_lock(&store->lock);
	json_t *rec = json_incref(json_object_get(store->images, id));
	pthread_mutex_unlock(&store->lock);
	return rec;
}

int image_store_resolve(struct image_store *store, const char *ref, struct image_info *out,
			struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&store->lock);
	char id[72];
	int rc = image_store_resolve_id_locked(store, ref, id, err);
	json_t *rec = rc == 0 ? json_incref(json_object_get(store->images, id)) : NULL;
	pthread_mutex_unlock(&store->lock);
	if (rc < 0)
		return -1;
	json_t *chain = json_object_get(rec, "chain_ids");
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->config = json_incref(json_object_get(rec, "config"));
	out->n_layers = json_array_size(chain);
	out->layers = calloc(out->n_layers + 1, sizeof(char *));
	if (!out->layers)
		abort();
	for (size_t i = 0; i < out->n_layers; i++)
		out->layers[i] =
		    berth_strdupf("%s/layers/%s", store->root,
				  image_hex(json_string_value(json_array_get(chain, i))));
	json_decref(rec);
	return 0;
}

json_t *image_store_tags_of_locked(struct image_store *store, const char *id)
{
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(store->tags, k, v)
	{
		if (!strcmp(json_string_value(v), id))
			json_array_append_new(arr, json_string(k));
	}
	return arr;
}

json_t *image_store_tags_of(struct image_store *store, const char *id)
{
	pthread_mutex_lock(&store->lock);
	json_t *arr = image_store_tags_of_locked(store, id);
	pthread_mutex_unlock(&store->lock);
	return arr;
}

int image_store_tag(struct image_store *store, const char *ref, const char *repo, const char *tag,
		    struct berth_error *err)
{
	if (!repo || !*repo)
		return berth_err(err, 400, "repository name must have at least one component");
	struct image_ref r;
	if (image_ref_parse(repo, &r, err) < 0)
		return -1;
	if (r.digest[0])
		return berth_err(err, 400, "refusing to create a tag with a digest reference");
	if (tag && *tag) {
		if (r.tag[0])
			return berth_err(err, 400, "invalid reference format");
		if (!image_ref_tag_valid(tag))
			return berth_err(err, 400, "invalid tag format");
		snprintf(r.tag, sizeof(r.tag), "%s", tag);
	}
	char key[600];
	image_ref_key(&r, key, sizeof(key));
	char now[64];
	image_now_rfc3339(now, sizeof(now));
	pthread_mutex_lock(&store->lock);
	char id[72];
	int rc = image_store_resolve_id_locked(store, ref, id, err);
	if (rc == 0) {
		json_t *rec = json_object_get(store->images, id);
		json_object_set_new(rec, "last_tag_time", json_string(now));
		json_object_set_new(store->tags, key, json_string(id));
		rc = save_meta(store, id, rec, err);
		if (rc == 0)
			rc = image_store_save_tags(store, err);
	}
	pthread_mutex_unlock(&store->lock);
	return rc;
}
