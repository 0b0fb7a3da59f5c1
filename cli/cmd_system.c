/* berth system start|stop|status: run berth-agent, berth-netd and berth-scheduler in the
 * background, found next to this binary, and report on them by socket and pid file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/paths.h"
#include "cli.h"
#include "hijack.h"

struct daemon {
	const char *name;   /* pid and log file stem: agent → agent.pid, agent.log */
	const char *binary; /* berth-agent */
	const char *(*sock)(void);
};

static const struct daemon daemons[] = {
    {"agent", "berth-agent", berth_agent_sock},
    {"netd", "berth-netd", berth_netd_sock},
    {"scheduler", "berth-scheduler", berth_scheduler_sock},
};
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* GET /_ping answered with 200 on sock? */
static bool ping(const char *sock)
{
	struct cli_conn c;
	struct berth_error err = {0};
	if (cli_conn_open(&c, sock, &err) < 0)
		return false;
	struct cli_resp_head h = {0};
	bool ok = cli_conn_send(&c, "GET", "/_ping", NULL, NULL, 0, &err) == 0 &&
		  cli_conn_read_head(&c, &h, 1000, &err) == 0 && h.status == 200;
	cli_conn_close(&c);
	return ok;
}

static pid_t read_pid(const struct daemon *d)
{
	char path[PATH_MAX], buf[32] = "";
	snprintf(path, sizeof(path), "%s/%s.pid", berth_run_dir(), d->name);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	pid_t pid = (pid_t)atoi(buf);
	return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

static int spawn(const struct daemon *d, const char *dir)
{
	char bin[PATH_MAX], log[PATH_MAX];
	snprintf(bin, sizeof(bin), "%s/%s", dir, d->binary);
	snprintf(log, sizeof(log), "%s/%s.log", berth_run_dir(), d->name);
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "berth: cannot start %s: %s: %s\n", d->binary, bin,
			strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "berth: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setsid();
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, STDIN_FILENO);
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		/* Keep no descriptor of ours open in the daemon (a test runner waits on them). */
		close_range(3, ~0U, 0);
		/* Double fork so the daemon is not our child: no zombie if we exit first. */
		if (fork() != 0)
			_exit(0);
		execl(bin, d->binary, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}

static int system_start_exec(struct cli *cli, struct cli_args *a)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "berth: readlink /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	if (mkdir_p(berth_run_dir()) < 0 || mkdir_p(berth_root_dir()) < 0) {
		fprintf(stderr, "berth: cannot create %s or %s: %s\n", berth_run_dir(),
			berth_root_dir(), strerror(errno));
		return 1;
	}
	bool started[NDAEMONS] = {false};
	for (size_t i = 0; i < NDAEMONS; i++) {
		if (ping(daemons[i].sock()))
			continue;
		if (spawn(&daemons[i], self) < 0)
			return 1;
		started[i] = true;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < NDAEMONS; i++) {
		if (!started[i])
			continue;
		for (;;) {
			if (ping(daemons[i].sock()))
				break;
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec >= 10) {
				fprintf(stderr,
					"berth: %s did not answer on unix://%s within 10 s; see "
					"%s/%s.log\n",
					daemons[i].binary, daemons[i].sock(), berth_run_dir(),
					daemons[i].name);
				return 1;
			}
			usleep(5000);
		}
	}
	(void)cli;
	(void)a;
	return 0;
}

static int system_stop_exec(struct cli *cli, struct cli_args *a)
{
	pid_t pids[NDAEMONS];
	/* Stop the scheduler first: it drives the agent. */
	for (size_t k = 0; k < NDAEMONS; k++) {
		size_t i = NDAEMONS - 1 - k;
		pids[i] = read_pid(&daemons[i]);
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	}
	for (size_t i = 0; i < NDAEMONS; i++) {
		if (pids[i] <= 0)
			continue;
		int waited = 0;
		while (kill(pids[i], 0) == 0 && waited < 10000) {
			usleep(10000);
			waited += 10;
		}
		if (kill(pids[i], 0) == 0) {
			fprintf(stderr, "berth: %s (pid %d) did not stop within 10 s; killing it\n",
				daemons[i].binary, (int)pids[i]);
			kill(pids[i], SIGKILL);
		}
	}
	(void)cli;
	(void)a;
	return 0;
}

static int system_status_exec(struct cli *cli, struct cli_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < NDAEMONS; i++) {
		pid_t pid = read_pid(&daemons[i]);
		bool up = ping(daemons[i].sock());
		if (up)
			printf("%-16s running   pid %-8d unix://%s\n", daemons[i].binary, (int)pid,
			       daemons[i].sock());
		else
			printf("%-16s stopped   %-12s unix://%s\n", daemons[i].binary,
			       pid ? "(no answer)" : "", daemons[i].sock());
		if (!up)
			rc = 1;
	}
	(void)cli;
	(void)a;
	return rc;
}

static const struct cli_flag no_flags[] = {{0}};

const struct cli_command cli_cmd_system_start = {
    .name = "start",
    .usage = "start",
    .summary = "Start berth-agent, berth-netd and berth-scheduler in the background",
    .flags = no_flags,
    .max_args = 0,
    .exec = system_start_exec,
};

const struct cli_command cli_cmd_system_stop = {
    .name = "stop",
    .usage = "stop",
    .summary = "Stop the berth daemons (containers keep running in their shims)",
    .flags = no_flags,
    .max_args = 0,
    .exec = system_stop_exec,
};

const struct cli_command cli_cmd_system_status = {
    .name = "status",
    .usage = "status",
    .summary = "Show whether the berth daemons are running",
    .flags = no_flags,
    .max_args = 0,
    .exec = system_status_exec,
};
