/* berth-shim pool mode: an idle shim with a zygote already sitting in cgroups of its own
 * (<parent>/pool-<slot>), so that the container's init is born in them. Moving a task into a v1
 * cgroup waits out an RCU grace period (5-15 ms on an idle host); the pool pays it while idle,
 * and at start the cgroups are only renamed to the container's ID. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"
#include "shim_proto.h"

static struct {
	pid_t zygote;
	int cmd_fd; /* to the zygote: the container's directory */
	int pid_fd; /* from the zygote: the init's PID; EOF if it died */
	int out_r, err_r, in_w, sync_fd;
	const char *run_dir;
	struct shim_cgroups cg; /* pool-<slot>, until renamed */
} P = {.cmd_fd = -1, .pid_fd = -1, .out_r = -1, .err_r = -1, .in_w = -1, .sync_fd = -1};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forked by the idle shim: waits for the container, forks its init into a new PID namespace
 * (inside our cgroups), reports the init's PID and exits; the shim, a subreaper, inherits it. */
static void zygote(pid_t shim, bool net, int cmd_r, int pid_w, int in, int out, int err, int sync)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != shim)
		_exit(0);
	prctl(PR_SET_NAME, "berth-zygote");
	/* What can be made before the container is known is made now, off the start path. */
	bool premade = shim_premake_namespaces(net) == 0;
	shim_seccomp_precompile_default(P.run_dir);
	char dir[4096];
	ssize_t n;
	do
		n = read(cmd_r, dir, sizeof(dir) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(0);
	dir[n] = '\0';
	struct shim_spec spec;
	struct shim_child_error cerr = {0};
	if (shim_spec_load(dir, P.run_dir, &spec, &cerr) < 0)
		_exit(125);
	if (!spec.tty && !spec.stdin_open)
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!premade && unshare(CLONE_NEWPID) < 0)
		_exit(125);
	pid_t child = fork();
	if (child < 0)
		_exit(125);
	if (child == 0) {
		close(pid_w);
		shim_child_main(&spec, sync, in, out, err);
	}
	if (write(pid_w, &child, sizeof(child)) != sizeof(child))
		kill(child, SIGKILL);
	_exit(0);
}

void shim_pool_abort(void)
{
	if (P.zygote > 0) {
		kill(P.zygote, SIGKILL);
		waitpid(P.zygote, NULL, 0);
		P.zygote = 0;
	}
	shim_cgroups_remove(&P.cg);
	P.cg.n = 0;
}

static void pool_exit(int code, const char *why, const struct shim_child_error *cerr)
{
	if (why)
		fprintf(stderr, "berth-shim pool: %s%s%s\n", why, cerr ? ": " : "",
			cerr ? cerr->msg : "");
	shim_pool_abort();
	exit(code);
}

void shim_pool_wait(const char *run_dir, const char *cgroup_parent, const char *slot, bool net,
		    char *dir, size_t size)
{
	/* Not "berth-shim" while idle: counting those counts containers. */
	prctl(PR_SET_NAME, "berth-pool");
	/* The init's parent is the zygote, which exits at once: we inherit the init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	P.run_dir = run_dir;
	int outp[2], errp[2], inp[2], sync[2], cmd[2], pidp[2];
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(inp, O_CLOEXEC) < 0 ||
	    pipe2(cmd, O_CLOEXEC) < 0 || pipe2(pidp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
		pool_exit(1, "pipe", NULL);
	pid_t self = getpid();
	P.zygote = fork();
	if (P.zygote < 0)
		pool_exit(1, "fork", NULL);
	if (P.zygote == 0) {
		close(SHIM_FD_AGENT);
		close(outp[0]), close(errp[0]), close(inp[1]), close(sync[0]);
		close(cmd[1]), close(pidp[0]);
		zygote(self, net, cmd[0], pidp[1], inp[0], outp[1], errp[1], sync[1]);
	}
	close(outp[1]), close(errp[1]), close(inp[0]), close(sync[1]);
	close(cmd[0]), close(pidp[1]);
	P.out_r = outp[0], P.err_r = errp[0], P.in_w = inp[1], P.sync_fd = sync[0];
	P.cmd_fd = cmd[1], P.pid_fd = pidp[0];
	char name[64];
	snprintf(name, sizeof(name), "pool-%s", slot);
	struct shim_child_error cerr = {0};
	if (shim_cgroups_pool_create(cgroup_parent, name, P.zygote, &P.cg, &cerr) < 0)
		pool_exit(1, "cgroups", &cerr);
	struct shim_frame_header ready = {.type = SHIM_MSG_READY, .version = SHIM_PROTO_VERSION};
	if (send(SHIM_FD_AGENT, &ready, sizeof(ready), MSG_NOSIGNAL) != sizeof(ready))
		pool_exit(0, NULL, NULL);
	for (;;) {
		struct pollfd p[2] = {{SHIM_FD_AGENT, POLLIN, 0}, {P.pid_fd, POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pool_exit(1, "poll", NULL);
		}
		if (p[1].revents)
			pool_exit(1, "the zygote died", NULL);
		if (!p[0].revents)
			continue;
		struct shim_frame_header h;
		/* The agent writes a frame whole; a hung-up or broken agent ends the pool shim. */
		if (recv(SHIM_FD_AGENT, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
		    h.type != SHIM_MSG_ASSIGN || h.len == 0 || h.len >= size ||
		    recv(SHIM_FD_AGENT, dir, h.len, MSG_WAITALL) != (ssize_t)h.len)
			pool_exit(0, NULL, NULL);
		dir[h.len] = '\0';
		prctl(PR_SET_NAME, "berth-shim");
		return;
	}
}

int shim_pool_go(const char *dir, struct shim_child_error *cerr)
{
	size_t len = strlen(dir);
	if (write(P.cmd_fd, dir, len) != (ssize_t)len)
		return shim_child_fail(cerr, 125, errno, "hand the container to the zygote");
	close_fd(&P.cmd_fd);
	return 0;
}

int shim_pool_cgroups(const struct shim_spec *spec, struct shim_cgroups *cg,
		      struct shim_child_error *cerr)
{
	return shim_cgroups_rename(spec, &P.cg, cg, cerr);
}

int shim_pool_spawn(struct shim_spec *spec, const struct shim_cgroups *cg, pid_t *pid, int *out_fd,
		    int *err_fd, int *tty_fd, int *stdin_fd, struct shim_child_error *cerr)
{
	*out_fd = *err_fd = *tty_fd = *stdin_fd = -1;
	pid_t child = 0;
	ssize_t n;
	do
		n = read(P.pid_fd, &child, sizeof(child));
	while (n < 0 && errno == EINTR);
	waitpid(P.zygote, NULL, 0);
	P.zygote = 0;
	close_fd(&P.pid_fd);
	if (n != sizeof(child) || child <= 0)
		return shim_child_fail(cerr, 125, 0,
				       "the zygote could not fork the container's init");
	*pid = child;
	if (spec->tty) {
		close_fd(&P.out_r), close_fd(&P.err_r), close_fd(&P.in_w);
	} else {
		*out_fd = P.out_r, *err_fd = P.err_r;
		if (spec->stdin_open)
			*stdin_fd = P.in_w;
		else
			close_fd(&P.in_w);
	}
	/* After the zygote is gone (a pids limit of 1 counts it), before the init may go on. */
	if (shim_cgroups_limits(spec, cg, cerr) < 0) {
		kill(child, SIGKILL);
		close_fd(&P.sync_fd);
		return -1;
	}
	int sync = P.sync_fd;
	P.sync_fd = -1;
	return shim_spawn_wait(sync, child, tty_fd, cerr);
}
