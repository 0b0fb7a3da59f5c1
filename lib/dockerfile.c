/* The Dockerfile parser: lines, directives, continuations, comments, heredocs, then stages. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile_internal.h"

#define MAX_LINE 65535 /* Go's bufio.MaxScanTokenSize - 1 */

static size_t skip_space(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && isspace((unsigned char)p[i]))
		i++;
	return i;
}

static bool is_comment(const char *p, size_t n)
{
	size_t i = skip_space(p, n);
	return i < n && p[i] == '#';
}

struct directives {
	bool done, seen_escape, seen_syntax, seen_check;
	char escape;
	const char *syntax;
	size_t syntax_len;
};

/* Docker's DirectiveParser.ParseLine: `# key=value` lines before anything else. */
static int directive_line(struct directives *d, const char *p, size_t n, struct berth_error *err)
{
	if (d->done)
		return 0;
	if (n == 0 || p[0] != '#') {
		d->done = true;
		return 0;
	}
	size_t i = 1 + skip_space(p + 1, n - 1);
	size_t k0 = i;
	if (i >= n || !isalpha((unsigned char)p[i])) {
		d->done = true;
		return 0;
	}
	while (i < n && isalnum((unsigned char)p[i]))
		i++;
	size_t klen = i - k0;
	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (i >= n || p[i] != '=') {
		d->done = true;
		return 0;
	}
	i++;
	i += skip_space(p + i, n - i);
	size_t end = n;
	while (end > i && isspace((unsigned char)p[end - 1]))
		end--;
	if (end == i) {
		d->done = true;
		return 0;
	}
	bool *seen;
	if (klen == 6 && strncasecmp(p + k0, "escape", 6) == 0)
		seen = &d->seen_escape;
	else if (klen == 6 && strncasecmp(p + k0, "syntax", 6) == 0)
		seen = &d->seen_syntax;
	else if (klen == 5 && strncasecmp(p + k0, "check", 5) == 0)
		seen = &d->seen_check;
	else {
		d->done = true;
		return 0;
	}
	if (*seen)
		return berth_err(err, 400, "only one %.*s parser directive can be used", (int)klen,
				 p + k0);
	*seen = true;
	if (seen == &d->seen_escape) {
		if (end - i != 1 || (p[i] != '`' && p[i] != '\\'))
			return berth_err(err, 400,
					 "invalid escape token '%.*s' does not match ` or \\",
					 (int)(end - i), p + i);
		d->escape = p[i];
	} else if (seen == &d->seen_syntax) {
		d->syntax = p + i;
		d->syntax_len = end - i;
	}
	return 0;
}

