/* `berth-shim exec PID DIR SPEC_JSON`: run a process inside the running container whose init is
 * PID (its namespaces and cgroups), with stdio as given by the agent. Exits with the process's
 * status, or 126/127 (and Docker's message on stderr) when it cannot be run. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/rootpath.h"
#include "shim.h"
#include "shim_proto.h"

/* Put ourselves into every cgroup the init is in (host view, read before setns). */
static void join_cgroups(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctrl = strchr(line, ':');
		char *cg = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		ctrl++;
		char procs[1200];
		if (!*ctrl)
			snprintf(procs, sizeof(procs), "/sys/fs/cgroup%s%s/cgroup.procs",
				 v2 ? "" : "/unified", cg);
		else if (!strncmp(ctrl, "name=", 5))
			continue;
		else
			snprintf(procs, sizeof(procs), "/sys/fs/cgroup/%s%s/cgroup.procs", ctrl,
				 cg);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "0", 1) < 0) {
				/* best effort: limits still apply through the namespaces we join */
			}
			close(fd);
		}
	}
	fclose(f);
}

/* docker exec reports a process it could not start (bad user, cwd...) as 126. */
static void exec_fail(const struct shim_child_error *cerr)
{
	dprintf(2,
		"OCI runtime exec failed: exec failed: unable to start container process: %s: "
		"unknown\r\n",
		cerr->msg);
	_exit(cerr->exit_code == 127 ? 127 : 126);
}

