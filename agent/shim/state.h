/* The running shim's state: one container, its stdio, the agent's connection and the exit. Shared
 * by main.c (start-up), loop.c (the poll loop), control.c (the agent's protocol), exit.c. */
#ifndef BERTH_SHIM_STATE_H
#define BERTH_SHIM_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shim.h"
#include "shim_proto.h"

#define SHIM_READ_CHUNK 32768
#define SHIM_PAGE_ALIGNED __attribute__((aligned(4096)))

struct shim_state {
	struct shim_spec spec;
	struct shim_cgroups cg;
	char sock_path[128];
	dev_t sock_dev; /* the socket file this shim bound, to unlink only its own */
	ino_t sock_ino;
	pid_t pid;
	int out_fd, err_fd, tty_fd, stdin_fd;
	int listen_fd, client_fd, sig_fd;
	bool exited, finalized;
	int exit_code;
	bool oom_killed;
	int64_t finished_ns, exit_deadline_ns;
	/* frames waiting for the agent to read them */
	bool touched; /* buffers used since they were last given back */
	char
	    cbuf[4 * (SHIM_READ_CHUNK + sizeof(struct shim_frame_header)) + 4096] SHIM_PAGE_ALIGNED;
	size_t clen;
	/* frames from the agent, possibly partial */
	char ibuf[SHIM_FRAME_MAX + sizeof(struct shim_frame_header)] SHIM_PAGE_ALIGNED;
	size_t ilen;
	/* stdin bytes the container has not taken yet */
	size_t stdin_frame, stdin_off, stdin_len;
	char rbuf[SHIM_READ_CHUNK] SHIM_PAGE_ALIGNED;
};

/* main.c */
extern struct shim_state shim;

/* loop.c: poll until the container has exited, its output is drained and the agent has
 * acknowledged the exit (or a minute has passed); then exit. */
void shim_loop_run(void);

/* control.c: the agent's connection: fd 3 first, then whoever connects to the shim's socket. */
/* Listen on the shim's socket (shim.sock_path); -1 on failure. */
int shim_control_listen(const struct shim_spec *spec);
/* Remove the socket file if it is still the one this shim bound. */
void shim_control_unlink_socket(void);
/* Queue a frame for the agent and send what the socket takes; an agent too far behind is
 * dropped (it can reconnect). */
void shim_control_send(int type, int stream, const void *data, size_t len);
void shim_control_send_exit(void);
void shim_control_flush(void);
/* A new connection on the listening socket replaces the old one; it gets HELLO (and EXIT). */
void shim_control_accept(void);
/* Frames from the agent: what the socket has, handled as far as the container's stdin takes. */
void shim_control_read(void);
/* The container's stdin fd is writable (revents): go on with the stdin payload. */
void shim_stdin_ready(short revents);
/* The container's stdin is gone: what the agent still sends for it is dropped. */
void shim_stdin_gone(void);

/* exit.c */
/* The signalfd is readable: forward SHIM_KILL_SIGNAL, reap children, note the init's exit. */
void shim_reap(void);
/* The init has exited and its output is drained: record, report, clean up. */
void shim_finalize(void);
/* A failure before the container runs: tell the agent and record it as the exit status. */
int shim_fail_start(const struct shim_child_error *cerr, const char *dir);

#endif
