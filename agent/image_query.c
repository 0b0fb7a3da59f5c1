/* Docker's image listing (GET /images/json, with filters) and inspect shapes. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "image_store_private.h"

static long long created_unix(json_t *config)
{
	const char *s = json_string_value(json_object_get(config, "created"));
	if (!s)
		return 0;
	struct tm tm = {0};
	if (!strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (long long)timegm(&tm);
}

/* Filter values come as ["a","b"] or, from old clients, {"a":true}. */
static bool filter_has(json_t *filters, const char *key)
{
	json_t *f = json_object_get(filters, key);
	return f && (json_array_size(f) > 0 || json_object_size(f) > 0);
}

static bool filter_any(json_t *filters, const char *key, bool (*match)(const char *, void *),
		       void *arg)
{
	json_t *f = json_object_get(filters, key);
	size_t i;
	json_t *v;
	const char *k;
	if (json_is_array(f)) {
		json_array_foreach(f, i, v) if (match(json_string_value(v) ?: "", arg)) return true;
	} else if (json_is_object(f)) {
		json_object_foreach(f, k, v) if (match(k, arg)) return true;
	}
	return false;
}

static bool match_true(const char *v, void *arg)
{
	(void)arg;
	return !strcmp(v, "true") || !strcmp(v, "1");
}

static bool match_reference(const char *pattern, void *arg)
{
	json_t *tags = arg;
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
	{
		const char *tag = json_string_value(t);
		char name[600];
		snprintf(name, sizeof(name), "%s", tag);
		char *colon = strrchr(name, ':');
		if (colon)
			*colon = '\0';
		if (!fnmatch(pattern, tag, 0) || !fnmatch(pattern, name, 0))
			return true;
	}
	return false;
}

static bool match_label(const char *want, void *arg)
{
	json_t *labels = arg;
	const char *eq = strchr(want, '=');
	if (!eq)
		return json_object_get(labels, want) != NULL;
	char key[512];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - want), want);
	const char *v = json_string_value(json_object_get(labels, key));
	return v && !strcmp(v, eq + 1);
}

/* A new array of the record's "name@sha256:..." (pulled images), [] for the others. */
static json_t *repo_digests(json_t *rec)
{
	json_t *rd = json_object_get(rec, "repo_digests");
	return json_is_array(rd) ? json_deep_copy(rd) : json_array();
}

static json_t *labels_of(json_t *config)
{
	json_t *l = json_object_get(json_object_get(config, "config"), "Labels");
	return json_is_object(l) && json_object_size(l) ? json_incref(l) : json_null();
}

json_t *image_store_list(struct image_store *store, bool all, json_t *filters,
			 struct berth_error *err)
{
	(void)all; /* no parent chains here, so no hidden intermediate images */
	static const char *const known[] = {"dangling", "reference", "label",
					    "before",	"since",     "until"};
	const char *fk;
	json_t *fv;
	json_object_foreach(filters, fk, fv)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(fk, known[i]);
		if (!ok)
			return berth_err(err, 400, "invalid filter '%s'", fk), NULL;
	}
	bool want_dangling = filter_has(filters, "dangling");
	bool dangling_value = want_dangling && filter_any(filters, "dangling", match_true, NULL);

	json_t *out = json_array();
	pthread_mutex_lock(&store->lock);
	const char *id;
	json_t *rec;
	json_object_foreach(store->images, id, rec)
	{
		json_t *config = json_object_get(rec, "config");
		_cleanup_json_ json_t *tags = image_store_tags_of_locked(store, id);
		_cleanup_json_ json_t *labels = labels_of(config);
		if (want_dangling && (json_array_size(tags) == 0) != dangling_value)
			continue;
		if (filter_has(filters, "reference")) {
			/* Like Docker, list only the tags that matched. */
			json_t *matched = json_array();
			size_t i;
			json_t *t;
			json_array_foreach(tags, i, t)
			{
				_cleanup_json_ json_t *one = json_pack("[O]", t);
				if (filter_any(filters, "reference", match_reference, one))
					json_array_append(matched, t);
			}
			json_decref(tags);
			tags = matched;
			if (json_array_size(tags) == 0)
				continue;
		}
		if (filter_has(filters, "label") &&
		    !filter_any(filters, "label", match_label, labels))
			continue;
		json_t *size = json_object_get(rec, "size");
		json_array_append_new(
		    out,
		    json_pack("{s:i, s:I, s:s, s:s, s:o, s:O, s:I, s:O, s:O, s:O}", "Containers",
			      -1, "Created", (json_int_t)created_unix(config), "Id", id, "ParentId",
			      "", "RepoDigests", repo_digests(rec), "RepoTags", tags, "SharedSize",
			      (json_int_t)-1, "Size", size, "VirtualSize", size, "Labels", labels));
	}
	pthread_mutex_unlock(&store->lock);
	return out;
}

