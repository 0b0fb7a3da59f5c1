/* docker save: a tar with manifest.json and repositories (for every docker load) plus
 * index.json, oci-layout and blobs/sha256 (the OCI image layout, as Docker 25+ writes). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "image_store_private.h"

BERTH_DEFINE_CLEANUP(struct archive *, archive_write_free)

struct save {
	struct archive *a;
	json_t *written; /* member names already in the archive */
	time_t mtime;
};

static int add_header(struct save *s, const char *name, mode_t type, int64_t size,
		      struct berth_error *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, s->mtime, 0);
	int r = archive_write_header(s->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return berth_err(err, 500, "write %s: %s", name, archive_error_string(s->a));
	return 0;
}

static int add_bytes(struct save *s, const char *name, const void *data, size_t len,
		     struct berth_error *err)
{
	if (json_object_get(s->written, name))
		return 0;
	if (add_header(s, name, AE_IFREG, (int64_t)len, err) < 0)
		return -1;
	if (len && archive_write_data(s->a, data, len) != (la_ssize_t)len)
		return berth_err(err, 500, "write %s: %s", name, archive_error_string(s->a));
	json_object_set_new(s->written, name, json_true());
	return 0;
}

static int add_file(struct save *s, const char *name, const char *path, struct berth_error *err)
{
	if (json_object_get(s->written, name))
		return 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return berth_err_errno(err, 500, errno, "open %s", path);
	if (add_header(s, name, AE_IFREG, st.st_size, err) < 0)
		return -1;
	char buf[1 << 16];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(s->a, buf, (size_t)n) != n)
			return berth_err(err, 500, "write %s: %s", name,
					 archive_error_string(s->a));
	if (n < 0)
		return berth_err_errno(err, 500, errno, "read %s", path);
	json_object_set_new(s->written, name, json_true());
	return 0;
}

static int add_json(struct save *s, const char *name, json_t *j, char digest[72],
		    struct berth_error *err)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	size_t len = strlen(text);
	if (digest) {
		char hex[65];
		berth_sha256_hex(text, len, hex);
		snprintf(digest, 72, "sha256:%s", hex);
	}
	return add_bytes(s, name, text, len, err);
}

/* The full reference Docker annotates OCI descriptors with: docker.io/library/busybox:latest. */
static json_t *annotations(const char *key)
{
	struct image_ref r;
	if (image_ref_parse(key, &r, NULL) < 0)
		return NULL;
	_cleanup_free_ char *full =
	    berth_strdupf("%s/%s:%s", r.domain, r.path, r.tag[0] ? r.tag : "latest");
	return json_pack("{s:s, s:s}", "io.containerd.image.name", full,
			 "org.opencontainers.image.ref.name", r.tag[0] ? r.tag : "latest");
}

/* One image: config and layer blobs, its OCI manifest; entries for manifest.json/index.json. */
static int save_image(struct save *s, struct image_store *store, const char *id, json_t *tags,
		      json_t *docker_manifest, json_t *index, json_t *repositories,
		      struct berth_error *err)
{
	_cleanup_free_ char *cpath =
	    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(id));
	_cleanup_free_ char *cname = berth_strdupf("blobs/sha256/%s", image_hex(id));
	struct stat st;
	if (stat(cpath, &st) < 0)
		return berth_err_errno(err, 500, errno, "image config %s", id);
	if (add_file(s, cname, cpath, err) < 0)
		return -1;
	_cleanup_json_ json_t *rec = image_store_record(store, id);
	json_t *diff_ids =
	    json_object_get(json_object_get(json_object_get(rec, "config"), "rootfs"), "diff_ids");
	_cleanup_json_ json_t *layer_names = json_array();
	_cleanup_json_ json_t *layer_descs = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(diff_ids, i, d)
	{
		const char *diff = json_string_value(d);
		_cleanup_free_ char *path =
		    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(diff));
		_cleanup_free_ char *name = berth_strdupf("blobs/sha256/%s", image_hex(diff));
		struct stat lst;
		if (stat(path, &lst) < 0)
			return berth_err_errno(err, 500, errno, "layer blob %s", diff);
		if (add_file(s, name, path, err) < 0)
			return -1;
		json_array_append_new(layer_names, json_string(name));
		json_array_append_new(layer_descs,
				      json_pack("{s:s, s:s, s:I}", "mediaType",
						"application/vnd.oci.image.layer.v1.tar", "digest",
						diff, "size", (json_int_t)lst.st_size));
	}
	_cleanup_json_ json_t *manifest =
	    json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
		      "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
		      "application/vnd.oci.image.config.v1+json", "digest", id, "size",
		      (json_int_t)st.st_size, "layers", layer_descs);
	_cleanup_free_ char *mtext = json_dumps(manifest, JSON_COMPACT);
	char mhex[65];
	berth_sha256_hex(mtext, strlen(mtext), mhex);
	_cleanup_free_ char *mname = berth_strdupf("blobs/sha256/%s", mhex);
	if (add_bytes(s, mname, mtext, strlen(mtext), err) < 0)
		return -1;
	_cleanup_free_ char *mdigest = berth_strdupf("sha256:%s", mhex);

	json_array_append_new(docker_manifest,
			      json_pack("{s:s, s:O, s:O}", "Config", cname, "RepoTags",
					json_array_size(tags) ? tags : json_null(), "Layers",
					layer_names));
	json_t *desc_base =
	    json_pack("{s:s, s:s, s:I}", "mediaType", "application/vnd.oci.image.manifest.v1+json",
		      "digest", mdigest, "size", (json_int_t)strlen(mtext));
	if (json_array_size(tags) == 0)
		json_array_append(index, desc_base);
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		json_t *desc = json_deep_copy(desc_base);
		json_t *ann = annotations(json_string_value(t));
		if (ann)
			json_object_set_new(desc, "annotations", ann);
		json_array_append_new(index, desc);
		/* repositories: {"busybox": {"latest": "<top layer>"}} for pre-manifest loaders */
		char repo[600];
		snprintf(repo, sizeof(repo), "%s", json_string_value(t));
		char *colon = strrchr(repo, ':');
		size_t nl = json_array_size(diff_ids);
		if (colon && nl) {
			*colon = '\0';
			json_t *r = json_object_get(repositories, repo);
			if (!r) {
				r = json_object();
				json_object_set_new(repositories, repo, r);
			}
			json_object_set_new(r, colon + 1,
					    json_string(image_hex(json_string_value(
						json_array_get(diff_ids, nl - 1)))));
		}
	}
	json_decref(desc_base);
	return 0;
}

