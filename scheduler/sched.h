/* berth-scheduler's shared state (projects, services, replicas) and the interfaces between its
 * parts: translation and planning (pure), the project store, reconcile, events, API, status. */
#ifndef BERTH_SCHED_H
#define BERTH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "berth/error.h"
#include "berth/http_server.h"

#define SCHED_LABEL_PROJECT "com.docker.compose.project"
#define SCHED_LABEL_SERVICE "com.docker.compose.service"
#define SCHED_LABEL_NUMBER "com.docker.compose.container-number"
#define SCHED_LABEL_ONEOFF "com.docker.compose.oneoff"
#define SCHED_LABEL_HASH "com.docker.compose.config-hash"
/* The CPUs the scheduler gave a replica (its HostConfig.CpusetCpus): the CPU load is rebuilt
 * from these after a restart, so running replicas are never reshuffled. */
#define SCHED_LABEL_CPUSET "berth.cpuset"
/* Replicas of one service at most (compose scale/replicas, berth scale): see docs/limits.md. */
#define SCHED_MAX_REPLICAS 10000
/* Replica operations in flight at the agent at once (window.c), over every project. */
#define SCHED_WINDOW_START_DEFAULT 32
#define SCHED_WINDOW_STOP_DEFAULT 1024

/* --- window.c: bounds on the operations in flight --- */

enum sched_window_kind { SCHED_WINDOW_START, SCHED_WINDOW_STOP, SCHED_WINDOW_KINDS };
/* An operation waiting for, or holding, a place in a window. */
struct sched_window_item {
	struct sched_window_item *next;
	void (*run)(struct sched_window_item *it);
	bool queued;
};
struct sched_window {
	int limit;   /* BERTH_SCHED_WINDOW / BERTH_SCHED_STOP_WINDOW, else the defaults */
	int running; /* holding a place */
	int peak;    /* the most that ever ran at once */
	int n_queued;
	struct sched_window_item *head, *tail;
	struct event_base *base;
	struct event *refill; /* starts queued items from the loop; exists while some wait */
	bool refilling;	      /* inside refill's callback */
};
struct sched;
struct sched_window *sched_window_get(struct sched *s, enum sched_window_kind kind);
/* Run it now when there is room and nothing waits, else queue it. */
void sched_window_submit(struct sched_window *w, struct sched_window_item *it);
/* A place is free again: the next queued item runs from the loop. */
void sched_window_done(struct sched_window *w);
/* Take the queued items that match out of the queue and call cancel on each; returns how
 * many. */
int sched_window_cancel(struct sched_window *w, bool (*match)(struct sched_window_item *, void *),
			void *arg, void (*cancel)(struct sched_window_item *));
void sched_windows_free(struct sched *s);

/* One container of a service, as last listed by the agent, plus what the scheduler remembers
 * about it across listings (restart count, stops by the user). */
struct sched_replica {
	int number;
	char id[65];
	char state[16];	   /* the agent's State; "creating" while our create is in flight */
	char health[16];   /* "", "starting", "healthy", "unhealthy" */
	char status[96];   /* the agent's Status text */
	char hash[17];	   /* its config-hash label */
	char image_id[80]; /* the agent's ImageID */
	char cpuset[128];  /* its berth.cpuset label, or chosen for its create; "" = not pinned */
	int exit_code;
	int64_t created; /* unix seconds */
	json_t *ports;	 /* the agent's Ports entries */
	int restarts;	 /* restarts seen (the agent's policy restarts) */
	int64_t started_ns;
	bool user_stopped; /* a stop or kill went through the agent since the last start */
	bool busy;	   /* an operation on it is in flight */
	bool died;	   /* a die event came since its last start */
	bool seen;	   /* present in the latest listing */
	/* Was ready during the current rolling update: with update_config.monitor, a later
	 * failure is not the update's (swarm counts failures within monitor after a start). */
	bool passed;

	/* A compose stop/restart -t for its next stop, in seconds (when has_stop_timeout). */
	bool has_stop_timeout;
	int stop_timeout;
};

