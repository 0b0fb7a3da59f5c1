/* Bind mounts and local named volumes: resolved to host paths at create, and the volume
 * store behind /volumes (create, inspect, list, remove). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
#include "image_store.h"
#include "volume_fill.h"
#include "volumes.h"

int volumes_parse_bind(const char *spec, char *source, size_t ssize, char *target, size_t tsize,
		       bool *readonly, struct berth_error *err)
{
	_cleanup_free_ char *copy = strdup(spec);
	char *parts[4] = {0};
	int n = 0;
	for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok && n < 4;
	     tok = strtok_r(NULL, ":", &save))
		parts[n++] = tok;
	if (n < 2 || n > 3 || strchr(spec, '\0')[-1] == ':')
		return berth_err(err, 400, "invalid volume specification: '%s'", spec);
	if (parts[1][0] != '/')
		return berth_err(
		    err, 400,
		    "invalid volume specification: '%s': invalid mount config for type "
		    "\"bind\": invalid mount path: '%s' mount path must be absolute",
		    spec, parts[1]);
	if (strcmp(parts[1], "/") == 0)
		return berth_err(err, 400,
				 "invalid volume specification: '%s': invalid mount config: "
				 "destination can't be '/'",
				 spec);
	*readonly = false;
	if (n == 3) {
		_cleanup_free_ char *opts = strdup(parts[2]);
		for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
		     o = strtok_r(NULL, ",", &save)) {
			if (strcmp(o, "ro") == 0)
				*readonly = true;
			else if (strcmp(o, "rw") && strcmp(o, "z") && strcmp(o, "Z") &&
				 strcmp(o, "rprivate") && strcmp(o, "private") &&
				 strcmp(o, "rshared") && strcmp(o, "shared") &&
				 strcmp(o, "rslave") && strcmp(o, "slave") && strcmp(o, "nocopy"))
				return berth_err(err, 400, "invalid mode: %s", o);
		}
	}
	if (parts[0][0] != '/' && !berth_name_valid(parts[0]))
		return berth_err(
		    err, 400,
		    "create %s: \"%s\" includes invalid characters for a local volume "
		    "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended "
		    "to pass a host directory, use absolute path",
		    parts[0], parts[0]);
	snprintf(source, ssize, "%s", parts[0]);
	snprintf(target, tsize, "%s", parts[1]);
	return 0;
}

static int write_meta(const char *root, const char *name, const json_t *labels,
		      const json_t *options, struct berth_error *err);

static int volume_path(const char *root, const char *name, const struct image_info *image,
		       const char *target, char *out, size_t size, struct berth_error *err)
{
	snprintf(out, size, "%s/volumes/%s/_data", root, name);
	struct stat st;
	if (stat(out, &st) < 0) {
		if (berth_mkdir_p(out, 0755, err) < 0)
			return -1;
		struct berth_error e = {0};
		if (write_meta(root, name, NULL, NULL, &e) < 0)
			log_warn("volume %s: %s", name, e.msg);
	}
	/* Docker copies into a volume that is empty when a container mounts it. */
	volume_fill_from_image(image, target, out);
	return 0;
}

static bool has_target(const json_t *mounts, const char *target)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		const char *t = json_string_value(json_object_get(m, "Destination"));
		if (t && strcmp(t, target) == 0)
			return true;
	}
	return false;
}

int volumes_resolve(const char *root, const json_t *binds, const json_t *config_volumes,
		    const struct image_info *image, json_t *mounts, struct berth_error *err)
{
	size_t i;
	json_t *b;
	char source[4096], target[4096], path[4200];
	json_array_foreach(binds, i, b)
	{
		const char *spec = json_string_value(b);
		bool ro;
		if (!spec || volumes_parse_bind(spec, source, sizeof(source), target,
						sizeof(target), &ro, err) < 0)
			return spec ? -1 : berth_err(err, 400, "invalid volume specification");
		if (has_target(mounts, target))
			return berth_err(err, 400, "Duplicate mount point: %s", target);
		const char *mode = strchr(spec + strlen(source) + 1 + strlen(target), ':');
		mode = mode ? mode + 1 : "";
		if (source[0] == '/') {
			struct stat st;
			if (stat(source, &st) < 0 && berth_mkdir_p(source, 0755, err) < 0)
				return -1;
			json_array_append_new(
			    mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind",
					      "Source", source, "Destination", target, "Mode", mode,
					      "RW", !ro, "Propagation", "rprivate"));
		} else {
			bool nocopy = strstr(mode, "nocopy") != NULL;
			if (volume_path(root, source, nocopy ? NULL : image, target, path,
					sizeof(path), err) < 0)
				return -1;
			json_array_append_new(
			    mounts, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type",
					      "volume", "Name", source, "Source", path,
					      "Destination", target, "Driver", "local", "Mode",
					      *mode ? mode : "z", "RW", !ro, "Propagation", ""));
		}
	}
	const char *vol;
	json_t *unused;
	json_object_foreach((json_t *)config_volumes, vol, unused)
	{
		if (vol[0] != '/' || has_target(mounts, vol))
			continue;
		char name[65];
		berth_id_random(name);
		if (volume_path(root, name, image, vol, path, sizeof(path), err) < 0)
			return -1;
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, "
						"s:b}",
						"Type", "volume", "Name", name, "Source", path,
						"Destination", vol, "Driver", "local", "Mode", "",
						"RW", 1, "Propagation", "", "Anonymous", 1));
	}
	return 0;
}

