/* Between the runtime's own files (runtime*.c): not for the rest of the agent. */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>

#include "berth/error.h"
#include "runtime.h"

/* runtime_spawn.c: posix_spawn path with argv and the file actions fa, in a session of its own
 * (a signal to the agent's process group misses it), no signal blocked or ignored. Returns 0 or
 * the error number. */
int runtime_spawn(const char *path, char *const argv[], const posix_spawn_file_actions_t *fa,
		  pid_t *pid);

/* runtime_spawn berth-shim with argv, stdin /dev/null, one end of a socketpair as its fd 3;
 * *fd is ours (close-on-exec). The caller reaps *pid (runtime_reap_child). */
int runtime_spawn_shim(const char *shim_path, char *const argv[], pid_t *pid, int *fd,
		       struct berth_error *err);

/* runtime.c: a handle on the connection fd to a container's shim (pid and shim_pid 0 when
 * not known yet: STARTED or HELLO tells). */
struct runtime_handle *runtime_handle_new(struct event_base *base, int fd, const char *dir,
					  const struct runtime_callbacks *cbs, void *arg, pid_t pid,
					  pid_t shim_pid);

/* runtime_adopt.c: <dir>/exit.json as the shim writes it (-1 when there is none), and written
 * by the agent for a container whose shim is gone. */
int runtime_exit_read(const char *dir, struct runtime_exit *out);
void runtime_exit_write(const char *dir, const struct runtime_exit *e);
int64_t runtime_now_ns(void);
/* SIGKILL every process in the cgroup directory dir; returns how many were signalled. */
int runtime_cgroup_kill(const char *dir);

/* runtime_pool.c: the connection of a READY pool shim for containers under cgroup_parent, taken
 * out of the pool (which refills later), or -1. Starts the pool on first use. own_netns: this
 * container gets a private network namespace (refills make one in advance while that is so). */
int runtime_pool_take(struct event_base *base, const char *shim_path, const char *run_dir,
		      const char *cgroup_parent, bool own_netns);

#endif
