/* A small Docker-style (pflag) flag parser: combined short flags, --x=v, repeated flags, "--". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

size_t cli_flags_count(const struct cli_flag *flags)
{
	size_t n = 0;
	while (flags && flags[n].name)
		n++;
	return n;
}

static const struct cli_flag *find_long(const struct cli_flag *flags, const char *name, size_t len,
					size_t *idx)
{
	for (size_t i = 0; flags && flags[i].name; i++) {
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) {
			*idx = i;
			return &flags[i];
		}
	}
	return NULL;
}

static const struct cli_flag *find_short(const struct cli_flag *flags, char c, size_t *idx)
{
	for (size_t i = 0; flags && flags[i].name; i++) {
		if (flags[i].shorthand && flags[i].shorthand == c) {
			*idx = i;
			return &flags[i];
		}
	}
	return NULL;
}

static void flag_label(const struct cli_flag *f, char *out, size_t size)
{
	if (f->shorthand)
		snprintf(out, size, "-%c, --%s", f->shorthand, f->name);
	else
		snprintf(out, size, "--%s", f->name);
}

static int set_value(const struct cli_flag *f, struct cli_value *v, const char *val,
		     struct berth_error *err)
{
	char label[128];
	v->set = true;
	switch (f->type) {
	case CLI_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "t") ||
		    !strcmp(val, "TRUE") || !strcmp(val, "True")) {
			v->b = true;
		} else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "f") ||
			   !strcmp(val, "FALSE") || !strcmp(val, "False")) {
			v->b = false;
		} else {
			flag_label(f, label, sizeof(label));
			return berth_err(
			    err, 400,
			    "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: "
			    "parsing \"%s\": invalid syntax",
			    val, label, val);
		}
		return 0;
	case CLI_STRING:
		v->s = val;
		return 0;
	case CLI_INT: {
		char *end;
		errno = 0;
		long n = strtol(val, &end, 10);
		if (!*val || *end || errno) {
			flag_label(f, label, sizeof(label));
			return berth_err(
			    err, 400,
			    "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: "
			    "parsing \"%s\": invalid syntax",
			    val, label, val);
		}
		v->n = n;
		v->s = val;
		return 0;
	}
	case CLI_LIST: {
		const char **l = realloc(v->list, (v->count + 2) * sizeof(*l));
		if (!l)
			return berth_err(err, 500, "out of memory");
		l[v->count++] = val;
		l[v->count] = NULL;
		v->list = l;
		v->s = val;
		return 0;
	}
	}
	return 0;
}

/* One "--name[=value]" argument; may consume the next argv entry. */
static int parse_long(struct cli_args *a, int argc, char **argv, int *i, struct berth_error *err)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	size_t idx;
	const struct cli_flag *f = find_long(a->flags, arg, len, &idx);
	if (!f) {
		if (len == 4 && !strncmp(arg, "help", 4)) {
			a->help = true;
			return 0;
		}
		return berth_err(err, 400, "unknown flag: --%.*s", (int)len, arg);
	}
	if (eq)
		return set_value(f, &a->v[idx], eq + 1, err);
	if (f->type == CLI_BOOL)
		return set_value(f, &a->v[idx], NULL, err);
	if (*i + 1 >= argc)
		return berth_err(err, 400, "flag needs an argument: --%s", f->name);
	return set_value(f, &a->v[idx], argv[++*i], err);
}

/* "-dit", "-eA=B", "-e A=B", "-p=80". */
static int parse_short(struct cli_args *a, int argc, char **argv, int *i, struct berth_error *err)
{
	const char *arg = argv[*i];
	for (const char *p = arg + 1; *p; p++) {
		size_t idx;
		const struct cli_flag *f = find_short(a->flags, *p, &idx);
		if (!f) {
			if (*p == 'h') {
				a->help = true;
				continue;
			}
			return berth_err(err, 400, "unknown shorthand flag: '%c' in %s", *p, arg);
		}
		if (f->type == CLI_BOOL) {
			if (p[1] == '=')
				return set_value(f, &a->v[idx], p + 2, err);
			if (set_value(f, &a->v[idx], NULL, err) < 0)
				return -1;
			continue;
		}
		if (p[1] == '=')
			return set_value(f, &a->v[idx], p + 2, err);
		if (p[1])
			return set_value(f, &a->v[idx], p + 1, err);
		if (*i + 1 >= argc)
			return berth_err(err, 400, "flag needs an argument: '%c' in -%c", *p, *p);
		return set_value(f, &a->v[idx], argv[++*i], err);
	}
	return 0;
}

int cli_args_parse(struct cli_args *a, const struct cli_flag *flags, int argc, char **argv,
		   bool interspersed, struct berth_error *err)
{
	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->nflags = cli_flags_count(flags);
	a->v = calloc(a->nflags + 1, sizeof(*a->v));
	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	if (!a->v || !a->pos)
		return berth_err(err, 500, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--")) {
			while (++i < argc)
				a->pos[a->npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			a->pos[a->npos++] = argv[i];
			if (!interspersed) {
				while (++i < argc)
					a->pos[a->npos++] = argv[i];
				break;
			}
			continue;
		}
		int rc = arg[1] == '-' ? parse_long(a, argc, argv, &i, err)
				       : parse_short(a, argc, argv, &i, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

void cli_args_free(struct cli_args *a)
{
	for (size_t i = 0; a->v && i < a->nflags; i++)
		free(a->v[i].list);
	free(a->v);
	free(a->pos);
	a->v = NULL;
	a->pos = NULL;
}

void cli_flags_print(FILE *out, const struct cli_flag *flags)
{
	size_t width = 0;
	char left[160];
	for (size_t i = 0; flags && flags[i].name; i++) {
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		if (strlen(left) > width)
			width = strlen(left);
	}
	fprintf(out, "\nOptions:\n");
	for (size_t i = 0; flags && flags[i].name; i++) {
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		if (flags[i].shorthand)
			fprintf(out, "  -%c, ", flags[i].shorthand);
		else
			fprintf(out, "      ");
		fprintf(out, "%-*s   %s\n", (int)width, left, flags[i].help ? flags[i].help : "");
	}
}
