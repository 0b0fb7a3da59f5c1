/* berth-shim: starts one container, then holds its stdio, log and exit status in a poll() loop
 * and serves the agent over a unix socket (protocol in ../shim_proto.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "shim_proto.h"

#define READ_CHUNK 32768
#define PAGE_ALIGNED __attribute__((aligned(4096)))
#define IDLE_RELEASE_MS 2000
#define ERR_PREFIX                                                                                 \
	"failed to create task for container: failed to create shim task: OCI runtime create "     \
	"failed: berth-shim create failed: unable to start container process: "

static struct {
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
	char cbuf[4 * (READ_CHUNK + sizeof(struct shim_frame_header)) + 4096] PAGE_ALIGNED;
	size_t clen;
	/* frames from the agent, possibly partial */
	char ibuf[SHIM_FRAME_MAX + sizeof(struct shim_frame_header)] PAGE_ALIGNED;
	size_t ilen;
	/* stdin bytes the container has not taken yet */
	size_t stdin_frame, stdin_off, stdin_len;
	char rbuf[READ_CHUNK] PAGE_ALIGNED;
} S = {.out_fd = -1,
       .err_fd = -1,
       .tty_fd = -1,
       .stdin_fd = -1,
       .listen_fd = -1,
       .client_fd = -1,
       .sig_fd = -1};

/* Remove the socket file only if it is still the one this shim bound: a restarted
 * container's new shim may already listen on the same path while this one leaves. */
static void unlink_own_socket(void)
{
	struct stat st;
	if (S.sock_path[0] && S.sock_ino && lstat(S.sock_path, &st) == 0 &&
	    st.st_dev == S.sock_dev && st.st_ino == S.sock_ino)
		unlink(S.sock_path);
}

/* An idle shim gives its buffers' pages back: what a container costs is mostly this. */
static void release_idle_memory(void)
{
	if (S.clen == 0)
		madvise(S.cbuf, sizeof(S.cbuf) & ~4095UL, MADV_DONTNEED);
	if (S.ilen == 0)
		madvise(S.ibuf, sizeof(S.ibuf) & ~4095UL, MADV_DONTNEED);
	madvise(S.rbuf, sizeof(S.rbuf), MADV_DONTNEED);
	shim_log_release();
	/* and the stack below this frame, deep only during setup */
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &addr, &size);
		pthread_attr_destroy(&a);
		char here;
		uintptr_t top = ((uintptr_t)&here & ~4095UL) - 2 * 4096;
		if (top > (uintptr_t)addr)
			madvise(addr, top - (uintptr_t)addr, MADV_DONTNEED);
	}
	S.touched = false;
}

static void client_drop(void)
{
	if (S.client_fd >= 0)
		close(S.client_fd);
	S.client_fd = -1;
	S.clen = 0;
	S.ilen = 0;
	S.stdin_frame = S.stdin_off = S.stdin_len = 0;
}

static void client_flush(void)
{
	while (S.client_fd >= 0 && S.clen > 0) {
		ssize_t n = send(S.client_fd, S.cbuf, S.clen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_drop();
			return;
		}
		memmove(S.cbuf, S.cbuf + n, S.clen - (size_t)n);
		S.clen -= (size_t)n;
	}
}

static void client_send(int type, int stream, const void *data, size_t len)
{
	if (S.client_fd < 0)
		return;
	struct shim_frame_header h = {.len = (uint32_t)len,
				      .type = (uint8_t)type,
				      .stream = (uint8_t)stream,
				      .version = SHIM_PROTO_VERSION};
	if (S.clen + sizeof(h) + len > sizeof(S.cbuf)) {
		client_flush();
		if (S.clen + sizeof(h) + len > sizeof(S.cbuf)) {
			client_drop(); /* an agent that stopped reading: it can reconnect */
			return;
		}
	}
	memcpy(S.cbuf + S.clen, &h, sizeof(h));
	memcpy(S.cbuf + S.clen + sizeof(h), data, len);
	S.clen += sizeof(h) + len;
	client_flush();
}

