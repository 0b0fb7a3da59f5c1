/* docker load: the docker-save archive (old <hex>/layer.tar and new blobs/sha256 layouts) and
 * the OCI image layout. Every blob is checked against its digest; nothing is registered
 * unless every image in the archive unpacked. */
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

BERTH_DEFINE_CLEANUP(struct archive *, archive_read_free)

#define MAX_LOAD_IMAGES 256

/* One image to register once every layer is in place. */
struct pending {
	char *config;
	size_t config_len;
	json_t *tags; /* ["name:tag", ...] */
};

struct load {
	struct image_store *store;
	char *stage;
	json_t *entries; /* member name → {"file": path} | {"link": member} */
	json_t *created; /* layer dirs this load unpacked (to undo on failure) */
	struct pending images[MAX_LOAD_IMAGES];
	size_t n_images;
	unsigned counter;
};

/* Lexically resolve "dir/../x" style link targets relative to the member's directory. */
static int join_member(const char *member, const char *target, char *out, size_t size)
{
	char buf[PATH_MAX];
	if (target[0] == '/')
		snprintf(buf, sizeof(buf), "%s", target + 1);
	else {
		const char *slash = strrchr(member, '/');
		snprintf(buf, sizeof(buf), "%.*s%s", slash ? (int)(slash - member + 1) : 0, member,
			 target);
	}
	size_t o = 0;
	out[0] = '\0';
	for (char *save, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (o == 0)
				return -1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		int w = snprintf(out + o, size - o, "%s%s", o ? "/" : "", c);
		if (w < 0 || (size_t)w >= size - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

static void clean_name(const char *name, char *out, size_t size)
{
	if (join_member("", name, out, size) < 0)
		out[0] = '\0';
}

/* Copy the archive's current entry to a staging file, hashing it. */
static int stage_entry(struct load *l, struct archive *a, const char *name, struct berth_error *err)
{
	_cleanup_free_ char *path = berth_strdupf("%s/f%u", l->stage, l->counter++);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "create %s", path);
	struct berth_sha256 *h = berth_sha256_new();
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		berth_sha256_update(h, buf, len);
		if (pwrite(fd, buf, len, off) != (ssize_t)len) {
			berth_sha256_free(h);
			return berth_err_errno(err, 500, errno, "write %s", path);
		}
	}
	if (r != ARCHIVE_EOF) {
		berth_sha256_free(h);
		return berth_err(err, 400, "truncated or corrupt archive at \"%s\": %s", name,
				 archive_error_string(a));
	}
	char hex[65];
	berth_sha256_final_hex(h, hex);
	/* A blob's name is its digest: refuse any that lies. */
	const char *b = strncmp(name, "blobs/sha256/", 13) ? NULL : name + 13;
	if (b && strcmp(b, hex))
		return berth_err(err, 400,
				 "invalid archive: blob %s does not match its digest (got "
				 "sha256:%s)",
				 name, hex);
	json_object_set_new(l->entries, name, json_pack("{s:s, s:s}", "file", path, "digest", hex));
	return 0;
}

static int read_archive(struct load *l, int fd, struct berth_error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
		return berth_err(err, 400, "invalid archive: %s", archive_error_string(a));
	size_t n = 0;
	for (;; n++) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return berth_err(err, 400, "%s: %s",
					 n ? "truncated or corrupt archive" : "not a tar archive",
					 archive_error_string(a));
		char name[PATH_MAX];
		const char *raw = archive_entry_pathname(e);
		clean_name(raw ? raw : "", name, sizeof(name));
		if (!name[0])
			continue;
		if (archive_entry_hardlink(e) || archive_entry_filetype(e) == AE_IFLNK) {
			char target[PATH_MAX];
			const char *t = archive_entry_hardlink(e);
			int rc = t ? join_member("", t, target, sizeof(target))
				   : join_member(name, archive_entry_symlink(e) ?: "", target,
						 sizeof(target));
			if (rc == 0)
				json_object_set_new(l->entries, name,
						    json_pack("{s:s}", "link", target));
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (stage_entry(l, a, name, err) < 0)
			return -1;
	}
	if (n == 0)
		return berth_err(err, 400, "invalid archive: empty");
	return 0;
}

/* The staged file of a member, following links (a bounded number of hops). */
static json_t *member(struct load *l, const char *name, struct berth_error *err)
{
	const char *cur = name;
	for (int hops = 0; hops < 16; hops++) {
		json_t *e = json_object_get(l->entries, cur);
		if (!e)
			break;
		if (json_object_get(e, "file"))
			return e;
		cur = json_string_value(json_object_get(e, "link"));
	}
	berth_err(err, 400, "invalid archive: %s not found", name);
	return NULL;
}

static char *read_member(struct load *l, const char *name, size_t *len, struct berth_error *err)
{
	json_t *e = member(l, name, err);
	char *data = NULL;
	if (!e ||
	    berth_read_file(json_string_value(json_object_get(e, "file")), &data, len, err) < 0)
		return NULL;
	return data;
}

/* Verify and unpack one image's layers; queue it for registration. */
static int stage_image(struct load *l, const char *config_name, json_t *layer_names, json_t *tags,
		       struct berth_error *err)
{
	if (l->n_images >= MAX_LOAD_IMAGES)
		return berth_err(err, 400, "invalid archive: too many images");
	size_t config_len;
	_cleanup_free_ char *config = read_member(l, config_name, &config_len, err);
	if (!config)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *cfg = json_loadb(config, config_len, 0, &jerr);
	json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids))
		return berth_err(err, 400, "invalid image config %s: no rootfs.diff_ids",
				 config_name);
	size_t n = json_array_size(layer_names);
	if (n != json_array_size(diff_ids))
		return berth_err(err, 400,
				 "invalid manifest, layers length mismatch: expected %zu, "
				 "got %zu",
				 json_array_size(diff_ids), n);
	const char **diffs = calloc(n + 1, sizeof(*diffs));
	char(*chain)[72] = calloc(n + 1, sizeof(*chain));
	if (!diffs || !chain)
		abort();
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		diffs[i] = json_string_value(json_array_get(diff_ids, i)) ?: "";
	image_chain_ids(diffs, n, chain);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *lname = json_string_value(json_array_get(layer_names, i)) ?: "";
		json_t *e = member(l, lname, err);
		if (!e) {
			rc = -1;
			break;
		}
		_cleanup_close_ int fd =
		    open(json_string_value(json_object_get(e, "file")), O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *plain = berth_strdupf("%s/d%u", l->stage, l->counter++);
		char diff[72];
		int64_t size;
		if (fd < 0 || image_layer_decompress(fd, plain, diff, &size, err) < 0) {
			rc = fd < 0 ? berth_err_errno(err, 500, errno, "open %s", lname) : -1;
			break;
		}
		if (strcmp(diff, diffs[i])) {
			rc = berth_err(err, 400,
				       "invalid archive: layer %s has digest %s, the image "
				       "config says %s",
				       lname, diff, diffs[i]);
			break;
		}
		int created = image_layer_install(l->store->root, plain, chain[i], err);
		if (created < 0) {
			rc = berth_err_wrap(err, "layer %s", lname);
			break;
		}
		if (created)
			json_array_append_new(l->created, json_string(chain[i]));
		_cleanup_free_ char *blob =
		    berth_strdupf("%s/blobs/sha256/%s", l->store->root, image_hex(diff));
		struct stat st;
		if (stat(blob, &st) < 0 && rename(plain, blob) < 0)
			rc = berth_err_errno(err, 500, errno, "store blob %s", diff);
		unlink(plain);
	}
	free(diffs);
	free(chain);
	if (rc < 0)
		return -1;
	struct pending *p = &l->images[l->n_images++];
	p->config = steal_pointer(&config);
	p->config_len = config_len;
	p->tags = json_incref(tags);
	return 0;
}

