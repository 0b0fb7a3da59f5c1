/* Hand-written HTTP/1.1 over the agent's unix socket: keep-alive JSON calls for the run path
 * and the hijacked streams of attach and exec start, which libcurl cannot hand over. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "hijack.h"
#include "output.h"

int cli_conn_open(struct cli_conn *c, const char *sock, struct berth_error *err)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return berth_err_errno(err, 500, errno, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		return berth_err(
		    err, 503,
		    "Cannot connect to the berth agent at unix://%s. Is the berth agent "
		    "running? (%s; try 'berth system start')",
		    sock, strerror(e));
	}
	return 0;
}

void cli_conn_close(struct cli_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->off = c->len = c->cap = 0;
}

int cli_conn_send(struct cli_conn *c, const char *method, const char *path,
		  const char *extra_headers, const char *body, size_t body_len,
		  struct berth_error *err)
{
	char head[4096];
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli\r\n%s"
			 "Content-Length: %zu\r\n%s\r\n",
			 method, path, body ? "Content-Type: application/json\r\n" : "", body_len,
			 extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return berth_err(err, 500, "request path too long");
	/* One write for head and body: one packet, one wakeup of the agent. */
	if (body && body_len && (size_t)n + body_len < sizeof(head)) {
		memcpy(head + n, body, body_len);
		n += (int)body_len;
		body_len = 0;
	}
	if (cli_write_all(c->fd, head, (size_t)n) < 0 ||
	    (body && body_len && cli_write_all(c->fd, body, body_len) < 0))
		return berth_err_errno(err, 500, errno, "sending %s %s", method, path);
	return 0;
}

/* Read more bytes into the buffer; 0 on EOF, -1 on error, -2 on timeout. */
static ssize_t conn_fill(struct cli_conn *c, int timeout_ms)
{
	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->cap - c->len < 4096) {
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 16384;
			char *b = realloc(c->buf, cap);
			if (!b)
				return -1;
			c->buf = b;
			c->cap = cap;
		}
	}
	if (timeout_ms >= 0) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -2;
	}
	ssize_t r;
	do
		r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

/* Find "\r\n" in the unconsumed buffer; returns the line length or -1. */
static ssize_t find_crlf(struct cli_conn *c, size_t from)
{
	for (size_t i = c->off + from; i + 1 < c->len; i++)
		if (c->buf[i] == '\r' && c->buf[i + 1] == '\n')
			return (ssize_t)(i - c->off);
	return -1;
}

int cli_conn_read_head(struct cli_conn *c, struct cli_resp_head *h, int timeout_ms,
		       struct berth_error *err)
{
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	for (;;) {
		/* The head ends at the first empty line. */
		char *end = c->len > c->off
				? memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4)
				: NULL;
		if (end)
			break;
		ssize_t r = conn_fill(c, timeout_ms);
		if (r == -2)
			return 1;
		if (r <= 0)
			return berth_err(err, 500, "the agent closed the connection");
	}
	c->buf[c->len] = '\0';
	char *line = c->buf + c->off;
	if (sscanf(line, "HTTP/1.%*d %d", &h->status) != 1)
		return berth_err(err, 500, "bad response from the agent");
	for (;;) {
		char *eol = strstr(line, "\r\n");
		size_t llen = (size_t)(eol - line);
		c->off += llen + 2;
		if (llen == 0)
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			h->content_length = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) &&
			 strcasestr(line, "chunked") && strcasestr(line, "chunked") < eol)
			h->chunked = true;
		line = eol + 2;
	}
	if (h->status == 204 || h->status == 304 || h->status == 101)
		if (h->content_length < 0 && !h->chunked)
			h->content_length = 0;
	return 0;
}

static int append(char **body, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *b = realloc(*body, nc);
		if (!b)
			return -1;
		*body = b;
		*cap = nc;
	}
	memcpy(*body + *len, data, n);
	*len += n;
	(*body)[*len] = '\0';
	return 0;
}

