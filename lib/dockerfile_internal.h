/* Private to lib/dockerfile*.c: the arena every parsed string lives in, and word splitting. */
#ifndef BERTH_DOCKERFILE_INTERNAL_H
#define BERTH_DOCKERFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "berth/dockerfile.h"

struct dockerfile_arena;

/* Zeroed memory owned by the arena; aborts on out of memory like the rest of berth. */
void *df_alloc(struct dockerfile_arena **arena, size_t size);
char *df_strndup(struct dockerfile_arena **arena, const char *s, size_t n);
char *df_strdup(struct dockerfile_arena **arena, const char *s);
void df_arena_free(struct dockerfile_arena *arena);

/* A growable vector of arena strings. */
struct df_words {
	char **v;
	size_t n, cap;
};
void df_words_push(struct dockerfile_arena **arena, struct df_words *w, char *s);

/* Docker's parseWords: whitespace-separated words, quotes and escapes kept verbatim. */
void df_parse_words(struct dockerfile_arena **arena, const char *s, char escape,
		    struct df_words *out);
/* Split on runs of [ \t\v\f\r] (Go's reWhitespace); s already trimmed. */
void df_split_ws(struct dockerfile_arena **arena, const char *s, struct df_words *out);
/*
 * A JSON array of strings: 1 parsed, 0 not JSON (caller falls back to the shell form),
 * -1 an array holding something other than strings (Docker's error), -2 one holding "\u0000".
 */
int df_parse_json_array(struct dockerfile_arena **arena, const char *s, struct df_words *out);

/* The raw pieces of one logical line, before the instruction's own rules apply. */
struct df_node {
	const char *cmd; /* the instruction word as written */
	struct df_words flags;
	const char *rest; /* after the flags, trimmed */
	struct dockerfile_heredoc *heredocs;
	size_t nheredocs;
};

/* Fill instr from node (lib/dockerfile_instr.c). err gets Docker's message without the line. */
int df_instr_build(struct dockerfile_arena **arena, const struct df_node *node, char escape,
		   struct dockerfile_instr *instr, struct berth_error *err);
/* The arguments after the flags (lib/dockerfile_args.c). */
int df_instr_args(struct dockerfile_arena **arena, const struct df_node *node, char escape,
		  struct dockerfile_instr *in, struct berth_error *err);
/* "run" -> DF_RUN; -1 when unknown. */
int df_kind_lookup(const char *word);
/* Split "CMD flags rest" (Docker's splitCommand + extractBuilderFlags). */
int df_split_command(struct dockerfile_arena **arena, const char *line, char escape,
		     struct df_node *node);

/* A realloc'd byte buffer, NUL-terminated after each append. */
void df_buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n);

/* Docker's scanLines over the whole file. */
struct df_scanner {
	const char *buf;
	size_t len, off;
	int line; /* lines consumed so far */
};

/* The next raw line, newline kept (Docker's scanLines); false at the end. */
static inline bool df_next_line(struct df_scanner *s, const char **line, size_t *n)
{
	if (s->off >= s->len)
		return false;
	const char *p = s->buf + s->off;
	const char *nl = memchr(p, '\n', s->len - s->off);
	*n = nl ? (size_t)(nl - p) + 1 : s->len - s->off;
	*line = p;
	s->off += *n;
	s->line++;
	return true;
}

static inline size_t df_trim_newline(const char *p, size_t n)
{
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	return n;
}

/* Heredocs (lib/dockerfile_heredoc.c): whether the instruction may carry them, and reading
 * their bodies from the lines after it into node->heredocs. */
bool df_can_contain_heredoc(struct dockerfile_arena **arena, const struct df_node *node,
			    char escape);
int df_read_heredocs(struct dockerfile_arena **arena, struct df_scanner *sc, const char *line,
		     char escape, struct df_node *node, struct berth_error *err);

#endif