/* Tags from a docker manifest's RepoTags, normalised; bad ones are refused. */
static json_t *norm_tags(json_t *repo_tags, struct berth_error *err)
{
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(repo_tags, i, t)
	{
		char key[600];
		if (image_ref_normalize(json_string_value(t) ?: "", key, sizeof(key), err) < 0) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_string(key));
	}
	return out;
}

static int load_docker(struct load *l, struct berth_error *err)
{
	size_t len;
	_cleanup_free_ char *text = read_member(l, "manifest.json", &len, err);
	if (!text)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *manifest = json_loadb(text, len, 0, &jerr);
	if (!json_is_array(manifest))
		return berth_err(err, 400, "invalid archive: manifest.json: %s",
				 manifest ? "not an array" : jerr.text);
	size_t i;
	json_t *m;
	json_array_foreach(manifest, i, m)
	{
		const char *config = json_string_value(json_object_get(m, "Config"));
		json_t *layers = json_object_get(m, "Layers");
		if (!config || !json_is_array(layers))
			return berth_err(err, 400, "invalid archive: manifest.json entry %zu", i);
		_cleanup_json_ json_t *tags = norm_tags(json_object_get(m, "RepoTags"), err);
		if (!tags || stage_image(l, config, layers, tags, err) < 0)
			return -1;
	}
	return 0;
}

