/*
 * Containers' processes, through one berth-shim per container. The shim creates the
 * container (namespaces, overlay rootfs, cgroups, pivot_root, exec), holds its stdio, writes
 * its json-file log and its exit status, and outlives the agent.
 *
 * The spec given to runtime_start is a JSON object, written to <dir>/runtime.json:
 *   "id"            64-hex container id
 *   "layers"        [absolute lower dirs, bottom first]
 *   "args"          [argv: entrypoint + cmd, already resolved; at least one]
 *   "env"           ["K=V", ...] (image env merged with -e; PATH defaulted)
 *   "cwd"           "/" or the working dir (created if missing, as Docker does)
 *   "user"          "" | "name" | "uid" | "uid:gid" | "name:group" (resolved in the rootfs)
 *   "hostname"      first 12 hex of the id unless set (the whole id also gives these 12)
 *   "tty", "stdin"  booleans (-t, -i); "console_size" [rows, cols]: the terminal's first size
 *                   (Docker's HostConfig.ConsoleSize), so that it is right before any resize
 *   "init"          boolean (--init: a minimal init as PID 1)
 *   "readonly_rootfs" boolean
 *   "mounts"        [{"source": host path, "target": ctr path, "readonly": bool}] (binds and
 *                   volumes, already resolved to host paths)
 *   "memory"        bytes, 0 = none; "nano_cpus" 1e9 per CPU, 0 = none; "pids_limit" 0 = none
 *   "cpuset_cpus", "cpuset_mems"  "0-1,3" (checked by the agent), absent = the parent's
 *   "cap_add", "cap_drop"  ["NET_ADMIN", "ALL", ...] on top of Docker's default set
 *   "privileged"    boolean: every capability and host device, no masked or read-only
 *                   paths, rw /sys, no seccomp
 *   "no_new_privileges" boolean (PR_SET_NO_NEW_PRIVS before exec, for exec'd processes too)
 *   "seccomp"       absent: berth's default profile; "unconfined"; or a profile's JSON text
 *   "masked_paths", "readonly_paths"  [paths]: replace Docker's lists (absent: Docker's)
 *   "run_dir"       the agent's $BERTH_RUN, where exec finds the cached default filter
 *   "log_path"      <dir>/<id>-json.log; "log_max_size" bytes (0 or absent: 10 MB and 3
 *                   files; < 0: never rotate); "log_max_file" files in all, 3 by default
 *   "cgroup_parent" "berth" (one cgroup per container under each controller)
 *   "netns"         path of a network namespace to join, or absent for a new private one
 *                   with only loopback; "network_mode": "none" | "host" | "bridge"
 *   "hosts"         extra /etc/hosts lines; "dns" ["ip", ...] for /etc/resolv.conf
 *   "stop_signal"   number, default 15
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#include "berth/error.h"

struct runtime_exit {
	int exit_code; /* 128+n after signal n */
	bool oom_killed;
	int64_t finished_ns;
};

struct runtime_callbacks {
	/* Live output: stream 1 = stdout, 2 = stderr (with a TTY everything is 1). */
	void (*on_output)(void *arg, int stream, const char *data, size_t len);
	/* The container's init has exited. Called once; the shim has already written the exit
	 * status to <dir>/exit.json and the last log line to the log, and removed the cgroups.
	 * When this returns the shim is told it may go. Also called (137) when the shim dies
	 * while the container runs: the container is then killed, never left unaccounted.
	 * Not called after a start that failed (started had the error; exit.json has it too). */
	void (*on_exit)(void *arg, const struct runtime_exit *exit);
};

struct runtime_handle;

/* err is NULL on success; else err->exit_code is 126 or 127 for commands that cannot be
 * invoked or are not found (message as Docker's), 125 otherwise. */
typedef void (*runtime_started_cb)(void *arg, pid_t pid, const struct berth_error *err);

/* Spawn the shim for the container in dir (<root>/containers/<id>) and start it. started is
 * called from the loop when the process runs or failed to; callbacks follow after. The shim
 * is in its own session (a signal to the agent's process group misses it), outlives the
 * agent, and is reaped through a pidfd (no SIGCHLD handler needed). Writes dir/runtime.json,
 * and the shim writes dir/hostname, hosts, resolv.conf (bound over the container's /etc),
 * dir/exit.json, and listens on $run_dir/shims/<first 16 hex of id>.sock. May be called from
 * any callback; runtime_release may be called from inside any of ours. */