static void send_exit(void)
{
	struct shim_msg_exit m = {S.exit_code, S.oom_killed, S.finished_ns};
	client_send(SHIM_MSG_EXIT, 0, &m, sizeof(m));
}

static void send_hello(void)
{
	struct shim_msg_started m = {S.pid, S.finalized, getpid()};
	client_send(SHIM_MSG_HELLO, 0, &m, sizeof(m));
	if (S.finalized)
		send_exit();
}

static void write_exit_json(const char *dir, int code, bool oom, int64_t ns)
{
	char path[4200], buf[256], t[48];
	shim_format_time(t, sizeof(t), ns);
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	int n = snprintf(buf, sizeof(buf),
			 "{\"exit_code\":%d,\"oom_killed\":%s,\"finished_at\":\"%s\","
			 "\"finished_ns\":%lld}",
			 code, oom ? "true" : "false", t, (long long)ns);
	/* Atomic (rename) but not fsynced: this sits on the exit path of every `run --rm`, and a
	 * power loss takes the containers' fate with it anyway. */
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s/.exit.json.tmp", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0)
		fprintf(stderr, "berth-shim: write %s: %s\n", path, strerror(errno));
}

/* The init has exited and its output is drained: record, report, clean up. */
static void finalize(void)
{
	S.finalized = true;
	shim_log_close();
	S.oom_killed = shim_cgroups_oom_killed(&S.cg);
	shim_cgroups_remove(&S.cg);
	write_exit_json(S.spec.dir, S.exit_code, S.oom_killed, S.finished_ns);
	send_exit();
}

static void stdin_frame_done(void);
static void parse_frames(void);

/* The container's stdin is gone: what the agent still sends for it is dropped, and frames
 * behind a pending stdin payload (ACK, KILL, RESIZE) are read again. */
static void stdin_gone(void)
{
	if (S.stdin_fd >= 0 && S.stdin_fd != S.tty_fd && S.stdin_fd != S.out_fd)
		close(S.stdin_fd);
	S.stdin_fd = -1;
	if (S.stdin_frame > 0 || S.stdin_len > 0) {
		stdin_frame_done();
		parse_frames();
	}
}

static void stream_closed(int *fd, int stream)
{
	shim_log_flush(stream);
	int closing = *fd;
	if (closing == S.tty_fd)
		S.tty_fd = -1;
	close(closing);
	*fd = -1;
	if (closing == S.stdin_fd) { /* the pty master serves both */
		S.stdin_fd = -1;
		stdin_gone();
	}
}

