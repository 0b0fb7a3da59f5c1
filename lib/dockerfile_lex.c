/* Variable expansion as Docker's shell lexer does it (buildkit frontend/dockerfile/shell). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

#define LEX_MAX_DEPTH 64

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 64;
		while (c < b->n + n + 1)
			c *= 2;
		char *p = realloc(b->p, c);
		if (!p)
			abort();
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_put(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

/* Word splitting state: Docker's wordsStruct. */
struct words {
	struct sbuf cur;
	bool in_word;
	char **v;
	size_t n, cap;
};

static void words_end(struct words *w)
{
	if (!w || !w->in_word)
		return;
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		char **v = realloc(w->v, w->cap * sizeof(*v));
		if (!v)
			abort();
		w->v = v;
	}
	w->v[w->n++] = strdup(w->cur.p ? w->cur.p : "");
	if (!w->v[w->n - 1])
		abort();
	w->v[w->n] = NULL;
	w->cur.n = 0;
	if (w->cur.p)
		w->cur.p[0] = '\0';
	w->in_word = false;
}

static void words_char(struct words *w, char c, bool raw)
{
	if (!w)
		return;
	if (!raw && isspace((unsigned char)c)) {
		words_end(w);
		return;
	}
	sb_put(&w->cur, c);
	w->in_word = true;
}

static void words_string(struct words *w, const char *s, bool raw)
{
	if (!w)
		return;
	if (raw) {
		sb_putn(&w->cur, s, strlen(s));
		w->in_word = true;
		return;
	}
	for (; *s; s++)
		words_char(w, *s, false);
}

struct lexer {
	const char *s;
	size_t pos;
	char escape;
	dockerfile_lookup_fn lookup;
	void *ctx;
	struct berth_error *err;
	int depth;
};

static int peek(const struct lexer *lx)
{
	return lx->s[lx->pos] ? (unsigned char)lx->s[lx->pos] : -1;
}

static int next(struct lexer *lx)
{
	return lx->s[lx->pos] ? (unsigned char)lx->s[lx->pos++] : -1;
}

static int dollar(struct lexer *lx, struct sbuf *out);

static int single_quote(struct lexer *lx, struct sbuf *out)
{
	next(lx);
	for (;;) {
		int ch = next(lx);
		if (ch < 0)
			return berth_err(lx->err, 400,
					 "unexpected end of statement while looking "
					 "for matching single-quote");
		if (ch == '\'')
			return 0;
		sb_put(out, (char)ch);
	}
}

static int double_quote(struct lexer *lx, struct sbuf *out)
{
	next(lx);
	for (;;) {
		int ch = peek(lx);
		if (ch < 0)
			return berth_err(lx->err, 400,
					 "unexpected end of statement while looking "
					 "for matching double-quote");
		if (ch == '"') {
			next(lx);
			return 0;
		}
		if (ch == '$') {
			if (dollar(lx, out) < 0)
				return -1;
			continue;
		}
		ch = next(lx);
		if (ch == lx->escape) {
			int p = peek(lx);
			if (p < 0)
				continue;
			if (p == '"' || p == '$' || p == lx->escape)
				ch = next(lx);
		}
		sb_put(out, (char)ch);
	}
}

/* Scan until stop (or the end when stop < 0), expanding; the result goes to out and words. */
static int scan(struct lexer *lx, int stop, struct sbuf *out, struct words *w)
{
	if (++lx->depth > LEX_MAX_DEPTH)
		return berth_err(lx->err, 400, "syntax error: substitutions nested too deeply");
	while (peek(lx) >= 0) {
		int ch = peek(lx);
		if (stop >= 0 && ch == stop) {
			next(lx);
			lx->depth--;
			return 0;
		}
		if (ch == '$' || ch == '\'' || ch == '"') {
			struct sbuf tmp = {0};
			int rc = ch == '$'    ? dollar(lx, &tmp)
				 : ch == '\'' ? single_quote(lx, &tmp)
					      : double_quote(lx, &tmp);
			if (rc < 0) {
				free(tmp.p);
				return -1;
			}
			sb_putn(out, tmp.p ? tmp.p : "", tmp.n);
			words_string(w, tmp.p ? tmp.p : "", ch != '$');
			free(tmp.p);
			continue;
		}
		if (ch == '<' && lx->s[lx->pos + 1] == '<') { /* a heredoc word stays one word */
			next(lx);
			next(lx);
			sb_putn(out, "<<", 2);
			words_string(w, "<<", true);
			while (peek(lx) == ' ' || peek(lx) == '\t') {
				char c = (char)next(lx);
				sb_put(out, c);
				words_char(w, c, true);
			}
			continue;
		}
		ch = next(lx);
		if (ch == lx->escape) {
			ch = next(lx);
			if (ch < 0)
				break;
			words_char(w, (char)ch, true);
		} else {
			words_char(w, (char)ch, false);
		}
		sb_put(out, (char)ch);
	}
	if (stop >= 0)
		return berth_err(lx->err, 400,
				 "unexpected end of statement while looking for matching %c", stop);
	lx->depth--;
	return 0;
}

