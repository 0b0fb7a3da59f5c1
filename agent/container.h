/* The container store: records in memory, config.json and state.json per container, names,
 * ID-prefix lookup, create, and the lifecycle (start, stop, kill, exit, removal). */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include <event2/event.h>

#include "berth/error.h"

struct agent;
struct container;
struct image_info;
struct runtime_handle;

enum container_status {
	CONTAINER_CREATED,
	CONTAINER_RUNNING,
	CONTAINER_PAUSED,
	CONTAINER_RESTARTING,
	CONTAINER_REMOVING,
	CONTAINER_EXITED,
	CONTAINER_DEAD,
};

/*
 * Someone interested in a container's output and fate: an attach stream, a log follower, a
 * wait or a stop request. Callbacks may be NULL. Before on_removed is called the watch has
 * already been unlinked; on_exit may unlink its own watch (container_unwatch).
 */
typedef void (*container_done_cb)(void *arg, int status, const struct berth_error *err);

struct container_health;

struct container_watch {
	struct container_watch *next;
	void (*on_start)(struct container_watch *w, struct container *c);
	void (*on_output)(struct container_watch *w, int stream, const char *data, size_t len);
	void (*on_exit)(struct container_watch *w, struct container *c);
	void (*on_removed)(struct container_watch *w, struct container *c);
};

struct container {
	struct container *next;
	struct container_store *store;
	char id[65];
	char *name;	/* "/name" */
	json_t *config; /* config.json: Docker's inspect shape without State */
	enum container_status status;
	pid_t pid;
	int exit_code;
	bool oom_killed;
	bool starting;	     /* runtime_start called, started callback not yet in */
	bool remove_on_exit; /* rm -f or --rm: remove as soon as it has exited */
	bool stop_requested; /* stop/kill by the user (restart policies skip these) */
	bool remove_volumes; /* rm -v, or --rm: anonymous volumes go with the container */
	char *error;
	int64_t created_ns, started_ns, finished_ns;
	int restart_count;
	struct runtime_handle *rt;
	void (*start_done)(void *arg, int status, const struct berth_error *err);
	void *start_done_arg;	  /* the pending start's completion (runtime_start's arg is c) */
	struct event *kill_timer; /* SIGKILL after stop's timeout */
	struct container_watch *watches;
	/* restart policy (restart.c) */
	struct event *restart_timer;
	int64_t restart_delay_ns;	 /* the backoff's current delay; 0 = none yet */
	bool unhealthy_kill;		 /* this exit was asked by the health monitor: restart it */
	struct container_health *health; /* health.c; NULL without a healthcheck */
};

/* A create waiting for its network endpoint: its name and id are taken, nothing is on disk. */
struct container_pending {
	struct container_pending *next;
	char id[65];
	char name[256]; /* "/name" */
};

struct netd_client;

struct container_store {
	struct agent *agent;
	char dir[4096]; /* $BERTH_ROOT/containers */
	struct container *head;
	size_t count;
	struct container_pending *pending;
	struct netd_client *netd;
	struct berth_writer *writer; /* its files' writer threads (container_save.c); NULL: sync */
	struct event *writer_ev;
};

/* store */
struct container_store *container_store_new(struct agent *agent, const char *root);
void container_store_free(struct container_store *store);
/* Load every container under dir and re-adopt running ones. */
int container_store_load(struct container_store *store, struct berth_error *err);

/* Docker's lookup order: full ID, exact name (with or without '/'), unique ID prefix.
 * 404 "No such container: X", 400 "multiple IDs found with provided prefix: X". */
struct container *container_find(struct container_store *store, const char *ref,
				 struct berth_error *err);
struct container *container_by_name(struct container_store *store, const char *name);
/* Validate and reserve: 400 for a bad name, 409 Docker's conflict text when taken. */
int container_name_check(struct container_store *store, const char *name, struct berth_error *err);

const char *container_status_name(enum container_status s);
enum container_status container_status_parse(const char *s);
/* "Up 3 seconds", "Exited (0) 2 minutes ago", "Created", ... as docker ps shows. */
void container_status_text(const struct container *c, int64_t now_ns, char *out, size_t size);
/* "sh -c echo hi": Path and Args joined, as the list's Command. */
char *container_command_string(const struct container *c);
bool container_tty(const struct container *c);
const char *container_image_id(const struct container *c);
void container_dir(const struct container *c, char *out, size_t size);

/* Queue the file for the store's writer threads (container_save.c): returns at once. */
int container_save_config(struct container *c, struct berth_error *err);
int container_save_state(struct container *c, struct berth_error *err);
/* done(arg, status, NULL) once every version of c's files queued so far is on disk. */
void container_when_saved(struct container *c, int status, container_done_cb done, void *arg);
/* Threads and their event; fini writes what is queued. forget drops what is queued under a
 * container's directory (about to be removed) and waits for a write in progress there. */