/* A rolling update of a service (update.c), persisted in the project's state file. States:
 * "" (none yet), "updating", "rolling_back", "paused", "rolled_back", "completed". paused and
 * rolled_back stay until the next up of the service. */
struct sched_update {
	char state[16];
	char reason[256];
	int batch, batches;
	int64_t batch_ready_ns; /* when the latest batch became ready (update_config.delay) */
	json_t *prev;		/* the service's config before the latest change (rollback) */
	json_t *old;		/* scratch: the config while a new model is applied */
	char image_id[80];	/* the service image's ID as resolved at the latest up */
	json_t *old_images;	/* IDs the image had at earlier ups: replicas on them are old */
	char prev_image_id[80]; /* image_id before the latest change (rollback) */
	bool pinned;		/* rolled back under a moved tag: replicas are made from image_id */
	bool changed;		/* scratch: the latest up changed the config */
	int total;		/* replicas this update replaces (max_failure_ratio) */
	char kept_id[80];	/* tagged berth-rollback:PROJECT.SERVICE (update_keep.c) */
	char keep_asked[80];	/* scratch: the target last asked for */
	bool keep_busy;		/* scratch: a tag or untag is in flight */
};

struct sched_service {
	char *name;
	json_t *config; /* the canonical service (a reference into the project's model) */
	char hash[17];
	int desired;
	bool up_pending; /* compose up/start asked: start its stopped replicas once */
	bool stopped;	 /* compose stop [SERVICE]: replicas kept, not run (persisted) */
	bool over_limit; /* its saved scale is over SCHED_MAX_REPLICAS: not reconciled */
	struct sched_replica **replicas;
	size_t n_replicas, cap_replicas;
	int n_pending; /* replicas that do not fit the host */
	char pending_reason[256];
	char waiting[256]; /* dependencies not met yet */
	char error[512];   /* last create/start failure */
	int error_status;  /* its HTTP status */
	int64_t retry_at_ns;
	int error_backoff;
	double res_cpus; /* reservations per replica */
	int64_t res_memory;
	struct sched_update upd;
};

struct sched_waiter;

struct sched_project {
	struct sched_project *next;
	struct sched *sched;
	char *name;
	json_t *model;	  /* canonical compose model */
	json_t *replicas; /* {"web": 3}: the desired replicas per service */
	bool stopped;	  /* every service is stopped (set from sched_service.stopped) */
	bool removing;	  /* compose down in progress */
	bool remove_volumes;
	int down_timeout; /* compose down -t: seconds for its drains and stops; -1: the services' */
	struct sched_service **services; /* in dependency order */
	size_t n_services;
	bool listing, dirty, waiting_deps, net_ready, cleaning;
	bool list_all;	 /* the listing is of every container (a service pins CPUs) */
	bool updating;	 /* a rolling update waits for health or its delay: not settled */
	int resolving;	 /* image look-ups of an up in flight */
	json_t *removed; /* names removed by down, for its reply */
	json_t *strays;	 /* ids of containers of the project that no service knows (down) */
	int inflight;
	struct event *kick; /* a zero or backoff timer that starts the next pass */
	int64_t kick_at_ns;
	struct sched_waiter *waiters;
};

struct sched_events;

struct sched {
	struct event_base *base;
	struct sched_project *projects;
	const char *agent_sock;
	struct sched_events *events;
	double host_cpus;
	int64_t host_memory;
	char *status_json; /* the status snapshot, rebuilt after every pass */
	size_t status_len;
	char *metrics_text;
	int64_t metrics_ns;
	struct sched_window windows[SCHED_WINDOW_KINDS];
	json_t *draining; /* undrain.c: ids netd said drain at our start, not undone yet */
	bool drains_asked;
};

/* --- translate.c: a service to the agent's create body (pure) --- */

/* Fill hash (16 hex + NUL) from the service's canonical JSON. */
void sched_config_hash(const json_t *service, char hash[17]);
/* "PROJECT-SERVICE-N", or container_name when set. */
void sched_container_name(const char *project, const char *service, const json_t *config,
			  int number, char *out, size_t size);
