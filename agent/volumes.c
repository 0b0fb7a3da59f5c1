/* Bind mounts and local named volumes, resolved to host paths at create. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "image_store.h"
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

static int copy_tree(const char *src, const char *dst);

static int copy_entry(const char *src, const char *dst, const struct stat *st)
{
	if (S_ISDIR(st->st_mode)) {
		if (mkdir(dst, st->st_mode & 07777) < 0 && errno != EEXIST)
			return -1;
		if (lchown(dst, st->st_uid, st->st_gid) < 0)
			log_debug("chown %s: %m", dst);
		return copy_tree(src, dst);
	}
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		unlink(dst);
		return symlink(target, dst);
	}
	if (!S_ISREG(st->st_mode))
		return 0; /* whiteouts and devices are not copied into a volume */
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	unlink(dst);
	_cleanup_close_ int out =
	    open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	if (fchown(out, st->st_uid, st->st_gid) < 0)
		log_debug("chown %s: %m", dst);
	return n < 0 ? -1 : 0;
}

static int copy_tree(const char *src, const char *dst)
{
	_cleanup_closedir_ DIR *d = opendir(src);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, ".wh.", 4) == 0)
			continue;
		_cleanup_free_ char *s = berth_strdupf("%s/%s", src, de->d_name);
		_cleanup_free_ char *t = berth_strdupf("%s/%s", dst, de->d_name);
		struct stat st;
		if (lstat(s, &st) < 0 || copy_entry(s, t, &st) < 0)
			return -1;
	}
	return 0;
}

/* Fill a new volume from the image's content at target, as Docker does: layers applied
 * bottom first (whiteouts of upper layers are not honoured here). */
static void volume_fill_from_image(const struct image_info *image, const char *target,
				   const char *data)
{
	for (size_t i = 0; image && i < image->n_layers; i++) {
		_cleanup_free_ char *src = berth_strdupf("%s%s", image->layers[i], target);
		struct stat st;
		if (lstat(src, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		chmod(data, st.st_mode & 07777);
		if (copy_tree(src, data) < 0)
			log_warn("volume: copying %s from the image: %m", target);
	}
}

static int volume_path(const char *root, const char *name, const struct image_info *image,
		       const char *target, char *out, size_t size, struct berth_error *err)
{
	snprintf(out, size, "%s/volumes/%s/_data", root, name);
	struct stat st;
	if (stat(out, &st) == 0)
		return 0;
	if (berth_mkdir_p(out, 0755, err) < 0)
		return -1;
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
			if (volume_path(root, source, image, target, path, sizeof(path), err) < 0)
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
