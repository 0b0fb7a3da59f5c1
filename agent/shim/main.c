/* berth-shim: starts one container, then holds its stdio, log and exit status (loop.c, exit.c)
 * and serves the agent over a unix socket (control.c; protocol in ../shim_proto.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"

struct shim_state shim = {.out_fd = -1,
			  .err_fd = -1,
			  .tty_fd = -1,
			  .stdin_fd = -1,
			  .listen_fd = -1,
			  .client_fd = -1,
			  .sig_fd = -1};

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
	shim.sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	const char *dir = argv[1], *run_dir = argv[2];
	static char pool_dir[4096];
	if (pooled) {
		shim_pool_wait(argv[2], argv[3], argv[4], argc < 6 || strcmp(argv[5], "nonet"),
			       pool_dir, sizeof(pool_dir));
		dir = pool_dir;
		if (shim_pool_go(dir, &cerr) < 0)
			return shim_fail_start(&cerr, dir);
	}
	struct shim_spec *spec = &shim.spec;
	if (shim_spec_load(dir, run_dir, spec, &cerr) < 0)
		return shim_fail_start(&cerr, dir);
	char path[4200];
	snprintf(path, sizeof(path), "%s/exit.json", spec->dir);
	unlink(path);
	/* Listening before the container starts: an agent restarted at any moment from here on
	 * finds us (it waits for HELLO, sent once the loop runs). */
	shim.listen_fd = shim_control_listen(spec);
	if (shim.listen_fd < 0)
		fprintf(stderr, "berth-shim: listen on %s: %s\n", shim.sock_path, strerror(errno));
	if ((pooled ? shim_pool_cgroups(spec, &shim.cg, &cerr)
		    : shim_cgroups_create(spec, &shim.cg, &cerr)) < 0)
		return shim_fail_start(&cerr, spec->dir);
	static char log_path[4096];
	snprintf(log_path, sizeof(log_path), "%s", spec->log_path ? spec->log_path : "");
	shim_log_open(log_path, spec->log_max_size, spec->log_max_file);
	int rc = pooled ? shim_pool_spawn(spec, &shim.cg, &shim.pid, &shim.out_fd, &shim.err_fd,
					  &shim.tty_fd, &shim.stdin_fd, &cerr)
			: shim_spawn(spec, &shim.cg, &shim.pid, &shim.out_fd, &shim.err_fd,
				     &shim.tty_fd, &shim.stdin_fd, &cerr);
	if (rc < 0)
		return shim_fail_start(&cerr, spec->dir);
	if (spec->tty) {
		shim.out_fd = shim.tty_fd;
		if (spec->stdin_open)
			shim.stdin_fd = shim.tty_fd;
	}
	if (shim.stdin_fd >= 0)
		fcntl(shim.stdin_fd, F_SETFL, O_NONBLOCK);
	shim.client_fd = SHIM_FD_AGENT;
	fcntl(shim.client_fd, F_SETFL, O_NONBLOCK);
	struct shim_msg_started m = {shim.pid, 0, getpid()};
	shim_control_send(SHIM_MSG_STARTED, 0, &m, sizeof(m));
	json_decref(spec->json); /* the loop needs none of it */
	spec->json = NULL;
	free(spec->layers), free(spec->args), free(spec->env), free(spec->mounts);
	spec->layers = spec->args = spec->env = NULL;
	spec->mounts = NULL;
	malloc_trim(0);
	shim.touched = true; /* setup's stack and buffers go back once the loop is idle */
	shim_loop_run();
	return 0;
}
