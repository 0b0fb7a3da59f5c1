/* exec: a process in a running container, through `berth-shim exec` (which joins the
 * container's namespaces and cgroups); its output reaches the loop through pipes or a pty. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "berth/cleanup.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

static char shim_path[PATH_MAX];

void runtime_set_shim_path(const char *path)
{
	snprintf(shim_path, sizeof(shim_path), "%s", path);
}

static const char *exec_shim_path(void)
{
	if (shim_path[0])
		return shim_path;
	const char *env = getenv("BERTH_SHIM");
	if (env && *env) {
		runtime_set_shim_path(env);
		return shim_path;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(shim_path, sizeof(shim_path), "%s/berth-shim", dirname(self));
	} else {
		snprintf(shim_path, sizeof(shim_path), "berth-shim");
	}
	return shim_path;
}

struct runtime_exec {
	struct event_base *base;
	struct runtime_exec_callbacks cbs;
	void *arg;
	pid_t pid;
	int pidfd;
	/* stdin (write end), stdout, stderr, pty master. With a tty, the process's terminal is
	 * made inside the container (its own devpts) and its master arrives on ctl_fd; stdin is
	 * the master then, stdout a pipe for what the helper says before the terminal exists. */
	int fd[4];
	bool tty;
	int ctl_fd;
	unsigned short rows, cols; /* a resize that came before the master */
	struct event *ev_out, *ev_err, *ev_in, *ev_pid, *ev_tty, *ev_ctl;
	struct evbuffer *pending_in;
	bool close_stdin;
	bool exited, freed;
	int dispatching;
};

static void exec_close_fd(struct runtime_exec *x, int i)
{
	int fd = x->fd[i];
	if (fd < 0)
		return;
	for (int k = 0; k < 4; k++)
		if (x->fd[k] == fd)
			x->fd[k] = -1;
	if (x->ev_out && event_get_fd(x->ev_out) == fd)
		event_del(x->ev_out);
	if (x->ev_tty && event_get_fd(x->ev_tty) == fd)
		event_del(x->ev_tty);
	if (x->ev_err && event_get_fd(x->ev_err) == fd)
		event_del(x->ev_err);
	if (x->ev_in && event_get_fd(x->ev_in) == fd)
		event_del(x->ev_in);
	close(fd);
}

/* Read what is there; returns false at EOF (the fd is closed then). */
static bool exec_read(struct runtime_exec *x, int i)
{
	char buf[16384];
	for (int rounds = 0; rounds < 64 && x->fd[i] >= 0 && !x->freed; rounds++) {
		ssize_t n = read(x->fd[i], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) { /* EOF, or EIO from a pty without slaves */
			exec_close_fd(x, i);
			return false;
		}
		if (x->cbs.on_output)
			x->cbs.on_output(x->arg, x->tty ? 1 : i, buf, (size_t)n);
	}
	return x->fd[i] >= 0;
}

static void exec_free_now(struct runtime_exec *x)
{
	struct event *evs[] = {x->ev_out, x->ev_err, x->ev_in, x->ev_pid, x->ev_tty, x->ev_ctl};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	x->ev_out = x->ev_err = x->ev_in = x->ev_tty = NULL;
	for (int i = 0; i < 4; i++)
		exec_close_fd(x, i);
	if (x->ctl_fd >= 0)
		close(x->ctl_fd);
	if (x->pending_in)
		evbuffer_free(x->pending_in);
	if (!x->exited && x->pid > 0)
		runtime_reap_child(x->base, x->pid);
	if (x->pidfd >= 0)
		close(x->pidfd);
	free(x);
}

static void exec_leave(struct runtime_exec *x)
{
	if (--x->dispatching == 0 && x->freed)
		exec_free_now(x);
}

static void exec_output_cb(evutil_socket_t fd, short what, void *arg)
{
	struct runtime_exec *x = arg;
	x->dispatching++;
	int i = 1;
	for (int k = 1; k < 4; k++)
		if (x->fd[k] == fd)
			i = k;
	exec_read(x, i);
	exec_leave(x);
}

