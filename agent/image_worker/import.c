/* docker import: a rootfs tarball becomes a one-layer image; Dockerfile-style --change lines. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "image_store_private.h"

/* JSON form (["a","b"]) or shell form (wrapped in /bin/sh -c). */
static json_t *command_value(const char *args, struct berth_error *err)
{
	while (isspace((unsigned char)*args))
		args++;
	if (*args == '[') {
		json_error_t jerr;
		json_t *v = json_loads(args, JSON_DECODE_ANY, &jerr);
		size_t i;
		json_t *s;
		bool ok = json_is_array(v);
		json_array_foreach(v, i, s) ok = ok && json_is_string(s);
		if (ok)
			return v;
		json_decref(v);
		/* Docker treats a malformed JSON array as shell form. */
	}
	return json_pack("[s, s, s]", "/bin/sh", "-c", args);
}

/* Split "k=v k2=\"v 2\"" into pairs; a lone "k v" (old form) is one pair. */
static int key_values(const char *args, json_t *out, bool env, struct berth_error *err)
{
	const char *p = args;
	while (isspace((unsigned char)*p))
		p++;
	const char *sp = strpbrk(p, " \t");
	const char *eq = strchr(p, '=');
	if (!eq || (sp && sp < eq)) {
		/* ENV key value: the rest of the line is the value. */
		if (!sp)
			return berth_err(err, 400, "%s requires at least one argument",
					 env ? "ENV" : "LABEL");
		char key[256];
		snprintf(key, sizeof(key), "%.*s", (int)(sp - p), p);
		while (isspace((unsigned char)*sp))
			sp++;
		json_object_set_new(out, key, json_string(sp));
		return 0;
	}
	while (*p) {
		char key[256], val[4096];
		size_t k = 0, v = 0;
		while (*p && *p != '=' && !isspace((unsigned char)*p) && k + 1 < sizeof(key))
			key[k++] = *p++;
		key[k] = '\0';
		if (*p != '=' || k == 0)
			return berth_err(err, 400,
					 "Syntax error - can't find = in \"%s\". Must be of "
					 "the form: name=value",
					 key);
		p++;
		char quote = 0;
		while (*p && (quote || !isspace((unsigned char)*p)) && v + 1 < sizeof(val)) {
			if (!quote && (*p == '"' || *p == '\'')) {
				quote = *p++;
				continue;
			}
			if (quote && *p == quote) {
				quote = 0;
				p++;
				continue;
			}
			if (*p == '\\' && p[1] && quote != '\'')
				p++;
			val[v++] = *p++;
		}
		val[v] = '\0';
		json_object_set_new(out, key, json_string(val));
		while (isspace((unsigned char)*p))
			p++;
	}
	return 0;
}

static json_t *ensure_object(json_t *config, const char *key)
{
	json_t *o = json_object_get(config, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(config, key, o);
	}
	return o;
}

int image_archive_apply_change(json_t *config, const char *line, struct berth_error *err)
{
	while (isspace((unsigned char)*line))
		line++;
	size_t n = strcspn(line, " \t");
	char instr[32];
	snprintf(instr, sizeof(instr), "%.*s", (int)(n < 31 ? n : 31), line);
	for (char *c = instr; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	const char *args = line + n;
	while (isspace((unsigned char)*args))
		args++;
	if (!*instr)
		return berth_err(err, 400, "empty change");
	if (!strcmp(instr, "CMD") || !strcmp(instr, "ENTRYPOINT")) {
		json_t *v = command_value(args, err);
		if (!v)
			return -1;
		json_object_set_new(config, !strcmp(instr, "CMD") ? "Cmd" : "Entrypoint", v);
		return 0;
	}
	if (!*args)
		return berth_err(err, 400, "%s requires at least one argument", instr);
	if (!strcmp(instr, "ENV")) {
		_cleanup_json_ json_t *kv = json_object();
		if (key_values(args, kv, true, err) < 0)
			return -1;
		json_t *env = json_object_get(config, "Env");
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(config, "Env", env);
		}
		const char *k;
		json_t *v;
		json_object_foreach(kv, k, v)
		{
			size_t kl = strlen(k), i;
			json_t *e;
			_cleanup_free_ char *entry =
			    berth_strdupf("%s=%s", k, json_string_value(v));
			bool replaced = false;
			json_array_foreach(env, i, e)
			{
				const char *s = json_string_value(e);
				if (s && !strncmp(s, k, kl) && s[kl] == '=') {
					json_array_set_new(env, i, json_string(entry));
					replaced = true;
					break;
				}
			}
			if (!replaced)
				json_array_append_new(env, json_string(entry));
		}
		return 0;
	}
	if (!strcmp(instr, "LABEL"))
		return key_values(args, ensure_object(config, "Labels"), false, err);
	if (!strcmp(instr, "WORKDIR") || !strcmp(instr, "USER") || !strcmp(instr, "STOPSIGNAL")) {
		const char *key = !strcmp(instr, "WORKDIR") ? "WorkingDir"
				  : !strcmp(instr, "USER")  ? "User"
							    : "StopSignal";
		json_object_set_new(config, key, json_string(args));
		return 0;
	}
	if (!strcmp(instr, "EXPOSE") || !strcmp(instr, "VOLUME")) {
		bool expose = !strcmp(instr, "EXPOSE");
		json_t *obj = ensure_object(config, expose ? "ExposedPorts" : "Volumes");
		_cleanup_json_ json_t *list = NULL;
		if (!expose && *args == '[') {
			list = command_value(args, err);
		} else {
			list = json_array();
			const char *p = args;
			while (*p) {
				size_t l = strcspn(p, " \t");
				if (l)
					json_array_append_new(list, json_stringn(p, l));
				p += l;
				p += strspn(p, " \t");
			}
		}
		size_t i;
		json_t *v;
		json_array_foreach(list, i, v)
		{
			const char *s = json_string_value(v);
			char key[128];
			if (expose) {
				char *end;
				long port = strtol(s, &end, 10);
				if (port <= 0 || port > 65535 ||
				    (*end && strcmp(end, "/tcp") && strcmp(end, "/udp") &&
				     strcmp(end, "/sctp")))
					return berth_err(err, 400, "invalid containerPort: %s", s);
				snprintf(key, sizeof(key), "%ld%s", port, *end ? end : "/tcp");
				json_object_set_new(obj, key, json_object());
			} else {
				json_object_set_new(obj, s, json_object());
			}
		}
		return 0;
	}
	return berth_err(err, 400, "%s is not a valid change command", instr);
}

