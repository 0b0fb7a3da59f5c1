/* The agent's side of berth-shim: spawn it, speak its protocol over a unix socket, re-adopt it
 * after an agent restart, and clean up after containers whose shim is gone. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

extern char **environ;

struct runtime_handle {
	struct event_base *base;
	struct bufferevent *bev;
	struct runtime_callbacks cbs;
	void *arg;
	runtime_started_cb started; /* NULL once called */
	pid_t pid;
	pid_t shim_pid; /* 0 when the shim did not say */
	char *dir; /* the container's directory (exit.json) */
	bool exited;
	bool released;	 /* runtime_release called inside one of our callbacks */
	int dispatching; /* > 0 while we are inside a callback */
};

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

static void handle_free(struct runtime_handle *h)
{
	if (h->bev)
		bufferevent_free(h->bev);
	free(h->dir);
	free(h);
}

/* After a callback returns: free the handle if the callback released it. */
static bool handle_leave(struct runtime_handle *h)
{
	h->dispatching--;
	if (h->dispatching == 0 && h->released) {
		handle_free(h);
		return true;
	}
	return false;
}

static int send_frame(struct runtime_handle *h, int type, int stream, const void *data, size_t len)
{
	if (!h || !h->bev)
		return -1;
	struct shim_frame_header hdr = {.len = (uint32_t)len,
					.type = (uint8_t)type,
					.stream = (uint8_t)stream,
					.version = SHIM_PROTO_VERSION};
	if (bufferevent_write(h->bev, &hdr, sizeof(hdr)) < 0 ||
	    (len && bufferevent_write(h->bev, data, len) < 0))
		return -1;
	return 0;
}

/* Read <dir>/exit.json as the shim wrote it. */
static int read_exit_json(const char *dir, struct runtime_exit *out)
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

static void write_exit_json(const char *dir, const struct runtime_exit *e)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	_cleanup_json_ json_t *j =
	    json_pack("{s:i,s:b,s:s,s:I}", "exit_code", e->exit_code, "oom_killed", e->oom_killed,
		      "finished_at", "", "finished_ns", (json_int_t)e->finished_ns);
	berth_write_json_atomic(path, j, NULL);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The shim is gone while its container ran: the container has no log reader and no status
 * keeper left, so it is killed and reported dead (137) rather than left unaccounted. */
static void shim_lost(struct runtime_handle *h)
{
	struct runtime_exit e = {.exit_code = 137, .finished_ns = now_ns()};
	if (read_exit_json(h->dir, &e) < 0) {
		if (h->pid > 0)
			kill(h->pid, SIGKILL);
		write_exit_json(h->dir, &e);
	}
	h->exited = true;
	if (h->cbs.on_exit)
		h->cbs.on_exit(h->arg, &e);
}

