/* The container's init: fork into a new PID namespace, wait for the cgroups, unshare the rest,
 * build the filesystem, drop privileges and exec, reporting any failure before exec. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/rootpath.h"
#include "shim.h"
#include "shim_proto.h"

/* Go's error texts are lower-case ("no such file or directory"); the docker CLI matches them. */
static void go_strerror(int e, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

int shim_child_fail(struct shim_child_error *cerr, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cerr->msg, sizeof(cerr->msg), fmt, ap);
	va_end(ap);
	if (errnum) {
		char e[128];
		size_t n = strlen(cerr->msg);
		go_strerror(errnum, e, sizeof(e));
		snprintf(cerr->msg + n, sizeof(cerr->msg) - n, ": %s", e);
	}
	cerr->exit_code = code;
	return -1;
}

void shim_exec_command(const char **args, const char **env, struct shim_child_error *cerr)
{
	const char *name = args[0];
	char path[4096];
	struct stat st;
	if (strchr(name, '/')) {
		if (stat(name, &st) < 0) {
			int e = errno;
			char es[128];
			go_strerror(e, es, sizeof(es));
			shim_child_fail(cerr, e == ENOENT || e == ENOTDIR ? 127 : 126, 0,
					"exec: \"%s\": stat %s: %s", name, name, es);
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			shim_child_fail(cerr, 126, 0, "exec: \"%s\": is a directory", name);
			return;
		}
		if (!(st.st_mode & 0111)) {
			shim_child_fail(cerr, 126, 0, "exec: \"%s\": permission denied", name);
			return;
		}
		snprintf(path, sizeof(path), "%s", name);
	} else {
		const char *search = SHIM_DEFAULT_PATH;
		for (const char **e = env; *e; e++)
			if (!strncmp(*e, "PATH=", 5))
				search = *e + 5;
		bool found = false;
		while (!found) {
			size_t len = strcspn(search, ":");
			snprintf(path, sizeof(path), "%.*s/%s", (int)len, len ? search : ".", name);
			if (!len)
				snprintf(path, sizeof(path), "%s", name);
			if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111))
				found = true;
			if (!search[len])
				break;
			search += len + 1;
		}
		if (!found) {
			shim_child_fail(cerr, 127, 0,
					"exec: \"%s\": executable file not found in $PATH", name);
			return;
		}
	}
	execve(path, (char *const *)args, (char *const *)env);
	int e = errno;
	shim_child_fail(cerr, e == ENOENT ? 127 : 126, e, "exec %s", path);
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* Set by shim_premake_namespaces: UTS and IPC are made; host_netns >= 0: a network namespace
 * is made too, and this is the host's. */
static bool premade;
static int host_netns = -1;

int shim_premake_namespaces(bool net)
{
	int host = net ? open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
	if (net && host < 0)
		return -1;
	if (unshare(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (net ? CLONE_NEWNET : 0)) < 0) {
		if (host >= 0)
			close(host);
		return -1;
	}
	if (net)
		loopback_up();
	premade = true;
	host_netns = host;
	return 0;
}

int shim_pty_open(unsigned short rows, unsigned short cols, int *master, int *slave)
{
	*master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || unlockpt(*master) < 0)
		return -1;
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		return -2;
	if (rows || cols) {
		struct winsize ws = {.ws_row = rows, .ws_col = cols};
		ioctl(*master, TIOCSWINSZ, &ws);
	}
	return 0;
}

int shim_pty_set_stdio(int slave)
{
	setsid();
	int rc = ioctl(slave, TIOCSCTTY, 0);
	int saved = errno;
	for (int i = 0; i < 3; i++)
		dup2(slave, i);
	if (slave > 2)
		close(slave);
	errno = saved;
	return rc < 0 ? -1 : 0;
}

/* The pty lives in the container's own devpts; the shim gets its master. */
static int setup_tty(const struct shim_spec *spec, int sync_fd, struct shim_child_error *cerr)
{
	int master, slave;
	int rc = shim_pty_open(spec->rows, spec->cols, &master, &slave);
	if (rc == -1)
		return shim_child_fail(cerr, 125, errno, "open a pseudo-terminal");
	if (rc < 0)
		return shim_child_fail(cerr, 125, errno, "open the pseudo-terminal's peer");
	if (shim_send_fd(sync_fd, master) < 0)
		return shim_child_fail(cerr, 125, errno, "send the pseudo-terminal");
	close(master);
	if (shim_pty_set_stdio(slave) < 0)
		return shim_child_fail(cerr, 125, errno, "set the controlling terminal");
	return 0;
}