int cli_conn_read_body(struct cli_conn *c, const struct cli_resp_head *h, char **body, size_t *len,
		       struct berth_error *err)
{
	size_t cap = 0;
	*body = NULL;
	*len = 0;
	append(body, len, &cap, "", 0);
	if (!h->chunked) {
		long long want = h->content_length;
		for (;;) {
			size_t have = c->len - c->off;
			if (want >= 0 && (long long)have >= want - (long long)*len) {
				size_t take = (size_t)(want - (long long)*len);
				append(body, len, &cap, c->buf + c->off, take);
				c->off += take;
				return 0;
			}
			append(body, len, &cap, c->buf + c->off, have);
			c->off += have;
			ssize_t r = conn_fill(c, -1);
			if (r == 0 && want < 0)
				return 0;
			if (r <= 0)
				return berth_err(err, 500, "the agent closed the connection early");
		}
	}
	for (;;) {
		ssize_t l;
		while ((l = find_crlf(c, 0)) < 0)
			if (conn_fill(c, -1) <= 0)
				return berth_err(err, 500, "the agent closed the connection early");
		size_t size = strtoul(c->buf + c->off, NULL, 16);
		c->off += (size_t)l + 2;
		while (c->len - c->off < size + 2)
			if (conn_fill(c, -1) <= 0)
				return berth_err(err, 500, "the agent closed the connection early");
		append(body, len, &cap, c->buf + c->off, size);
		c->off += size + 2;
		if (size == 0)
			return 0;
	}
}

char *cli_error_message(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	char *out;
	if (m) {
		out = strdup(m);
	} else {
		out = strndup(body, len);
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	}
	json_decref(j);
	return out;
}

int cli_conn_json(struct cli_conn *c, const char *method, const char *path, json_t *body,
		  json_t **reply, struct berth_error *err)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc = cli_conn_send(c, method, path, NULL, text, text ? strlen(text) : 0, err);
	free(text);
	if (rc < 0)
		return -1;
	struct cli_resp_head h;
	if (cli_conn_read_head(c, &h, -1, err) != 0)
		return -1;
	char *resp;
	size_t len;
	if (cli_conn_read_body(c, &h, &resp, &len, err) < 0)
		return -1;
	if (h.status < 200 || h.status >= 300) {
		char *m = cli_error_message(resp, len);
		berth_err(err, h.status, "Error response from daemon: %s", m);
		free(m);
		free(resp);
		return -1;
	}
	if (reply)
		*reply = len ? json_loadb(resp, len, 0, NULL) : NULL;
	free(resp);
	return 0;
}

static struct termios saved_termios;
static int saved_fd = -1;

void cli_term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSADRAIN, &saved_termios);
	saved_fd = -1;
}

int cli_term_raw(int fd)
{
	if (tcgetattr(fd, &saved_termios) < 0)
		return -1;
	struct termios raw = saved_termios;
	/* Fully raw, output too, as docker's: the container's own terminal already turned "\n"
	 * into "\r\n", a second pass would make it "\r\r\n". */
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return -1;
	saved_fd = fd;
	atexit(cli_term_restore);
	return 0;
}

int cli_term_size(int fd, int *rows, int *cols)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return 0;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 1;
}

int cli_conn_pump(struct cli_conn *c, const struct cli_pump *p, struct berth_error *err)
{
	struct cli_demux d;
	cli_demux_init(&d, STDOUT_FILENO, STDERR_FILENO);
	bool stdin_open = p->send_stdin;
	if (!stdin_open)
		shutdown(c->fd, SHUT_WR);
	/* Bytes that arrived with the response head belong to the stream. */
	if (c->len > c->off) {
		int rc = p->tty ? cli_write_all(STDOUT_FILENO, c->buf + c->off, c->len - c->off)
				: cli_demux_feed(&d, c->buf + c->off, c->len - c->off);
		c->off = c->len;
		if (rc < 0)
			return berth_err_errno(err, 500, errno, "writing output");
	}
	char buf[32768];
	for (;;) {
		struct pollfd pfd[3] = {
		    {.fd = c->fd, .events = POLLIN},
		    {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
		    {.fd = p->signal_fd, .events = POLLIN},
		};
		int r = poll(pfd, 3, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berth_err_errno(err, 500, errno, "poll");
		}
		if (pfd[2].revents & POLLIN) {
			int sig = 0;
			if (read(p->signal_fd, &sig, sizeof(sig)) == sizeof(sig) && p->on_signal)
				p->on_signal(sig, p->arg);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				stdin_open = false;
				shutdown(c->fd, SHUT_WR);
			} else if (cli_write_all(c->fd, buf, (size_t)n) < 0) {
				stdin_open = false;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(c->fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			int rc = p->tty ? cli_write_all(STDOUT_FILENO, buf, (size_t)n)
					: cli_demux_feed(&d, buf, (size_t)n);
			if (rc < 0)
				return berth_err_errno(err, 500, errno, "writing output");
		}
	}
}
