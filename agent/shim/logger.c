/* The container's log in Docker's json-file format: one JSON object per line, rotated by size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define LINE_MAX_BYTES 16384

static struct {
	int fd;
	const char *path;
	int64_t max_size;
	int max_file;
	int64_t size;
	size_t line_len[2];
	char line[2][LINE_MAX_BYTES] __attribute__((aligned(4096))); /* partial line per stream */
	/* one encoded line: at most 6 bytes per input byte */
	char out[8 * LINE_MAX_BYTES] __attribute__((aligned(4096)));
} log_state = {.fd = -1};

int64_t shim_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void shim_format_time(char *buf, size_t size, int64_t ns)
{
	time_t secs = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09lldZ", (long long)(ns % 1000000000));
}

static void log_reopen(void)
{
	if (log_state.fd >= 0)
		close(log_state.fd);
	log_state.fd = open(log_state.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	log_state.size = log_state.fd >= 0 && fstat(log_state.fd, &st) == 0 ? st.st_size : 0;
}

void shim_log_open(const char *path, int64_t max_size, int max_file)
{
	log_state.path = path;
	log_state.max_size = max_size;
	log_state.max_file = max_file < 1 ? 1 : max_file;
	if (path && *path)
		log_reopen();
}

void shim_log_release(void)
{
	madvise(log_state.out, sizeof(log_state.out), MADV_DONTNEED);
	for (int s = 0; s < 2; s++)
		if (log_state.line_len[s] == 0)
			madvise(log_state.line[s], sizeof(log_state.line[s]), MADV_DONTNEED);
}

void shim_log_close(void)
{
	shim_log_flush(1);
	shim_log_flush(2);
	if (log_state.fd >= 0)
		close(log_state.fd);
	log_state.fd = -1;
}

/* <log>.N-1 -> <log>.N ... <log> -> <log>.1, keeping max_file files in all (as Docker). */
static void log_rotate(void)
{
	char from[4096], to[4096];
	if (log_state.max_file <= 1) {
		if (ftruncate(log_state.fd, 0) == 0)
			log_state.size = 0;
		return;
	}
	for (int i = log_state.max_file - 1; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", log_state.path, i - 1);
		snprintf(to, sizeof(to), "%s.%d", log_state.path, i);
		rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", log_state.path);
	rename(log_state.path, to);
	log_reopen();
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 when invalid (Go writes U+FFFD). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (len == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)))
		return 0;
	if (len == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)))
		return 0;
	return len;
}

/* JSON string body the way Go's encoding/json writes it (HTML-safe escapes included). */
static size_t json_escape(char *out, const char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			memcpy(out + o, "\\n", 2), o += 2;
		} else if (c == '\r') {
			memcpy(out + o, "\\r", 2), o += 2;
		} else if (c == '\t') {
			memcpy(out + o, "\\t", 2), o += 2;
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(out + o, "\\u00", 4), o += 4;
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else if (c >= 0x80) {
			size_t len = utf8_len(s + i, n - i);
			if (len == 0) {
				memcpy(out + o, "\\ufffd", 6), o += 6;
				i++;
				continue;
			}
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
			continue;
		} else {
			out[o++] = (char)c;
		}
		i++;
	}
	return o;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* a full disk loses log lines, never the container */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void log_line(int stream, const char *data, size_t len)
{
	if (log_state.fd < 0)
		return;
	if (log_state.max_size > 0 && log_state.size >= log_state.max_size)
		log_rotate();
	char *o = log_state.out;
	size_t n = 0;
	memcpy(o, "{\"log\":\"", 8), n = 8;
	n += json_escape(o + n, data, len);
	n += (size_t)sprintf(o + n, "\",\"stream\":\"%s\",\"time\":\"",
			     stream == 2 ? "stderr" : "stdout");
	shim_format_time(o + n, 40, shim_now_ns());
	n += strlen(o + n);
	memcpy(o + n, "\"}\n", 3), n += 3;
	write_all(log_state.fd, o, n);
	log_state.size += (int64_t)n;
}

void shim_log_write(int stream, const char *data, size_t len)
{
	int s = stream == 2 ? 1 : 0;
	char *buf = log_state.line[s];
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;
		size_t room = LINE_MAX_BYTES - log_state.line_len[s];
		if (take > room)
			take = room;
		if (nl && log_state.line_len[s] == 0 && take == (size_t)(nl - data) + 1) {
			log_line(stream, data, take); /* a whole line: no copy */
		} else {
			memcpy(buf + log_state.line_len[s], data, take);
			log_state.line_len[s] += take;
			if (buf[log_state.line_len[s] - 1] == '\n' ||
			    log_state.line_len[s] == LINE_MAX_BYTES) {
				log_line(stream, buf, log_state.line_len[s]);
				log_state.line_len[s] = 0;
			}
		}
		data += take;
		len -= take;
	}
}

void shim_log_flush(int stream)
{
	int s = stream == 2 ? 1 : 0;
	if (log_state.line_len[s] > 0)
		log_line(stream, log_state.line[s], log_state.line_len[s]);
	log_state.line_len[s] = 0;
}
