/* Removing images as Docker does (DELETE /images/{name}, POST /images/prune): untag, refuse
 * images that containers use, delete configs, layers and blobs no other image shares. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "image_store_private.h"

void image_store_trash(struct image_store *store, const char *path)
{
	_cleanup_free_ char *tmp = berth_strdupf("%s/tmp", store->root);
	if (store->inline_trash) {
		berth_rm_rf(path, NULL);
		return;
	}
	berth_trash(path, tmp);
}

/* Is value (a chain or diff ID) in the given array of any image other than skip? */
static bool shared(struct image_store *store, const char *skip, const char *field,
		   const char *value)
{
	const char *id;
	json_t *rec;
	json_object_foreach(store->images, id, rec)
	{
		if (!strcmp(id, skip))
			continue;
		json_t *arr =
		    !strcmp(field, "diff_ids")
			? json_object_get(json_object_get(json_object_get(rec, "config"), "rootfs"),
					  "diff_ids")
			: json_object_get(rec, field);
		size_t i;
		json_t *v;
		json_array_foreach(arr, i,
				   v) if (!strcmp(json_string_value(v) ?: "", value)) return true;
	}
	return false;
}

/* Delete image id (lock held): its record, config, and unshared layers and blobs. Appends
 * {"Deleted": ...} records; adds the bytes of removed layers to *reclaimed. */
static int delete_image_locked(struct image_store *store, const char *id, json_t *records,
			       long long *reclaimed, struct berth_error *err)
{
	json_t *rec = json_incref(json_object_get(store->images, id));
	if (!rec)
		return 0;
	json_object_del(store->images, id);
	_cleanup_free_ char *meta = berth_strdupf("%s/images/%s.json", store->root, image_hex(id));
	if (unlink(meta) < 0 && errno != ENOENT) {
		int saved = errno;
		json_object_set_new(store->images, id, rec);
		return berth_err_errno(err, 500, saved, "remove %s", meta);
	}
	_cleanup_free_ char *config =
	    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(id));
	unlink(config);
	json_array_append_new(records, json_pack("{s:s}", "Deleted", id));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(rec, "chain_ids"), i, v)
	{
		const char *chain = json_string_value(v);
		if (shared(store, id, "chain_ids", chain))
			continue;
		_cleanup_free_ char *dir =
		    berth_strdupf("%s/layers/%s", store->root, image_hex(chain));
		if (reclaimed)
			*reclaimed += berth_dir_size(dir);
		image_store_trash(store, dir);
		json_array_append_new(records, json_pack("{s:s}", "Deleted", chain));
	}
	json_array_foreach(
	    json_object_get(json_object_get(json_object_get(rec, "config"), "rootfs"), "diff_ids"),
	    i, v)
	{
		const char *diff = json_string_value(v);
		if (!diff || shared(store, id, "diff_ids", diff))
			continue;
		_cleanup_free_ char *blob =
		    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(diff));
		unlink(blob);
	}
	json_decref(rec);
	return 0;
}

static void untag_all_locked(struct image_store *store, const char *id, json_t *records)
{
	_cleanup_json_ json_t *tags = image_store_tags_of_locked(store, id);
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		json_object_del(store->tags, json_string_value(t));
		json_array_append_new(records, json_pack("{s:O}", "Untagged", t));
	}
}

static bool is_id_prefix(const char *id, const char *ref)
{
	return !strncmp(id, ref, strlen(ref)) || !strncmp(id + 7, ref, strlen(ref));
}

static int remove_locked(struct image_store *store, const char *ref, bool force,
			 image_in_use_fn in_use, void *in_use_arg, json_t *records,
			 struct berth_error *err)
{
	char id[72];
	if (image_store_resolve_id_locked(store, ref, id, err) < 0)
		return -1;
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%s", image_hex(id));
	char user[65] = "";
	bool used = in_use && in_use(in_use_arg, id, user);
	user[12] = '\0';
	_cleanup_json_ json_t *tags = image_store_tags_of_locked(store, id);
	bool quiet = false;

	if (!is_id_prefix(id, ref)) {
		if (!force && json_array_size(tags) == 1 && used)
			return berth_err(err, 409,
					 "conflict: unable to remove repository reference \"%s\" "
					 "(must force) - container %s is using its referenced "
					 "image %s",
					 ref, user, short_id);
		char key[600];
		if (image_ref_normalize(ref, key, sizeof(key), err) < 0)
			return -1;
		json_object_del(store->tags, key);
		json_array_append_new(records, json_pack("{s:s}", "Untagged", key));
		if (json_array_size(tags) > 1)
			return 0;
		quiet = true;
	} else if (json_array_size(tags) == 1) {
		if (used && !force)
			return berth_err(
			    err, 409,
			    "conflict: unable to delete %s (must be forced) - image is "
			    "being used by running container %s",
			    short_id, user);
		untag_all_locked(store, id, records);
	}