static char *blob_name(const char *digest)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;
	if (!colon)
		return NULL;
	return berth_strdupf("blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
}

/* The tag of an OCI descriptor: io.containerd.image.name, else a full-reference
 * org.opencontainers.image.ref.name. */
static json_t *oci_tags(json_t *desc)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *names[2] = {
	    json_string_value(json_object_get(ann, "io.containerd.image.name")),
	    json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"))};
	json_t *tags = json_array();
	for (int i = 0; i < 2; i++) {
		char key[600];
		struct image_ref r;
		/* A bare "latest" ref.name carries no repository: it does not name an image. */
		if (!names[i] || (i == 1 && !strpbrk(names[i], "/:")) ||
		    image_ref_parse(names[i], &r, NULL) < 0)
			continue;
		image_ref_key(&r, key, sizeof(key));
		json_array_append_new(tags, json_string(key));
		break;
	}
	return tags;
}

static int load_oci_index(struct load *l, const char *name, json_t *inherited, int depth,
			  struct berth_error *err)
{
	size_t len;
	_cleanup_free_ char *text = read_member(l, name, &len, err);
	if (!text)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *index = json_loadb(text, len, 0, &jerr);
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests))
		return berth_err(err, 400, "invalid archive: %s has no manifests", name);
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d)
	{
		const char *mt = json_string_value(json_object_get(d, "mediaType")) ?: "";
		_cleanup_free_ char *bname =
		    blob_name(json_string_value(json_object_get(d, "digest")));
		if (!bname)
			return berth_err(err, 400, "invalid archive: %s: bad descriptor", name);
		_cleanup_json_ json_t *tags = oci_tags(d);
		if (json_array_size(tags) == 0 && inherited)
			json_array_extend(tags, inherited);
		if (strstr(mt, "index") || strstr(mt, "manifest.list")) {
			if (depth > 2)
				return berth_err(err, 400,
						 "invalid archive: indexes nest too deep");
			if (load_oci_index(l, bname, tags, depth + 1, err) < 0)
				return -1;
			continue;
		}
		json_t *platform = json_object_get(d, "platform");
		const char *arch = json_string_value(json_object_get(platform, "architecture"));
		if (arch && strcmp(arch, "amd64") && strcmp(arch, "unknown"))
			continue; /* another platform's image (or an attestation) */
		size_t mlen;
		_cleanup_free_ char *mtext = read_member(l, bname, &mlen, err);
		if (!mtext)
			return -1;
		_cleanup_json_ json_t *m = json_loadb(mtext, mlen, 0, &jerr);
		json_t *layers = json_object_get(m, "layers");
		_cleanup_free_ char *config = blob_name(
		    json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
		if (!config || !json_is_array(layers))
			return berth_err(err, 400, "invalid archive: manifest %s", bname);
		_cleanup_json_ json_t *names = json_array();
		size_t k;
		json_t *ld;
		json_array_foreach(layers, k, ld)
		{
			char *ln = blob_name(json_string_value(json_object_get(ld, "digest")));
			if (!ln)
				return berth_err(err, 400, "invalid archive: manifest %s", bname);
			json_array_append_new(names, json_string(ln));
			free(ln);
		}
		if (stage_image(l, config, names, tags, err) < 0)
			return -1;
	}
	return 0;
}