/* The project's network name for a service network key ("default" → PROJECT_default). */
void sched_network_name(const json_t *model, const char *project, const char *key, char *out,
			size_t size);
/* The Docker create body of replica number of service (NULL + err for what cannot be
 * expressed, 400). */
json_t *sched_create_body(const json_t *model, const char *project, const char *service, int number,
			  const char *hash, struct berth_error *err);
/* The service's networks as project network names, primary first (malloc'd strv). */
char **sched_service_networks(const json_t *model, const char *project, const char *service);
/* Pin a create body to cpus (HostConfig.CpusetCpus and the berth.cpuset label). */
void sched_create_body_pin(json_t *body, const char *cpus);

/* --- plan.c: numbering, scale-down order, placement (pure) --- */

/* Numbers for `count` new replicas: the lowest not in used[0..n_used). out has count slots. */
void sched_plan_numbers(const int *used, size_t n_used, int count, int *out);
/* Which of numbers[0..n) to remove to keep `keep`: the highest first. Sets remove[i]. */
void sched_plan_scale_down(const int *numbers, size_t n, int keep, bool *remove);
/* Does a replica reserving (cpus, memory) fit when (used_cpus, used_memory) of (host_cpus,
 * host_memory) are reserved already? When not, reason says what is short. */
bool sched_plan_fits(double host_cpus, int64_t host_memory, double used_cpus, int64_t used_memory,
		     double cpus, int64_t memory, char *reason, size_t size);
/* deploy.resources.reservations of a service. */
void sched_plan_reservations(const json_t *service, double *cpus, int64_t *memory);
/* Host capacity: online CPUs and MemTotal. */
void sched_plan_host(double *cpus, int64_t *memory);
struct berth_cpuset;
/* How many CPUs each replica of a service with a cpuset pool is pinned to: ceil of
 * reservations.cpus, else limits.cpus; 0 = no count (every replica gets the whole pool). */
int sched_plan_cpu_count(const json_t *service);
/* Choose count CPUs of pool for a new replica: the least loaded (load[cpu] = replicas pinned to
 * it, n_load entries, beyond = 0), ties to the lowest number. count <= 0 or >= the pool's size
 * gives the whole pool. Returns how many were chosen into out. */
int sched_plan_cpus(const struct berth_cpuset *pool, const int *load, size_t n_load, int count,
		    struct berth_cpuset *out);

/* --- pinning.c: CPUs for the replicas of services with a cpuset --- */

/* Replicas pinned to each CPU (BERTH_CPUSET_MAX entries, malloc'd) for a decision of project p:
 * every container of `all` (a listing of every container of the host; NULL: none) but p's, on
 * each CPU of its cpuset (sched_pin_of_listed), in any state; p's replicas; and the replicas
 * of other projects that the listing does not have (being created). */
int *sched_pin_load(struct sched *s, const struct sched_project *p, const json_t *all);
/* The CPUs a listed container is pinned to: HostConfig.CpusetCpus, else its berth.cpuset
 * label; NULL or "" when none. */
const char *sched_pin_of_listed(const json_t *c);
/* The cpuset for a new replica of svc (sched_plan_cpus over the service's pool), added to
 * load; "" when the service has no cpuset. */
void sched_pin_choose(const struct sched_service *svc, int *load, char *out, size_t size);

/* --- project.c: the project store --- */

struct sched_project *sched_project_find(struct sched *s, const char *name);
/* Is n (JSON) a scale service may have: an integer 0-SCHED_MAX_REPLICAS? 400 with the
 * limit in the message when not. */
int sched_scale_check(const char *service, const json_t *n, struct berth_error *err);
/* svc's saved scale is over the limit (over_limit): say so in its error. */
void sched_service_over_limit(struct sched_project *p, struct sched_service *svc);
/* Create or update a project from a PUT body (model, services subset, scale); persists. */
struct sched_project *sched_project_apply(struct sched *s, const char *name, const json_t *model,
					  const json_t *services, const json_t *scale,
					  struct berth_error *err);