static void exec_flush_stdin(struct runtime_exec *x);
static void exec_stdin_cb(evutil_socket_t fd, short what, void *arg);

/* The helper sends the pty master it made in the container (or closes: no terminal). */
static void exec_take_master(struct runtime_exec *x)
{
	if (x->ctl_fd < 0)
		return;
	char byte;
	int master;
	ssize_t n = shim_recv_fd(x->ctl_fd, &byte, 1, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, &master);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (master >= 0) {
		evutil_make_socket_nonblocking(master);
		x->fd[3] = master;
		x->fd[0] = master;
		x->ev_tty = event_new(x->base, master, EV_READ | EV_PERSIST, exec_output_cb, x);
		event_add(x->ev_tty, NULL);
		x->ev_in = event_new(x->base, master, EV_WRITE, exec_stdin_cb, x);
		if (x->rows || x->cols) {
			struct winsize ws = {.ws_row = x->rows, .ws_col = x->cols};
			ioctl(master, TIOCSWINSZ, &ws);
		}
		exec_flush_stdin(x);
	}
	event_del(x->ev_ctl);
	close(x->ctl_fd);
	x->ctl_fd = -1;
}

static void exec_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	exec_take_master(arg);
}

static void exec_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct runtime_exec *x = arg;
	int status;
	pid_t r = waitpid(x->pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return;
	event_del(x->ev_pid);
	x->exited = true;
	/* r < 0: someone else reaped it (a waitpid(-1) elsewhere): the status is lost */
	int code = r < 0		 ? 255
		   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					 : WEXITSTATUS(status);
	x->dispatching++;
	/* Output written before the exit is in the pipes: deliver it first. */
	exec_take_master(x);
	exec_read(x, 1);
	exec_read(x, 2);
	exec_read(x, 3);
	if (!x->freed && x->cbs.on_exit)
		x->cbs.on_exit(x->arg, code);
	exec_leave(x);
}

static void exec_flush_stdin(struct runtime_exec *x)
{
	int fd = x->fd[0];
	while (fd >= 0 && evbuffer_get_length(x->pending_in) > 0) {
		int n = evbuffer_write(x->pending_in, fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			evbuffer_drain(x->pending_in, evbuffer_get_length(x->pending_in));
		}
	}
	if (evbuffer_get_length(x->pending_in) > 0) {
		if (fd >= 0 && x->ev_in)
			event_add(x->ev_in, NULL);
		return;
	}
	if (x->close_stdin && !x->tty && x->fd[0] >= 0)
		exec_close_fd(x, 0);
}

static void exec_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	exec_flush_stdin(arg);
}