static void on_frame(struct runtime_handle *h, const struct shim_frame_header *hdr, const char *p)
{
	switch (hdr->type) {
	case SHIM_MSG_STARTED:
	case SHIM_MSG_HELLO: {
		struct shim_msg_started m = {0};
		memcpy(&m, p, hdr->len < sizeof(m) ? hdr->len : sizeof(m));
		h->pid = m.pid;
		h->shim_pid = m.shim_pid;
		runtime_started_cb cb = h->started;
		h->started = NULL;
		if (cb)
			cb(h->arg, m.pid, NULL);
		break;
	}
	case SHIM_MSG_ERROR: {
		struct berth_error err = {.status = 400, .exit_code = 125};
		int32_t code = 125;
		if (hdr->len >= 4)
			memcpy(&code, p, 4);
		err.exit_code = code;
		if (code == 125)
			err.status = 500;
		size_t n = hdr->len > 4 ? hdr->len - 4 : 0;
		if (n >= sizeof(err.msg))
			n = sizeof(err.msg) - 1;
		memcpy(err.msg, p + 4, n);
		h->exited = true; /* no on_exit follows a failed start */
		runtime_started_cb cb = h->started;
		h->started = NULL;
		if (cb)
			cb(h->arg, 0, &err);
		break;
	}
	case SHIM_MSG_OUTPUT:
		if (h->cbs.on_output)
			h->cbs.on_output(h->arg, hdr->stream, p, hdr->len);
		break;
	case SHIM_MSG_EXIT: {
		struct shim_msg_exit m = {0};
		memcpy(&m, p, hdr->len < sizeof(m) ? hdr->len : sizeof(m));
		struct runtime_exit e = {m.exit_code, m.oom_killed != 0, m.finished_ns};
		if (h->exited)
			break;
		h->exited = true;
		if (h->cbs.on_exit)
			h->cbs.on_exit(h->arg, &e);
		/* Recorded: the shim may go. */
		if (!h->released)
			send_frame(h, SHIM_MSG_ACK, 0, NULL, 0);
		break;
	}
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct runtime_handle *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	h->dispatching++;
	while (!h->released) {
		struct shim_frame_header hdr;
		if (evbuffer_copyout(in, &hdr, sizeof(hdr)) < (ssize_t)sizeof(hdr))
			break;
		if (hdr.len > SHIM_FRAME_MAX) {
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		if (evbuffer_get_length(in) < sizeof(hdr) + hdr.len)
			break;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)(sizeof(hdr) + hdr.len));
		/* Copy out: a callback may release the handle (and its buffer) under us. */
		char stackbuf[4096];
		char *copy = hdr.len <= sizeof(stackbuf) ? stackbuf : malloc(hdr.len);
		if (!copy)
			abort();
		memcpy(copy, p + sizeof(hdr), hdr.len);
		evbuffer_drain(in, sizeof(hdr) + hdr.len);
		on_frame(h, &hdr, copy);
		if (copy != stackbuf)
			free(copy);
	}
	handle_leave(h);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct runtime_handle *h = arg;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	h->dispatching++;
	read_cb(bev, h); /* frames that arrived with the EOF */
	if (h->released) {
		handle_leave(h);
		return;
	}
	bufferevent_free(h->bev);
	h->bev = NULL;
	if (h->started) {
		struct berth_error err = {.status = 500, .exit_code = 125};
		struct runtime_exit e;
		if (read_exit_json(h->dir, &e) == 0 && (e.exit_code == 126 || e.exit_code == 127))
			err.exit_code = e.exit_code;
		snprintf(err.msg, sizeof(err.msg),
			 "berth-shim exited before starting the container"
			 " (see the agent's log)");
		runtime_started_cb cb = h->started;
		h->started = NULL;
		h->exited = true;
		cb(h->arg, 0, &err);
	} else if (!h->exited) {
		shim_lost(h);
	}
	handle_leave(h);
}

static struct runtime_handle *handle_new(struct event_base *base, int fd, const char *dir,
					 const struct runtime_callbacks *cbs, void *arg)
{
	struct runtime_handle *h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	h->base = base;
	if (cbs)
		h->cbs = *cbs;
	h->arg = arg;
	h->dir = strdup(dir);
	if (!h->dir)
		abort();
	evutil_make_socket_nonblocking(fd);
	h->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!h->bev)
		abort();
	bufferevent_setcb(h->bev, read_cb, NULL, event_cb, h);
	bufferevent_enable(h->bev, EV_READ);
	return h;
}

/* runtime.json without fsync: it is rewritten on every start, and only the shim reads it. */
static int write_spec(const char *dir, const json_t *spec, struct berth_error *err)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.runtime.json.tmp", dir);
	if (json_dump_file(spec, tmp, JSON_COMPACT) < 0)
		return berth_err_errno(err, 500, errno, "write %s", tmp);
	if (rename(tmp, path) < 0)
		return berth_err_errno(err, 500, errno, "rename %s", path);
	return 0;
}

int runtime_spawn_shim(const char *shim_path, char *const argv[], pid_t *pid, int *fd,
		       struct berth_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_err_errno(err, 500, errno, "socketpair");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], SHIM_FD_AGENT);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own session: a signal to the agent's process group never reaches it. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(pid, shim_path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		return berth_err_errno(err, 500, rc, "start %s", shim_path);
	}
	*fd = sv[0];
	return 0;
}