static void load_cleanup(struct load *l, bool failed)
{
	if (failed) {
		size_t i;
		json_t *c;
		json_array_foreach(l->created, i, c)
		{
			_cleanup_free_ char *dir = berth_strdupf("%s/layers/%s", l->store->root,
								 image_hex(json_string_value(c)));
			image_store_trash(l->store, dir);
		}
	}
	for (size_t i = 0; i < l->n_images; i++) {
		free(l->images[i].config);
		json_decref(l->images[i].tags);
	}
	json_decref(l->entries);
	json_decref(l->created);
	if (l->stage)
		berth_rm_rf(l->stage, NULL);
	free(l->stage);
}

static int load_register(struct load *l, json_t *messages, struct berth_error *err)
{
	for (size_t i = 0; i < l->n_images; i++) {
		struct pending *p = &l->images[i];
		size_t n = json_array_size(p->tags);
		const char **tags = calloc(n + 1, sizeof(*tags));
		if (!tags)
			abort();
		for (size_t k = 0; k < n; k++)
			tags[k] = json_string_value(json_array_get(p->tags, k));
		_cleanup_json_ json_t *moved = json_object();
		char id[72];
		int rc = image_store_register(l->store, p->config, p->config_len, tags, n, moved,
					      id, err);
		free(tags);
		if (rc < 0)
			return -1;
		const char *tag;
		json_t *from;
		json_object_foreach(moved, tag, from)
		{
			if (!*json_string_value(from))
				continue;
			_cleanup_free_ char *s = berth_strdupf(
			    "The image %s already exists, renaming the old one with ID %s to "
			    "empty string\n",
			    tag, json_string_value(from));
			json_array_append_new(messages, json_pack("{s:s}", "stream", s));
		}
		for (size_t k = 0; k < n; k++) {
			_cleanup_free_ char *s = berth_strdupf(
			    "Loaded image: %s\n", json_string_value(json_array_get(p->tags, k)));
			json_array_append_new(messages, json_pack("{s:s}", "stream", s));
		}
		if (n == 0) {
			_cleanup_free_ char *s = berth_strdupf("Loaded image ID: %s\n", id);
			json_array_append_new(messages, json_pack("{s:s}", "stream", s));
		}
	}
	return 0;
}

int image_archive_load_fd(struct image_store *store, int fd, json_t *messages,
			  struct berth_error *err)
{
	struct load *l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->store = store;
	l->entries = json_object();
	l->created = json_array();
	l->stage = berth_strdupf("%s/tmp/load-%d-XXXXXX", store->root, (int)getpid());
	int rc = -1;
	if (!mkdtemp(l->stage)) {
		berth_err_errno(err, 500, errno, "mkdtemp %s", l->stage);
		free(l->stage);
		l->stage = NULL;
	} else if (read_archive(l, fd, err) == 0) {
		if (json_object_get(l->entries, "manifest.json"))
			rc = load_docker(l, err);
		else if (json_object_get(l->entries, "index.json"))
			rc = load_oci_index(l, "index.json", NULL, 0, err);
		else
			berth_err(err, 400,
				  "invalid archive: no manifest.json (docker save) or "
				  "index.json (OCI layout) in it");
		if (rc == 0 && l->n_images == 0)
			rc = berth_err(err, 400, "invalid archive: no images in it");
		if (rc == 0)
			rc = load_register(l, messages, err);
	}
	load_cleanup(l, rc < 0);
	free(l);
	return rc;
}

int image_archive_load(struct image_store *store, const char *tar_path, json_t *messages,
		       struct berth_error *err)
{
	_cleanup_close_ int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err(err, 400, "invalid archive: open %s: %s", tar_path,
				 strerror(errno));
	return image_archive_load_fd(store, fd, messages, err);
}
