/* Containers whose agent went away and came back: reconnect to their shim after an agent
 * restart, account for those whose shim is gone (exit.json, or what is left in their cgroups),
 * and clean up after dead containers. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

int runtime_exit_read(const char *dir, struct runtime_exit *out)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	_cleanup_json_ json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return -1;
	out->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
	out->oom_killed = json_is_true(json_object_get(j, "oom_killed"));
	out->finished_ns = json_integer_value(json_object_get(j, "finished_ns"));
	return 0;
}

void runtime_exit_write(const char *dir, const struct runtime_exit *e)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	_cleanup_json_ json_t *j =
	    json_pack("{s:i,s:b,s:s,s:I}", "exit_code", e->exit_code, "oom_killed", e->oom_killed,
		      "finished_at", "", "finished_ns", (json_int_t)e->finished_ns);
	berth_write_json_atomic(path, j, NULL);
}

int64_t runtime_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One frame, read synchronously (adopt only), with a deadline. */
static int read_frame_sync(int fd, struct shim_frame_header *hdr, char *buf, size_t size,
			   int timeout_ms)
{
	size_t got = 0, want = sizeof(*hdr);
	char tmp[sizeof(*hdr)];
	bool have_hdr = false;
	while (got < want) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		ssize_t n = have_hdr ? recv(fd, buf + got, want - got, 0)
				     : recv(fd, tmp + got, want - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (!have_hdr && got == sizeof(*hdr)) {
			memcpy(hdr, tmp, sizeof(*hdr));
			if (hdr->len > size)
				return -1;
			have_hdr = true;
			got = 0;
			want = hdr->len;
		}
	}
	return 0;
}

int runtime_cgroup_kill(const char *dir)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int pid, killed = 0;
	while (f && fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, SIGKILL) == 0)
			killed++;
	return killed;
}

/* Kill what is left in a container's cgroups; returns how many processes were found. */
static int kill_cgroup_tasks(const char *cgroup_parent, const char *id);

int runtime_adopt(struct event_base *base, const char *dir, const char *run_dir,
		  const struct runtime_callbacks *cbs, void *arg, struct runtime_handle **out,
		  pid_t *pid, struct runtime_exit *exited, struct berth_error *err)
{
	*out = NULL;
	char dcopy[PATH_MAX], sock[128];
	snprintf(dcopy, sizeof(dcopy), "%s", dir);
	const char *id = basename(dcopy);
	if (shim_socket_path(sock, sizeof(sock), run_dir, id) < 0)
		return berth_err(err, 500, "shim socket path too long under %s", run_dir);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	struct shim_frame_header hdr;
	char buf[256];
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    read_frame_sync(fd, &hdr, buf, sizeof(buf), 2000) == 0 && hdr.type == SHIM_MSG_HELLO) {
		struct shim_msg_started m = {0};
		memcpy(&m, buf, hdr.len < sizeof(m) ? hdr.len : sizeof(m));
		if (!m.exited) {
			*out = runtime_handle_new(base, steal_fd(&fd), dir, cbs, arg, m.pid,
						  m.shim_pid);
			*pid = m.pid;
			return 0;
		}
		/* Exited while we were away: take the status, let the shim go. */
		if (read_frame_sync(fd, &hdr, buf, sizeof(buf), 2000) == 0 &&
		    hdr.type == SHIM_MSG_EXIT) {
			struct shim_msg_exit e = {0};
			memcpy(&e, buf, hdr.len < sizeof(e) ? hdr.len : sizeof(e));
			*exited =
			    (struct runtime_exit){e.exit_code, e.oom_killed != 0, e.finished_ns};
			struct shim_frame_header ack = {.type = SHIM_MSG_ACK,
							.version = SHIM_PROTO_VERSION};
			send(fd, &ack, sizeof(ack), MSG_NOSIGNAL);
			return 1;
		}
	}
	/* No shim: its exit.json, or a container nobody holds any more. */
	if (runtime_exit_read(dir, exited) == 0)
		return 1;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	_cleanup_json_ json_t *spec = json_load_file(path, 0, NULL);
	const char *parent = json_string_value(json_object_get(spec, "cgroup_parent"));
	int killed = kill_cgroup_tasks(parent ? parent : "berth", id);
	*exited = (struct runtime_exit){killed > 0 ? 137 : 255, false, runtime_now_ns()};
	runtime_exit_write(dir, exited);
	return 1;
}

static int cgroup_dirs(const char *cgroup_parent, const char *id, char dirs[][PATH_MAX], int max)
{
	int n = 0;
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		snprintf(dirs[n++], PATH_MAX, "/sys/fs/cgroup/%s/%s", cgroup_parent, id);
		return n;
	}
	_cleanup_closedir_ DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || de->d_type == DT_LNK)
			continue;
		snprintf(dirs[n], PATH_MAX, "/sys/fs/cgroup/%s/%s/%s", de->d_name, cgroup_parent,
			 id);
		if (access(dirs[n], F_OK) == 0)
			n++;
	}
	return n;
}

static int kill_cgroup_tasks(const char *cgroup_parent, const char *id)
{
	char dirs[16][PATH_MAX];
	int n = cgroup_dirs(cgroup_parent, id, dirs, 16), killed = 0;
	for (int i = 0; i < n; i++)
		killed += runtime_cgroup_kill(dirs[i]);
	return killed;
}

int runtime_cleanup(const char *dir, const char *run_dir, const char *id, const char *cgroup_parent,
		    struct berth_error *err)
{
	char sock[128], path[PATH_MAX + 16];
	if (shim_socket_path(sock, sizeof(sock), run_dir, id) == 0)
		unlink(sock);
	snprintf(path, sizeof(path), "%s/rootfs", dir);
	umount2(path, MNT_DETACH); /* only ever mounted in the container's namespace: harmless */
	const char *parent = cgroup_parent && *cgroup_parent ? cgroup_parent : "berth";
	char dirs[16][PATH_MAX];
	int n = cgroup_dirs(parent, id, dirs, 16);
	int failed = -1;
	for (int i = 0; i < n; i++) {
		/* Bounded: a killed PID namespace empties within milliseconds. */
		for (int tries = 0; tries < 200; tries++) {
			if (rmdir(dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY || tries == 199) {
				failed = i;
				break;
			}
			kill_cgroup_tasks(parent, id);
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	}
	if (failed >= 0)
		return berth_err_errno(err, 500, errno, "remove cgroup %s", dirs[failed]);
	return 0;
}
