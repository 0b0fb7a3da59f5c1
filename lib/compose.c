/* compose_load: find the files, read .env, parse, interpolate, merge, name, normalise, validate. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "berth/fsutil.h"
#include "compose_internal.h"

extern char **environ;

static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yaml",
					    "docker-compose.yml"};
static const char *const override_files[] = {"compose.override.yaml", "compose.override.yml",
					     "docker-compose.override.yaml",
					     "docker-compose.override.yml"};

/* Everything one load owns, freed together. */
struct loader {
	char *working_dir;
	struct compose_env env;
	char *names[64]; /* file names the nodes point at */
	size_t n_names;
	struct cnode *root;
	json_t *warnings; /* the caller's, or NULL */
	json_t *unset;	  /* variables used unset, for warnings */
};

static void loader_free(struct loader *l)
{
	cnode_free(l->root);
	json_decref(l->unset);
	compose_env_free(&l->env);
	for (size_t i = 0; i < l->n_names; i++)
		free(l->names[i]);
	free(l->working_dir);
}

static bool valid_project_name(const char *s)
{
	if (!*s || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("_-", *s))
			return false;
	return true;
}

static int check_project_name(const char *name, const char *where, struct berth_error *err)
{
	if (valid_project_name(name))
		return 0;
	return berth_err(err, 400,
			 "%sinvalid project name \"%s\": must consist only of lowercase "
			 "alphanumeric characters, hyphens, and underscores as well as start with "
			 "a letter or number",
			 where, name);
}

void compose_normalize_project_name(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < size; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)c) && c != '_' && c != '-')
			continue;
		if (n == 0 && !isalnum((unsigned char)c))
			continue;
		out[n++] = c;
	}
	out[n] = '\0';
}

static int project_name(const struct compose_options *opts, struct loader *l, char *out,
			size_t size, struct berth_error *err)
{
	const char *env_name = compose_env_get(&l->env, "COMPOSE_PROJECT_NAME");
	const struct cnode *n = cnode_get(l->root, "name");
	if (opts->project_name) {
		snprintf(out, size, "%s", opts->project_name);
		return check_project_name(out, "", err);
	}
	if (env_name && *env_name) {
		snprintf(out, size, "%s", env_name);
		return check_project_name(out, "COMPOSE_PROJECT_NAME: ", err);
	}
	if (n && !cnode_is_null(n)) {
		if (cget_kind(n, CNODE_SCALAR, "name", err) < 0)
			return -1;
		snprintf(out, size, "%s", n->value);
		if (!valid_project_name(out))
			return cnode_err(err, n, "name",
					 "invalid project name \"%s\": must consist only of "
					 "lowercase alphanumeric characters, hyphens, and "
					 "underscores as well as start with a letter or number",
					 out);
		return 0;
	}
	_cleanup_free_ char *copy = strdup(l->working_dir);
	compose_normalize_project_name(basename(copy), out, size);
	if (!*out)
		return berth_err(err, 400,
				 "project name must not be empty: the directory name \"%s\" has no "
				 "letters or digits; use -p or name:",
				 l->working_dir);
	return 0;
}

static char *absolute(const char *path)
{
	if (path[0] == '/')
		return berth_strdupf("%s", path);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	return berth_strdupf("%s/%s", cwd, path);
}

static int setup(const struct compose_options *opts, const char *first_file, struct loader *l,
		 struct berth_error *err)
{
	if (opts->working_dir) {
		l->working_dir = absolute(opts->working_dir);
	} else if (first_file && strcmp(first_file, "-")) {
		_cleanup_free_ char *abs = absolute(first_file);
		l->working_dir = berth_strdupf("%s", dirname(abs));
	} else {
		l->working_dir = absolute(".");
	}
	compose_clean_path(l->working_dir);
	compose_env_init(&l->env, opts->environ ? opts->environ : environ);
	l->warnings = opts->warnings;
	l->unset = opts->warnings ? json_object() : NULL;
	/* .env fills what the environment leaves unset. */
	_cleanup_free_ char *dotenv = berth_strdupf("%s/.env", l->working_dir);
	_cleanup_free_ char *data = NULL;
	size_t dlen;
	struct berth_error e = {0};
	if (access(dotenv, F_OK) < 0)
		return 0;
	if (berth_read_file_max(dotenv, BERTH_ENV_FILE_MAX, true, &data, &dlen, &e) < 0)
		return berth_err(err, 400, "env file %s", e.msg);
	struct compose_env vars = {0};
	if (compose_dotenv_parse(dotenv, data, &l->env, &vars, err) < 0) {
		compose_env_free(&vars);
		return -1;
	}
	for (size_t i = 0; i < vars.n; i++) {
		char *eq = strchr(vars.vars[i], '=');
		*eq = '\0';
		compose_env_set(&l->env, vars.vars[i], eq + 1, false);
	}
	compose_env_free(&vars);
	return 0;
}

