/*
 * The wire protocol between the agent (agent/runtime.c, runtime_adopt.c) and berth-shim
 * (agent/shim/control.c).
 *
 * Every message is a frame: an 8-byte header (payload length, type, stream) and up to
 * SHIM_FRAME_MAX bytes of payload, in host byte order (both ends run on the same host).
 *
 * The agent starts the shim with one end of a socketpair as fd 3 (SHIM_FD_AGENT): the shim's
 * first frame on it is STARTED or ERROR. The shim also listens on shim_socket_path() so that a
 * restarted agent can reconnect; on every accepted connection it first sends HELLO, and EXIT
 * right after when the container has already exited. One connection at a time: a new one
 * replaces the old.
 *
 * A pool shim (`berth-shim pool RUN_DIR CGROUP_PARENT SLOT`, fd 3 as above) sends READY once its
 * zygote sits in its cgroups, then waits for ASSIGN; it exits when fd 3 hangs up first.
 *
 * A terminal's master goes from where it is made (inside the container) as one byte 'T' with
 * the fd attached (SCM_RIGHTS), shim_send_fd: from `berth-shim exec` to the agent on its fd 3,
 * and from a container's init to its shim.
 */
#ifndef BERTH_SHIM_PROTO_H
#define BERTH_SHIM_PROTO_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define SHIM_PROTO_VERSION 1
#define SHIM_FD_AGENT 3
#define SHIM_FRAME_MAX 65536

enum shim_msg_type {
	/* shim -> agent */
	SHIM_MSG_STARTED = 1, /* struct shim_msg_started */
	SHIM_MSG_ERROR = 2,   /* int32 exit code (125/126/127), then the message text */
	SHIM_MSG_OUTPUT = 3,  /* stream 1 or 2, the bytes */
	SHIM_MSG_EXIT = 4,    /* struct shim_msg_exit */
	SHIM_MSG_HELLO = 5,   /* struct shim_msg_started; exited = 1 when EXIT follows */
	SHIM_MSG_READY = 6,   /* a pool shim (`berth-shim pool`) may be given a container */
	/* agent -> shim */
	SHIM_MSG_STDIN = 16,	   /* bytes for the container's stdin */
	SHIM_MSG_STDIN_CLOSE = 17, /* no payload */
	SHIM_MSG_RESIZE = 18,	   /* struct shim_msg_resize */
	SHIM_MSG_KILL = 19,	   /* int32 signal */
	SHIM_MSG_ACK = 20,	   /* the agent has recorded the exit: the shim may go */
	SHIM_MSG_ASSIGN = 21,	   /* to a READY pool shim: the container's directory; then as
				    * a shim started for it (STARTED or ERROR first) */
};

struct shim_frame_header {
	uint32_t len;
	uint8_t type;
	uint8_t stream;
	uint16_t version;
};

struct shim_msg_started {
	int32_t pid;
	int32_t exited;
	int32_t shim_pid; /* for SHIM_KILL_SIGNAL */
};

/* A signal for the container can also reach the shim as sigqueue(shim, SHIM_KILL_SIGNAL,
 * {.sival_int = signal}): it is never stuck behind stdin the container does not read. */
#define SHIM_KILL_SIGNAL (SIGRTMIN + 1)

struct shim_msg_exit {
	int32_t exit_code;
	int32_t oom_killed;
	int64_t finished_ns;
};

struct shim_msg_resize {
	uint16_t rows;
	uint16_t cols;
};

/* $run_dir/shims/<first 16 hex of id>.sock: short enough for sun_path (108 bytes) with any
 * reasonable run dir. Returns -1 when it does not fit. */
static inline int shim_socket_path(char *buf, size_t size, const char *run_dir, const char *id)
{
	int n = snprintf(buf, size, "%s/shims/%.16s.sock", run_dir, id);
	return n < 0 || (size_t)n >= size || n >= 108 ? -1 : 0;
}

/* 'T' and fd over the unix socket sock. */
static inline int shim_send_fd(int sock, int fd)
{
	char byte = 'T';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* recvmsg of up to size bytes into buf, with flags; *fd is the fd that came with them, or -1.
 * Returns what recvmsg returns (errno as it left it). */
static inline ssize_t shim_recv_fd(int sock, void *buf, size_t size, int flags, int *fd)
{
	struct iovec iov = {buf, size};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	*fd = -1;
	ssize_t n = recvmsg(sock, &msg, flags);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

#endif
