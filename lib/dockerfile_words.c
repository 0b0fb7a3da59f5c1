/* Word splitting for the Dockerfile parser: Docker's parseWords, flags, JSON arrays, the arena. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dockerfile_internal.h"

struct dockerfile_arena {
	struct dockerfile_arena *next;
	alignas(max_align_t) char data[];
};

void *df_alloc(struct dockerfile_arena **arena, size_t size)
{
	struct dockerfile_arena *a = calloc(1, sizeof(*a) + size);
	if (!a)
		abort();
	a->next = *arena;
	*arena = a;
	return a->data;
}

char *df_strndup(struct dockerfile_arena **arena, const char *s, size_t n)
{
	char *p = df_alloc(arena, n + 1);
	memcpy(p, s, n);
	return p;
}

char *df_strdup(struct dockerfile_arena **arena, const char *s)
{
	return df_strndup(arena, s, strlen(s));
}

void df_arena_free(struct dockerfile_arena *arena)
{
	while (arena) {
		struct dockerfile_arena *next = arena->next;
		free(arena);
		arena = next;
	}
}

void df_words_push(struct dockerfile_arena **arena, struct df_words *w, char *s)
{
	if (w->n + 1 >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		char **v = df_alloc(arena, cap * sizeof(*v));
		if (w->n)
			memcpy(v, w->v, w->n * sizeof(*v));
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = s;
	w->v[w->n] = NULL;
}

static bool is_go_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Go's reWhitespace is [\t\v\f\r ]+ (no newline: lines are already joined). */
static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

void df_split_ws(struct dockerfile_arena **arena, const char *s, struct df_words *out)
{
	const char *p = s;
	if (!*s)
		return;
	for (;;) {
		const char *e = p;
		while (*e && !is_ws((unsigned char)*e))
			e++;
		df_words_push(arena, out, df_strndup(arena, p, (size_t)(e - p)));
		if (!*e)
			break;
		while (is_ws((unsigned char)*e))
			e++;
		p = e;
	}
}

/*
 * A growable byte buffer used while scanning words.
 */
struct df_buf {
	char *p;
	size_t n, cap;
};

static void buf_put(struct df_buf *b, char c)
{
	if (b->n + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *p = realloc(b->p, cap);
		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
}

static char *buf_take(struct dockerfile_arena **arena, struct df_buf *b)
{
	char *s = df_strndup(arena, b->p ? b->p : "", b->n);
	b->n = 0;
	return s;
}

void df_parse_words(struct dockerfile_arena **arena, const char *s, char escape,
		    struct df_words *out)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct df_buf b = {0};
	char quote = 0;
	bool blank_ok = false;
	size_t len = strlen(s);

	for (size_t pos = 0; pos <= len; pos++) {
		char ch = pos < len ? s[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == len)
				break;
			if (is_go_space((unsigned char)ch))
				continue;
			phase = IN_WORD;
		}
		if (pos == len) {
			if (blank_ok || b.n > 0)
				df_words_push(arena, out, buf_take(arena, &b));
			break;
		}
		if (phase == IN_WORD) {
			if (is_go_space((unsigned char)ch)) {
				phase = IN_SPACES;
				if (blank_ok || b.n > 0)
					df_words_push(arena, out, buf_take(arena, &b));
				b.n = 0;
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == escape) {
				if (pos + 1 == len)
					continue;
				buf_put(&b, ch);
				ch = s[++pos];
			}
			buf_put(&b, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote)
			phase = IN_WORD;
		if (ch == escape && quote != '\'') {
			if (pos + 1 == len) {
				phase = IN_WORD;
				continue;
			}
			buf_put(&b, ch);
			ch = s[++pos];
		}
		buf_put(&b, ch);
	}
	free(b.p);
}

int df_parse_json_array(struct dockerfile_arena **arena, const char *s, struct df_words *out)
{
	while (is_go_space((unsigned char)*s))
		s++;
	if (*s != '[')
		return 0;
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_ALLOW_NUL, &jerr);
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(j);
			return -1;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			json_decref(j);
			return -2; /* "\u0000": Go keeps it, no argv can hold it */
		}
	}
	json_array_foreach(j, i, v)
	{
		df_words_push(arena, out,
			      df_strndup(arena, json_string_value(v), json_string_length(v)));
	}
	json_decref(j);
	return 1;
}

int df_split_command(struct dockerfile_arena **arena, const char *line, char escape,
		     struct df_node *node)
{
	while (is_go_space((unsigned char)*line))
		line++;
	size_t len = strlen(line);
	while (len && is_go_space((unsigned char)line[len - 1]))
		len--;
	const char *e = line;
	while (e < line + len && !is_ws((unsigned char)*e))
		e++;
	node->cmd = df_strndup(arena, line, (size_t)(e - line));
	const char *p = e;
	while (p < line + len && is_ws((unsigned char)*p))
		p++;
	const char *end = line + len;
	node->rest = "";
	if (p >= end)
		return 0;

	/* extractBuilderFlags: leading --words, quotes and escapes removed. */
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct df_buf b = {0};
	char quote = 0;
	bool blank_ok = false;
	size_t n = (size_t)(end - p);
	for (size_t pos = 0; pos <= n; pos++) {
		char ch = pos < n ? p[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == n)
				break;
			if (is_go_space((unsigned char)ch))
				continue;
			if (ch != '-' || pos + 1 == n || p[pos + 1] != '-') {
				node->rest = df_strndup(arena, p + pos, n - pos);
				free(b.p);
				return 0;
			}
			phase = IN_WORD;
		}
		if (pos == n) {
			if ((blank_ok || b.n > 0) && !(b.n == 2 && memcmp(b.p, "--", 2) == 0))
				df_words_push(arena, &node->flags, buf_take(arena, &b));
			break;
		}
		if (phase == IN_WORD) {
			if (is_go_space((unsigned char)ch)) {
				phase = IN_SPACES;
				if (b.n == 2 && memcmp(b.p, "--", 2) == 0) {
					size_t r = pos;
					while (r < n && is_go_space((unsigned char)p[r]))
						r++;
					node->rest = df_strndup(arena, p + r, n - r);
					free(b.p);
					return 0;
				}
				if (blank_ok || b.n > 0)
					df_words_push(arena, &node->flags, buf_take(arena, &b));
				b.n = 0;
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
				continue;
			}
			if (ch == escape) {
				if (pos + 1 == n)
					continue;
				ch = p[++pos];
			}
			buf_put(&b, ch);
			continue;
		}
		if (ch == quote) {
			phase = IN_WORD;
			continue;
		}
		if (ch == escape) {
			if (pos + 1 == n) {
				phase = IN_WORD;
				continue;
			}
			ch = p[++pos];
		}
		buf_put(&b, ch);
	}
	free(b.p);
	return 0;
}

void df_buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			abort();
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}
