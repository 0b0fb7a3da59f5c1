/* A Go text/template subset for --format: field paths, .Label, json, upper, lower, join, index. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static int qsort_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go prints values with fmt's %v: maps as map[k:v], slices as [a b]. */
static void print_value(FILE *out, json_t *v, bool missing)
{
	if (missing) {
		fputs("<no value>", out);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		fwrite(json_string_value(v), 1, json_string_length(v), out);
		break;
	case JSON_INTEGER:
		fprintf(out, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(out, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", out);
		break;
	case JSON_FALSE:
		fputs("false", out);
		break;
	case JSON_NULL:
		fputs("<nil>", out);
		break;
	case JSON_ARRAY: {
		fputc('[', out);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				fputc(' ', out);
			print_value(out, json_array_get(v, i), false);
		}
		fputc(']', out);
		break;
	}
	case JSON_OBJECT: {
		/* Go sorts map keys when printing. */
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n + 1, sizeof(*keys));
		const char *k;
		json_t *val;
		json_object_foreach(v, k, val) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), qsort_strcmp);
		fputs("map[", out);
		for (i = 0; i < n; i++) {
			if (i)
				fputc(' ', out);
			fprintf(out, "%s:", keys[i]);
			print_value(out, json_object_get(v, keys[i]), false);
		}
		fputc(']', out);
		free(keys);
		break;
	}
	}
}

/* Tokens of one action: words and quoted strings (unquoted in place). */
struct tokens {
	char *tok[16];
	bool quoted[16];
	int n;
};

static int tokenize(char *s, struct tokens *t, struct berth_error *err)
{
	t->n = 0;
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (t->n == 16)
			return berth_err(err, 400, "template: action too long");
		if (*s == '"') {
			char *start = ++s, *w = s;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1]) {
					s++;
					*w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
					s++;
					continue;
				}
				*w++ = *s++;
			}
			if (*s != '"')
				return berth_err(err, 400, "template: unterminated quoted string");
			s++;
			*w = '\0';
			t->quoted[t->n] = true;
			t->tok[t->n++] = start;
			continue;
		}
		t->quoted[t->n] = false;
		t->tok[t->n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	return 0;
}

/* Resolve ".A.B" against dot; returns a borrowed value or NULL when missing. */
static json_t *lookup(json_t *dot, const char *path)
{
	if (!strcmp(path, "."))
		return dot;
	json_t *cur = dot;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path + 1);
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part;
	     part = strtok_r(NULL, ".", &save)) {
		if (!json_is_object(cur))
			return NULL;
		cur = json_object_get(cur, part);
		if (!cur)
			return NULL;
	}
	return cur;
}

static void header_for(FILE *out, json_t *headers, const char *path)
{
	const char *last = strrchr(path, '.');
	const char *field = last ? last + 1 : path;
	if (!strcmp(path, "."))
		field = "";
	const char *h = json_string_value(json_object_get(headers, field));
	if (h) {
		fputs(h, out);
		return;
	}
	for (const char *p = field; *p; p++)
		fputc(toupper((unsigned char)*p), out);
}

/* Evaluate argument i to a new reference; *missing when a path did not resolve. */
static json_t *eval_arg(struct tokens *t, int i, json_t *dot, bool *missing)
{
	*missing = false;
	if (t->quoted[i])
		return json_string(t->tok[i]);
	if (t->tok[i][0] == '.') {
		/* .Label "k" is the one method we support: labels live under "_labels". */
		if (!strcmp(t->tok[i], ".Label") && i + 1 < t->n) {
			json_t *v = json_object_get(json_object_get(dot, "_labels"), t->tok[i + 1]);
			return json_string(json_string_value(v) ? json_string_value(v) : "");
		}
		json_t *v = lookup(dot, t->tok[i]);
		if (!v) {
			*missing = true;
			return json_null();
		}
		return json_incref(v);
	}
	char *end;
	long long n = strtoll(t->tok[i], &end, 10);
	if (!*end)
		return json_integer(n);
	return json_string(t->tok[i]);
}