/* Hand the container to an idle pool shim: -1 when none is ready (or it is gone). */
static int start_pooled(struct event_base *base, const char *shim_path, const char *dir,
			const char *run_dir, const json_t *spec)
{
	const char *parent = json_string_value(json_object_get(spec, "cgroup_parent"));
	size_t len = strlen(dir);
	const char *mode = json_string_value(json_object_get(spec, "network_mode"));
	bool own_netns = !json_object_get(spec, "netns") && !(mode && !strcmp(mode, "host"));
	int fd = runtime_pool_take(base, shim_path, run_dir, parent && *parent ? parent : "berth",
				   own_netns);
	if (fd < 0)
		return -1;
	struct shim_frame_header hdr = {
	    .len = (uint32_t)len, .type = SHIM_MSG_ASSIGN, .version = SHIM_PROTO_VERSION};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)dir, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	if (len >= 4096 || sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)(sizeof(hdr) + len)) {
		close(fd);
		return -1;
	}
	return fd;
}

int runtime_start(struct event_base *base, const char *shim_path, const char *dir,
		  const char *run_dir, const json_t *spec, const struct runtime_callbacks *cbs,
		  void *arg, runtime_started_cb started, struct runtime_handle **out,
		  struct berth_error *err)
{
	*out = NULL;
	if (write_spec(dir, spec, err) < 0)
		return -1;
	int fd = start_pooled(base, shim_path, dir, run_dir, spec);
	if (fd < 0) {
		char *const argv[] = {(char *)"berth-shim", (char *)dir, (char *)run_dir, NULL};
		pid_t shim_pid;
		if (runtime_spawn_shim(shim_path, argv, &shim_pid, &fd, err) < 0)
			return -1;
		runtime_reap_child(base, shim_pid);
	}
	struct runtime_handle *h = handle_new(base, fd, dir, cbs, arg);
	h->started = started;
	*out = h;
	return 0;
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
			struct runtime_handle *h = handle_new(base, steal_fd(&fd), dir, cbs, arg);
			h->pid = m.pid;
			h->shim_pid = m.shim_pid;
			*pid = m.pid;
			*out = h;
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
	if (read_exit_json(dir, exited) == 0)
		return 1;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	_cleanup_json_ json_t *spec = json_load_file(path, 0, NULL);
	const char *parent = json_string_value(json_object_get(spec, "cgroup_parent"));
	int killed = kill_cgroup_tasks(parent ? parent : "berth", id);
	*exited = (struct runtime_exit){killed > 0 ? 137 : 255, false, now_ns()};
	write_exit_json(dir, exited);
	return 1;
}

int runtime_kill(struct runtime_handle *h, int sig, struct berth_error *err)
{
	int32_t s = sig;
	if (!h || h->exited)
		return berth_err(err, 409, "container is not running");
	/* A signal to the shim overtakes stdin queued on the connection. */
	union sigval v = {.sival_int = sig};
	if (h->shim_pid > 0 && sigqueue(h->shim_pid, SHIM_KILL_SIGNAL, v) == 0)
		return 0;
	if (send_frame(h, SHIM_MSG_KILL, 0, &s, sizeof(s)) < 0)
		return berth_err(err, 500, "container's shim is not connected");
	return 0;
}

int runtime_write_stdin(struct runtime_handle *h, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		size_t n = len > SHIM_FRAME_MAX ? SHIM_FRAME_MAX : len;
		if (send_frame(h, SHIM_MSG_STDIN, 0, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int runtime_close_stdin(struct runtime_handle *h)
{
	return send_frame(h, SHIM_MSG_STDIN_CLOSE, 0, NULL, 0);
}

int runtime_resize(struct runtime_handle *h, unsigned rows, unsigned cols)
{
	struct shim_msg_resize r = {(uint16_t)rows, (uint16_t)cols};
	return send_frame(h, SHIM_MSG_RESIZE, 0, &r, sizeof(r));
}

void runtime_release(struct runtime_handle *h)
{
	if (!h)
		return;
	if (h->dispatching > 0) {
		h->released = true;
		return;
	}
	handle_free(h);
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
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/cgroup.procs", dirs[i]);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		int pid;
		while (f && fscanf(f, "%d", &pid) == 1)
			if (pid > 0 && kill(pid, SIGKILL) == 0)
				killed++;
	}
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
