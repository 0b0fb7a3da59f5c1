/* The Dockerfile language: parser (bytes in, instructions out), variable expansion, stages. */
#ifndef BERTH_DOCKERFILE_H
#define BERTH_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DOCKERFILE_MAX_SIZE (4u << 20)
#define DOCKERFILE_MAX_INSTRUCTIONS 4096

enum dockerfile_kind {
	DF_FROM,
	DF_RUN,
	DF_CMD,
	DF_ENTRYPOINT,
	DF_COPY,
	DF_ADD,
	DF_ENV,
	DF_ARG,
	DF_WORKDIR,
	DF_EXPOSE,
	DF_LABEL,
	DF_USER,
	DF_VOLUME,
	DF_HEALTHCHECK,
	DF_STOPSIGNAL,
	DF_SHELL,
	DF_ONBUILD,
	DF_MAINTAINER,
};

/* ENV, LABEL and ARG pairs; values are raw (quotes kept) until dockerfile_expand_word. */
struct dockerfile_kv {
	char *key;
	char *value; /* NULL for `ARG name` without a default */
};

struct dockerfile_heredoc {
	char *name;    /* the delimiter, unquoted */
	char *content; /* every line up to the delimiter, newlines kept (tabs stripped for <<-) */
	bool expand;   /* false when the delimiter was quoted: no variable expansion */
	bool chomp;    /* <<- */
	int fd;	       /* 3<<EOF: the descriptor, 0 when none was written */
};

enum dockerfile_mount_type { DF_MOUNT_BIND, DF_MOUNT_CACHE, DF_MOUNT_TMPFS };
enum dockerfile_sharing { DF_SHARING_SHARED, DF_SHARING_PRIVATE, DF_SHARING_LOCKED };

/* RUN --mount=type=...,target=... (BuildKit). secret and ssh are refused at parse time. */
struct dockerfile_mount {
	enum dockerfile_mount_type type;
	char *target;
	char *source; /* NULL: the root of from (bind) or an empty cache */
	char *from;   /* a stage name, index or image; NULL: the context (bind) */
	char *id;     /* cache id; NULL means the target */
	bool readonly;
	enum dockerfile_sharing sharing;
	int mode, uid, gid; /* cache only; -1 when not given (0755, 0, 0) */
};

enum dockerfile_network { DF_NETWORK_DEFAULT, DF_NETWORK_NONE, DF_NETWORK_HOST };

struct dockerfile_instr {
	enum dockerfile_kind kind;
	int line, end_line; /* 1-based; end_line includes continuation and heredoc lines */
	char *original;	    /* the instruction as written, continuation lines joined */
	char **args;	    /* words after the flags; shell form: one word, the command line */
	size_t nargs;
	bool json; /* exec form: args are the argv */
	struct dockerfile_kv *kvs;
	size_t nkvs;
	struct dockerfile_heredoc *heredocs;
	size_t nheredocs;

	/* FROM */
	char *platform;
	char *stage_name; /* lower-cased, NULL if no AS */
	/* COPY, ADD */
	char *copy_from, *chown, *chmod;
	/* RUN */
	struct dockerfile_mount *mounts;
	size_t nmounts;
	enum dockerfile_network network;
	/* HEALTHCHECK: args hold the test when !health_none */
	bool health_none;
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries; /* 0: not given */
	/* ONBUILD: the trigger as written, e.g. "RUN make" */
	char *onbuild;
};

struct dockerfile_stage {
	char *name;	/* NULL when unnamed */
	size_t from;	/* index of its FROM in instrs */
	size_t ninstrs; /* FROM included */
};

struct dockerfile {
	struct dockerfile_instr *instrs;
	size_t ninstrs;
	size_t nmeta_args; /* ARGs before the first FROM: instrs[0..nmeta_args) */
	struct dockerfile_stage *stages;
	size_t nstages;
	char escape;  /* '\\' or '`' */
	char *syntax; /* the `# syntax=` directive, accepted and ignored */
	struct dockerfile_arena *arena;
};

