/* Starting berth-shim processes from the agent (a container's shim, a pool shim, an exec
 * helper): posix_spawn in a session of their own, and reaping them from the loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

extern char **environ;

int runtime_spawn(const char *path, char *const argv[], const posix_spawn_file_actions_t *fa,
		  pid_t *pid)
{
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own session: a signal to the agent's process group never reaches it. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(pid, path, fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return rc;
}

int runtime_spawn_shim(const char *shim_path, char *const argv[], pid_t *pid, int *fd,
		       struct berth_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_err_errno(err, 500, errno, "socketpair");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], SHIM_FD_AGENT);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int rc = runtime_spawn(shim_path, argv, &fa, pid);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		return berth_err_errno(err, 500, rc, "start %s", shim_path);
	}
	*fd = sv[0];
	return 0;
}

struct reaper {
	struct event *ev;
	pid_t pid;
	int pidfd;
};

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reaper *r = arg;
	int status;
	if (waitpid(r->pid, &status, WNOHANG) == 0)
		return; /* spurious: keep waiting */
	event_free(r->ev);
	close(r->pidfd);
	free(r);
}

void runtime_reap_child(struct event_base *base, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	struct reaper *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->pid = pid;
	r->pidfd = pidfd;
	r->ev = event_new(base, pidfd, EV_READ | EV_PERSIST, reaper_cb, r);
	event_add(r->ev, NULL);
}
