/* Private to lib/compose*.c: the YAML node tree with marks that every compose stage works on. */
#ifndef BERTH_COMPOSE_INTERNAL_H
#define BERTH_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "berth/compose.h"
#include "berth/error.h"

enum cnode_kind { CNODE_SCALAR, CNODE_SEQ, CNODE_MAP };

/*
 * One YAML node, aliases already expanded into copies and `<<` merge keys applied. Marks are
 * 1-based. A scalar is "plain" when written without quotes and without a tag: only plain
 * scalars resolve to null, booleans and numbers where a key takes any type (x- extensions).
 */
struct cnode {
	enum cnode_kind kind;
	const char *file; /* owned by whoever loaded the tree; outlives it */
	int line, col;
	char *tag; /* explicit tag ("!reset", "!override", "!!str") or NULL */
	bool plain;
	char *value; /* scalars */
	size_t n, cap;
	struct cnode **keys; /* maps: scalar key nodes */
	struct cnode **vals; /* maps and sequences */
	uint32_t *index;     /* big maps: open-addressed hash of key -> position + 1 */
	size_t index_cap;    /* a power of two, or 0 while the map is small */
};

/* Limits of one compose file (docs/validation.md): bytes of YAML, nodes after alias expansion
 * (keys, values and every alias at its full size), keys in one mapping, nesting depth. */
#define COMPOSE_MAX_BYTES (8 << 20)
#define COMPOSE_MAX_NODES 500000
#define COMPOSE_MAX_KEYS 100000
#define COMPOSE_MAX_DEPTH 100

/* compose_load.c */
/* Parse one YAML document; NULL document (empty file) gives *out = NULL and 0. */
int cnode_parse(const char *file, const char *data, size_t len, struct cnode **out,
		struct berth_error *err);

/* compose_yaml.c */
void cnode_free(struct cnode *n);
struct cnode *cnode_new(enum cnode_kind kind, const struct cnode *mark);
struct cnode *cnode_new_scalar(const char *value, bool plain, const struct cnode *mark);
struct cnode *cnode_dup(const struct cnode *n);
void cnode_append(struct cnode *seq, struct cnode *v);
void cnode_map_set(struct cnode *map, struct cnode *key, struct cnode *v);
struct cnode *cnode_get(const struct cnode *map, const char *key);
/* Index of key in map, or -1. */
long cnode_find(const struct cnode *map, const char *key);
void cnode_map_remove(struct cnode *map, size_t i);
bool cnode_is_null(const struct cnode *n);
bool cnode_has_tag(const struct cnode *n, const char *tag);
/* Untyped conversion (x- extensions, driver_opts, ipam): plain scalars resolve as YAML 1.2. */
json_t *cnode_to_json(const struct cnode *n);
/* "file:line:col: path: message" into err (status 400). */
int cnode_err(struct berth_error *err, const struct cnode *n, const char *path, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));
const char *cnode_kind_name(const struct cnode *n);

/* The variables ${VAR} sees: the process (or given) environment first, then .env. */
struct compose_env {
	char **vars; /* "KEY=VALUE", owned */
	size_t n, cap;
};

/* compose_interp.c */
void compose_env_init(struct compose_env *env, char **environ_);
void compose_env_free(struct compose_env *env);
const char *compose_env_get(const struct compose_env *env, const char *key);
void compose_env_set(struct compose_env *env, const char *key, const char *value, bool override);
/*
 * Interpolate one string, looking variables up in env, then fallback (may be NULL); *out is
 * malloc'd, *changed says whether anything was substituted. -1 with problem set on error.
 */
int compose_interpolate_str(const char *in, const struct compose_env *env,
			    const struct compose_env *fallback, char **out, bool *changed,
			    char *problem, size_t problem_size);
/* Interpolate every scalar value in the tree (keys are left alone, as compose does); names used
 * without a default while unset are added to unset (a JSON object) when it is not NULL. */
int compose_interpolate(struct cnode *root, const struct compose_env *env, json_t *unset,
			struct berth_error *err);
/*
 * Parse a dotenv file's text (KEY=VALUE, export, quotes, comments, ${VAR} in unquoted and
 * double-quoted values, looked up in lookup first, then in the file's own earlier keys) into out.
 */
int compose_dotenv_parse(const char *file, const char *data, const struct compose_env *lookup,
			 struct compose_env *out, struct berth_error *err);

/* compose_merge.c: merge overlay into base (both whole-file trees), following the spec. */
int compose_merge(struct cnode *base, struct cnode *overlay, struct berth_error *err);

/* What normalisation needs besides the tree. */
struct compose_ctx {
	const char *project;
	const char *working_dir;
	const struct compose_env *env;
	const char *const *profiles;
	size_t n_profiles;
	const struct cnode *volumes;  /* top-level volumes: (for undeclared named volumes) */
	const struct cnode *networks; /* top-level networks: */
};

/* compose_normalize.c: the merged tree into the canonical JSON model (before validation). */
json_t *compose_normalize(const struct cnode *root, const struct compose_ctx *ctx,
			  struct berth_error *err);
/* compose_service.c: one service's keys. */
json_t *compose_normalize_service(const char *name, const struct cnode *svc,
				  const struct compose_ctx *ctx, struct berth_error *err);
/* compose_deploy.c: build, healthcheck, restart, deploy; handlers of compose_service.c. */
int compose_build(const struct cnode *v, const char *path, json_t *svc,
		  const struct compose_ctx *ctx, struct berth_error *err);
int compose_healthcheck(const struct cnode *v, const char *path, json_t *svc,
			const struct compose_ctx *ctx, struct berth_error *err);
int compose_restart(const struct cnode *v, const char *path, json_t *svc,
		    const struct compose_ctx *ctx, struct berth_error *err);