/* A project known only by name, for down of containers whose state file is gone. */
struct sched_project *sched_project_transient(struct sched *s, const char *name);
int sched_project_save(struct sched_project *p, struct berth_error *err);
void sched_project_forget(struct sched_project *p); /* unlink, delete its file, free */
int sched_projects_load(struct sched *s);
struct sched_service *sched_service_find(struct sched_project *p, const char *name);
/* The services named (a JSON array of strings; all when empty or NULL), with their depends_on
 * when with_deps, as an object {name: true}; NULL and 404 "no such service: X" for a name the
 * project does not have. */
json_t *sched_project_select(struct sched_project *p, const json_t *names, bool with_deps,
			     struct berth_error *err);
/* p->stopped from the services' flags: true when every service is stopped. */
void sched_project_sync_stopped(struct sched_project *p);
json_t *sched_project_status(struct sched_project *p);
/* Rebuild s->status_json. */
void sched_status_refresh(struct sched *s);
/* Reservations of every replica that runs or is being started, over all projects. */
void sched_reserved(struct sched *s, double *cpus, int64_t *memory);

/* --- actions.c: compose stop, start, restart of a project or of some of its services --- */

enum sched_action { SCHED_ACTION_STOP, SCHED_ACTION_START, SCHED_ACTION_RESTART };
/* Set the services' stopped flags (persisted before returning) and issue the stops or
 * restarts; names as for sched_project_select (start also starts their depends_on); timeout in
 * seconds for the stops (-1: each service's stop_grace_period). */
int sched_project_action(struct sched_project *p, enum sched_action action, const json_t *names,
			 long timeout, struct berth_error *err);

/* --- reconcile.c --- */

/* Run a pass (list, then act) soon; coalesces. */
void sched_kick(struct sched_project *p);
void sched_agent_back(struct sched *s);
void sched_kick_all(struct sched *s);
/* Reply waiters when the project settles. */
typedef void (*sched_waiter_cb)(struct sched_project *p, void *arg, bool removed);
void sched_wait_settled(struct sched_project *p, sched_waiter_cb cb, void *arg);
/* An agent event about a container of project p. */
void sched_on_container_event(struct sched_project *p, const char *action, const char *id,
			      json_t *attrs);

/* --- ops.c: operations on the agent, each on its own connection (so they run in parallel),
 * counted in p->inflight; the last one to finish starts a new pass --- */

enum sched_op_kind {
	SCHED_OP_CREATE, /* create (with its networks) and start */
	SCHED_OP_START,
	SCHED_OP_STOP,
	SCHED_OP_REMOVE, /* stop, then remove */
	SCHED_OP_RESTART,
};
void sched_op_replica(struct sched_project *p, struct sched_service *svc, struct sched_replica *r,
		      enum sched_op_kind kind);
/* One request to the agent on a connection of its own (the client is freed after cb). */
void sched_request(struct sched *s, const char *method, const char *path, const json_t *body,
		   void (*cb)(void *arg, int status, json_t *reply, const struct berth_error *err),
		   void *arg);
/* The same to another daemon's socket (netd), with a timeout in seconds. */
void sched_request_to(struct sched *s, const char *sock, int timeout_s, const char *method,
		      const char *path, const json_t *body,
		      void (*cb)(void *arg, int status, json_t *reply,
				 const struct berth_error *err),
		      void *arg);
/* Drop p's creates, starts and restarts still waiting for a place in the window (the project
 * changed: the next pass decides again). Returns how many. */
int sched_ops_cancel_queued(struct sched_project *p);
/* Remove a container by id (one the project has but no service of its model knows). */
void sched_op_remove_id(struct sched_project *p, const char *id);
/* Create the project's networks (net_ready once done). */
void sched_op_networks_create(struct sched_project *p);
/* Remove the project's networks (and named volumes when remove_volumes), then call done. */
void sched_op_project_cleanup(struct sched_project *p, void (*done)(struct sched_project *p));
/* Draining (ops_net.c): how long a replica of this service may take to finish its proxied
 * connections before it is stopped: x-berth.drain_timeout, else stop_grace_period, else 10 s;
 * 0 = no draining. */