static int child_setup(const struct shim_spec *spec, int sync_fd, int in, int out, int err,
		       struct shim_child_error *cerr)
{
	/* Work with big buffers is done here, in the child: the shim's own memory stays small. */
	static const char *const subdirs[] = {"rootfs", "upper", "work"};
	for (int i = 0; i < 3; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", spec->dir, subdirs[i]);
		mkdir(path, 0755);
	}
	if (shim_write_etc_files(spec) < 0)
		return shim_child_fail(cerr, 125, errno, "write /etc files in %s", spec->dir);
	int flags = CLONE_NEWNS | (premade ? 0 : CLONE_NEWUTS | CLONE_NEWIPC);
	if (spec->netns) {
		int fd = open(spec->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return shim_child_fail(cerr, 125, errno, "join network namespace %s",
					       spec->netns);
		close(fd);
	} else if (spec->host_network) {
		if (host_netns >= 0 && setns(host_netns, CLONE_NEWNET) < 0)
			return shim_child_fail(cerr, 125, errno,
					       "join the host's network namespace");
	} else if (host_netns < 0) {
		flags |= CLONE_NEWNET;
	}
	if (unshare(flags) < 0)
		return shim_child_fail(cerr, 125, errno, "create namespaces");
	if (flags & CLONE_NEWNET)
		loopback_up();
	if (sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return shim_child_fail(cerr, 125, errno, "sethostname");
	/* Ready while the shim moves us into our cgroups (a pool's zygote has it already, else
	 * the run dir's cache). A custom profile's filter is kept in the container's dir for
	 * its execs (the default one's are in the run dir's cache). */
	struct shim_seccomp filter = {0};
	if (!spec->privileged &&
	    shim_seccomp_compile(spec->seccomp, spec->caps, spec->run_dir, &filter, cerr) < 0)
		return -1;
	if (filter.filter && spec->seccomp) {
		char bpf[4200];
		snprintf(bpf, sizeof(bpf), "%s/seccomp.bpf", spec->dir);
		shim_seccomp_write(bpf, &filter);
	}
	if (shim_mounts_setup(spec, cerr) < 0)
		return -1;
	/* Moving a task between v1 cgroups waits out an RCU grace period (~10 ms here): the
	 * shim does it while we build the filesystem above, and we wait for it only now,
	 * before anything of the workload runs. The cgroup namespace is rooted at the
	 * container's cgroup, so it is made after the move. */
	char go;
	if (read(sync_fd, &go, 1) != 1)
		_exit(1); /* the shim is gone */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return shim_child_fail(cerr, 125, errno, "create the cgroup namespace");
	if (spec->tty) {
		if (setup_tty(spec, sync_fd, cerr) < 0)
			return -1;
	} else {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			return shim_child_fail(cerr, 125, errno, "set up stdio");
	}
	struct shim_user u;
	if (shim_user_resolve(spec->user, &u, cerr) < 0)
		return -1;
	/* The working dir is found inside the root (a WorkingDir of /proc/self/fd/N must not
	 * name a directory this process holds open on the host) and entered by its fd, after
	 * the capabilities drop so that the user's own permissions apply. */
	const char *cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
	_cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int cwd_fd = root_fd < 0 ? -1 : berth_root_mkdir_p(root_fd, cwd, 0755);
	int cwd_errno = errno;
	if (shim_rlimits_apply(spec->ulimits, cerr) < 0 ||
	    shim_oom_score_adj_apply(spec->oom_score_adj, cerr) < 0 ||
	    shim_security_apply(&filter, spec->no_new_privs, spec->caps, u.uid, u.gid, u.groups,
				u.n_groups, cerr) < 0)
		return -1;
	if (cwd_fd < 0 || fchdir(cwd_fd) < 0)
		return shim_child_fail(cerr, 125, cwd_fd < 0 ? cwd_errno : errno,
				       "chdir to cwd (\"%s\") set in config.json failed", cwd);
	close(steal_fd(&cwd_fd)); /* not left open in an --init process */
	close(steal_fd(&root_fd));
	/* HOME from the user's passwd entry when the image did not set it. */
	char home[sizeof(u.home) + 8];
	snprintf(home, sizeof(home), "HOME=%s", u.home);
	const char *defaults[] = {home, NULL};
	const char **env = shim_env_defaults(spec->env, defaults);
	if (!env)
		env = spec->env;
	umask(022);
	if (spec->init) {
		pid_t pid = fork();
		if (pid < 0)
			return shim_child_fail(cerr, 125, errno, "fork the init's child");
		if (pid > 0) {
			close(sync_fd);
			shim_init_run(pid);
		}
	}
	shim_exec_command(spec->args, env, cerr);
	return -1;
}

static void child_reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void shim_child_main(const struct shim_spec *spec, int sync_fd, int in, int out, int err)
{
	child_reset_signals();
	struct shim_child_error e = {0};
	child_setup(spec, sync_fd, in, out, err, &e);
	char msg[sizeof(e) + 1];
	msg[0] = 'E';
	memcpy(msg + 1, &e, sizeof(e));
	send(sync_fd, msg, sizeof(msg), MSG_NOSIGNAL);
	_exit(e.exit_code ? e.exit_code : 125);
}

int shim_spawn(struct shim_spec *spec, const struct shim_cgroups *cg, pid_t *pid, int *out_fd,
	       int *err_fd, int *tty_fd, int *stdin_fd, struct shim_child_error *cerr)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, sync[2];
	*out_fd = *err_fd = *tty_fd = *stdin_fd = -1;
	if (!spec->tty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0))
		return shim_child_fail(cerr, 125, errno, "pipe");
	if (!spec->tty) {
		if (spec->stdin_open) {
			if (pipe2(inp, O_CLOEXEC) < 0)
				return shim_child_fail(cerr, 125, errno, "pipe");
		} else {
			inp[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
		return shim_child_fail(cerr, 125, errno, "socketpair");
	/* Our next child is PID 1 of a new namespace; the shim itself stays outside. */
	if (unshare(CLONE_NEWPID) < 0)
		return shim_child_fail(cerr, 125, errno, "create a PID namespace");
	pid_t child = fork();
	if (child < 0)
		return shim_child_fail(cerr, 125, errno, "fork");
	if (child == 0) {
		close(sync[0]);
		shim_child_main(spec, sync[1], inp[0], outp[1], errp[1]);
	}
	close(sync[1]);
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]), close(errp[1]);
	*pid = child;
	*out_fd = outp[0];
	*err_fd = errp[0];
	*stdin_fd = inp[1];
	if (shim_cgroups_add(cg, child, cerr) < 0) {
		kill(child, SIGKILL);
		close(sync[0]);
		return -1;
	}
	return shim_spawn_wait(sync[0], child, tty_fd, cerr);
}

int shim_spawn_wait(int sync_fd, pid_t child, int *tty_fd, struct shim_child_error *cerr)
{
	/* Fails only when the child already gave up: its error is in the socket. */
	if (send(sync_fd, "G", 1, MSG_NOSIGNAL) != 1 && errno != EPIPE && errno != ECONNRESET) {
		shim_child_fail(cerr, 125, errno, "start the container's init");
		kill(child, SIGKILL);
		close(sync_fd);
		return -1;
	}
	/* Until exec closes its end: the pty master, or an error, or EOF = success. */
	for (;;) {
		char buf[sizeof(struct shim_child_error) + 1];
		int fd;
		ssize_t n = shim_recv_fd(sync_fd, buf, sizeof(buf), MSG_CMSG_CLOEXEC, &fd);
		/* A child that failed before reading our "G" closes with it unread: the kernel
		 * reports ECONNRESET once, ahead of the error message still queued for us. */
		if (n < 0 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n <= 0)
			break;
		if (buf[0] == 'T') {
			if (fd >= 0)
				*tty_fd = fd;
		} else if (buf[0] == 'E' && (size_t)n == sizeof(buf)) {
			memcpy(cerr, buf + 1, sizeof(*cerr));
			close(sync_fd);
			return -1;
		}
	}
	close(sync_fd);
	return 0;
}
