/* The image store's state: image records, repository tags (images.json), resolution by name
 * or ID, and keeping the in-memory index in step with the disk that berth-image-worker
 * processes also write (images.lock). Every operation here is quick and thread-safe, and in
 * the agent none waits for images.lock (see image_store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* A record from a config already in blobs/ and its metadata file. The chain IDs come from
 * the metadata (the worker hashed them): the agent itself never hashes. NULL when they are
 * missing and cannot be derived (an image registered before chain IDs were kept). */
json_t *image_record_new(json_t *config, json_t *meta)
{
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	json_t *chain_ids = json_object_get(meta, "chain_ids");
	if (!json_is_array(diff_ids))
		return NULL;
	if (!json_is_array(chain_ids) || json_array_size(chain_ids) != json_array_size(diff_ids)) {
		/* One layer: its chain ID is its diff ID. */
		if (json_array_size(diff_ids) > 1)
			return NULL;
		chain_ids = diff_ids;
	}
	json_t *rec = json_pack("{s:O, s:O}", "config", config, "chain_ids", chain_ids);
	json_t *size = json_object_get(meta, "size");
	json_object_set_new(rec, "size",
			    json_is_integer(size) ? json_incref(size) : json_integer(0));
	json_t *ltt = json_object_get(meta, "last_tag_time");
	if (json_is_string(ltt))
		json_object_set(rec, "last_tag_time", ltt);
	json_t *rd = json_object_get(meta, "repo_digests");
	if (json_is_array(rd))
		json_object_set(rec, "repo_digests", rd);
	return rec;
}

int image_store_save_meta(struct image_store *store, const char *id, json_t *rec,
			  struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images/%s.json", store->root, image_hex(id));
	_cleanup_json_ json_t *meta = json_object();
	json_object_set(meta, "size", json_object_get(rec, "size"));
	json_object_set(meta, "chain_ids", json_object_get(rec, "chain_ids"));
	json_t *ltt = json_object_get(rec, "last_tag_time");
	if (ltt)
		json_object_set(meta, "last_tag_time", ltt);
	json_t *rd = json_object_get(rec, "repo_digests");
	if (rd)
		json_object_set(meta, "repo_digests", rd);
	return berth_write_json_atomic(path, meta, err);
}

int image_store_save_tags(struct image_store *store, struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images.json", store->root);
	return berth_write_json_atomic(path, store->tags, err);
}

/* Re-read images/ and images.json. Configs never change under an ID, so only new images'
 * configs are read; metadata (size, tag time) is re-read for all. */
void image_store_reload_locked(struct image_store *store)
{
	_cleanup_free_ char *dir = berth_strdupf("%s/images", store->root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	json_t *fresh = json_object();
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != 64 + 5 || strcmp(de->d_name + 64, ".json") ||
		    !berth_is_hex(de->d_name, 64))
			continue;
		char id[72];
		snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
		_cleanup_free_ char *mpath = berth_strdupf("%s/%s", dir, de->d_name);
		_cleanup_json_ json_t *meta = berth_read_json(mpath, NULL);
		json_t *old = json_object_get(store->images, id);
		_cleanup_json_ json_t *config = json_incref(json_object_get(old, "config"));
		if (!config) {
			_cleanup_free_ char *cpath =
			    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(id));
			config = berth_read_json(cpath, NULL);
		}
		json_t *rec = meta && config ? image_record_new(config, meta) : NULL;
		if (!rec) {
			if (!old)
				log_warn("image %s: missing or old config or metadata, ignored",
					 image_hex(id));
			continue;
		}
		json_object_set_new(fresh, id, rec);
	}
	json_decref(store->images);
	store->images = fresh;

	_cleanup_free_ char *tags_path = berth_strdupf("%s/images.json", store->root);
	struct berth_error lerr = {0};
	json_t *tags = berth_read_json(tags_path, &lerr);
	if (!tags || !json_is_object(tags)) {
		if (tags || lerr.status != 404)
			log_warn("images.json unreadable, starting without tags: %s", lerr.msg);
		json_decref(tags);
		tags = json_object();
	}
	/* Drop tags whose image is gone (a crash between the two writes). */
	const char *key;
	json_t *val;
	void *tmp;
	json_object_foreach_safe(tags, tmp, key, val)
	{
		if (!json_object_get(store->images, json_string_value(val) ?: ""))
			json_object_del(tags, key);
	}
	json_decref(store->tags);
	store->tags = tags;
}

int image_store_lock_disk(struct image_store *store, int how, struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images.lock", store->root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "open %s", path);
	if (store->lock_nowait)
		how |= LOCK_NB;
	while (flock(fd, how) < 0) {
		if (errno != EINTR) {
			int saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK)
				return berth_err(err, IMAGE_STORE_BUSY,
						 "the image store is busy: another process "
						 "holds %s",
						 path);
			return berth_err_errno(err, 500, saved, "lock %s", path);
		}
	}
	return fd;
}

void image_store_unlock_disk(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* Without the disk lock, so that the agent's loop never waits for a worker: every file is
 * replaced atomically, workers only add (the record first, then the tags) and only the agent
 * removes. A reload during another worker's registration may miss its newest tags (a tag
 * naming an image not read yet is dropped here); the reload after that worker exits sees
 * them. */
int image_store_reload(struct image_store *store, struct berth_error *err)
{
	pthread_mutex_lock(&store->lock);
	image_store_reload_locked(store);
	pthread_mutex_unlock(&store->lock);
	return 0;
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

static struct image_store *store_new(const char *root, struct berth_error *err)
{
	static const char *const dirs[] = {"blobs/sha256", "layers", "images", "tmp"};
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
	store->tags = json_object();
	/* Without the disk lock: every file is replaced atomically, and a worker must not wait
	 * for the lock before its slow part (it takes it to register). */
	pthread_mutex_lock(&store->lock);
	image_store_reload_locked(store);
	pthread_mutex_unlock(&store->lock);
	return store;
}

struct image_store *image_store_open(const char *root, struct berth_error *err)
{
	clean_leftovers(root);
	struct image_store *store = store_new(root, err);
	if (store)
		store->lock_nowait = true;
	return store;
}

struct image_store *image_store_attach(const char *root, struct berth_error *err)
{
	struct image_store *store = store_new(root, err);
	if (store)
		store->inline_trash = true;
	return store;
}

void image_store_sweep_pid(struct image_store *store, pid_t pid)
{
	_cleanup_free_ char *tmp = berth_strdupf("%s/tmp", store->root);
	_cleanup_closedir_ DIR *d = opendir(tmp);
	char tag[32];
	snprintf(tag, sizeof(tag), "-%d-", (int)pid);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, tag))
			continue;
		_cleanup_free_ char *p = berth_strdupf("%s/%s", tmp, de->d_name);
		image_store_trash(store, p);
	}
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
	int lock = image_store_lock_disk(store, LOCK_EX, err);
	char id[72];
	int rc = lock < 0 ? -1 : 0;
	if (rc == 0) {
		image_store_reload_locked(store);
		rc = image_store_resolve_id_locked(store, ref, id, err);
	}
	if (rc == 0) {
		json_t *rec = json_object_get(store->images, id);
		json_object_set_new(rec, "last_tag_time", json_string(now));
		json_object_set_new(store->tags, key, json_string(id));
		rc = image_store_save_meta(store, id, rec, err);
		if (rc == 0)
			rc = image_store_save_tags(store, err);
	}
	image_store_unlock_disk(lock);
	pthread_mutex_unlock(&store->lock);
	return rc;
}
