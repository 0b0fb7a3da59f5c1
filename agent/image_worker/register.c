/* Registering an image whose layers are unpacked: its ID (the config's digest), chain IDs and
 * size go to images/<hex>.json, its tags to images.json, under the store's disk lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store_private.h"

/* The metadata the store keeps beside a config: chain IDs (hashed here, once) and size. */
static json_t *meta_new(const char *root, json_t *config, struct berth_error *err)
{
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(diff_ids);
	const char **diffs = calloc(n + 1, sizeof(*diffs));
	char(*chain)[72] = calloc(n + 1, sizeof(*chain));
	if (!diffs || !chain)
		abort();
	for (size_t i = 0; i < n; i++)
		diffs[i] = json_string_value(json_array_get(diff_ids, i)) ?: "";
	image_chain_ids(diffs, n, chain);
	json_t *chain_ids = json_array();
	long long size = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(chain_ids, json_string(chain[i]));
		_cleanup_free_ char *dir = berth_strdupf("%s/layers/%s", root, image_hex(chain[i]));
		struct stat st;
		if (stat(dir, &st) < 0) {
			rc = berth_err(err, 500, "layer %s is not unpacked", chain[i]);
			break;
		}
		size += berth_dir_size(dir);
	}
	free(diffs);
	free(chain);
	if (rc < 0) {
		json_decref(chain_ids);
		return NULL;
	}
	return json_pack("{s:o, s:I}", "chain_ids", chain_ids, "size", (json_int_t)size);
}

/* Every layer still there (a concurrent removal may have taken one since meta_new). */
static int layers_present(const char *root, json_t *rec, struct berth_error *err)
{
	size_t i;
	json_t *chain;
	json_array_foreach(json_object_get(rec, "chain_ids"), i, chain)
	{
		_cleanup_free_ char *dir =
		    berth_strdupf("%s/layers/%s", root, image_hex(json_string_value(chain)));
		struct stat st;
		if (stat(dir, &st) < 0)
			return berth_err(err, 500,
					 "layer %s was removed while the image was registered",
					 json_string_value(chain));
	}
	return 0;
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

	/* The slow parts (sizes, the config blob) before taking the lock. */
	_cleanup_json_ json_t *meta = meta_new(store->root, config, err);
	if (!meta)
		return -1;
	_cleanup_json_ json_t *rec = image_record_new(config, meta);
	if (!rec)
		return berth_err(err, 500, "invalid image config: chain IDs");
	_cleanup_free_ char *cpath = berth_strdupf("%s/blobs/sha256/%s", store->root, hex);
	struct stat st;
	if (stat(cpath, &st) < 0 &&
	    berth_write_atomic(cpath, config_bytes, config_len, 0644, err) < 0)
		return -1;

	char now[64];
	image_now_rfc3339(now, sizeof(now));
	pthread_mutex_lock(&store->lock);
	int lock = image_store_lock_disk(store, LOCK_EX, err);
	int rc = lock < 0 ? -1 : 0;
	if (rc == 0) {
		image_store_reload_locked(store);
		rc = layers_present(store->root, rec, err);
	}
	if (rc == 0) {
		json_t *old = json_object_get(store->images, id);
		if (old && json_object_get(old, "last_tag_time"))
			json_object_set(rec, "last_tag_time",
					json_object_get(old, "last_tag_time"));
		if (old && json_object_get(old, "repo_digests"))
			json_object_set(rec, "repo_digests", json_object_get(old, "repo_digests"));
		if (n_tags)
			json_object_set_new(rec, "last_tag_time", json_string(now));
		/* The record first, then the tags: a crash between leaves an untagged image,
		 * never a tag naming nothing. */
		rc = image_store_save_meta(store, id, rec, err);
	}
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
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	return rc;
}

int image_store_add_repo_digest(struct image_store *store, const char *id, const char *repo_digest,
				struct berth_error *err)
{
	const char *at = strchr(repo_digest, '@');
	size_t name_len = at ? (size_t)(at - repo_digest) + 1 : strlen(repo_digest);
	pthread_mutex_lock(&store->lock);
	int lock = image_store_lock_disk(store, LOCK_EX, err);
	int rc = lock < 0 ? -1 : 0;
	if (rc == 0) {
		image_store_reload_locked(store);
		json_t *rec = json_object_get(store->images, id);
		if (!rec) {
			rc = berth_err(err, 404, "No such image: %s", id);
		} else {
			/* One digest per repository, the newest (Docker keeps the list short too).
			 */
			json_t *old = json_object_get(rec, "repo_digests");
			json_t *list = json_array();
			size_t i;
			json_t *d;
			json_array_foreach(old, i, d)
			{
				const char *s = json_string_value(d);
				if (s && strncmp(s, repo_digest, name_len))
					json_array_append(list, d);
			}
			json_array_append_new(list, json_string(repo_digest));
			json_object_set_new(rec, "repo_digests", list);
			rc = image_store_save_meta(store, id, rec, err);
		}
	}
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	return rc;
}
