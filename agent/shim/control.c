/* berth-shim's side of its protocol with the agent (../shim_proto.h): the connection (fd 3 first,
 * then whoever connects to the shim's socket), frames out, frames in, and the container's stdin
 * that STDIN frames carry. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "state.h"

/* Remove the socket file only if it is still the one this shim bound: a restarted
 * container's new shim may already listen on the same path while this one leaves. */
void shim_control_unlink_socket(void)
{
	struct stat st;
	if (shim.sock_path[0] && shim.sock_ino && lstat(shim.sock_path, &st) == 0 &&
	    st.st_dev == shim.sock_dev && st.st_ino == shim.sock_ino)
		unlink(shim.sock_path);
}

static void client_drop(void)
{
	if (shim.client_fd >= 0)
		close(shim.client_fd);
	shim.client_fd = -1;
	shim.clen = 0;
	shim.ilen = 0;
	shim.stdin_frame = shim.stdin_off = shim.stdin_len = 0;
}

void shim_control_flush(void)
{
	while (shim.client_fd >= 0 && shim.clen > 0) {
		ssize_t n = send(shim.client_fd, shim.cbuf, shim.clen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_drop();
			return;
		}
		memmove(shim.cbuf, shim.cbuf + n, shim.clen - (size_t)n);
		shim.clen -= (size_t)n;
	}
}

void shim_control_send(int type, int stream, const void *data, size_t len)
{
	if (shim.client_fd < 0)
		return;
	struct shim_frame_header h = {.len = (uint32_t)len,
				      .type = (uint8_t)type,
				      .stream = (uint8_t)stream,
				      .version = SHIM_PROTO_VERSION};
	if (shim.clen + sizeof(h) + len > sizeof(shim.cbuf)) {
		shim_control_flush();
		if (shim.clen + sizeof(h) + len > sizeof(shim.cbuf)) {
			client_drop(); /* an agent that stopped reading: it can reconnect */
			return;
		}
	}
	memcpy(shim.cbuf + shim.clen, &h, sizeof(h));
	memcpy(shim.cbuf + shim.clen + sizeof(h), data, len);
	shim.clen += sizeof(h) + len;
	shim_control_flush();
}

void shim_control_send_exit(void)
{
	struct shim_msg_exit m = {shim.exit_code, shim.oom_killed, shim.finished_ns};
	shim_control_send(SHIM_MSG_EXIT, 0, &m, sizeof(m));
}

static void send_hello(void)
{
	struct shim_msg_started m = {shim.pid, shim.finalized, getpid()};
	shim_control_send(SHIM_MSG_HELLO, 0, &m, sizeof(m));
	if (shim.finalized)
		shim_control_send_exit();
}

static void write_stdin(void);
static void stdin_frame_done(void);
static void parse_frames(void);

/* The container's stdin is gone: what the agent still sends for it is dropped, and frames
 * behind a pending stdin payload (ACK, KILL, RESIZE) are read again. */
void shim_stdin_gone(void)
{
	if (shim.stdin_fd >= 0 && shim.stdin_fd != shim.tty_fd && shim.stdin_fd != shim.out_fd)
		close(shim.stdin_fd);
	shim.stdin_fd = -1;
	if (shim.stdin_frame > 0 || shim.stdin_len > 0) {
		stdin_frame_done();
		parse_frames();
	}
}

void shim_stdin_ready(short revents)
{
	write_stdin();
	/* A hung-up stdin that still takes nothing would wake us forever. */
	if (shim.stdin_len > 0 && !(revents & POLLOUT))
		shim_stdin_gone();
	if (shim.stdin_len == 0 && shim.stdin_frame > 0) {
		stdin_frame_done();
		parse_frames();
	}
}

static void write_stdin(void)
{
	while (shim.stdin_len > 0 && shim.stdin_fd >= 0) {
		ssize_t n = write(shim.stdin_fd, shim.ibuf + shim.stdin_off, shim.stdin_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				shim.stdin_len = 0; /* the container closed its stdin: drop */
			return;
		}
		shim.stdin_off += (size_t)n;
		shim.stdin_len -= (size_t)n;
	}
	if (shim.stdin_fd < 0)
		shim.stdin_len = 0;
}

