/* The pool of idle shims (`berth-shim pool`): each has a zygote already sitting in cgroups of
 * its own, <parent>/pool-<agent pid>-<n>, so a start hands one the container and its init is
 * born in them, renamed to the container's: no cgroup migration (an RCU grace period, 5-15 ms)
 * on the start path. v1 hierarchies only (v2 cgroups cannot be renamed). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/log.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

#define POOL_DEFAULT 2
#define POOL_MAX 16
#define POOL_MAX_FAILURES 5
#define REFILL_DELAY_US 10000 /* after a take: the start it served has the CPUs first */

struct pool_shim {
	struct pool_shim *next;
	pid_t pid;
	int fd;
	struct event *ev;
	bool ready;
};

static struct {
	bool started, off;
	bool nonet; /* the last start joined a given or the host's network namespace */
	int size, n, failures;
	unsigned seq;
	struct event_base *base;
	struct event *refill;
	char *shim_path, *run_dir, *parent;
	struct pool_shim *list;
} P;

static int pool_size(void)
{
	const char *v = getenv("BERTH_SHIM_POOL");
	if (!v || !*v)
		return POOL_DEFAULT;
	int n = atoi(v);
	return n < 0 ? 0 : n > POOL_MAX ? POOL_MAX : n;
}

static void entry_remove(struct pool_shim *s, bool close_fd)
{
	for (struct pool_shim **pp = &P.list; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	event_free(s->ev);
	if (close_fd)
		close(s->fd);
	free(s);
	P.n--;
}

static void schedule_refill(void)
{
	if (P.off || !P.refill || evtimer_pending(P.refill, NULL))
		return;
	struct timeval tv = {0, REFILL_DELAY_US};
	evtimer_add(P.refill, &tv);
}

/* READY, or EOF: the pool shim failed (its stderr is in the agent's log) or was killed. */
static void shim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_shim *s = arg;
	struct shim_frame_header h;
	ssize_t n = recv(fd, &h, sizeof(h), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == (ssize_t)sizeof(h) && h.type == SHIM_MSG_READY && !s->ready) {
		s->ready = true;
		P.failures = 0;
		return;
	}
	if (!s->ready && ++P.failures >= POOL_MAX_FAILURES) {
		log_warn("shim pool: %d pool shims in a row failed to get ready; pool off "
			 "(containers start without it)",
			 P.failures);
		P.off = true;
	}
	entry_remove(s, true);
	schedule_refill();
}

static void spawn_one(void)
{
	char slot[32];
	snprintf(slot, sizeof(slot), "%d-%u", (int)getpid(), P.seq++);
	/* A network namespace made in advance is wasted on a container that joins another. */
	char *const argv[] = {(char *)"berth-shim",
			      (char *)"pool",
			      P.run_dir,
			      P.parent,
			      slot,
			      (char *)(P.nonet ? "nonet" : "net"),
			      NULL};
	struct berth_error err = {0};
	pid_t pid;
	int fd;
	if (runtime_spawn_shim(P.shim_path, argv, &pid, &fd, &err) < 0) {
		log_warn("shim pool: %s", err.msg);
		P.failures++;
		return;
	}
	runtime_reap_child(P.base, pid);
	struct pool_shim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->pid = pid;
	s->fd = fd;
	s->ev = event_new(P.base, fd, EV_READ | EV_PERSIST, shim_cb, s);
	event_add(s->ev, NULL);
	s->next = P.list;
	P.list = s;
	P.n++;
}

static void refill_cb(evutil_socket_t fd, short what, void *arg)
{
	while (!P.off && P.n < P.size && P.failures < POOL_MAX_FAILURES)
		spawn_one();
}

/* pool-* cgroups of an agent that died with its pool: kill what is left in them, remove them. */
static void remove_stale(const char *parent)
{
	_cleanup_closedir_ DIR *root = opendir("/sys/fs/cgroup");
	struct dirent *c;
	while (root && (c = readdir(root))) {
		if (c->d_name[0] == '.' || c->d_type == DT_LNK)
			continue;
		char dir[512];
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/%s", c->d_name, parent);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strncmp(e->d_name, "pool-", 5) != 0 || e->d_type != DT_DIR)
				continue;
			char path[1024];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			for (int tries = 0; tries < 100 && rmdir(path) < 0 && errno == EBUSY;
			     tries++) {
				runtime_cgroup_kill(path);
				struct timespec ts = {0, 2000000};
				nanosleep(&ts, NULL);
			}
		}
	}
}

static void pool_stop(bool events);
static void stop_at_exit(void)
{
	pool_stop(false); /* the loop may be freed by now */
}

void runtime_pool_start(struct event_base *base, const char *shim_path, const char *run_dir,
			const char *cgroup_parent)
{
	if (P.started)
		return;
	P.started = true;
	P.size = pool_size();
	/* v2 cgroups cannot be renamed; there CLONE_INTO_CGROUP would be the way. */
	if (P.size == 0 || access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		P.off = true;
		return;
	}
	P.base = base;
	P.shim_path = strdup(shim_path);
	P.run_dir = strdup(run_dir);
	P.parent = strdup(cgroup_parent && *cgroup_parent ? cgroup_parent : "berth");
	if (!P.shim_path || !P.run_dir || !P.parent)
		abort();
	remove_stale(P.parent);
	P.refill = evtimer_new(base, refill_cb, NULL);
	static bool registered;
	if (!registered)
		atexit(stop_at_exit);
	registered = true;
	schedule_refill();
}

int runtime_pool_take(struct event_base *base, const char *shim_path, const char *run_dir,
		      const char *cgroup_parent, bool own_netns)
{
	P.nonet = !own_netns;
	if (!P.started)
		runtime_pool_start(base, shim_path, run_dir, cgroup_parent);
	if (P.off || base != P.base || strcmp(P.parent, cgroup_parent) != 0 ||
	    strcmp(P.run_dir, run_dir) != 0)
		return -1;
	for (struct pool_shim *s = P.list; s; s = s->next) {
		if (!s->ready)
			continue;
		int fd = s->fd;
		entry_remove(s, false);
		schedule_refill();
		return fd;
	}
	log_debug("shim pool: no idle shim ready; starting one the usual way");
	schedule_refill();
	return -1;
}

static void pool_stop(bool events)
{
	P.off = true;
	if (events && P.refill) {
		event_free(P.refill);
		P.refill = NULL;
	}
	/* EOF tells each to remove its zygote and cgroups; wait (bounded) until they have. */
	for (struct pool_shim *s = P.list; s; s = s->next)
		shutdown(s->fd, SHUT_RDWR);
	while (P.list) {
		struct pool_shim *s = P.list;
		for (int i = 0; i < 400; i++) {
			pid_t r = waitpid(s->pid, NULL, WNOHANG);
			if (r == s->pid || (r < 0 && errno == ECHILD))
				break;
			if (i == 399) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, NULL, 0);
			}
			struct timespec ts = {0, 2500000};
			nanosleep(&ts, NULL);
		}
		P.list = s->next;
		if (events)
			event_free(s->ev);
		close(s->fd);
		free(s);
		P.n--;
	}
	if (P.parent)
		remove_stale(P.parent); /* after a SIGKILL above */
	if (events) {			/* may start again (with another loop) */
		free(P.shim_path), free(P.run_dir), free(P.parent);
		P.shim_path = P.run_dir = P.parent = NULL;
		P.started = P.off = false;
		P.failures = 0;
	}
}

void runtime_pool_stop(void)
{
	pool_stop(true);
}
