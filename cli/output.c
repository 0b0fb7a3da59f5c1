/* Tables, truncation, sizes, ports and the demultiplexer: how the docker CLI prints things. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/duration.h"
#include "output.h"

size_t cli_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

struct tw_line {
	char **cells;
	size_t ncells;
};

/* Go's tabwriter.format: a column block is a run of lines that all have a terminated cell in
 * this column; its width is the widest cell plus padding, at least minwidth. */
static void tw_format(FILE *out, struct tw_line *lines, size_t line0, size_t line1, size_t nlines,
		      int *widths, size_t nwidths, int minwidth, int padding);

static void tw_write_lines(FILE *out, struct tw_line *lines, size_t line0, size_t line1,
			   size_t nlines, int *widths, size_t nwidths)
{
	for (size_t i = line0; i < line1; i++) {
		struct tw_line *l = &lines[i];
		for (size_t j = 0; j < l->ncells; j++) {
			fputs(l->cells[j], out);
			if (j < nwidths) {
				int pad = widths[j] - (int)cli_utf8_len(l->cells[j]);
				for (int k = 0; k < pad; k++)
					fputc(' ', out);
			}
		}
		if (i + 1 < nlines)
			fputc('\n', out);
	}
}

static void tw_format(FILE *out, struct tw_line *lines, size_t line0, size_t line1, size_t nlines,
		      int *widths, size_t nwidths, int minwidth, int padding)
{
	size_t column = nwidths;
	for (size_t this = line0; this < line1; this ++) {
		if (lines[this].ncells == 0 || column >= lines[this].ncells - 1)
			continue;
		tw_write_lines(out, lines, line0, this, nlines, widths, nwidths);
		line0 = this;
		int width = minwidth;
		for (; this < line1; this ++) {
			struct tw_line *l = &lines[this];
			if (l->ncells == 0 || column >= l->ncells - 1)
				break;
			int w = (int)cli_utf8_len(l->cells[column]) + padding;
			if (w > width)
				width = w;
		}
		widths[nwidths] = width;
		tw_format(out, lines, line0, this, nlines, widths, nwidths + 1, minwidth, padding);
		line0 = this;
		/* the line at `this` ended the block: it has no cell here, so skipping it is fine
		 */
	}
	tw_write_lines(out, lines, line0, line1, nlines, widths, nwidths);
}

char *cli_tabwrite(const char *text, int minwidth, int padding)
{
	char *copy = strdup(text);
	size_t nlines = 1;
	for (const char *p = text; *p; p++)
		nlines += *p == '\n';
	struct tw_line *lines = calloc(nlines, sizeof(*lines));
	size_t maxcells = 1;
	char *save = copy;
	for (size_t i = 0; i < nlines; i++) {
		char *nl = strchr(save, '\n');
		if (nl)
			*nl = '\0';
		size_t n = 1;
		for (char *p = save; *p; p++)
			n += *p == '\t';
		lines[i].cells = calloc(n, sizeof(char *));
		lines[i].ncells = n;
		if (n > maxcells)
			maxcells = n;
		char *cell = save;
		for (size_t j = 0; j < n; j++) {
			char *tab = strchr(cell, '\t');
			if (tab)
				*tab = '\0';
			lines[i].cells[j] = cell;
			cell = tab ? tab + 1 : cell + strlen(cell);
		}
		save = nl ? nl + 1 : save + strlen(save);
	}
	/* A trailing line with no text has no cells, as in Go. */
	if (lines[nlines - 1].ncells == 1 && lines[nlines - 1].cells[0][0] == '\0')
		lines[nlines - 1].ncells = 0;
	int *widths = calloc(maxcells + 1, sizeof(int));
	char *result = NULL;
	size_t rlen = 0;
	FILE *out = open_memstream(&result, &rlen);
	tw_format(out, lines, 0, nlines, nlines, widths, 0, minwidth, padding);
	fclose(out);
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].cells);
	free(lines);
	free(widths);
	free(copy);
	return result;
}

char *cli_ellipsis(const char *s, size_t max)
{
	if (cli_utf8_len(s) <= max || max == 0)
		return strdup(s);
	size_t chars = 0;
	const char *p = s;
	for (; *p; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80) {
			if (chars == max - 1)
				break;
			chars++;
		}
	}
	size_t keep = (size_t)(p - s);
	char *out = malloc(keep + 4);
	memcpy(out, s, keep);
	memcpy(out + keep, "\xe2\x80\xa6", 4);
	return out;
}

char *cli_go_quote(const char *s)
{
	char *result = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&result, &len);
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
	fclose(out);
	return result;
}

void cli_human_size(double bytes, int precision, char *out, size_t size)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
	int i = 0;
	while (bytes >= 1000 && i < 8) {
		bytes /= 1000;
		i++;
	}
	snprintf(out, size, "%.*g%s", precision, bytes, units[i]);
}

void cli_format_ago(long long created, char *out, size_t size)
{
	char d[64];
	double secs = (double)time(NULL) - (double)created;
	berth_human_duration(secs < 0 ? 0 : secs, d, sizeof(d));
	snprintf(out, size, "%s ago", d);
}