static void name_of(struct lexer *lx, struct sbuf *name)
{
	int ch = peek(lx);
	if (ch >= 0 && isdigit(ch)) {
		while (peek(lx) >= 0 && isdigit(peek(lx)))
			sb_put(name, (char)next(lx));
		return;
	}
	if (ch >= 0 && strchr("@*#?-$!0", ch)) {
		sb_put(name, (char)next(lx));
		return;
	}
	while ((ch = peek(lx)) >= 0 && (isalnum(ch) || ch == '_' || ch >= 0x80))
		sb_put(name, (char)next(lx));
}

static int dollar(struct lexer *lx, struct sbuf *out)
{
	next(lx);
	struct sbuf name = {0};
	int rc = -1;
	if (peek(lx) != '{') {
		name_of(lx, &name);
		if (!name.n) {
			sb_put(out, '$');
			return 0;
		}
		const char *v = lx->lookup ? lx->lookup(lx->ctx, name.p) : NULL;
		if (v)
			sb_putn(out, v, strlen(v));
		free(name.p);
		return 0;
	}
	next(lx);
	int ch = peek(lx);
	if (ch < 0) {
		berth_err(lx->err, 400, "syntax error: missing '}'");
		goto out;
	}
	if (ch == '{' || ch == '}' || ch == ':') {
		berth_err(lx->err, 400, "syntax error: bad substitution");
		goto out;
	}
	name_of(lx, &name);
	const char *value = lx->lookup && name.p ? lx->lookup(lx->ctx, name.p) : NULL;
	bool set = value != NULL;
	if (!value)
		value = "";
	ch = next(lx);
	if (ch == '}') {
		sb_putn(out, value, strlen(value));
		rc = 0;
		goto out;
	}
	bool null_is_unset = false;
	char mod[3] = {(char)(ch < 0 ? 0 : ch), 0, 0};
	if (ch == ':') {
		null_is_unset = true;
		ch = next(lx);
		mod[1] = (char)(ch < 0 ? 0 : ch);
	}
	if (ch != '-' && ch != '+' && ch != '?') {
		if (ch < 0)
			berth_err(lx->err, 400, "syntax error: missing '}'");
		else if (null_is_unset || (ch != '#' && ch != '%' && ch != '/'))
			berth_err(lx->err, 400, "unsupported modifier (%s) in substitution", mod);
		else /* valid in Docker: ${V#p} ${V%p} ${V/p/r} */
			berth_err(lx->err, 400,
				  "unsupported modifier (%s) in substitution: berth "
				  "expands :- - :+ + :? ?",
				  mod);
		goto out;
	}
	struct sbuf word = {0};
	if (scan(lx, '}', &word, NULL) < 0) {
		if (peek(lx) < 0)
			berth_err(lx->err, 400, "syntax error: missing '}'");
		free(word.p);
		goto out;
	}
	const char *wv = word.p ? word.p : "";
	bool empty = !set || (null_is_unset && !*value);
	rc = 0;
	if (ch == '-') {
		sb_putn(out, empty ? wv : value, strlen(empty ? wv : value));
	} else if (ch == '+') {
		if (!empty)
			sb_putn(out, wv, strlen(wv));
	} else if (!set) {
		rc = berth_err(lx->err, 400, "%s: %s", name.p ? name.p : "",
			       *wv ? wv : "is not allowed to be unset");
	} else if (null_is_unset && !*value) {
		rc = berth_err(lx->err, 400, "%s: %s", name.p ? name.p : "",
			       *wv ? wv : "is not allowed to be empty");
	} else {
		sb_putn(out, value, strlen(value));
	}
	free(word.p);
out:
	free(name.p);
	return rc;
}

char *dockerfile_expand_word(const char *word, char escape, dockerfile_lookup_fn lookup, void *ctx,
			     struct berth_error *err)
{
	struct lexer lx = {.s = word, .escape = escape, .lookup = lookup, .ctx = ctx, .err = err};
	struct sbuf out = {0};
	if (scan(&lx, -1, &out, NULL) < 0) {
		free(out.p);
		return NULL;
	}
	if (!out.p) {
		out.p = strdup("");
		if (!out.p)
			abort();
	}
	return out.p;
}

char **dockerfile_expand_words(const char *line, char escape, dockerfile_lookup_fn lookup,
			       void *ctx, struct berth_error *err)
{
	struct lexer lx = {.s = line, .escape = escape, .lookup = lookup, .ctx = ctx, .err = err};
	struct sbuf out = {0};
	struct words w = {0};
	int rc = scan(&lx, -1, &out, &w);
	free(out.p);
	words_end(&w);
	free(w.cur.p);
	if (rc < 0) {
		for (size_t i = 0; i < w.n; i++)
			free(w.v[i]);
		free(w.v);
		return NULL;
	}
	if (!w.v) {
		w.v = calloc(1, sizeof(*w.v));
		if (!w.v)
			abort();
	}
	return w.v;
}

bool dockerfile_kind_expands(enum dockerfile_kind kind)
{
	switch (kind) {
	case DF_ADD:
	case DF_COPY:
	case DF_ENV:
	case DF_EXPOSE:
	case DF_FROM:
	case DF_LABEL:
	case DF_STOPSIGNAL:
	case DF_USER:
	case DF_VOLUME:
	case DF_WORKDIR:
	case DF_ARG:
		return true;
	default:
		return false;
	}
}
