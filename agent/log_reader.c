/* A container's json-file log read a slice at a time: with tail, a backward scan from the end
 * finds where the last N matching lines start, then a forward pass sends them. Memory stays at
 * a slice plus the longest line, whatever the size of the log. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "berth/duration.h"
#include "api_containers.h"
#include "log_reader.h"

#define LOG_MAX_ROTATED 100

struct log_file {
	int fd;
	off_t size; /* as it was at open: what is written later comes live, not from here */
};

struct log_reader {
	struct log_reader_opts o;
	struct log_file files[LOG_MAX_ROTATED + 1]; /* oldest first */
	size_t n_files;
	bool tail_scan; /* scanning backward for the start of the tail */
	bool done;
	size_t fi;  /* the file being read */
	off_t pos;  /* forward: next offset to read; backward: where the unscanned part ends */
	long found; /* backward: matching lines seen so far */
	char
	    *carry; /* a line cut by the slice's edge: its start (forward) or its head (backward) */
	size_t carry_len, carry_cap;
};

void log_frame_add(struct evbuffer *out, bool tty, int stream, int64_t ts, const char *text,
		   size_t len, bool timestamps)
{
	if (!timestamps) {
		api_frame_add(out, tty, stream, text, len);
		return;
	}
	char stamp[48];
	berth_format_rfc3339(ts, stamp, sizeof(stamp));
	size_t sl = strlen(stamp);
	char *buf = malloc(sl + 1 + len);
	if (!buf)
		abort();
	memcpy(buf, stamp, sl);
	buf[sl] = ' ';
	memcpy(buf + sl + 1, text, len);
	api_frame_add(out, tty, stream, buf, sl + 1 + len);
	free(buf);
}

/* Whether a json-file line passes the filters; when out is set, its frame is appended. */
static bool line_take(struct log_reader *r, const char *p, size_t n, struct evbuffer *out)
{
	if (n == 0)
		return false;
	json_t *j = json_loadb(p, n, 0, NULL);
	if (!j)
		return false;
	const char *stream = json_string_value(json_object_get(j, "stream"));
	int s = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;
	int64_t ts = berth_parse_rfc3339(json_string_value(json_object_get(j, "time")));
	json_t *log = json_object_get(j, "log");
	bool take = ((s == 1 && r->o.want_stdout) || (s == 2 && r->o.want_stderr)) &&
		    json_is_string(log) && (r->o.since_ns == 0 || ts >= r->o.since_ns) &&
		    (r->o.until_ns == 0 || ts <= r->o.until_ns);
	if (take && out)
		log_frame_add(out, r->o.tty, s, ts, json_string_value(log), json_string_length(log),
			      r->o.timestamps);
	json_decref(j);
	return take;
}

static void carry_reserve(struct log_reader *r, size_t need)
{
	if (need <= r->carry_cap)
		return;
	size_t cap = r->carry_cap ? r->carry_cap : 4096;
	while (cap < need)
		cap *= 2;
	r->carry = realloc(r->carry, cap);
	if (!r->carry)
		abort();
	r->carry_cap = cap;
}

/* Read [off, off + n) of file f into dst; a short read means the file shrank: it ends there. */
static size_t read_at(struct log_file *f, char *dst, off_t off, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(f->fd, dst + got, n - got, off + (off_t)got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got < n)
		f->size = off + (off_t)got;
	return got;
}

struct log_reader *log_reader_open(const char *path, const struct log_reader_opts *opts)
{
	struct log_reader *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->o = *opts;
	if (!r->o.slice)
		r->o.slice = LOG_READER_SLICE;
	size_t plen = path ? strlen(path) : 0;
	char *name = malloc(plen + 16);
	if (!name)
		abort();
	int last = 0;
	for (int i = 1; plen && i <= LOG_MAX_ROTATED; i++) {
		struct stat st;
		snprintf(name, plen + 16, "%s.%d", path, i);
		if (stat(name, &st) < 0)
			break;
		last = i;
	}
	for (int i = plen ? last : -1; i >= 0; i--) {
		if (i > 0)
			snprintf(name, plen + 16, "%s.%d", path, i);
		else
			snprintf(name, plen + 16, "%s", path);
		int fd = open(name, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || st.st_size == 0) {
			close(fd);
			continue;
		}
		r->files[r->n_files++] = (struct log_file){fd, st.st_size};
	}
	free(name);
	if (r->o.tail == 0 || r->n_files == 0) {
		r->done = true;
	} else if (r->o.tail > 0) {
		r->tail_scan = true;
		r->fi = r->n_files - 1;
		r->pos = r->files[r->fi].size;
	}
	return r;
}