static int exec_action(FILE *out, char *action, json_t *dot, json_t *headers,
		       struct berth_error *err)
{
	struct tokens t;
	if (tokenize(action, &t, err) < 0)
		return -1;
	if (t.n == 0)
		return berth_err(err, 400, "template: missing value for command");
	const char *fn = t.tok[0];
	bool is_fn = !t.quoted[0] && fn[0] != '.';
	if (headers) {
		/* Header mode: every function returns its argument's header. */
		int arg = is_fn ? 1 : 0;
		if (arg >= t.n)
			return 0;
		if (!strcmp(t.tok[arg], ".Label") && arg + 1 < t.n) {
			const char *k = t.tok[arg + 1];
			const char *dot_pos = strrchr(k, '.');
			for (const char *p = dot_pos ? dot_pos + 1 : k; *p; p++)
				fputc(*p == '-' || *p == '_' ? ' ' : toupper((unsigned char)*p),
				      out);
			return 0;
		}
		if (t.tok[arg][0] == '.')
			header_for(out, headers, t.tok[arg]);
		return 0;
	}
	bool missing;
	if (!is_fn) {
		json_t *v = eval_arg(&t, 0, dot, &missing);
		print_value(out, v, missing);
		json_decref(v);
		return 0;
	}
	if (t.n < 2)
		return berth_err(err, 400, "template: wrong number of args for %s", fn);
	json_t *v = eval_arg(&t, 1, dot, &missing);
	int rc = 0;
	if (!strcmp(fn, "json")) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputs(s ? s : "null", out);
		free(s);
	} else if (!strcmp(fn, "upper") || !strcmp(fn, "lower") || !strcmp(fn, "title")) {
		const char *s = json_string_value(v) ? json_string_value(v) : "";
		for (const char *p = s; *p; p++) {
			int c = (unsigned char)*p;
			if (fn[0] == 'u')
				c = toupper(c);
			else if (fn[0] == 'l')
				c = tolower(c);
			else if (p == s || p[-1] == ' ')
				c = toupper(c);
			fputc(c, out);
		}
	} else if (!strcmp(fn, "join") && t.n >= 3) {
		const char *sep = t.tok[2];
		for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
			if (i)
				fputs(sep, out);
			print_value(out, json_array_get(v, i), false);
		}
	} else if (!strcmp(fn, "index") && t.n >= 3) {
		json_t *r = json_is_object(v)  ? json_object_get(v, t.tok[2])
			    : json_is_array(v) ? json_array_get(v, (size_t)atoll(t.tok[2]))
					       : NULL;
		print_value(out, r, r == NULL);
	} else {
		rc = berth_err(err, 400, "template: function \"%s\" not defined", fn);
	}
	json_decref(v);
	return rc;
}

char *cli_template_render(const char *tmpl, json_t *dot, json_t *headers, struct berth_error *err)
{
	char *result = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&result, &len);
	const char *p = tmpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *lit_end = open ? open : p + strlen(p);
		for (const char *q = p; q < lit_end; q++) {
			if (q[0] == '\\' && q + 1 < lit_end && (q[1] == 't' || q[1] == 'n')) {
				fputc(q[1] == 't' ? '\t' : '\n', out);
				q++;
			} else {
				fputc(*q, out);
			}
		}
		if (!open)
			break;
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			fclose(out);
			free(result);
			berth_err(err, 400,
				  "template parsing error: template: :1: unclosed action");
			return NULL;
		}
		size_t alen = (size_t)(close - open - 2);
		char *action = strndup(open + 2, alen);
		char *a = action;
		if (*a == '-')
			a++;
		size_t al = strlen(a);
		if (al && a[al - 1] == '-')
			a[al - 1] = '\0';
		int rc = exec_action(out, a, dot, headers, err);
		free(action);
		if (rc < 0) {
			fclose(out);
			free(result);
			return NULL;
		}
		p = close + 2;
	}
	fclose(out);
	return result;
}

/* Drop private ("_") keys for {{json .}} and the json format. */
static json_t *public_copy(json_t *row)
{
	json_t *copy = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(row, k, v) if (k[0] != '_') json_object_set(copy, k, v);
	return copy;
}

int cli_format_rows(FILE *out, const char *format, json_t *rows, json_t *headers,
		    struct berth_error *err)
{
	size_t i;
	json_t *row;
	if (!strcmp(format, "json")) {
		json_array_foreach(rows, i, row)
		{
			json_t *pub = public_copy(row);
			char *s = json_dumps(pub, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fprintf(out, "%s\n", s);
			free(s);
			json_decref(pub);
		}
		return 0;
	}
	bool table = !strncmp(format, "table", 5) &&
		     (format[5] == '\0' || isspace((unsigned char)format[5]));
	const char *tmpl = table ? format + 5 : format;
	while (table && isspace((unsigned char)*tmpl))
		tmpl++;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (table) {
		json_t *empty = json_object();
		char *h = cli_template_render(tmpl, NULL, headers ? headers : empty, err);
		json_decref(empty);
		if (!h) {
			fclose(mem);
			free(buf);
			return -1;
		}
		fprintf(mem, "%s\n", h);
		free(h);
	}
	json_array_foreach(rows, i, row)
	{
		json_t *dot = row;
		json_t *pub = NULL;
		if (strstr(tmpl, "json .}}") || strstr(tmpl, "json . }}"))
			dot = pub = public_copy(row);
		char *line = cli_template_render(tmpl, dot, NULL, err);
		json_decref(pub);
		if (!line) {
			fclose(mem);
			free(buf);
			return -1;
		}
		fprintf(mem, "%s\n", line);
		free(line);
	}
	fclose(mem);
	if (table) {
		char *t = cli_tabwrite(buf, 10, 3);
		fputs(t, out);
		free(t);
	} else {
		fputs(buf, out);
	}
	free(buf);
	return 0;
}