int64_t sched_drain_timeout_ms(const json_t *config);
/* Does the replica publish host ports (is it behind netd's proxy)? */
bool sched_replica_published(const struct sched_replica *r);
/* Ask netd to take container id off its published ports and wait (asynchronously) until its
 * connections are closed or timeout_ms passed; done(arg) always follows, also when netd is
 * unreachable or does not know the container. */
void sched_drain(struct sched *s, const char *id, const char *name, int64_t timeout_ms,
		 void (*done)(void *arg), void *arg);
/* Called by ops.c when an operation ends. */
void sched_op_finished(struct sched_project *p);

/* --- undrain.c: drains undone for replicas kept after all --- */

/* Ask netd once which endpoints drain (at the first pass after a start); a pass that keeps one
 * of them calls sched_undrain_kept. */
void sched_drains_check(struct sched *s);
/* Undo the drain of r if netd said it drains (once). */
void sched_undrain_kept(struct sched *s, const char *project, const char *service,
			const json_t *config, const struct sched_replica *r);
/* netd's DELETE /endpoints/{id}/drain (asynchronous; logged). */
void sched_undrain(struct sched *s, const char *id, const char *name);

/* --- update.c: rolling updates (update_config, rollback) --- */

/* Does replica r run an older config or image than svc's? */
bool sched_update_outdated(const struct sched_service *svc, const struct sched_replica *r);
/* One pass's step of svc's rolling update: may issue removals (stop-first), sets *surge to the
 * replicas to keep above desired (start-first), *busy when the update waits, *next_ns when a
 * timer should start the next pass. Returns the operations issued. */
int sched_update_step(struct sched_project *p, struct sched_service *svc, int64_t now, int *surge,
		      bool *busy, int64_t *next_ns);
/* Around a new model: remember (before) and compare (after) each service's config. */
void sched_update_before_apply(struct sched_project *p);
void sched_update_after_apply(struct sched_project *p, const json_t *selected);
/* Persisted form, and back. */
json_t *sched_update_save(const struct sched_project *p);
void sched_update_load(struct sched_project *p, const json_t *doc);
json_t *sched_update_status(const struct sched_service *svc);
void sched_update_free(struct sched_service *svc);
/* Resolve the image IDs of the services (GET /images/X/json), then call done. */
void sched_update_resolve_images(struct sched_project *p,
				 void (*done)(struct sched_project *p, void *arg), void *arg);
/* update_image.c: an up found svc's image on id (NULL: no such image). */
void sched_update_image_resolved(struct sched_service *svc, const char *id);
/* A rollback from config image `from` to svc's (previous) config: its previous image ID. */
void sched_update_image_rollback(struct sched_service *svc, const char *from);
/* A create body of svc: the pinned image ID instead of the tag after such a rollback. */
void sched_update_create_body(const struct sched_service *svc, json_t *body);
/* update_keep.c: the image a rollback needs, tagged berth-rollback:PROJECT.SERVICE. The tag's
 * name (PROJECT.SERVICE; -1 when longer than Docker's 128). */
int sched_update_keep_tag(const char *project, const char *service, char *out, size_t size);
/* The ID that should carry it now ("" none): the previous config's image; while rolling back
 * or pinned, the image rolled back to; none while the project is being removed. */
const char *sched_update_keep_target(const struct sched_project *p,
				     const struct sched_service *svc);
/* Tag, move or untag (asynchronously) when the target is not what is tagged. */
void sched_update_keep_sync(struct sched_project *p, struct sched_service *svc);
/* Do failed of total replicas exceed max_failure_ratio? (swarm: failed / total > ratio) */
bool sched_update_failure_exceeds(int failed, int total, double ratio);

/* --- events.c: the agent's /events stream, reconnected with backoff --- */

struct sched_events *sched_events_start(struct sched *s);
void sched_events_free(struct sched_events *e);

/* --- api.c and status.c: routes --- */

extern const struct berth_http_route sched_api_routes[];
extern const size_t sched_api_n_routes;
extern const struct berth_http_route sched_status_routes[];
extern const size_t sched_status_n_routes;

#endif