/* Docker's lineContinuationRegex: an escape char (not itself escaped-looking) then blanks. */
static bool trim_continuation(const char *p, size_t *n, char escape)
{
	size_t e = *n;
	while (e && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	if (e == 0 || p[e - 1] != escape)
		return false;
	if (e >= 2 && p[e - 2] == escape)
		return false;
	*n = e - 1;
	return true;
}

struct parsed_line {
	struct df_node node;
	int line, end_line;
	char *original;
};

/* Docker's parser.Parse: the AST pass. Errors here carry no line, as Docker prints them. */
static int parse_lines(struct dockerfile *df, const char *buf, size_t len, struct parsed_line **out,
		       size_t *nout, struct berth_error *err)
{
	struct df_scanner sc = {.buf = buf, .len = len};
	struct directives d = {.escape = '\\'};
	struct parsed_line *lines = NULL;
	size_t n = 0, cap = 0;
	const char *l;
	size_t ln;
	char *acc = NULL;
	size_t alen = 0, acap = 0;
	int rc = -1;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		sc.off = 3;
	while (df_next_line(&sc, &l, &ln)) {
		if (df_trim_newline(l, ln) > MAX_LINE) {
			berth_err(err, 400, "dockerfile line greater than max allowed size of %d",
				  MAX_LINE);
			goto out;
		}
		size_t t = df_trim_newline(l, ln);
		size_t s0 = skip_space(l, t);
		if (directive_line(&d, l + s0, t - s0, err) < 0)
			goto out;
		if (is_comment(l, t))
			continue;
		size_t cn = t - s0;
		const char *cp = l + s0;
		int start = sc.line;
		bool cont = trim_continuation(cp, &cn, d.escape);
		if (!cont && cn == 0)
			continue;
		alen = 0;
		df_buf_append(&acc, &alen, &acap, cp, cn);
		while (cont && df_next_line(&sc, &l, &ln)) {
			t = df_trim_newline(l, ln);
			if (t > MAX_LINE) {
				berth_err(err, 400,
					  "dockerfile line greater than max allowed size of %d",
					  MAX_LINE);
				goto out;
			}
			if (is_comment(l, t))
				continue;
			if (skip_space(l, t) == t)
				continue;
			cn = t;
			cont = trim_continuation(l, &cn, d.escape);
			df_buf_append(&acc, &alen, &acap, l, cn);
		}
		if (n == DOCKERFILE_MAX_INSTRUCTIONS) {
			berth_err(err, 400, "Dockerfile has more than %d instructions",
				  DOCKERFILE_MAX_INSTRUCTIONS);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct parsed_line *nl = realloc(lines, cap * sizeof(*lines));
			if (!nl)
				abort();
			lines = nl;
		}
		struct parsed_line *pl = &lines[n];
		memset(pl, 0, sizeof(*pl));
		pl->line = start;
		while (alen && isspace((unsigned char)acc[alen - 1]))
			alen--; /* Docker prints strings.TrimSpace(original) in "Step N/M :" */
		pl->original = df_strndup(&df->arena, acc, alen);
		df_split_command(&df->arena, pl->original, d.escape, &pl->node);
		if (strstr(pl->original, "<<") &&
		    df_can_contain_heredoc(&df->arena, &pl->node, d.escape) &&
		    df_read_heredocs(&df->arena, &sc, pl->original, d.escape, &pl->node, err) < 0)
			goto out;
		pl->end_line = sc.line;
		n++;
	}
	if (n == 0) {
		berth_err(err, 400, "file with no instructions");
		goto out;
	}
	df->escape = d.escape;
	if (d.syntax)
		df->syntax = df_strndup(&df->arena, d.syntax, d.syntax_len);
	*out = lines;
	*nout = n;
	lines = NULL;
	rc = 0;
out:
	free(acc);
	free(lines);
	return rc;
}

static int build_stages(struct dockerfile *df, struct berth_error *err)
{
	df->stages = df_alloc(&df->arena, (df->ninstrs + 1) * sizeof(*df->stages));
	for (size_t i = 0; i < df->ninstrs; i++) {
		struct dockerfile_instr *in = &df->instrs[i];
		if (in->kind == DF_FROM) {
			if (in->stage_name && dockerfile_stage_find(df, in->stage_name) >= 0)
				return berth_err(err, 400, "duplicate stage name \"%s\"",
						 in->stage_name);
			struct dockerfile_stage *st = &df->stages[df->nstages++];
			st->name = in->stage_name;
			st->from = i;
			st->ninstrs = 1;
		} else if (df->nstages == 0) {
			if (in->kind == DF_ARG) {
				df->nmeta_args++;
				continue;
			}
			return berth_err(err, 400, "no build stage in current context");
		} else {
			df->stages[df->nstages - 1].ninstrs++;
		}
	}
	if (df->nstages == 0)
		return berth_err(err, 400, "no build stage in current context");
	return 0;
}

int dockerfile_parse(const char *buf, size_t len, struct dockerfile **out, struct berth_error *err)
{
	*out = NULL;
	if (len > DOCKERFILE_MAX_SIZE)
		return berth_err(err, 400, "Dockerfile is larger than %u bytes",
				 DOCKERFILE_MAX_SIZE);
	struct dockerfile *df = calloc(1, sizeof(*df));
	if (!df)
		abort();
	struct parsed_line *lines = NULL;
	size_t n = 0;
	if (parse_lines(df, buf, len, &lines, &n, err) < 0)
		goto fail;
	df->instrs = df_alloc(&df->arena, n * sizeof(*df->instrs));
	bool staged = false;
	for (size_t i = 0; i < n; i++) {
		struct dockerfile_instr *in = &df->instrs[i];
		in->line = lines[i].line;
		in->end_line = lines[i].end_line;
		in->original = lines[i].original;
		if (df_instr_build(&df->arena, &lines[i].node, df->escape, in, err) < 0) {
			berth_err_wrap(err, "dockerfile parse error line %d", in->line);
			goto fail;
		}
		df->ninstrs++;
		/* Docker checks the stage order as it goes: a RUN before any FROM fails here. */
		staged = staged || in->kind == DF_FROM;
		if (in->kind != DF_FROM && in->kind != DF_ARG) {
			if (!staged) {
				berth_err(err, 400, "no build stage in current context");
				goto fail;
			}
		}
	}
	if (build_stages(df, err) < 0)
		goto fail;
	free(lines);
	*out = df;
	return 0;
fail:
	free(lines);
	dockerfile_free(df);
	return -1;
}

void dockerfile_free(struct dockerfile *df)
{
	if (!df)
		return;
	df_arena_free(df->arena);
	free(df);
}