int shim_exec_main(int argc, char **argv)
{
	struct shim_child_error cerr = {0};
	if (argc != 5) {
		fprintf(stderr, "usage: berth-shim exec PID CONTAINER_DIR SPEC_JSON\n");
		return 125;
	}
	pid_t pid = (pid_t)atoi(argv[2]);
	json_error_t jerr;
	json_t *spec = json_loads(argv[4], 0, &jerr);
	if (pid <= 0 || !spec || json_array_size(json_object_get(spec, "args")) == 0) {
		fprintf(stderr, "berth-shim exec: bad arguments\n");
		return 125;
	}
	/* The container's own settings: capabilities, default cwd and user. */
	char path[4200];
	snprintf(path, sizeof(path), "%s/runtime.json", argv[3]);
	json_t *ctr = json_load_file(path, 0, &jerr);
	uint64_t caps = shim_caps_default();
	bool ctr_privileged = json_is_true(json_object_get(ctr, "privileged"));
	if (ctr_privileged)
		caps = ~0ULL;
	else if (ctr && shim_caps_from_spec(json_object_get(ctr, "cap_add"),
					    json_object_get(ctr, "cap_drop"), &caps, &cerr) < 0)
		exec_fail(&cerr);
	/* The container's filter, built for the container's capabilities; `exec --privileged`
	 * adds capabilities but keeps the filter, as in Docker. Without runtime.json we do not
	 * know the container: refuse rather than run unconfined. */
	struct shim_seccomp filter = {0};
	if (!ctr) {
		shim_child_fail(&cerr, 126, 0, "read %s: %s", path, jerr.text);
		exec_fail(&cerr);
	}
	/* berth's default: from the run dir's cache; a custom profile: as its init kept it */
	const char *profile = json_string_value(json_object_get(ctr, "seccomp"));
	const char *run_dir = json_string_value(json_object_get(ctr, "run_dir"));
	bool confined = !ctr_privileged && !(profile && !strcmp(profile, "unconfined"));
	snprintf(path, sizeof(path), "%s/seccomp.bpf", argv[3]);
	if (confined && !(profile && shim_seccomp_read(path, &filter) == 0) &&
	    shim_seccomp_compile(profile, caps, run_dir, &filter, &cerr) < 0)
		exec_fail(&cerr);
	bool nnp = json_is_true(json_object_get(ctr, "no_new_privileges"));
	if (json_is_true(json_object_get(spec, "privileged")))
		caps = ~0ULL;
	const char *cwd = json_string_value(json_object_get(spec, "cwd"));
	if (!cwd || !*cwd)
		cwd = json_string_value(json_object_get(ctr, "cwd"));
	const char *user = json_string_value(json_object_get(spec, "user"));
	if (!user || !*user)
		user = json_string_value(json_object_get(ctr, "user"));

	static const char *const ns_names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
	int ns_fd[6];
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_names[i]);
		ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fd[i] < 0) {
			shim_child_fail(&cerr, 126, errno, "open %s (is the container running?)",
					path);
			exec_fail(&cerr);
		}
	}
	join_cgroups(pid);
	for (int i = 0; i < 6; i++) {
		/* joining our own namespace (e.g. host network) fails harmlessly: skip it */
		if (setns(ns_fd[i], 0) < 0 && errno != EINVAL) {
			shim_child_fail(&cerr, 126, errno, "join the container's %s namespace",
					ns_names[i]);
			exec_fail(&cerr);
		}
		close(ns_fd[i]);
	}
	/* A terminal is made in the container's own devpts (so that tty(1) and ttyname() work
	 * there); the agent gets its master over fd 3. */
	bool tty = json_is_true(json_object_get(spec, "tty"));
	int slave = -1;
	if (tty) {
		json_t *size = json_object_get(spec, "console_size");
		unsigned short rows = 0, cols = 0;
		if (json_array_size(size) == 2) {
			rows = (unsigned short)json_integer_value(json_array_get(size, 0));
			cols = (unsigned short)json_integer_value(json_array_get(size, 1));
		}
		int master;
		if (shim_pty_open(rows, cols, &master, &slave) < 0) {
			shim_child_fail(&cerr, 126, errno, "open a terminal in the container");
			exec_fail(&cerr);
		}
		if (shim_send_fd(3, master) < 0) {
			shim_child_fail(&cerr, 126, errno, "hand the terminal to the agent");
			exec_fail(&cerr);
		}
		close(master);
		close(3);
	}
	pid_t child = fork();
	if (child < 0) {
		shim_child_fail(&cerr, 126, errno, "fork");
		exec_fail(&cerr);
	}
	if (child == 0) {
		if (tty)
			shim_pty_set_stdio(slave); /* run even without a controlling terminal */
		struct shim_user u;
		if (shim_user_resolve(user, &u, &cerr) < 0)
			exec_fail(&cerr);
		/* Docker's exec process starts from the container's: its rlimits and OOM score */
		if (shim_rlimits_apply(json_object_get(ctr, "ulimits"), &cerr) < 0 ||
		    shim_oom_score_adj_apply(
			(int)json_integer_value(json_object_get(ctr, "oom_score_adj")), &cerr) <
			0 ||
		    shim_security_apply(&filter, nnp, caps, u.uid, u.gid, u.groups, u.n_groups,
					&cerr) < 0)
			exec_fail(&cerr);
		/* Inside the container's root only: a cwd of /proc/self/fd/N must not name a
		 * directory the shim holds open on the host. */
		if (cwd && *cwd) {
			int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			int cwd_fd = root_fd < 0
					 ? -1
					 : berth_root_open(root_fd, cwd,
							   O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
			if (cwd_fd < 0 || fchdir(cwd_fd) < 0) {
				shim_child_fail(&cerr, 126, errno, "chdir to cwd (\"%s\")", cwd);
				exec_fail(&cerr);
			}
			close(cwd_fd);
			close(root_fd);
		}
		const char **args = shim_strv_from_json(json_object_get(spec, "args"));
		const char **env = shim_strv_from_json(json_object_get(spec, "env"));
		char home[sizeof(u.home) + 8];
		snprintf(home, sizeof(home), "HOME=%s", u.home);
		const char *defaults[] = {"PATH=" SHIM_DEFAULT_PATH, home, NULL};
		const char **full = shim_env_defaults(env, defaults);
		if (!full)
			full = env;
		umask(022);
		shim_exec_command(args, full, &cerr);
		exec_fail(&cerr);
	}
	if (slave >= 0)
		close(slave);
	/* Only the process holds the stdio: the agent sees EOF when it and its children do. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++)
		dup2(null, i);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		int status;
		if (waitpid(child, &status, 0) < 0) {
			if (errno == EINTR)
				continue;
			return 255;
		}
		return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
}