int runtime_exec_start(struct event_base *base, pid_t container_pid, const char *dir,
		       const json_t *spec, const struct runtime_exec_callbacks *cbs, void *arg,
		       struct runtime_exec **out, pid_t *pid, struct berth_error *err)
{
	*out = NULL;
	bool tty = json_is_true(json_object_get(spec, "tty"));
	bool want_stdin = json_is_true(json_object_get(spec, "stdin"));
	int child_fd[4] = {-1, -1, -1, -1}, parent_fd[4] = {-1, -1, -1, -1};
	int p[3][2];
	for (int i = 0; i < 3; i++)
		p[i][0] = p[i][1] = -1;
	bool ok = pipe2(p[1], O_CLOEXEC) == 0;
	if (ok && !tty)
		ok = pipe2(p[2], O_CLOEXEC) == 0;
	if (ok && want_stdin && !tty)
		ok = pipe2(p[0], O_CLOEXEC) == 0;
	else if (ok)
		p[0][0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ok && tty) /* [0]: ours, [1]: the helper's fd 3 */
		ok = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p[2]) == 0;
	if (!ok) {
		int e = errno;
		for (int i = 0; i < 3; i++)
			for (int k = 0; k < 2; k++)
				if (p[i][k] >= 0)
					close(p[i][k]);
		return berth_err_errno(err, 500, e, "pipe");
	}
	child_fd[0] = p[0][0], parent_fd[0] = p[0][1];
	child_fd[1] = p[1][1], parent_fd[1] = p[1][0];
	if (tty) {
		child_fd[2] = p[1][1]; /* the helper's own errors, before the terminal exists */
		child_fd[3] = p[2][1];
		parent_fd[3] = p[2][0]; /* becomes ctl_fd */
	} else {
		child_fd[2] = p[2][1], parent_fd[2] = p[2][0];
	}
	_cleanup_free_ char *spec_json = json_dumps(spec, JSON_COMPACT);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)container_pid);
	const char *shim = exec_shim_path();
	char *const argv[] = {(char *)"berth-shim", (char *)"exec", pidbuf,
			      (char *)dir,	    spec_json,	    NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 4; i++)
		if (child_fd[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, child_fd[i], i);
	pid_t child;
	int rc = spec_json ? runtime_spawn(shim, argv, &fa, &child) : ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 4; i++)
		if (child_fd[i] >= 0 && (i == 0 || child_fd[i] != child_fd[i - 1]))
			close(child_fd[i]);
	if (rc != 0) {
		for (int i = 0; i < 4; i++)
			if (parent_fd[i] >= 0)
				close(parent_fd[i]);
		return berth_err_errno(err, 500, rc, "start %s", shim);
	}
	struct runtime_exec *x = calloc(1, sizeof(*x));
	if (!x)
		abort();
	x->base = base;
	if (cbs)
		x->cbs = *cbs;
	x->arg = arg;
	x->pid = child;
	x->tty = tty;
	memcpy(x->fd, parent_fd, sizeof(x->fd));
	x->ctl_fd = -1;
	if (tty) {
		x->ctl_fd = x->fd[3];
		x->fd[3] = -1;
		x->ev_ctl = event_new(base, x->ctl_fd, EV_READ | EV_PERSIST, exec_ctl_cb, x);
		event_add(x->ev_ctl, NULL);
	}
	x->pending_in = evbuffer_new();
	x->pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	for (int i = 0; i < 3; i++)
		if (x->fd[i] >= 0)
			evutil_make_socket_nonblocking(x->fd[i]);
	x->ev_out = event_new(base, x->fd[1], EV_READ | EV_PERSIST, exec_output_cb, x);
	event_add(x->ev_out, NULL);
	if (!tty) {
		x->ev_err = event_new(base, x->fd[2], EV_READ | EV_PERSIST, exec_output_cb, x);
		event_add(x->ev_err, NULL);
	}
	if (x->fd[0] >= 0 && !tty)
		x->ev_in = event_new(base, x->fd[0], EV_WRITE, exec_stdin_cb, x);
	if (x->pidfd >= 0) {
		x->ev_pid = event_new(base, x->pidfd, EV_READ | EV_PERSIST, exec_pid_cb, x);
		event_add(x->ev_pid, NULL);
	}
	*pid = child;
	*out = x;
	return 0;
}

int runtime_exec_write_stdin(struct runtime_exec *x, const void *data, size_t len)
{
	if (!x || (x->fd[0] < 0 && !(x->tty && x->ctl_fd >= 0)) || x->close_stdin)
		return -1; /* (with a tty, input before the terminal exists waits for it) */
	evbuffer_add(x->pending_in, data, len);
	exec_flush_stdin(x);
	return 0;
}

int runtime_exec_close_stdin(struct runtime_exec *x)
{
	if (!x)
		return -1;
	x->close_stdin = true;
	exec_flush_stdin(x);
	return 0;
}

int runtime_exec_resize(struct runtime_exec *x, unsigned rows, unsigned cols)
{
	if (!x || !x->tty)
		return -1;
	x->rows = (unsigned short)rows;
	x->cols = (unsigned short)cols;
	if (x->fd[3] < 0)
		return 0;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	return ioctl(x->fd[3], TIOCSWINSZ, &ws);
}

void runtime_exec_free(struct runtime_exec *x)
{
	if (!x)
		return;
	if (x->dispatching > 0) {
		x->freed = true;
		return;
	}
	exec_free_now(x);
}