/* Parse, interpolate and merge one file's text into the loader's tree. */
static int add_file(struct loader *l, const char *name, const char *data, size_t len,
		    struct berth_error *err)
{
	if (l->n_names == sizeof(l->names) / sizeof(*l->names))
		return berth_err(err, 400, "too many compose files");
	char *stored = berth_strdupf("%s", name);
	l->names[l->n_names++] = stored;
	struct cnode *tree;
	if (cnode_parse(stored, data, len, &tree, err) < 0)
		return -1;
	if (!tree) {
		if (l->root)
			return 0;
		return berth_err(err, 400, "%s: empty compose file", name);
	}
	if (tree->kind != CNODE_MAP) {
		int rc = cnode_err(err, tree, "", "a compose file must be a mapping, not %s",
				   cnode_kind_name(tree));
		cnode_free(tree);
		return rc;
	}
	if (l->warnings && cnode_get(tree, "version"))
		json_array_append_new(l->warnings,
				      json_pack("s+", name,
						": the attribute `version` is obsolete, "
						"it will be ignored, please remove it to "
						"avoid potential confusion"));
	if (compose_interpolate(tree, &l->env, l->unset, err) < 0) {
		cnode_free(tree);
		return -1;
	}
	if (!l->root) {
		l->root = tree;
		return 0;
	}
	int rc = compose_merge(l->root, tree, err);
	cnode_free(tree);
	return rc;
}

static int read_and_add(struct loader *l, const char *file, struct berth_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct berth_error e = {0};
	if (!strcmp(file, "-")) {
		_cleanup_fclose_ FILE *mem = NULL;
		size_t cap = 0;
		mem = open_memstream(&data, &cap);
		if (!mem)
			return berth_err_errno(err, 500, errno, "read the compose file from stdin");
		char buf[65536];
		size_t n;
		size_t total = 0;
		/* one byte past the limit is enough for add_file to refuse it */
		while (total <= COMPOSE_MAX_BYTES && (n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
			fwrite(buf, 1, n, mem);
			total += n;
		}
		fclose(steal_pointer(&mem));
		return add_file(l, "-", data, cap, err);
	}
	if (berth_read_file_max(file, COMPOSE_MAX_BYTES, false, &data, &len, &e) < 0)
		return berth_err(err, 400, "%s", e.msg);
	return add_file(l, file, data, len, err);
}

static json_t *finish(const struct compose_options *opts, struct loader *l, struct berth_error *err)
{
	char name[256];
	if (project_name(opts, l, name, sizeof(name), err) < 0)
		return NULL;
	const char *profiles_env = compose_env_get(&l->env, "COMPOSE_PROFILES");
	_cleanup_free_ char *pcopy = NULL;
	const char *plist[64];
	struct compose_ctx ctx = {
	    .project = name,
	    .working_dir = l->working_dir,
	    .env = &l->env,
	    .profiles = opts->profiles,
	    .n_profiles = opts->n_profiles,
	    .volumes = cnode_get(l->root, "volumes"),
	    .networks = cnode_get(l->root, "networks"),
	};
	if (!opts->n_profiles && profiles_env && *profiles_env) {
		pcopy = strdup(profiles_env);
		size_t n = 0;
		for (char *p = pcopy, *tok; (tok = strsep(&p, ",")) && n < 64;)
			if (*tok)
				plist[n++] = tok;
		ctx.profiles = plist;
		ctx.n_profiles = n;
	}
	const char *var;
	json_t *v;
	json_object_foreach(l->unset, var, v)
	{
		json_array_append_new(
		    l->warnings,
		    json_pack("s++", "The \"", var,
			      "\" variable is not set. Defaulting to a blank string."));
	}
	_cleanup_json_ json_t *project = compose_normalize(l->root, &ctx, err);
	if (!project || compose_validate(project, l->root, &ctx, err) < 0)
		return NULL;
	return steal_pointer(&project);
}

json_t *compose_load(const struct compose_options *opts, struct berth_error *err)
{
	struct loader l = {0};
	json_t *out = NULL;
	if (setup(opts, opts->n_files ? opts->files[0] : NULL, &l, err) < 0)
		goto done;
	if (opts->n_files) {
		for (size_t i = 0; i < opts->n_files; i++)
			if (read_and_add(&l, opts->files[i], err) < 0)
				goto done;
	} else {
		size_t found = 0;
		for (; found < 4; found++) {
			_cleanup_free_ char *p =
			    berth_strdupf("%s/%s", l.working_dir, default_files[found]);
			if (access(p, F_OK) == 0)
				break;
		}
		if (found == 4) {
			berth_err(
			    err, 400,
			    "no configuration file provided: not found (looked for %s, %s, %s "
			    "and %s in %s)",
			    default_files[0], default_files[1], default_files[2], default_files[3],
			    l.working_dir);
			goto done;
		}
		_cleanup_free_ char *main_file =
		    berth_strdupf("%s/%s", l.working_dir, default_files[found]);
		_cleanup_free_ char *over =
		    berth_strdupf("%s/%s", l.working_dir, override_files[found]);
		if (read_and_add(&l, main_file, err) < 0 ||
		    (access(over, F_OK) == 0 && read_and_add(&l, over, err) < 0))
			goto done;
	}
	out = finish(opts, &l, err);
done:
	loader_free(&l);
	return out;
}

json_t *compose_load_data(const struct compose_options *opts, const char *name, const char *data,
			  size_t len, struct berth_error *err)
{
	struct loader l = {0};
	json_t *out = NULL;
	if (setup(opts, NULL, &l, err) == 0 && add_file(&l, name, data, len, err) == 0)
		out = finish(opts, &l, err);
	loader_free(&l);
	return out;
}
