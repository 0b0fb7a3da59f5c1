/* berth-shim's internal interfaces: the container spec as the shim keeps it, and its parts. */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define SHIM_MAX_CGROUPS 10
#define SHIM_ERRMSG_MAX 1024
#define SHIM_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct shim_mount {
	const char *source, *target;
	bool readonly;
	const char *tmpfs; /* a --tmpfs: its options ("" for none); NULL: a bind of source */
};

/* The spec (runtime.json), parsed once. Strings point into the json, kept for setup only. */
struct shim_spec {
	json_t *json;
	const char *id;
	const char *dir;
	const char *run_dir;
	const char **layers; /* bottom first, NULL-terminated */
	const char **args;   /* NULL-terminated */
	const char **env;    /* NULL-terminated, HOSTNAME/HOME/PATH added when missing */
	const char *cwd, *user, *hostname;
	bool tty, stdin_open, init, readonly_rootfs;
	unsigned short rows, cols; /* "console_size": [rows, cols], the tty's first size */
	struct shim_mount *mounts;
	size_t n_mounts;
	int64_t memory, nano_cpus, pids_limit;
	/* HostConfig's MemorySwap (-1 unlimited, 0 unset), MemoryReservation, CpuShares,
	 * BlkioWeight, KernelMemory: 0 leaves the kernel's default */
	int64_t memory_swap, memory_reservation, cpu_shares, blkio_weight, kernel_memory;
	int64_t memory_swappiness; /* 0-100; -1: the kernel's */
	bool oom_kill_disable;
	int64_t shm_size;  /* bytes of /dev/shm */
	int oom_score_adj; /* written before exec unless 0 */
	json_t *ulimits;   /* [{"name", "resource", "soft", "hard"}], or NULL */
	/* "0-1,3" as requested; NULL: the parent's */
	const char *cpuset_cpus, *cpuset_mems;
	uint64_t caps;	     /* effective capability set after cap_add/cap_drop */
	bool privileged;     /* all caps and devices, no masks, rw /sys, no seccomp */
	bool no_new_privs;   /* --security-opt no-new-privileges */
	const char *seccomp; /* NULL: the default profile; "unconfined"; or a profile's JSON */
	json_t *masked_paths, *readonly_paths; /* NULL: Docker's lists (masks.c) */
	const char *log_path;
	int64_t log_max_size;
	int log_max_file;
	const char *cgroup_parent;
	const char *netns; /* NULL: new private netns; "host": none */
	bool host_network;
};

/* What the child reports back over the sync socket before exec. */
struct shim_child_error {
	int32_t exit_code; /* 125, 126, 127 */
	char msg[SHIM_ERRMSG_MAX];
};

struct shim_cgroups;
/* spawn.c: fork the container's init into a new PID namespace, put it in its cgroups, let it
 * set itself up and wait until it execs (0) or fails (-1, cerr filled). */
int shim_spawn(struct shim_spec *spec, const struct shim_cgroups *cg, pid_t *pid, int *out_fd,
	       int *err_fd, int *tty_fd, int *stdin_fd, struct shim_child_error *cerr);
/* The container's init after its fork (closes nothing): set up, wait for "G" on sync_fd, exec. */
void shim_child_main(const struct shim_spec *spec, int sync_fd, int in, int out, int err)
    __attribute__((noreturn));
/* For a zygote, while idle: our next child is born in new PID, UTS, IPC and (net) network
 * namespaces, loopback up (it joins the host's or a given network namespace instead when its
 * spec says so). -1 (nothing done) on failure. */
int shim_premake_namespaces(bool net);
/* The shim's side once the init sits in its cgroups: "G", then wait until it execs (0) or
 * fails (-1, cerr). Closes sync_fd. */
int shim_spawn_wait(int sync_fd, pid_t child, int *tty_fd, struct shim_child_error *cerr);

/* pool.c: `berth-shim pool RUN_DIR CGROUP_PARENT SLOT [net|nonet]`: an idle shim whose zygote
 * already sits in the pool's cgroups. Returns with the container's directory once the agent hands
 * one over; exits (after removing its zygote and cgroups) when the agent goes or setup fails. */
void shim_pool_wait(const char *run_dir, const char *cgroup_parent, const char *slot, bool net,
		    char *dir, size_t size);
/* Hand the container's directory to the zygote: it forks the init, which sets itself up while
 * the shim goes on (the init waits for shim_pool_spawn's "G" before running anything). */