	_cleanup_json_ json_t *left = image_store_tags_of_locked(store, id);
	if (json_array_size(left) > 0 && !force)
		return berth_err(err, 409,
				 "conflict: unable to delete %s (must be forced) - image is "
				 "referenced in multiple repositories",
				 short_id);
	if (used) {
		/* A container still needs the layers: like Docker with a running container,
		 * untag (when forced) but keep the image. */
		if (quiet)
			return 0;
		if (!force)
			return berth_err(
			    err, 409,
			    "conflict: unable to delete %s (must be forced) - image is "
			    "being used by running container %s",
			    short_id, user);
		untag_all_locked(store, id, records);
		return 0;
	}
	untag_all_locked(store, id, records);
	return delete_image_locked(store, id, records, NULL, err);
}

json_t *image_store_remove(struct image_store *store, const char *ref, bool force,
			   image_in_use_fn in_use, void *in_use_arg, struct berth_error *err)
{
	pthread_mutex_lock(&store->lock);
	int lock = image_store_lock_disk(store, LOCK_EX, err);
	if (lock < 0) {
		pthread_mutex_unlock(&store->lock);
		return NULL;
	}
	image_store_reload_locked(store);
	json_t *records = json_array();
	_cleanup_json_ json_t *before = json_deep_copy(store->tags);
	int rc = remove_locked(store, ref, force, in_use, in_use_arg, records, err);
	if (rc < 0) {
		/* Nothing half-done: a refused removal keeps every tag. */
		json_object_clear(store->tags);
		json_object_update(store->tags, before);
	}
	struct berth_error serr = {0};
	if (image_store_save_tags(store, &serr) < 0 && rc == 0) {
		*err = serr;
		rc = -1;
	}
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	if (rc < 0) {
		json_decref(records);
		return NULL;
	}
	return records;
}

json_t *image_store_prune(struct image_store *store, bool dangling_only, image_in_use_fn in_use,
			  void *in_use_arg, struct berth_error *err)
{
	json_t *deleted = json_array();
	long long reclaimed = 0;
	pthread_mutex_lock(&store->lock);
	int lock = image_store_lock_disk(store, LOCK_EX, err);
	if (lock < 0) {
		pthread_mutex_unlock(&store->lock);
		json_decref(deleted);
		return NULL;
	}
	image_store_reload_locked(store);
	_cleanup_json_ json_t *ids = json_array();
	const char *id;
	json_t *rec;
	json_object_foreach(store->images, id, rec) json_array_append_new(ids, json_string(id));
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(ids, i, v)
	{
		const char *img = json_string_value(v);
		char user[65];
		_cleanup_json_ json_t *tags = image_store_tags_of_locked(store, img);
		if (dangling_only && json_array_size(tags) > 0)
			continue;
		if (in_use && in_use(in_use_arg, img, user))
			continue;
		untag_all_locked(store, img, deleted);
		if (delete_image_locked(store, img, deleted, &reclaimed, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (image_store_save_tags(store, rc < 0 ? NULL : err) < 0)
		rc = -1;
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	if (rc < 0) {
		json_decref(deleted);
		return NULL;
	}
	if (json_array_size(deleted) == 0) {
		json_decref(deleted);
		deleted = json_null();
	}
	return json_pack("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)reclaimed);
}

/* Names in dir (64 hex each) that keep is missing: trashed (dirs) or unlinked (files). */
static size_t drop_unreferenced(struct image_store *store, const char *dir, json_t *keep, bool dirs)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != 64 || !berth_is_hex(de->d_name, 64) ||
		    json_object_get(keep, de->d_name))
			continue;
		_cleanup_free_ char *p = berth_strdupf("%s/%s", dir, de->d_name);
		if (dirs)
			image_store_trash(store, p);
		else
			unlink(p);
		n++;
	}
	return n;
}

int image_store_collect_orphans(struct image_store *store)
{
	pthread_mutex_lock(&store->lock);
	int lock = image_store_lock_disk(store, LOCK_EX, NULL);
	if (lock < 0) {
		pthread_mutex_unlock(&store->lock);
		return -1;
	}
	image_store_reload_locked(store);
	_cleanup_json_ json_t *layers = json_object();
	_cleanup_json_ json_t *blobs = json_object();
	const char *id;
	json_t *rec;
	json_object_foreach(store->images, id, rec)
	{
		json_object_set_new(blobs, image_hex(id), json_true());
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(rec, "chain_ids"), i, v)
		    json_object_set_new(layers, image_hex(json_string_value(v) ?: ""), json_true());
		json_array_foreach(
		    json_object_get(json_object_get(json_object_get(rec, "config"), "rootfs"),
				    "diff_ids"),
		    i, v)
		    json_object_set_new(blobs, image_hex(json_string_value(v) ?: ""), json_true());
	}
	_cleanup_free_ char *ldir = berth_strdupf("%s/layers", store->root);
	_cleanup_free_ char *bdir = berth_strdupf("%s/blobs/sha256", store->root);
	size_t n = drop_unreferenced(store, ldir, layers, true);
	n += drop_unreferenced(store, bdir, blobs, false);
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	if (n)
		log_info("image store: removed %zu layers and blobs no image uses", n);
	return 0;
}