void volumes_remove_anonymous(const char *root, const json_t *mounts)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		if (!json_is_true(json_object_get(m, "Anonymous")) || !name ||
		    !berth_name_valid(name))
			continue;
		_cleanup_free_ char *dir = berth_strdupf("%s/volumes/%s", root, name);
		berth_rm_rf(dir, NULL);
	}
}

/* Docker's local driver stamps volumes with RFC 3339 to the second. */
static void format_created(time_t t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_meta(const char *root, const char *name, const json_t *labels,
		      const json_t *options, struct berth_error *err)
{
	char created[64];
	format_created(time(NULL), created, sizeof(created));
	_cleanup_free_ char *path = berth_strdupf("%s/volumes/%s/volume.json", root, name);
	_cleanup_json_ json_t *meta = json_pack(
	    "{s:s, s:s, s:O, s:O}", "CreatedAt", created, "Driver", "local", "Labels",
	    json_is_object(labels) && json_object_size(labels) ? labels : json_null(), "Options",
	    json_is_object(options) && json_object_size(options) ? options : json_null());
	return berth_write_json_atomic(path, meta, err);
}

json_t *volumes_inspect(const char *root, const char *name, struct berth_error *err)
{
	_cleanup_free_ char *data = berth_strdupf("%s/volumes/%s/_data", root, name);
	struct stat st;
	if (!berth_name_valid(name) || stat(data, &st) < 0 || !S_ISDIR(st.st_mode)) {
		berth_err(err, 404, "get %s: no such volume", name);
		return NULL;
	}
	_cleanup_free_ char *path = berth_strdupf("%s/volumes/%s/volume.json", root, name);
	_cleanup_json_ json_t *meta = berth_read_json(path, NULL);
	char created[64];
	const char *at = json_string_value(json_object_get(meta, "CreatedAt"));
	if (!at) {
		format_created(st.st_mtime, created, sizeof(created));
		at = created;
	}
	json_t *labels = json_object_get(meta, "Labels");
	json_t *options = json_object_get(meta, "Options");
	return json_pack("{s:s, s:s, s:O, s:s, s:s, s:O, s:s}", "CreatedAt", at, "Driver", "local",
			 "Labels", json_is_object(labels) ? labels : json_null(), "Mountpoint",
			 data, "Name", name, "Options",
			 json_is_object(options) ? options : json_null(), "Scope", "local");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *volumes_list(const char *root)
{
	json_t *out = json_array();
	_cleanup_free_ char *dir = berth_strdupf("%s/volumes", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return out;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !berth_name_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		json_t *v = volumes_inspect(root, names[i], NULL);
		if (v)
			json_array_append_new(out, v);
		free(names[i]);
	}
	free(names);
	return out;
}

json_t *volumes_create(const char *root, const char *name, const char *driver, const json_t *labels,
		       const json_t *options, struct berth_error *err)
{
	char random[65];
	if (!name || !*name) {
		berth_id_random(random);
		name = random;
	}
	if (!berth_name_valid(name)) {
		berth_err(err, 400,
			  "create %s: \"%s\" includes invalid characters for a local volume "
			  "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended "
			  "to pass a host directory, use absolute path",
			  name, name);
		return NULL;
	}
	if (driver && *driver && strcmp(driver, "local") != 0) {
		berth_err(err, 404,
			  "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
			  name, driver, driver);
		return NULL;
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)options, key, val)
	{
		/* berth's local driver makes plain directories: no mount options */
		berth_err(err, 400, "create %s: invalid option: \"%s\"", name, key);
		return NULL;
	}
	json_t *v = volumes_inspect(root, name, NULL);
	if (v)
		return v;
	_cleanup_free_ char *data = berth_strdupf("%s/volumes/%s/_data", root, name);
	if (berth_mkdir_p(data, 0755, err) < 0 || write_meta(root, name, labels, NULL, err) < 0) {
		berth_err_wrap(err, "create %s", name);
		return NULL;
	}
	return volumes_inspect(root, name, err);
}

int volumes_remove(const char *root, const char *name, struct berth_error *err)
{
	_cleanup_json_ json_t *v = volumes_inspect(root, name, err);
	if (!v)
		return -1;
	_cleanup_free_ char *dir = berth_strdupf("%s/volumes/%s", root, name);
	_cleanup_free_ char *trash = berth_strdupf("%s/tmp", root);
	berth_trash(dir, trash);
	return 0;
}

static int64_t tree_size(int dirfd)
{
	_cleanup_closedir_ DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	int64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				total += tree_size(fd);
		} else if (S_ISREG(st.st_mode)) {
			total += st.st_size;
		}
	}
	return total;
}

int64_t volumes_size(const char *root, const char *name)
{
	_cleanup_free_ char *data = berth_strdupf("%s/volumes/%s/_data", root, name);
	int fd = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? 0 : tree_size(fd);
}