/* The stdin payload at the front of ibuf is written (or dropped): remove it. */
static void stdin_frame_done(void)
{
	if (shim.stdin_frame > shim.ilen)
		shim.stdin_frame = shim.ilen;
	memmove(shim.ibuf, shim.ibuf + shim.stdin_frame, shim.ilen - shim.stdin_frame);
	shim.ilen -= shim.stdin_frame;
	shim.stdin_frame = shim.stdin_off = shim.stdin_len = 0;
}

/* One whole frame from the agent at the start of ibuf. */
static void handle_frame(const struct shim_frame_header *h, const char *p)
{
	switch (h->type) {
	case SHIM_MSG_STDIN:
		/* handled by the caller (the payload stays in ibuf until written) */
		break;
	case SHIM_MSG_STDIN_CLOSE:
		if (shim.stdin_fd >= 0 && shim.stdin_fd != shim.tty_fd) {
			close(shim.stdin_fd);
			shim.stdin_fd = -1;
		}
		break;
	case SHIM_MSG_RESIZE:
		if (shim.tty_fd >= 0 && h->len >= sizeof(struct shim_msg_resize)) {
			struct shim_msg_resize r;
			memcpy(&r, p, sizeof(r));
			struct winsize ws = {.ws_row = r.rows, .ws_col = r.cols};
			ioctl(shim.tty_fd, TIOCSWINSZ, &ws);
		}
		break;
	case SHIM_MSG_KILL:
		if (h->len >= 4 && !shim.exited) {
			int32_t sig;
			memcpy(&sig, p, 4);
			kill(shim.pid, sig);
		}
		break;
	case SHIM_MSG_ACK:
		if (shim.finalized) {
			shim_control_unlink_socket();
			exit(0);
		}
		break;
	}
}

/* Parse the whole frames in ibuf; stops while a stdin payload waits for the container. */
static void parse_frames(void)
{
	struct shim_frame_header h;
	while (shim.ilen >= sizeof(h) && shim.stdin_len == 0) {
		memcpy(&h, shim.ibuf, sizeof(h));
		if (h.len > SHIM_FRAME_MAX) {
			client_drop();
			return;
		}
		size_t total = sizeof(h) + h.len;
		if (shim.ilen < total)
			return;
		if (h.type == SHIM_MSG_STDIN && shim.stdin_fd >= 0) {
			/* Keep the payload at the front of ibuf until the container takes it. */
			memmove(shim.ibuf, shim.ibuf + sizeof(h), shim.ilen - sizeof(h));
			shim.ilen -= sizeof(h);
			shim.stdin_frame = h.len;
			shim.stdin_off = 0;
			shim.stdin_len = h.len;
			write_stdin();
			if (shim.stdin_len > 0)
				return; /* resumes from the loop on POLLOUT */
			stdin_frame_done();
			continue;
		}
		handle_frame(&h, shim.ibuf + sizeof(h));
		memmove(shim.ibuf, shim.ibuf + total, shim.ilen - total);
		shim.ilen -= total;
	}
}

void shim_control_read(void)
{
	ssize_t n = recv(shim.client_fd, shim.ibuf + shim.ilen, sizeof(shim.ibuf) - shim.ilen,
			 MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_drop();
		return;
	}
	shim.ilen += (size_t)n;
	shim.touched = true;
	parse_frames();
}

void shim_control_accept(void)
{
	int fd = accept4(shim.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	client_drop();
	shim.client_fd = fd;
	send_hello();
}

int shim_control_listen(const struct shim_spec *spec)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/shims", spec->run_dir);
	mkdir(spec->run_dir, 0755);
	mkdir(dir, 0700);
	if (shim_socket_path(shim.sock_path, sizeof(shim.sock_path), spec->run_dir, spec->id) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, shim.sock_path, strlen(shim.sock_path) + 1); /* < 108: checked above */
	unlink(shim.sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		return -1;
	struct stat st;
	if (lstat(shim.sock_path, &st) == 0) {
		shim.sock_dev = st.st_dev;
		shim.sock_ino = st.st_ino;
	}
	return fd;
}