static int import_staged(struct image_store *store, int fd, const char *stage, const char *key,
			 json_t *cfg, char id[72], char diff_id[72], int *created,
			 struct berth_error *err)
{
	_cleanup_free_ char *layer = berth_strdupf("%s/layer.tar", stage);
	int64_t size;
	if (image_layer_decompress(fd, layer, diff_id, &size, err) < 0)
		return -1;
	int r = image_layer_install(store->root, layer, diff_id, err);
	if (r < 0)
		return -1;
	*created = r;
	_cleanup_free_ char *blob =
	    berth_strdupf("%s/blobs/sha256/%s", store->root, image_hex(diff_id));
	if (rename(layer, blob) < 0)
		return berth_err_errno(err, 500, errno, "store layer blob");
	char now[64];
	image_now_rfc3339(now, sizeof(now));
	const char *msg = "Imported from -";
	_cleanup_json_ json_t *config = json_pack(
	    "{s:s, s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture", "amd64",
	    "os", "linux", "created", now, "comment", msg, "config", cfg, "rootfs", "type",
	    "layers", "diff_ids", diff_id, "history", "created", now, "comment", msg);
	_cleanup_free_ char *bytes = json_dumps(config, JSON_COMPACT);
	const char *tags[1] = {key};
	return image_store_register(store, bytes, strlen(bytes), tags, key[0] ? 1 : 0, NULL, id,
				    err);
}

int image_archive_import_fd(struct image_store *store, int fd, const char *repo_tag,
			    const char *const *changes, size_t n_changes, char id[72],
			    struct berth_error *err)
{
	char key[600] = "";
	if (repo_tag && *repo_tag && image_ref_normalize(repo_tag, key, sizeof(key), err) < 0)
		return -1;
	_cleanup_json_ json_t *cfg = json_object();
	for (size_t i = 0; i < n_changes; i++)
		if (image_archive_apply_change(cfg, changes[i], err) < 0)
			return -1;
	_cleanup_free_ char *stage =
	    berth_strdupf("%s/tmp/import-%d-XXXXXX", store->root, (int)getpid());
	if (!mkdtemp(stage))
		return berth_err_errno(err, 500, errno, "mkdtemp %s", stage);
	char diff_id[72] = "";
	int created = 0;
	int rc = import_staged(store, fd, stage, key, cfg, id, diff_id, &created, err);
	if (rc < 0 && created) {
		_cleanup_free_ char *dir =
		    berth_strdupf("%s/layers/%s", store->root, image_hex(diff_id));
		image_store_trash(store, dir);
	}
	berth_rm_rf(stage, NULL);
	return rc;
}

int image_archive_import(struct image_store *store, const char *tar_path, const char *repo_tag,
			 const char *const *changes, size_t n_changes, char id[72],
			 struct berth_error *err)
{
	_cleanup_close_ int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_errno(err, 500, errno, "open %s", tar_path);
	return image_archive_import_fd(store, fd, repo_tag, changes, n_changes, id, err);
}