int compose_deploy(const struct cnode *v, const char *path, json_t *svc,
		   const struct compose_ctx *ctx, struct berth_error *err);
/* scale, mem_limit, mem_reservation, cpus, pids_limit into deploy (conflicts are errors). */
/* compose_run_opts.c: shm_size, ulimits, tmpfs, oom_score_adj, cpu_shares, memswap_limit. */
int compose_run_option(const struct cnode *v, const char *path, json_t *svc,
		       const struct compose_ctx *ctx, struct berth_error *err);
/* compose_security.c: privileged, cap_add, cap_drop, security_opt (seccomp=FILE read into
 * COMPOSE_SECCOMP_PROFILES). */
int compose_security(const struct cnode *v, const char *path, json_t *svc,
		     const struct compose_ctx *ctx, struct berth_error *err);
int compose_fold_legacy(const struct cnode *svc, const char *path, json_t *out,
			struct berth_error *err);
/* compose_env_file.c: env_file files, then environment over them, into out.environment. */
int compose_environment(const struct cnode *svc, const char *path, json_t *out,
			const struct compose_ctx *ctx, struct berth_error *err);
/* compose_ports.c: short and long syntax of ports, expose and volumes. */
int compose_ports(const struct cnode *n, const char *path, json_t *out, struct berth_error *err);
int compose_expose(const struct cnode *n, const char *path, json_t *out, struct berth_error *err);
int compose_volume(const struct cnode *n, const char *path, const struct compose_ctx *ctx,
		   json_t *out, struct berth_error *err);
/* Shell-like word splitting of a string command as go-shellwords does it (quotes, backslashes;
 * no expansion); an unquoted ; & | < > is an error rather than compose's silent cut. */
int compose_split_words(const char *s, json_t *out, const char **problem);
/* "~" and "~/x" with $HOME, then relative paths against the working dir. */
char *compose_abs_path(const char *path, const struct compose_ctx *ctx);
/* Lexical clean of an absolute path ("/a/./b/../c" -> "/a/c"), in place. */
void compose_clean_path(char *p);

/* compose_validate.c */
enum compose_key_state { COMPOSE_KEY_UNKNOWN, COMPOSE_KEY_UNSUPPORTED, COMPOSE_KEY_SUPPORTED };
/* Which section a key belongs to, for the tables of known keys. */
enum compose_section {
	COMPOSE_SEC_TOP,
	COMPOSE_SEC_SERVICE,
	COMPOSE_SEC_BUILD,
	COMPOSE_SEC_DEPLOY,
	COMPOSE_SEC_RESOURCES,
	COMPOSE_SEC_RESOURCE,
	COMPOSE_SEC_RESTART_POLICY,
	COMPOSE_SEC_UPDATE_CONFIG,
	COMPOSE_SEC_HEALTHCHECK,
	COMPOSE_SEC_PORT,
	COMPOSE_SEC_VOLUME,
	COMPOSE_SEC_VOLUME_BIND,
	COMPOSE_SEC_VOLUME_VOLUME,
	COMPOSE_SEC_VOLUME_TMPFS,
	COMPOSE_SEC_SERVICE_NETWORK,
	COMPOSE_SEC_DEPENDS_ON,
	COMPOSE_SEC_ENV_FILE,
	COMPOSE_SEC_NETWORK,
	COMPOSE_SEC_VOLUME_TOP,
	COMPOSE_SEC_ULIMIT,
};
/*
 * Check every key of map against the section's table: x- keys pass, keys berth does not
 * implement are "not supported by berth", others "unknown key". 0 when all are known.
 */
int compose_check_keys(const struct cnode *map, enum compose_section sec, const char *path,
		       struct berth_error *err);
/* Cross-service checks on the normalised project (nodes give the marks), then profiles. */
int compose_validate(json_t *project, const struct cnode *root, const struct compose_ctx *ctx,
		     struct berth_error *err);

/* Typed scalar readers: each reports "path: must be ..." at the node on a wrong type. */
int cget_string(const struct cnode *n, const char *path, const char **out, struct berth_error *err);
int cget_bool(const struct cnode *n, const char *path, bool *out, struct berth_error *err);
int cget_int(const struct cnode *n, const char *path, long long min, long long max, long long *out,
	     struct berth_error *err);
int cget_duration(const struct cnode *n, const char *path, int64_t *out, struct berth_error *err);
int cget_bytes(const struct cnode *n, const char *path, int64_t *out, struct berth_error *err);
int cget_number(const struct cnode *n, const char *path, double *out, struct berth_error *err);
int cget_kind(const struct cnode *n, enum cnode_kind kind, const char *path,
	      struct berth_error *err);
/* A list of strings, or one string when allow_string; into a JSON array. */
json_t *cget_string_list(const struct cnode *n, const char *path, bool allow_string,
			 struct berth_error *err);
/* "KEY=VAL" list or map into a JSON object; null values allowed when allow_null (else ""). */
json_t *cget_dict(const struct cnode *n, const char *path, bool allow_null,
		  struct berth_error *err);

/* Declarative readers for mappings of typed keys (min/max bound CF_INT; min = 1 lets CF_DICT
 * keep null values and CF_LIST take a single string). */
enum cfield_type {
	CF_STRING,
	CF_ENUM,
	CF_BOOL,
	CF_INT,
	CF_DURATION,
	CF_BYTES,
	CF_NUMBER,
	CF_DICT,
	CF_LIST
};
struct cfield {
	const char *key;
	enum cfield_type type;
	long long min, max;
	const char *const *choices;
};
int cget_fields(const struct cnode *map, const char *path, const struct cfield *fields, json_t *out,
		struct berth_error *err);

#define COMPOSE_PATH_MAX 512
#endif