int runtime_start(struct event_base *base, const char *shim_path, const char *dir,
		  const char *run_dir, const json_t *spec, const struct runtime_callbacks *cbs,
		  void *arg, runtime_started_cb started, struct runtime_handle **out,
		  struct berth_error *err);

/* The shim pool (v1 cgroup hosts): idle `berth-shim pool` processes, each with a zygote already
 * in cgroups of its own (<cgroup_parent>/pool-<agent pid>-<n> under every controller). A start
 * hands one the container: the cgroups are renamed to the container's ID and its init is born
 * in them, so no task is moved into a cgroup (an RCU grace period, 5-15 ms) on the start path.
 * BERTH_SHIM_POOL sets the size (default 2, 0 = off). It starts by itself at the first
 * runtime_start; runtime_pool_start at agent start also removes the pool cgroups an agent that
 * died left (its pool shims leave by themselves when their agent connection hangs up). Idle pool
 * shims are named berth-pool (and their zygotes berth-zygote), not berth-shim. */
void runtime_pool_start(struct event_base *base, const char *shim_path, const char *run_dir,
			const char *cgroup_parent);
/* Stop the pool's shims and wait (bounded, ~1 s) until their cgroups are gone. Also run at
 * exit; call it before freeing the loop. */
void runtime_pool_stop(void);

/* After an agent restart: reconnect to the container's shim. When the shim is gone, fills
 * *exited from <dir>/exit.json and returns 1 with *out NULL (with no exit.json, what is left
 * in the container's cgroups is killed: 137, or 255 when nothing was); returns 0 with *out
 * set when the container still runs (pid in *pid). Blocks at most ~2 s on a hung shim. */
int runtime_adopt(struct event_base *base, const char *dir, const char *run_dir,
		  const struct runtime_callbacks *cbs, void *arg, struct runtime_handle **out,
		  pid_t *pid, struct runtime_exit *exited, struct berth_error *err);

/* 409 when the container has exited. The signal goes to the container's init (PID 1 in its
 * namespace: ignored unless it handles it, as in Docker; --init forwards it). */
int runtime_kill(struct runtime_handle *h, int sig, struct berth_error *err);
int runtime_write_stdin(struct runtime_handle *h, const void *data, size_t len);
int runtime_close_stdin(struct runtime_handle *h);
int runtime_resize(struct runtime_handle *h, unsigned rows, unsigned cols);
/* Drop the connection; after on_exit this also lets the shim exit. */
void runtime_release(struct runtime_handle *h);
/* Remove what a dead container may have left: cgroups, the shim socket, a stale mount. */
int runtime_cleanup(const char *dir, const char *run_dir, const char *id, const char *cgroup_parent,
		    struct berth_error *err);

/* exec: a process inside a running container (its namespaces, cgroup, rootfs), run by
 * `berth-shim exec` (a clean single-threaded process: no fork of the agent). *pid is that
 * helper's host PID; it waits for the process and exits with its status. cwd and user default
 * to the container's; capabilities are the container's (all with "privileged"). A command
 * that cannot run ends with 126/127 and Docker's "OCI runtime exec failed: ..." on stream 2
 * (on the terminal with a tty).
 * spec: {"args": [...], "env": [...], "cwd": "", "user": "", "tty": bool, "stdin": bool,
 *        "privileged": bool, "console_size": [rows, cols]} */
struct runtime_exec;
struct runtime_exec_callbacks {
	void (*on_output)(void *arg, int stream, const char *data, size_t len);
	/* exit_code 126/127 when the command cannot be run, as docker exec reports */
	void (*on_exit)(void *arg, int exit_code);
};
int runtime_exec_start(struct event_base *base, pid_t container_pid, const char *dir,
		       const json_t *spec, const struct runtime_exec_callbacks *cbs, void *arg,
		       struct runtime_exec **out, pid_t *pid, struct berth_error *err);
/* The berth-shim binary exec runs through (`berth-shim exec ...`). Defaults to $BERTH_SHIM, then
 * berth-shim next to the running executable. */
void runtime_set_shim_path(const char *path);

/* Reap a child process of ours when it exits, from the loop (pidfd), without blocking. The
 * agent must not reap with waitpid(-1, ...) elsewhere, or these are lost (harmlessly). */
void runtime_reap_child(struct event_base *base, pid_t pid);

int runtime_exec_write_stdin(struct runtime_exec *x, const void *data, size_t len);
int runtime_exec_close_stdin(struct runtime_exec *x);
int runtime_exec_resize(struct runtime_exec *x, unsigned rows, unsigned cols);
void runtime_exec_free(struct runtime_exec *x);

#endif