struct port {
	const char *ip;
	const char *type;
	long priv, pub;
};

static int port_cmp(const void *a, const void *b)
{
	const struct port *x = a, *y = b;
	if (x->priv != y->priv)
		return x->priv < y->priv ? -1 : 1;
	int c = strcmp(x->ip, y->ip);
	if (c)
		return c;
	if (x->pub != y->pub)
		return x->pub < y->pub ? -1 : 1;
	return strcmp(x->type, y->type);
}

static void host_port(FILE *out, const char *ip, long port)
{
	if (strchr(ip, ':'))
		fprintf(out, "[%s]:%ld", ip, port);
	else
		fprintf(out, "%s:%ld", ip, port);
}

struct port_group {
	char key[96]; /* "tcp" or "IP/tcp" */
	const char *ip, *type;
	long first, last;
};

static void form_group(FILE *out, bool *sep, const struct port_group *g)
{
	char range[48];
	if (g->first != g->last)
		snprintf(range, sizeof(range), "%ld-%ld", g->first, g->last);
	else
		snprintf(range, sizeof(range), "%ld", g->first);
	if (*sep)
		fputs(", ", out);
	*sep = true;
	if (g->ip)
		fprintf(out, "%s:%s->%s/%s", g->ip, range, range, g->type);
	else
		fprintf(out, "%s/%s", range, g->type);
}

char *cli_format_ports(json_t *ports)
{
	size_t n = json_is_array(ports) ? json_array_size(ports) : 0;
	struct port *p = calloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(ports, i);
		const char *ip = json_string_value(json_object_get(o, "IP"));
		const char *type = json_string_value(json_object_get(o, "Type"));
		p[i].ip = ip ? ip : "";
		p[i].type = type ? type : "tcp";
		p[i].priv = (long)json_integer_value(json_object_get(o, "PrivatePort"));
		p[i].pub = (long)json_integer_value(json_object_get(o, "PublicPort"));
	}
	qsort(p, n, sizeof(*p), port_cmp);
	struct port_group *groups = calloc(n + 1, sizeof(*groups));
	size_t ngroups = 0;
	char *result = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&result, &len);
	char *mappings = NULL;
	size_t mlen = 0;
	FILE *mout = open_memstream(&mappings, &mlen);
	bool sep = false;
	for (size_t i = 0; i < n; i++) {
		char key[96];
		const char *ip = NULL;
		if (p[i].ip[0]) {
			if (p[i].pub != p[i].priv) {
				if (ftell(mout) > 0)
					fputs(", ", mout);
				host_port(mout, p[i].ip, p[i].pub);
				fprintf(mout, "->%ld/%s", p[i].priv, p[i].type);
				continue;
			}
			snprintf(key, sizeof(key), "%s/%s", p[i].ip, p[i].type);
			ip = p[i].ip;
		} else {
			snprintf(key, sizeof(key), "%s", p[i].type);
		}
		struct port_group *g = NULL;
		for (size_t k = 0; k < ngroups; k++)
			if (!strcmp(groups[k].key, key))
				g = &groups[k];
		if (!g) {
			g = &groups[ngroups++];
			snprintf(g->key, sizeof(g->key), "%s", key);
			g->ip = ip;
			g->type = p[i].type;
			g->first = g->last = p[i].priv;
			continue;
		}
		if (p[i].priv == g->last + 1) {
			g->last = p[i].priv;
			continue;
		}
		form_group(out, &sep, g);
		g->first = g->last = p[i].priv;
	}
	for (size_t k = 0; k < ngroups; k++)
		form_group(out, &sep, &groups[k]);
	fclose(mout);
	if (mappings && *mappings) {
		if (sep)
			fputs(", ", out);
		fputs(mappings, out);
	}
	fclose(out);
	free(mappings);
	free(groups);
	free(p);
	return result;
}

int cli_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void cli_demux_init(struct cli_demux *d, int out_fd, int err_fd)
{
	memset(d, 0, sizeof(*d));
	d->out_fd = out_fd;
	d->err_fd = err_fd;
	d->fd = out_fd;
}

int cli_demux_feed(struct cli_demux *d, const char *data, size_t len)
{
	while (len > 0) {
		if (d->remaining == 0) {
			size_t take = 8 - d->hdr_have;
			if (take > len)
				take = len;
			memcpy(d->hdr + d->hdr_have, data, take);
			d->hdr_have += take;
			data += take;
			len -= take;
			if (d->hdr_have < 8)
				return 0;
			d->hdr_have = 0;
			d->fd = d->hdr[0] == 2 ? d->err_fd : d->out_fd;
			d->remaining = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 |
				       (size_t)d->hdr[6] << 8 | d->hdr[7];
			continue;
		}
		size_t take = d->remaining < len ? d->remaining : len;
		if (cli_write_all(d->fd, data, take) < 0)
			return -1;
		d->remaining -= take;
		data += take;
		len -= take;
	}
	return 0;
}