static void read_output(int *fd, int stream)
{
	ssize_t n = read(*fd, S.rbuf, sizeof(S.rbuf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty whose last slave closed */
		stream_closed(fd, stream);
		return;
	}
	S.touched = true;
	shim_log_write(stream, S.rbuf, (size_t)n);
	client_send(SHIM_MSG_OUTPUT, stream, S.rbuf, (size_t)n);
}

static void write_stdin(void)
{
	while (S.stdin_len > 0 && S.stdin_fd >= 0) {
		ssize_t n = write(S.stdin_fd, S.ibuf + S.stdin_off, S.stdin_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				S.stdin_len = 0; /* the container closed its stdin: drop */
			return;
		}
		S.stdin_off += (size_t)n;
		S.stdin_len -= (size_t)n;
	}
	if (S.stdin_fd < 0)
		S.stdin_len = 0;
}

/* The stdin payload at the front of ibuf is written (or dropped): remove it. */
static void stdin_frame_done(void)
{
	if (S.stdin_frame > S.ilen)
		S.stdin_frame = S.ilen;
	memmove(S.ibuf, S.ibuf + S.stdin_frame, S.ilen - S.stdin_frame);
	S.ilen -= S.stdin_frame;
	S.stdin_frame = S.stdin_off = S.stdin_len = 0;
}

/* One whole frame from the agent at the start of ibuf. */
static void handle_frame(const struct shim_frame_header *h, const char *p)
{
	switch (h->type) {
	case SHIM_MSG_STDIN:
		/* handled by the caller (the payload stays in ibuf until written) */
		break;
	case SHIM_MSG_STDIN_CLOSE:
		if (S.stdin_fd >= 0 && S.stdin_fd != S.tty_fd) {
			close(S.stdin_fd);
			S.stdin_fd = -1;
		}
		break;
	case SHIM_MSG_RESIZE:
		if (S.tty_fd >= 0 && h->len >= sizeof(struct shim_msg_resize)) {
			struct shim_msg_resize r;
			memcpy(&r, p, sizeof(r));
			struct winsize ws = {.ws_row = r.rows, .ws_col = r.cols};
			ioctl(S.tty_fd, TIOCSWINSZ, &ws);
		}
		break;
	case SHIM_MSG_KILL:
		if (h->len >= 4 && !S.exited) {
			int32_t sig;
			memcpy(&sig, p, 4);
			kill(S.pid, sig);
		}
		break;
	case SHIM_MSG_ACK:
		if (S.finalized) {
			unlink_own_socket();
			exit(0);
		}
		break;
	}
}

/* Parse the whole frames in ibuf; stops while a stdin payload waits for the container. */
static void parse_frames(void)
{
	struct shim_frame_header h;
	while (S.ilen >= sizeof(h) && S.stdin_len == 0) {
		memcpy(&h, S.ibuf, sizeof(h));
		if (h.len > SHIM_FRAME_MAX) {
			client_drop();
			return;
		}
		size_t total = sizeof(h) + h.len;
		if (S.ilen < total)
			return;
		if (h.type == SHIM_MSG_STDIN && S.stdin_fd >= 0) {
			/* Keep the payload at the front of ibuf until the container takes it. */
			memmove(S.ibuf, S.ibuf + sizeof(h), S.ilen - sizeof(h));
			S.ilen -= sizeof(h);
			S.stdin_frame = h.len;
			S.stdin_off = 0;
			S.stdin_len = h.len;
			write_stdin();
			if (S.stdin_len > 0)
				return; /* resumes from the loop on POLLOUT */
			stdin_frame_done();
			continue;
		}
		handle_frame(&h, S.ibuf + sizeof(h));
		memmove(S.ibuf, S.ibuf + total, S.ilen - total);
		S.ilen -= total;
	}
}

static void read_client(void)
{
	ssize_t n = recv(S.client_fd, S.ibuf + S.ilen, sizeof(S.ibuf) - S.ilen, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_drop();
		return;
	}
	S.ilen += (size_t)n;
	S.touched = true;
	parse_frames();
}

static void accept_client(void)
{
	int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	client_drop();
	S.client_fd = fd;
	send_hello();
}

static void reap(void)
{
	struct signalfd_siginfo si;
	while (read(S.sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if ((int)si.ssi_signo == SHIM_KILL_SIGNAL && !S.exited && si.ssi_int > 0 &&
		    si.ssi_int < 65)
			kill(S.pid, si.ssi_int);
	}
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		if (p != S.pid)
			continue;
		S.exited = true;
		S.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		S.finished_ns = shim_now_ns();
		/* Everything in the PID namespace is gone: the pipes end soon. */
		S.exit_deadline_ns = S.finished_ns + 2000000000LL;
	}
}

static int listen_socket(const struct shim_spec *spec)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/shims", spec->run_dir);
	mkdir(spec->run_dir, 0755);
	mkdir(dir, 0700);
	if (shim_socket_path(S.sock_path, sizeof(S.sock_path), spec->run_dir, spec->id) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, S.sock_path, strlen(S.sock_path) + 1); /* < 108: checked above */
	unlink(S.sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		return -1;
	struct stat st;
	if (lstat(S.sock_path, &st) == 0) {
		S.sock_dev = st.st_dev;
		S.sock_ino = st.st_ino;
	}
	return fd;
}

static void loop(void)
{
	for (;;) {
		struct pollfd p[8];
		int n = 0, i_out = -1, i_err = -1, i_in = -1, i_cli = -1, i_lis = -1, i_sig;
		bool room = sizeof(S.cbuf) - S.clen >= 2 * (READ_CHUNK + 16);
		p[n] = (struct pollfd){S.sig_fd, POLLIN, 0}, i_sig = n++;
		if (S.listen_fd >= 0)
			p[n] = (struct pollfd){S.listen_fd, POLLIN, 0}, i_lis = n++;
		if (S.client_fd >= 0) {
			short ev = (S.stdin_len == 0 ? POLLIN : 0) | (S.clen ? POLLOUT : 0);
			p[n] = (struct pollfd){S.client_fd, ev, 0}, i_cli = n++;
		}
		if (S.out_fd >= 0 && room)
			p[n] = (struct pollfd){S.out_fd, POLLIN, 0}, i_out = n++;
		if (S.err_fd >= 0 && room)
			p[n] = (struct pollfd){S.err_fd, POLLIN, 0}, i_err = n++;
		if (S.stdin_fd >= 0 && S.stdin_len > 0)
			p[n] = (struct pollfd){S.stdin_fd, POLLOUT, 0}, i_in = n++;
		int timeout = S.touched ? IDLE_RELEASE_MS : -1;
		if (S.exited && !S.finalized)
			timeout = 100;
		else if (S.finalized)
			timeout = 60000; /* an agent that never acknowledges */
		int r = poll(p, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r == 0 && S.finalized) {
			unlink_own_socket();
			exit(0);
		}
		if (r == 0 && !S.exited)
			release_idle_memory();
		if (r > 0) {
			if (p[i_sig].revents)
				reap();
			if (i_out >= 0 && p[i_out].revents)
				read_output(&S.out_fd, 1);
			if (i_err >= 0 && p[i_err].revents)
				read_output(&S.err_fd, 2);
			if (i_in >= 0 && p[i_in].revents) {
				write_stdin();
				/* A hung-up stdin that still takes nothing would wake us forever.
				 */
				if (S.stdin_len > 0 && !(p[i_in].revents & POLLOUT))
					stdin_gone();
				if (S.stdin_len == 0 && S.stdin_frame > 0) {
					stdin_frame_done();
					parse_frames();
				}
			}
			if (i_cli >= 0 && S.client_fd >= 0 && (p[i_cli].revents & POLLOUT))
				client_flush();
			if (i_cli >= 0 && S.client_fd >= 0 &&
			    (p[i_cli].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				read_client();
			if (i_lis >= 0 && (p[i_lis].revents & (POLLERR | POLLNVAL))) {
				close(S.listen_fd); /* broken: stop polling it */
				S.listen_fd = -1;
			} else if (i_lis >= 0 && p[i_lis].revents) {
				accept_client();
			}
		}
		if (S.exited && !S.finalized &&
		    ((S.out_fd < 0 && S.err_fd < 0) || shim_now_ns() > S.exit_deadline_ns)) {
			if (S.out_fd >= 0)
				stream_closed(&S.out_fd, 1);
			if (S.err_fd >= 0)
				stream_closed(&S.err_fd, 2);
			finalize();
		}
		if (S.finalized && S.client_fd < 0) {
			unlink_own_socket();
			exit(0);
		}
	}
}

/* A failure before the container runs: tell the agent and record it as the exit status. */
static int fail_start(const struct shim_child_error *cerr, const char *dir)
{
	char msg[sizeof(ERR_PREFIX) + SHIM_ERRMSG_MAX + 16];
	int n = snprintf(msg, sizeof(msg), ERR_PREFIX "%s: unknown", cerr->msg);
	char frame[sizeof(struct shim_frame_header) + 4 + sizeof(msg)];
	struct shim_frame_header h = {
	    .len = (uint32_t)(4 + n), .type = SHIM_MSG_ERROR, .version = SHIM_PROTO_VERSION};
	int32_t code = cerr->exit_code ? cerr->exit_code : 125;
	memcpy(frame, &h, sizeof(h));
	memcpy(frame + sizeof(h), &code, 4);
	memcpy(frame + sizeof(h) + 4, msg, (size_t)n);
	shim_pool_abort();
	if (S.pid > 0)
		waitpid(S.pid, NULL, 0);
	unlink_own_socket();
	shim_cgroups_remove(&S.cg);
	write_exit_json(dir, code, false, shim_now_ns());
	if (send(SHIM_FD_AGENT, frame, sizeof(h) + 4 + (size_t)n, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "berth-shim: %s\n", msg);
	return 0;
}

/* In sanitizer builds: LeakSanitizer stops the world with a clone(), which fails once the
 * PID namespace we unshared for our child has lost its init. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

char *shim_argv_area;
size_t shim_argv_area_len;

int main(int argc, char **argv)
{
	shim_argv_area = argv[0];
	shim_argv_area_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return shim_exec_main(argc, argv);
	bool pooled = (argc == 5 || argc == 6) && !strcmp(argv[1], "pool");
	if (argc != 3 && !pooled) {
		fprintf(stderr, "usage: berth-shim CONTAINER_DIR RUN_DIR (started by berth-agent)\n"
				"       berth-shim pool RUN_DIR CGROUP_PARENT SLOT [net|nonet]\n");
		return 2;
	}
	struct shim_child_error cerr = {0};
	if (fcntl(SHIM_FD_AGENT, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "berth-shim: fd %d (the agent's socket) is not open\n",
			SHIM_FD_AGENT);
		return 2;
	}
	/* Nothing of the agent's leaks into the shim or the container. */
	syscall(SYS_close_range, SHIM_FD_AGENT + 1, ~0U, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SHIM_KILL_SIGNAL);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	S.sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	const char *dir = argv[1], *run_dir = argv[2];
	static char pool_dir[4096];
	if (pooled) {
		shim_pool_wait(argv[2], argv[3], argv[4], argc < 6 || strcmp(argv[5], "nonet"),
			       pool_dir, sizeof(pool_dir));
		dir = pool_dir;
		if (shim_pool_go(dir, &cerr) < 0)
			return fail_start(&cerr, dir);
	}
	struct shim_spec *spec = &S.spec;
	if (shim_spec_load(dir, run_dir, spec, &cerr) < 0)
		return fail_start(&cerr, dir);
	char path[4200];
	snprintf(path, sizeof(path), "%s/exit.json", spec->dir);
	unlink(path);
	/* Listening before the container starts: an agent restarted at any moment from here on
	 * finds us (it waits for HELLO, sent once the loop runs). */
	S.listen_fd = listen_socket(spec);
	if (S.listen_fd < 0)
		fprintf(stderr, "berth-shim: listen on %s: %s\n", S.sock_path, strerror(errno));
	if ((pooled ? shim_pool_cgroups(spec, &S.cg, &cerr)
		    : shim_cgroups_create(spec, &S.cg, &cerr)) < 0)
		return fail_start(&cerr, spec->dir);
	static char log_path[4096];
	snprintf(log_path, sizeof(log_path), "%s", spec->log_path ? spec->log_path : "");
	shim_log_open(log_path, spec->log_max_size, spec->log_max_file);
	int rc = pooled ? shim_pool_spawn(spec, &S.cg, &S.pid, &S.out_fd, &S.err_fd, &S.tty_fd,
					  &S.stdin_fd, &cerr)
			: shim_spawn(spec, &S.cg, &S.pid, &S.out_fd, &S.err_fd, &S.tty_fd,
				     &S.stdin_fd, &cerr);
	if (rc < 0)
		return fail_start(&cerr, spec->dir);
	if (spec->tty) {
		S.out_fd = S.tty_fd;
		if (spec->stdin_open)
			S.stdin_fd = S.tty_fd;
	}
	if (S.stdin_fd >= 0)
		fcntl(S.stdin_fd, F_SETFL, O_NONBLOCK);
	S.client_fd = SHIM_FD_AGENT;
	fcntl(S.client_fd, F_SETFL, O_NONBLOCK);
	struct shim_msg_started m = {S.pid, 0, getpid()};
	client_send(SHIM_MSG_STARTED, 0, &m, sizeof(m));
	json_decref(spec->json); /* the loop needs none of it */
	spec->json = NULL;
	free(spec->layers), free(spec->args), free(spec->env), free(spec->mounts);
	spec->layers = spec->args = spec->env = NULL;
	spec->mounts = NULL;
	malloc_trim(0);
	S.touched = true; /* setup's stack and buffers go back once the loop is idle */
	loop();
	return 0;
}
