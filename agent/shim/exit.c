/* How the container ends: its init reaped (and signals for it forwarded) through the signalfd,
 * its exit status recorded in exit.json and reported to the agent; or its start failed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"

#define ERR_PREFIX                                                                                 \
	"failed to create task for container: failed to create shim task: OCI runtime create "     \
	"failed: berth-shim create failed: unable to start container process: "

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
void shim_finalize(void)
{
	shim.finalized = true;
	shim_log_close();
	shim.oom_killed = shim_cgroups_oom_killed(&shim.cg);
	shim_cgroups_remove(&shim.cg);
	write_exit_json(shim.spec.dir, shim.exit_code, shim.oom_killed, shim.finished_ns);
	shim_control_send_exit();
}

void shim_reap(void)
{
	struct signalfd_siginfo si;
	while (read(shim.sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if ((int)si.ssi_signo == SHIM_KILL_SIGNAL && !shim.exited && si.ssi_int > 0 &&
		    si.ssi_int < 65)
			kill(shim.pid, si.ssi_int);
	}
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		if (p != shim.pid)
			continue;
		shim.exited = true;
		shim.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		shim.finished_ns = shim_now_ns();
		/* Everything in the PID namespace is gone: the pipes end soon. */
		shim.exit_deadline_ns = shim.finished_ns + 2000000000LL;
	}
}

/* A failure before the container runs: tell the agent and record it as the exit status. */
int shim_fail_start(const struct shim_child_error *cerr, const char *dir)
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
	if (shim.pid > 0)
		waitpid(shim.pid, NULL, 0);
	shim_control_unlink_socket();
	shim_cgroups_remove(&shim.cg);
	write_exit_json(dir, code, false, shim_now_ns());
	if (send(SHIM_FD_AGENT, frame, sizeof(h) + 4 + (size_t)n, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "berth-shim: %s\n", msg);
	return 0;
}
