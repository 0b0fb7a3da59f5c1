/* Output formatting as the docker CLI does it: tabwriter tables, Go-like templates, truncation,
 * ports, sizes. */
#ifndef BERTH_CLI_OUTPUT_H
#define BERTH_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "berth/error.h"

/* Go's text/tabwriter with docker's settings (minwidth 10, tabwidth 1, padding 3, ' '):
 * cells end with '\t', lines with '\n'; widths count UTF-8 characters. Returns malloc'd text. */
char *cli_tabwrite(const char *text, int minwidth, int padding);

/* Cut s to max characters, the last one "…", as docker's formatter.Ellipsis; malloc'd. */
char *cli_ellipsis(const char *s, size_t max);
/* Go's strconv.Quote; malloc'd. */
char *cli_go_quote(const char *s);
/* Characters (not bytes) in a UTF-8 string. */
size_t cli_utf8_len(const char *s);

/* docker's units.HumanSizeWithPrecision (decimal units): "4.26MB", "0B". */
void cli_human_size(double bytes, int precision, char *out, size_t size);
/* PORTS as docker's DisplayablePorts: sorted, consecutive ports grouped; malloc'd. */
char *cli_format_ports(json_t *ports);
/* "3 minutes ago" for a unix time in seconds. */
void cli_format_ago(long long created, char *out, size_t size);

/* Evaluate a Go-template subset ({{.A.B}}, {{.Label "k"}}, {{json .X}}, {{upper .X}},
 * {{lower .X}}, {{join .X ","}}, {{index .X "k"}}) against dot. headers (a JSON object
 * field → header text) selects header mode, as docker's HeaderFunctions do. "\t" and "\n"
 * escapes in the text become tabs and newlines. Returns malloc'd text or NULL with err. */
char *cli_template_render(const char *tmpl, json_t *dot, json_t *headers, struct berth_error *err);

/* Print rows (an array of per-row context objects) with a docker --format string: "table ...",
 * "json", or a plain template. Object keys starting with "_" are private (not in json). */
int cli_format_rows(FILE *out, const char *format, json_t *rows, json_t *headers,
		    struct berth_error *err);

/* Write all of buf to fd, retrying on EINTR/short writes. */
int cli_write_all(int fd, const void *buf, size_t len);

/* The 8-byte frame demultiplexer for attach/logs/exec streams (Tty=false). */
struct cli_demux {
	unsigned char hdr[8];
	size_t hdr_have;
	size_t remaining; /* payload bytes left in the current frame */
	int fd;		  /* where the current frame goes */
	int out_fd, err_fd;
};
void cli_demux_init(struct cli_demux *d, int out_fd, int err_fd);
/* Feed stream bytes; payloads go to out_fd (stream 0/1) or err_fd (2). -1 on a write error. */
int cli_demux_feed(struct cli_demux *d, const char *data, size_t len);

#endif