int shim_pool_go(const char *dir, struct shim_child_error *cerr);
/* Take over the pool's cgroups as the container's: rename, no migration. */
int shim_pool_cgroups(const struct shim_spec *spec, struct shim_cgroups *cg,
		      struct shim_child_error *cerr);
/* As shim_spawn, with the init forked by the zygote inside the cgroups; limits are written
 * before it may run. */
int shim_pool_spawn(struct shim_spec *spec, const struct shim_cgroups *cg, pid_t *pid, int *out_fd,
		    int *err_fd, int *tty_fd, int *stdin_fd, struct shim_child_error *cerr);
/* A failed start: the zygote (if still there) goes, and cgroups not yet renamed. */
void shim_pool_abort(void);

/* Used by the child (and by exec mode) to finish: resolve argv[0] in PATH and execve it.
 * Only returns on failure, with cerr filled (126/127). */
void shim_exec_command(const char **args, const char **env, struct shim_child_error *cerr);
int shim_child_fail(struct shim_child_error *cerr, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A pseudo-terminal made in the devpts of our mount namespace (the container's, for the init and
 * exec): *master and *slave, neither our controlling terminal, the master sized rows x cols
 * unless both are 0. -1 (errno) when ptmx cannot be opened or unlocked, -2 when its peer cannot. */
int shim_pty_open(unsigned short rows, unsigned short cols, int *master, int *slave);
/* A new session with slave as its controlling terminal and as our stdio (slave closed unless it
 * is 0-2). -1 (errno) when it cannot be the controlling terminal; stdio is set even then. */
int shim_pty_set_stdio(int slave);

/* limits.c: the process's own limits, set before exec (the init's and each exec's): ulimits
 * ([{"name", "resource", "soft", "hard"}] as in the spec, -1 unlimited) and oom_score_adj (0:
 * left as inherited). */
int shim_rlimits_apply(const json_t *ulimits, struct shim_child_error *cerr);
int shim_oom_score_adj_apply(int adj, struct shim_child_error *cerr);

/* mounts.c: everything from the overlay to pivot_root, run in the child. */
int shim_mounts_setup(const struct shim_spec *spec, struct shim_child_error *cerr);
/* masks.c: Docker's masked and read-only paths (none when privileged); -1 on any failure. */
int shim_mask_paths(const struct shim_spec *spec, struct shim_child_error *cerr);
/* devices.c: --privileged gets the host's devices. Scanned from the host's /dev before
 * pivot_root (NULL when none), made in the container's /dev after. */
struct shim_host_devices;
struct shim_host_devices *shim_host_devices_scan(void);
int shim_host_devices_make(struct shim_host_devices *d, struct shim_child_error *cerr);
/* mkdir -p: -1 (errno) at the first directory that cannot be made. */
int shim_mkdir_p(const char *path, mode_t mode);
/* Files the shim bind-mounts over /etc: hostname, hosts, resolv.conf in spec->dir. */
int shim_write_etc_files(const struct shim_spec *spec);

/* cgroups.c */
struct shim_cgroups {
	bool v2;
	int n;
	char path[SHIM_MAX_CGROUPS][256]; /* one per controller directory (v1) or one (v2) */
	char memory[256];		  /* the memory controller's dir, "" if none */
};
int shim_cgroups_create(const struct shim_spec *spec, struct shim_cgroups *cg,
			struct shim_child_error *cerr);
int shim_cgroups_add(const struct shim_cgroups *cg, pid_t pid, struct shim_child_error *cerr);
/* The pool: cgroups <parent>/<slot> under every controller, with Docker's device rules, and
 * pid moved into them. v1 only (v2 has no rename). */
int shim_cgroups_pool_create(const char *cgroup_parent, const char *slot, pid_t pid,
			     struct shim_cgroups *cg, struct shim_child_error *cerr);
/* Rename the pool's cgroups to the container's (rename(2) within the parent: no task moves).
 * cg is filled even on failure (with what it holds then) and pool emptied: remove cg. */
int shim_cgroups_rename(const struct shim_spec *spec, struct shim_cgroups *pool,
			struct shim_cgroups *cg, struct shim_child_error *cerr);
/* memory, cpu and pids limits of spec (devices: the pool wrote them). */
int shim_cgroups_limits(const struct shim_spec *spec, const struct shim_cgroups *cg,
			struct shim_child_error *cerr);
bool shim_cgroups_oom_killed(const struct shim_cgroups *cg);
/* Kill what is left, wait (bounded) for the cgroups to empty, remove them. */
void shim_cgroups_remove(const struct shim_cgroups *cg);
void shim_cgroups_for(const char *cgroup_parent, const char *id, struct shim_cgroups *cg);

/* caps.c */
uint64_t shim_caps_default(void);
/* name: "NET_ADMIN" or "CAP_NET_ADMIN" (any case), "ALL". Returns -1 if unknown. */
int shim_cap_from_name(const char *name, uint64_t *mask);
/* Trim the bounding set, switch to uid/gid/groups, then set the remaining capabilities. */
int shim_caps_apply(uint64_t caps, uid_t uid, gid_t gid, const gid_t *groups, int n_groups,
		    struct shim_child_error *cerr);

/* seccomp.c: a compiled filter (filter NULL: none). */
struct sock_filter;
struct shim_seccomp {
	struct sock_filter *filter;
	unsigned short len;
};
/* profile: NULL for berth's default, "unconfined" (no filter), or a profile's JSON; caps is the
 * container's capability set (the profile's includes/excludes test it). The default profile's
 * BPF is cached in cache_dir (the run dir; NULL: no cache). */
int shim_seccomp_compile(const char *profile, uint64_t caps, const char *cache_dir,
			 struct shim_seccomp *f, struct shim_child_error *cerr);
/* For a zygote while idle: the default profile for the default capabilities, ready. */
void shim_seccomp_precompile_default(const char *cache_dir);
/* A compiled filter kept in a file (the container's <dir>/seccomp.bpf, for its execs): read
 * (-1 when absent or not BPF), written atomically (only when it changed). */
int shim_seccomp_read(const char *path, struct shim_seccomp *f);
void shim_seccomp_write(const char *path, const struct shim_seccomp *f);
int shim_seccomp_load(const struct shim_seccomp *f, struct shim_child_error *cerr);
/* The container's filter from its spec (none when privileged) and, before exec, the order runc
 * uses: without no_new_privs the filter goes on while we still hold CAP_SYS_ADMIN (before the
 * capabilities are dropped), with it as late as possible. shim_security_apply drops the
 * capabilities and switches user in between. */
int shim_security_apply(const struct shim_seccomp *f, bool no_new_privs, uint64_t caps, uid_t uid,
			gid_t gid, const gid_t *groups, int n_groups,
			struct shim_child_error *cerr);

/* user.c: "name|uid[:group|gid]" against /etc/passwd and /etc/group of the current root. */
struct shim_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int n_groups;
	char home[256];
};
int shim_user_resolve(const char *spec, struct shim_user *u, struct shim_child_error *cerr);