/* The tail starts at (fi, off): read forward from there. */
static void start_forward(struct log_reader *r, size_t fi, off_t off)
{
	r->tail_scan = false;
	r->fi = fi;
	r->pos = off;
	r->carry_len = 0;
}

/* One slice backward: [start, pos) followed by the head of the line cut last time. */
static void step_backward(struct log_reader *r)
{
	struct log_file *f = &r->files[r->fi];
	off_t start = r->pos > (off_t)r->o.slice ? r->pos - (off_t)r->o.slice : 0;
	size_t n = (size_t)(r->pos - start);
	char *data = malloc(n + r->carry_len + 1);
	if (!data)
		abort();
	if (read_at(f, data, start, n) < n) {
		/* Shrunk under us (not by berth: the shim only appends and renames). */
		free(data);
		start_forward(r, r->fi, 0);
		return;
	}
	if (r->carry_len)
		memcpy(data + n, r->carry, r->carry_len);
	size_t len = n + r->carry_len;
	/* Complete lines, last first: each segment after a newline, and the first one when the
	 * file starts here. */
	size_t end = len;
	for (size_t i = len; i-- > 0;) {
		if (data[i] != '\n')
			continue;
		if (line_take(r, data + i + 1, end - i - 1, NULL) && ++r->found == r->o.tail) {
			start_forward(r, r->fi, start + (off_t)i + 1);
			free(data);
			return;
		}
		end = i;
	}
	if (start > 0) {
		carry_reserve(r, end);
		memcpy(r->carry, data, end);
		r->carry_len = end;
		r->pos = start;
		free(data);
		return;
	}
	bool take = line_take(r, data, end, NULL) && ++r->found == r->o.tail;
	free(data);
	if (take || r->fi == 0) {
		start_forward(r, r->fi, 0);
		return;
	}
	r->fi--;
	r->pos = r->files[r->fi].size;
	r->carry_len = 0;
}

/* One slice forward: the lines it completes go out; a cut line waits in carry. */
static void step_forward(struct log_reader *r, struct evbuffer *out)
{
	struct log_file *f = &r->files[r->fi];
	size_t want = (size_t)(f->size - r->pos);
	if (want > r->o.slice)
		want = r->o.slice;
	carry_reserve(r, r->carry_len + want + 1); /* never NULL, even for an empty read */
	size_t got = read_at(f, r->carry + r->carry_len, r->pos, want);
	r->pos += (off_t)got;
	size_t len = r->carry_len + got;
	size_t begin = 0;
	for (char *nl; (nl = memchr(r->carry + begin, '\n', len - begin));) {
		size_t e = (size_t)(nl - r->carry);
		line_take(r, r->carry + begin, e - begin, out);
		begin = e + 1;
	}
	if (r->pos >= f->size) {
		/* The file's last line may lack its newline: it is a line all the same. */
		line_take(r, r->carry + begin, len - begin, out);
		r->carry_len = 0;
		r->pos = 0;
		if (++r->fi == r->n_files)
			r->done = true;
		return;
	}
	memmove(r->carry, r->carry + begin, len - begin);
	r->carry_len = len - begin;
}

int log_reader_step(struct log_reader *r, struct evbuffer *out)
{
	if (r->done)
		return 0;
	if (r->tail_scan)
		step_backward(r);
	else
		step_forward(r, out);
	return r->done ? 0 : 1;
}

void log_reader_free(struct log_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++)
		close(r->files[i].fd);
	free(r->carry);
	free(r);
}