void container_save_init(struct container_store *store);
void container_save_fini(struct container_store *store);
void container_save_forget(struct container_store *store, const char *dir);
/* The State object of inspect (without Health). */
json_t *container_state_json(struct container *c);
/* The inspect JSON (config + State and derived fields); new reference. */
json_t *container_inspect_json(struct container *c);
/* The /containers/json entry; size adds SizeRw/SizeRootFs. */
json_t *container_list_json(struct container *c, int64_t now_ns, bool size);
/* Match ps filters ({"status":[..],"label":[..],"name":[..],"id":[..]}); 400 on unknown key. */
int container_filters_check(const json_t *filters, struct berth_error *err);
bool container_filters_match(struct container *c, const json_t *filters);

/* create (container_create.c) */
/* Docker's merge of the request's Config with the image's config ("config" object of the
 * image JSON). Returns the merged Config (new), or NULL with 400 "No command specified". */
json_t *container_merge_config(const json_t *request, const json_t *image_config,
			       struct berth_error *err);
/* Create from a POST /containers/create body. A networked container first gets its endpoint
 * from netd (asynchronously); done(arg, c, NULL) once it exists, or done(arg, NULL, err) with
 * nothing left behind (no directory, name, address or port). warnings (an array) is appended
 * to and must live until done. done may run before container_create returns. */
typedef void (*container_created_cb)(void *arg, struct container *c, const struct berth_error *err);
void container_create(struct container_store *store, const char *name, const json_t *body,
		      json_t *warnings, container_created_cb done, void *arg);
/* Write a new container's config.json; the "create" event and done(arg, c) once it is on disk
 * (container_save.c). -1 only when writing synchronously (no writer) failed. */
int container_save_new(struct container *c, container_created_cb done, void *arg,
		       struct berth_error *err);
/* The pending create with this name ("/x" or "x"), or NULL. */
struct container_pending *container_pending_by_name(struct container_store *store,
						    const char *name);

/* networking (container_net.c) */
enum container_net_kind { CONTAINER_NET_ENDPOINT, CONTAINER_NET_NONE, CONTAINER_NET_HOST };
/* Classify HostConfig.NetworkMode; network gets "bridge" for ""/"default", else the name.
 * 400 for modes berth does not have (container:...). */
int container_net_kind(const json_t *host, const char **network, enum container_net_kind *kind,
		       struct berth_error *err);
/* The POST /endpoints body for a new container (ports from ExposedPorts, PortBindings and
 * PublishAllPorts as Docker combines them); 400 for a bad port. */
json_t *container_net_endpoint_request(const char *id, const char *name, const json_t *config,
				       const json_t *host, const json_t *networking,
				       const char *network, struct berth_error *err);
/* Fill the inspect document's NetworkSettings from netd's endpoint (NULL: none/host mode). */
void container_net_apply(json_t *doc, const char *network, const json_t *endpoint);
/* Add "netns", "dns" and "hosts" to a runtime spec. */
void container_net_spec(struct container *c, json_t *spec);
/* Before a start: when the container's namespace file is gone, ask netd for the endpoint
 * again and return 1 (container_start is called again once it is back, or done with the
 * error); 0 when the start can go on now. */
typedef void (*container_done_cb)(void *arg, int status, const struct berth_error *err);
int container_net_ensure(struct container *c, container_done_cb done, void *arg);
/* Release the container's endpoint, if it has one (at removal). */
void container_net_release(struct container *c);
/* Build the runtime spec (see runtime.h) from the stored config and the image's layers. */
json_t *container_runtime_spec(struct container *c, const struct image_info *image,
			       struct berth_error *err);
/* The process environment as Docker builds it: PATH, HOSTNAME (the short ID unless set) and
 * TERM=xterm with a tty, replaced or extended by Config.Env, then by extra (an exec's Env). */
json_t *container_env(struct container *c, bool tty, const json_t *extra);
/* Docker's ConsoleSize [rows, cols] as the runtime's "console_size" (new), or NULL when it
 * is absent, zero or out of range. */
json_t *container_console_size(const json_t *size);
/* "SIGTERM", "TERM", "15" → 15; -1 if unknown. */
int container_parse_signal(const char *s);
/* HostConfig.CpusetCpus/CpusetMems: a valid list of what the host has (container_cpuset.c);
 * 400 with Docker's messages otherwise. */
int container_check_cpuset(const json_t *host, struct berth_error *err);
/* HostConfig.SecurityOpt as Docker's daemon reads it (seccomp=unconfined|builtin|<profile JSON>,
 * no-new-privileges[=bool], apparmor=unconfined, label=disable); 400 with Docker's message for
 * anything else (container_security.c). */
int container_check_security(const json_t *host, struct berth_error *err);
/* The runtime spec's "privileged", "no_new_privileges", "seccomp", "masked_paths",
 * "readonly_paths" from HostConfig, and "run_dir" (the agent's $BERTH_RUN). */
void container_security_spec(const json_t *host, const char *run_dir, json_t *spec);
/* HostConfig's run options as Docker's daemon adapts them at create (container_resources.c):
 * ShmSize and MemorySwap defaults, Tmpfs checked (400), and the limits this host's cgroups cannot
 * apply discarded with Docker's warning appended to warnings (may be NULL). */
