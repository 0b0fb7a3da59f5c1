/* --init: a minimal PID 1 that forwards signals to the command and reaps every zombie. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

static volatile pid_t init_child;

static void init_forward(int sig)
{
	kill(init_child, sig);
}

void shim_init_run(pid_t child)
{
	static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,  SIGQUIT,
					SIGUSR1, SIGUSR2, SIGWINCH};
	init_child = child;
	/* Keep none of the shim's descriptors (the agent's connection, the control socket, the
	 * log, the pipes' read ends): held here, they outlive a killed shim and the agent never
	 * sees it go, so the container stays "running" with nobody to stop it. */
	syscall(SYS_close_range, 3, ~0U, 0);
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	if (shim_argv_area && shim_argv_area_len > 5) {
		memset(shim_argv_area, 0, shim_argv_area_len);
		memcpy(shim_argv_area, "init", 4);
	}
	struct sigaction sa = {.sa_handler = init_forward, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			_exit(255);
		}
		if (pid != child)
			continue; /* a reaped orphan */
		if (WIFEXITED(status))
			_exit(WEXITSTATUS(status));
		if (WIFSIGNALED(status))
			_exit(128 + WTERMSIG(status));
	}
}