/* exec.c: `berth-shim exec PID DIR SPEC`: a process inside a running container. */
int shim_exec_main(int argc, char **argv);
/* spec.c */
int shim_spec_load(const char *dir, const char *run_dir, struct shim_spec *spec,
		   struct shim_child_error *cerr);
/* Capabilities from cap_add/cap_drop arrays on top of Docker's default set. */
int shim_caps_from_spec(json_t *cap_add, json_t *cap_drop, uint64_t *caps,
			struct shim_child_error *cerr);
/* A NULL-terminated array of the strings in a json array (pointing into it). */
const char **shim_strv_from_json(json_t *arr);
/* A new NULL-terminated array: env, then each of defaults ("K=V") whose K env does not set (the
 * strings are not copied). NULL when out of memory. */
const char **shim_env_defaults(const char *const *env, const char *const *defaults);

/* logger.c: Docker's json-file log. */
void shim_log_open(const char *path, int64_t max_size, int max_file);
/* stream 1 or 2; data may hold partial lines: they are kept until a newline or 16 KB. */
void shim_log_write(int stream, const char *data, size_t len);
/* The stream has ended: write its partial last line. */
void shim_log_flush(int stream);
void shim_log_close(void);
/* Give the pages of buffers that hold nothing back to the kernel. */
void shim_log_release(void);
/* "2026-11-28T01:42:40.123456789Z" into buf (at least 32 bytes) */
void shim_format_time(char *buf, size_t size, int64_t ns);
int64_t shim_now_ns(void);

/* The shim's argv strings (contiguous): the --init rewrites them so that no host path shows
 * in the container's ps. Set by main. */
extern char *shim_argv_area;
extern size_t shim_argv_area_len;

/* init.c: PID 1 for --init: forward signals to child, reap everything, exit with its status. */
void shim_init_run(pid_t child) __attribute__((noreturn));

#endif