static json_t *container_config_stub(void)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s, "
			 "s:n, s:n, s:n}",
			 "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0,
			 "AttachStdout", 0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0,
			 "StdinOnce", 0, "Env", "Cmd", "Image", "", "Volumes", "WorkingDir", "",
			 "Entrypoint", "OnBuild", "Labels");
}

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : dflt;
}

json_t *image_store_inspect(struct image_store *store, const char *ref, struct berth_error *err)
{
	char id[72];
	if (image_store_resolve_id(store, ref, id, err) < 0)
		return NULL;
	_cleanup_json_ json_t *rec = image_store_record(store, id);
	if (!rec)
		return berth_err(err, 404, "No such image: %s", ref), NULL;
	_cleanup_json_ json_t *tags = image_store_tags_of(store, id);
	json_t *config = json_object_get(rec, "config");
	json_t *chain = json_object_get(rec, "chain_ids");
	size_t n = json_array_size(chain);

	/* overlay order: the top layer is the upper dir, the rest lower dirs top first. */
	json_t *gd = json_object();
	if (n > 0) {
		_cleanup_free_ char *upper =
		    berth_strdupf("%s/layers/%s", store->root,
				  image_hex(json_string_value(json_array_get(chain, n - 1))));
		json_object_set_new(gd, "UpperDir", json_string(upper));
	}
	if (n > 1) {
		size_t cap = n * (strlen(store->root) + 80), o = 0;
		char *lower = calloc(1, cap);
		if (!lower)
			abort();
		for (size_t i = n - 1; i-- > 0;)
			o += (size_t)snprintf(
			    lower + o, cap - o, "%s%s/layers/%s", o ? ":" : "", store->root,
			    image_hex(json_string_value(json_array_get(chain, i))));
		json_object_set_new(gd, "LowerDir", json_string(lower));
		free(lower);
	}
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	json_t *cfg = json_object_get(config, "config");
	const char *ltt = str_or(rec, "last_tag_time", "0001-01-01T00:00:00Z");
	return json_pack("{s:s, s:O, s:o, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:O, s:s, s:s, s:O, "
			 "s:O, s:{s:s, s:o}, s:{s:s, s:O}, s:{s:s}}",
			 "Id", id, "RepoTags", tags, "RepoDigests", repo_digests(rec), "Parent", "",
			 "Comment", str_or(config, "comment", ""), "Created",
			 str_or(config, "created", "0001-01-01T00:00:00Z"), "Container", "",
			 "ContainerConfig", container_config_stub(), "DockerVersion",
			 str_or(config, "docker_version", ""), "Author",
			 str_or(config, "author", ""), "Config", cfg ? cfg : json_null(),
			 "Architecture", str_or(config, "architecture", "amd64"), "Os",
			 str_or(config, "os", "linux"), "Size", json_object_get(rec, "size"),
			 "VirtualSize", json_object_get(rec, "size"), "GraphDriver", "Name",
			 "overlay2", "Data", gd, "RootFS", "Type", "layers", "Layers",
			 diff_ids ? diff_ids : json_null(), "Metadata", "LastTagTime", ltt);
}