static int save_all(struct save *s, struct image_store *store, const char *const *refs,
		    size_t n_refs, struct berth_error *err)
{
	_cleanup_json_ json_t *by_id = json_object(); /* id → [tags], in first-seen order */
	_cleanup_json_ json_t *order = json_array();
	for (size_t i = 0; i < n_refs; i++) {
		char id[72];
		if (image_store_resolve_id(store, refs[i], id, err) < 0)
			return -1;
		json_t *tags = json_object_get(by_id, id);
		if (!tags) {
			tags = json_array();
			json_object_set_new(by_id, id, tags);
			json_array_append_new(order, json_string(id));
		}
		/* A name saves that tag; an ID saves the image untagged, as Docker does. */
		const char *hex = image_hex(refs[i]);
		bool is_id = strlen(hex) <= 64 && berth_is_hex(hex, strlen(hex)) &&
			     !strncmp(image_hex(id), hex, strlen(hex));
		char key[600];
		if (!is_id && image_ref_normalize(refs[i], key, sizeof(key), NULL) == 0)
			json_array_append_new(tags, json_string(key));
	}
	_cleanup_json_ json_t *docker_manifest = json_array();
	_cleanup_json_ json_t *index_manifests = json_array();
	_cleanup_json_ json_t *repositories = json_object();
	if (add_header(s, "blobs", AE_IFDIR, 0, err) < 0 ||
	    add_header(s, "blobs/sha256", AE_IFDIR, 0, err) < 0)
		return -1;
	size_t i;
	json_t *id;
	json_array_foreach(order, i, id)
	{
		if (save_image(s, store, json_string_value(id),
			       json_object_get(by_id, json_string_value(id)), docker_manifest,
			       index_manifests, repositories, err) < 0)
			return -1;
	}
	_cleanup_json_ json_t *index =
	    json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
		      "application/vnd.oci.image.index.v1+json", "manifests", index_manifests);
	_cleanup_json_ json_t *layout = json_pack("{s:s}", "imageLayoutVersion", "1.0.0");
	if (add_json(s, "index.json", index, NULL, err) < 0 ||
	    add_json(s, "manifest.json", docker_manifest, NULL, err) < 0 ||
	    add_json(s, "oci-layout", layout, NULL, err) < 0)
		return -1;
	if (json_object_size(repositories) &&
	    add_json(s, "repositories", repositories, NULL, err) < 0)
		return -1;
	return 0;
}

int image_archive_save_fd(struct image_store *store, const char *const *refs, size_t n_refs, int fd,
			  struct berth_error *err)
{
	if (n_refs == 0)
		return berth_err(err, 400, "no image names given");
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	/* A pipe must not wait for a full 10 KB block before the last bytes go out. */
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return berth_err(err, 500, "write the archive: %s", archive_error_string(a));
	_cleanup_json_ json_t *written = json_object();
	struct save s = {.a = a, .written = written, .mtime = 0};
	if (save_all(&s, store, refs, n_refs, err) < 0)
		return -1;
	if (archive_write_close(a) != ARCHIVE_OK)
		return berth_err(err, 500, "write the archive: %s", archive_error_string(a));
	return 0;
}

int image_archive_save(struct image_store *store, const char *const *refs, size_t n_refs,
		       const char *out_path, struct berth_error *err)
{
	_cleanup_close_ int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", out_path);
	if (image_archive_save_fd(store, refs, n_refs, fd, err) < 0)
		return berth_err_wrap(err, "%s", out_path);
	if (fsync(fd) < 0)
		return berth_err_errno(err, 500, errno, "fsync %s", out_path);
	return 0;
}
