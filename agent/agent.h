/* The agent's process-wide context, shared by its API resources. */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <event2/event.h>

#include "berth/http_server.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif
#define BERTH_API_VERSION "1.41"
#define BERTH_MIN_API_VERSION "1.24"

struct image_store;
struct container_store;
struct agent_events;
struct exec_store;

struct agent {
	struct event_base *base;
	struct berth_http_server *http;
	struct image_store *images;
	struct container_store *containers;
	char root[PATH_MAX];	  /* $BERTH_ROOT */
	char run[PATH_MAX];	  /* $BERTH_RUN */
	char shim_path[PATH_MAX]; /* berth-shim, next to berth-agent */
	char cgroup_parent[256];  /* $BERTH_CGROUP_PARENT or "berth" */
	int64_t started_ns;
	struct agent_events *events; /* /events subscribers and recent history (events.c) */
	struct exec_store *execs;    /* exec instances (api_exec.c) */
};

/* Route tables, one per API resource file; main.c registers them all. */
extern const struct berth_http_route api_system_routes[];
extern const size_t api_system_routes_len;
extern const struct berth_http_route api_containers_routes[];
extern const size_t api_containers_routes_len;
extern const struct berth_http_route api_exec_routes[];
extern const size_t api_exec_routes_len;
extern const struct berth_http_route api_images_routes[];
extern const size_t api_images_routes_len;
extern const struct berth_http_route api_volumes_routes[];
extern const size_t api_volumes_routes_len;

/* Implemented by the container store: is any container (running or not) using image_id
 * ("sha256:<hex>")? If so, copy that container's 64-hex id to container_id. */
bool agent_image_in_use(struct agent *agent, const char *image_id, char container_id[65]);

/* Publish a Docker event on /events (type "container" or "image", action "create", "start",
 * "die", "destroy", "stop", "kill", "pull", "delete", "tag", "untag", "load", "import").
 * attributes may be NULL; it is not stolen. Implemented with the /events route. */
struct json_t;
void agent_event(struct agent *agent, const char *type, const char *action, const char *id,
		 struct json_t *attributes);

/* Free what events.c and api_exec.c hold (at exit). */
void agent_events_free(struct agent *agent);
void agent_execs_free(struct agent *agent);

#endif
