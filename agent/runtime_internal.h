/* Between the runtime's own files (runtime.c, runtime_pool.c): not for the rest of the agent. */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include <event2/event.h>

#include "berth/error.h"

/* posix_spawn berth-shim with argv, in its own session, one end of a socketpair as its fd 3;
 * *fd is ours (close-on-exec). The caller reaps *pid. */
int runtime_spawn_shim(const char *shim_path, char *const argv[], pid_t *pid, int *fd,
		       struct berth_error *err);
/* The connection of a READY pool shim for containers under cgroup_parent, taken out of the
 * pool (which refills later), or -1. Starts the pool on first use. own_netns: this container
 * gets a private network namespace (refills make one in advance while that is so). */
int runtime_pool_take(struct event_base *base, const char *shim_path, const char *run_dir,
		      const char *cgroup_parent, bool own_netns);

#endif
