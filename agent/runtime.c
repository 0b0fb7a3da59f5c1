/* The agent's side of a container's berth-shim: start it (or hand the container to a pool shim)
 * and speak its protocol over a unix socket. Adopting a shim after an agent restart and cleaning
 * up after dead containers are in runtime_adopt.c; spawning processes in runtime_spawn.c. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

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

/* The shim is gone while its container ran: the container has no log reader and no status
 * keeper left, so it is killed and reported dead (137) rather than left unaccounted. */
static void shim_lost(struct runtime_handle *h)
{
	struct runtime_exit e = {.exit_code = 137, .finished_ns = runtime_now_ns()};
	if (runtime_exit_read(h->dir, &e) < 0) {
		if (h->pid > 0)
			kill(h->pid, SIGKILL);
		runtime_exit_write(h->dir, &e);
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
		if (runtime_exit_read(h->dir, &e) == 0 &&
		    (e.exit_code == 126 || e.exit_code == 127))
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

struct runtime_handle *runtime_handle_new(struct event_base *base, int fd, const char *dir,
					  const struct runtime_callbacks *cbs, void *arg, pid_t pid,
					  pid_t shim_pid)
{
	struct runtime_handle *h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	h->base = base;
	if (cbs)
		h->cbs = *cbs;
	h->arg = arg;
	h->pid = pid;
	h->shim_pid = shim_pid;
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
	struct runtime_handle *h = runtime_handle_new(base, fd, dir, cbs, arg, 0, 0);
	h->started = started;
	*out = h;
	return 0;
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