int container_resources_adapt(json_t *host, json_t *warnings, struct berth_error *err);
/* The runtime spec's "shm_size", "ulimits", "tmpfs", "oom_score_adj", "cpu_shares",
 * "memory_swap", "memory_reservation", "memory_swappiness", "blkio_weight", "oom_kill_disable",
 * "kernel_memory". */
void container_resources_spec(const json_t *host, json_t *spec);

/* lifecycle (container_run.c) */
typedef void (*container_done_cb)(void *arg, int status, const struct berth_error *err);
/* Start: done(arg, 204|304|4xx/5xx, err). */
void container_start(struct container *c, container_done_cb done, void *arg);
/* Stop with the stop signal, SIGKILL after timeout_s (-1: the container's default, 10).
 * done with 204 once exited, 304 if it was not running. */
void container_stop(struct container *c, int timeout_s, container_done_cb done, void *arg);
int container_kill(struct container *c, int sig, struct berth_error *err);
/* Remove: 409 when running without force; with force, kill and remove on exit; done 204. */
void container_remove(struct container *c, bool force, bool volumes, container_done_cb done,
		      void *arg);
/* Remove now (the container has no process). Calls on_removed watches and frees c. */
void container_destroy(struct container *c);

void container_watch(struct container *c, struct container_watch *w);
void container_unwatch(struct container *c, struct container_watch *w);

/* internal to the store's files */
void container_free(struct container *c);
void container_store_add(struct container_store *store, struct container *c);
void container_store_unlink(struct container_store *store, struct container *c);
struct container *container_load_one(struct container_store *store, const char *id);
/* After an agent restart: reconnect to the shim of a container that was running. */
void container_adopt(struct container *c);

/* Start for the restart policy: like container_start, also from the restarting state, and
 * without clearing the user's stop or the restart count. */
void container_start_policy(struct container *c, container_done_cb done, void *arg);
/* Ask the container to exit with its stop signal (SIGKILL after its stop timeout) without
 * marking it stopped by the user: the restart policy brings it back (the health monitor). */
void container_stop_for_restart(struct container *c);

/* restart policies (restart.c) */
struct restart_backoff {
	int64_t min_ns;	   /* first delay (Docker: 100 ms) */
	int64_t max_ns;	   /* cap (1 min) */
	int64_t reset_ns;  /* a run at least this long starts over at min (10 s) */
	double multiplier; /* 2 */
};
/* The agent's defaults (--restart-backoff-*). */
extern struct restart_backoff restart_defaults;
/* Set one of the defaults from an agent flag ("min", "max", "reset": a duration; "multiplier":
 * a number >= 1); 400 for a bad value. */
int restart_backoff_set(struct restart_backoff *b, const char *what, const char *value,
			struct berth_error *err);
/* The defaults overridden by the container's labels berth.restart.backoff-min|max|reset|
 * multiplier (a bad label value is logged and ignored). */
void restart_backoff_for(const struct container *c, struct restart_backoff *out);
/* 400 for a berth.restart.backoff-* label that is not valid (at create). */
int restart_check_labels(const json_t *labels, struct berth_error *err);
/* Docker's restart manager: the delay after prev_ns (0: none yet) for a run of uptime_ns. */
int64_t restart_backoff_next(const struct restart_backoff *b, int64_t prev_ns, int64_t uptime_ns);
/* Does policy name (no, always, unless-stopped, on-failure with max_retries, 0 = no limit)
 * restart a container that exited with exit_code after restart_count restarts? */
bool restart_policy_wants(const char *name, int max_retries, int restart_count, int exit_code,
			  bool stopped_by_user);
/* From container_exited: when the policy (or an unhealthy kill) asks, mark the container
 * restarting, count the restart and arm the backoff timer; returns true then. */
bool restart_after_exit(struct container *c);
/* Cancel a pending restart (stop, kill, remove); the container is left exited. */
void restart_cancel(struct container *c);
/* At agent start, after adoption: start what Docker starts at daemon start (always; unless-
 * stopped not stopped by the user; on-failure after a failure within its retries), and
 * resume the restarts that were waiting. */
void restart_at_load(struct container_store *store);

/* health checks (health.c) */
/* Exec checks (CMD, CMD-SHELL) running at once, agent-wide; more wait their turn. */
extern int health_max_concurrent;
/* 400 for a Config.Healthcheck berth cannot run (at create). */
int health_check_config(const json_t *hc, struct berth_error *err);
/* The container runs (again): start its monitor when it has a healthcheck. */
void health_start(struct container *c);
/* The container has exited: stop probing (the last status stays for inspect). */
void health_stop(struct container *c);
void health_free(struct container *c);
/* State.Health (new reference) or NULL when the container has no healthcheck state. */
json_t *health_state_json(const struct container *c);
/* Restore State.Health from state.json. */
void health_load(struct container *c, const json_t *health);
/* " (healthy)", " (unhealthy)", " (health: starting)" or "" for ps. */
const char *health_status_suffix(const struct container *c);

/* Publish a container event with Docker's attributes (image, name, labels, extra). */
void container_event(struct container *c, const char *action, json_t *extra /* stolen */);

#endif
