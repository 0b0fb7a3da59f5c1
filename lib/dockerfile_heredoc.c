/* Heredocs in RUN, COPY and ADD (BuildKit's syntax): the <<WORD words and their bodies. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile_internal.h"

/* The heredoc word without quotes; NULL when it is not a single word. */
static char *heredoc_unquote(const char *s, bool *quoted)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n + 1);
	if (!out)
		abort();
	*quoted = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\'' || c == '"') {
			*quoted = true;
			size_t j = i + 1;
			while (j < n && s[j] != c) {
				if (c == '"' && s[j] == '\\' && j + 1 < n)
					j++;
				out[o++] = s[j++];
			}
			if (j >= n) { /* unterminated: Docker's lexer fails, not a heredoc */
				free(out);
				return NULL;
			}
			i = j;
		} else if (c == '\\' && i + 1 < n) {
			out[o++] = s[++i];
		} else if (isspace((unsigned char)c)) {
			free(out);
			return NULL;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Heredoc words on an instruction line: [digits]<<[-]WORD with no further '<'. */
static void heredocs_from_line(struct dockerfile_arena **arena, const char *line, char escape,
			       struct df_words *names)
{
	size_t n = strlen(line), o = 0;
	char *flat = malloc(n + 1);
	if (!flat)
		abort();
	for (size_t i = 0; i < n; i++) {
		flat[o++] = line[i];
		if (i + 1 < n && line[i] == '<' && line[i + 1] == '<') {
			flat[o++] = line[++i];
			while (i + 1 < n && (line[i + 1] == ' ' || line[i + 1] == '\t'))
				i++;
		}
	}
	flat[o] = '\0';
	struct df_words words = {0};
	df_parse_words(arena, flat, escape, &words);
	free(flat);
	for (size_t w = 0; w < words.n; w++) {
		const char *p = words.v[w];
		while (isdigit((unsigned char)*p))
			p++;
		if (strncmp(p, "<<", 2) != 0)
			continue;
		p += 2;
		if (*p == '-')
			p++;
		if (!*p || strchr(p, '<'))
			continue;
		df_words_push(arena, names, words.v[w]);
	}
}

int df_read_heredocs(struct dockerfile_arena **arena, struct df_scanner *sc, const char *line,
		     char escape, struct df_node *node, struct berth_error *err)
{
	struct df_words words = {0};
	heredocs_from_line(arena, line, escape, &words);
	if (words.n == 0)
		return 0;
	node->heredocs = df_alloc(arena, words.n * sizeof(*node->heredocs));
	for (size_t w = 0; w < words.n; w++) {
		const char *p = words.v[w];
		struct dockerfile_heredoc *h = &node->heredocs[node->nheredocs];
		h->fd = 0;
		while (isdigit((unsigned char)*p)) {
			if (h->fd < 100000)
				h->fd = h->fd * 10 + (*p - '0');
			p++;
		}
		p += 2;
		h->chomp = *p == '-';
		if (h->chomp)
			p++;
		bool quoted;
		char *name = heredoc_unquote(p, &quoted);
		if (!name)
			continue;
		h->name = df_strdup(arena, name);
		free(name);
		h->expand = !quoted;
		char *content = NULL;
		size_t clen = 0, ccap = 0;
		bool terminated = false;
		const char *l;
		size_t ln;
		while (df_next_line(sc, &l, &ln)) {
			size_t t = df_trim_newline(l, ln), s0 = 0;
			if (h->chomp)
				while (s0 < t && l[s0] == '\t')
					s0++;
			if (t - s0 == strlen(h->name) && memcmp(l + s0, h->name, t - s0) == 0) {
				terminated = true;
				break;
			}
			df_buf_append(&content, &clen, &ccap, l + s0, ln - s0);
		}
		h->content = df_strndup(arena, content ? content : "", clen);
		free(content);
		if (!terminated)
			return berth_err(err, 400, "unterminated heredoc");
		node->nheredocs++;
	}
	return 0;
}

/* Docker's canContainHeredoc: RUN, COPY and ADD (also as an ONBUILD trigger), not in JSON form. */
bool df_can_contain_heredoc(struct dockerfile_arena **arena, const struct df_node *node,
			    char escape)
{
	struct df_node trigger = {0};
	if (strcasecmp(node->cmd, "onbuild") == 0) {
		df_split_command(arena, node->rest, escape, &trigger);
		node = &trigger;
	}
	if (strcasecmp(node->cmd, "run") && strcasecmp(node->cmd, "copy") &&
	    strcasecmp(node->cmd, "add"))
		return false;
	struct df_words json = {0};
	return df_parse_json_array(arena, node->rest, &json) == 0;
}
