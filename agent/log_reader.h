/* Reading a container's json-file log (its rotated files first) in bounded slices, so that a
 * large log is sent over many loop turns instead of blocking the agent's loop. */
#ifndef BERTH_LOG_READER_H
#define BERTH_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define LOG_READER_SLICE (64 << 10)

struct log_reader_opts {
	bool want_stdout, want_stderr;
	bool timestamps; /* prefix each line with its RFC 3339 time and a space, as Docker does */
	bool tty;	 /* raw lines; else behind Docker's 8-byte stream headers */
	long tail;	 /* only the last N lines that pass the filters; < 0: all */
	int64_t since_ns, until_ns; /* 0: unbounded */
	size_t slice;		    /* bytes read per step; 0: LOG_READER_SLICE */
};

struct log_reader;

/* Open path and path.1 … path.N as they are now: later writes and rotations are not read
 * (with follow, the caller takes live output from the moment it opens the reader). Never
 * fails: missing files read as empty. */
struct log_reader *log_reader_open(const char *path, const struct log_reader_opts *opts);
/* Read one slice (opts.slice bytes at most, more only for a line longer than that) and append
 * the frames of the lines that pass to out. 1: call again; 0: everything was read. */
int log_reader_step(struct log_reader *r, struct evbuffer *out);
void log_reader_free(struct log_reader *r);

/* One log line as a frame, with its time in front when timestamps is set. */
void log_frame_add(struct evbuffer *out, bool tty, int stream, int64_t ts, const char *text,
		   size_t len, bool timestamps);

#endif