/*
 * Parse a Dockerfile. Errors carry Docker's classic builder texts, e.g.
 * "dockerfile parse error line 6: unknown instruction: CMD[\"HELLOWORLD\"]".
 * On success *out is owned by the caller (dockerfile_free).
 */
int dockerfile_parse(const char *buf, size_t len, struct dockerfile **out, struct berth_error *err);
void dockerfile_free(struct dockerfile *df);
const char *dockerfile_kind_name(enum dockerfile_kind kind);

/* Lookup for expansion: return the value (borrowed) or NULL when unset. */
typedef const char *(*dockerfile_lookup_fn)(void *ctx, const char *name);

/*
 * Expand one word as Docker's shell lexer does: $V ${V} ${V:-x} ${V-x} ${V:+x} ${V+x}
 * ${V:?msg} ${V?msg}, quotes removed (single: literal, double: expanded), escape char.
 * Returns a malloc'd string or NULL with err set ("V: is not allowed to be unset" ...).
 */
char *dockerfile_expand_word(const char *word, char escape, dockerfile_lookup_fn lookup, void *ctx,
			     struct berth_error *err);
/* Like dockerfile_expand_word but splits unquoted whitespace into words (COPY, EXPOSE...).
 * Returns a NULL-terminated malloc'd vector (free each and the vector) or NULL on error. */
char **dockerfile_expand_words(const char *line, char escape, dockerfile_lookup_fn lookup,
			       void *ctx, struct berth_error *err);
/* Variables in scope while a stage is built: ARGs and ENVs with Docker's precedence
 * (an ENV always wins over an ARG of the same name, whichever came first). */
struct dockerfile_var {
	char *name, *value;
	bool is_env;
};
struct dockerfile_env {
	struct dockerfile_var *vars;
	size_t n, cap;
};
void dockerfile_env_set(struct dockerfile_env *env, const char *name, const char *value,
			bool is_env);
/* A dockerfile_lookup_fn over a struct dockerfile_env. */
const char *dockerfile_env_lookup(void *env, const char *name);
void dockerfile_env_free(struct dockerfile_env *env);

/* The ARGs before the first FROM: each takes its build arg, else its default expanded with the
 * ones before it; an ARG with neither stays unset. */
int dockerfile_meta_args(const struct dockerfile *df, dockerfile_lookup_fn build_args, void *ctx,
			 struct dockerfile_env *meta, struct berth_error *err);
/* The image (or stage) a stage's FROM names, expanded with the meta ARGs only. malloc'd. */
char *dockerfile_stage_base(const struct dockerfile *df, size_t stage,
			    const struct dockerfile_env *meta, struct berth_error *err);
/* Apply one ARG instruction inside a stage: a build arg wins, then the default (expanded with
 * env), then a meta ARG of that name (ARG before FROM is visible only once re-declared). */
int dockerfile_stage_arg(const struct dockerfile *df, const struct dockerfile_instr *arg,
			 dockerfile_lookup_fn build_args, void *ctx,
			 const struct dockerfile_env *meta, struct dockerfile_env *env,
			 struct berth_error *err);
/*
 * Which stages a build needs: target NULL means the last stage. needed[] (nstages entries)
 * is set true for the target and every stage it reaches through FROM <stage> (expanded with
 * meta, which may be NULL), COPY --from and RUN --mount from=. A name that is no earlier stage
 * is an image. Returns the target's index or -1 with Docker's message.
 */
int dockerfile_stage_find(const struct dockerfile *df, const char *name);
int dockerfile_stages_needed(const struct dockerfile *df, const char *target,
			     const struct dockerfile_env *meta, bool *needed,
			     struct berth_error *err);
/* Numeric --from values must name an earlier stage (the classic builder's messages:
 * "invalid from flag value 2: refers to current build stage", "...: index out of bounds"). */
int dockerfile_check_from_indexes(const struct dockerfile *df, struct berth_error *err);
/* Whether an instruction's arguments are expanded by the builder (Docker's list). */
bool dockerfile_kind_expands(enum dockerfile_kind kind);

#endif
