/* The container store: records, their files (config.json, state.json), names and lookup. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "agent.h"
#include "container.h"
#include "netd_client.h"

static const char *const status_names[] = {
    [CONTAINER_CREATED] = "created",   [CONTAINER_RUNNING] = "running",
    [CONTAINER_PAUSED] = "paused",     [CONTAINER_RESTARTING] = "restarting",
    [CONTAINER_REMOVING] = "removing", [CONTAINER_EXITED] = "exited",
    [CONTAINER_DEAD] = "dead",
};

const char *container_status_name(enum container_status s)
{
	return s <= CONTAINER_DEAD ? status_names[s] : "dead";
}

enum container_status container_status_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum container_status)i;
	return CONTAINER_DEAD;
}

struct container_store *container_store_new(struct agent *agent, const char *root)
{
	struct container_store *store = calloc(1, sizeof(*store));
	if (!store)
		abort();
	store->agent = agent;
	snprintf(store->dir, sizeof(store->dir), "%s/containers", root);
	if (agent && agent->base)
		store->netd = netd_client_new(agent);
	container_save_init(store);
	return store;
}

void container_free(struct container *c)
{
	if (c->kill_timer)
		event_free(c->kill_timer);
	if (c->restart_timer)
		event_free(c->restart_timer);
	health_free(c);
	json_decref(c->config);
	free(c->name);
	free(c->error);
	free(c);
}

void container_store_free(struct container_store *store)
{
	if (!store)
		return;
	container_save_fini(store);
	for (struct container *c = store->head, *next; c; c = next) {
		next = c->next;
		container_free(c);
	}
	netd_client_free(store->netd);
	free(store);
}

void container_store_add(struct container_store *store, struct container *c)
{
	c->store = store;
	c->next = store->head;
	store->head = c;
	store->count++;
}

void container_store_unlink(struct container_store *store, struct container *c)
{
	for (struct container **p = &store->head; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			store->count--;
			return;
		}
	}
}

void container_dir(const struct container *c, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", c->store->dir, c->id);
}

bool container_tty(const struct container *c)
{
	return json_is_true(json_object_get(json_object_get(c->config, "Config"), "Tty"));
}

const char *container_image_id(const struct container *c)
{
	const char *s = json_string_value(json_object_get(c->config, "Image"));
	return s ? s : "";
}

struct container *container_by_name(struct container_store *store, const char *name)
{
	if (*name == '/')
		name++;
	for (struct container *c = store->head; c; c = c->next)
		if (strcmp(c->name + 1, name) == 0)
			return c;
	return NULL;
}

struct container *container_find(struct container_store *store, const char *ref,
				 struct berth_error *err)
{
	if (!ref || !*ref) {
		berth_err(err, 400, "invalid container name or ID: value is empty");
		return NULL;
	}
	size_t len = strlen(ref);
	if (len == 64) {
		for (struct container *c = store->head; c; c = c->next)
			if (strcmp(c->id, ref) == 0)
				return c;
	}
	struct container *c = container_by_name(store, ref);
	if (c)
		return c;
	struct container *found = NULL;
	if (len <= 64 && berth_is_hex(ref, len)) {
		for (c = store->head; c; c = c->next) {
			if (strncmp(c->id, ref, len) != 0)
				continue;
			if (found) {
				berth_err(err, 400, "multiple IDs found with provided prefix: %s",
					  ref);
				return NULL;
			}
			found = c;
		}
	}
	if (!found)
		berth_err(err, 404, "No such container: %s", ref);
	return found;
}

int container_name_check(struct container_store *store, const char *name, struct berth_error *err)
{
	if (!berth_name_valid(name))
		return berth_err(
		    err, 400,
		    "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		    name);
	struct container *c = container_by_name(store, name);
	if (c)
		return berth_err(
		    err, 409,
		    "Conflict. The container name \"/%s\" is already in use by container "
		    "\"%s\". You have to remove (or rename) that container to be able to "
		    "reuse that name.",
		    *name == '/' ? name + 1 : name, c->id);
	return 0;
}

void container_status_text(const struct container *c, int64_t now_ns, char *out, size_t size)
{
	char ago[64];
	switch (c->status) {
	case CONTAINER_RUNNING:
	case CONTAINER_PAUSED:
		berth_human_duration((double)(now_ns - c->started_ns) / 1e9, ago, sizeof(ago));
		snprintf(out, size, "Up %s%s", ago,
			 c->status == CONTAINER_PAUSED ? " (Paused)" : health_status_suffix(c));
		return;
	case CONTAINER_RESTARTING:
		berth_human_duration((double)(now_ns - c->finished_ns) / 1e9, ago, sizeof(ago));
		snprintf(out, size, "Restarting (%d) %s ago", c->exit_code, ago);
		return;
	case CONTAINER_REMOVING:
		snprintf(out, size, "Removal In Progress");
		return;
	case CONTAINER_DEAD:
		snprintf(out, size, "Dead");
		return;
	case CONTAINER_CREATED:
		snprintf(out, size, "Created");
		return;
	case CONTAINER_EXITED:
		if (c->finished_ns == 0) {
			snprintf(out, size, "Created");
			return;
		}
		berth_human_duration((double)(now_ns - c->finished_ns) / 1e9, ago, sizeof(ago));
		snprintf(out, size, "Exited (%d) %s ago", c->exit_code, ago);
		return;
	}
}

char *container_command_string(const struct container *c)
{
	const char *path = json_string_value(json_object_get(c->config, "Path"));
	size_t cap = 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	out[0] = '\0';
	json_t *args = json_object_get(c->config, "Args");
	size_t n = json_array_size(args);
	for (size_t i = 0; i <= n; i++) {
		const char *s =
		    i == 0 ? (path ? path : "") : json_string_value(json_array_get(args, i - 1));
		if (!s)
			continue;
		size_t sl = strlen(s);
		if (len + sl + 2 > cap) {
			cap = (len + sl + 2) * 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		if (i > 0)
			out[len++] = ' ';
		memcpy(out + len, s, sl + 1);
		len += sl;
	}
	return out;
}

json_t *container_state_json(struct container *c)
{
	char started[48], finished[48];
	berth_format_rfc3339(c->started_ns, started, sizeof(started));
	berth_format_rfc3339(c->finished_ns, finished, sizeof(finished));
	return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
			 container_status_name(c->status), "Running",
			 c->status == CONTAINER_RUNNING || c->status == CONTAINER_PAUSED, "Paused",
			 c->status == CONTAINER_PAUSED, "Restarting",
			 c->status == CONTAINER_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
			 c->status == CONTAINER_DEAD, "Pid", (int)c->pid, "ExitCode", c->exit_code,
			 "Error", c->error ? c->error : "", "StartedAt", started, "FinishedAt",
			 finished);
}

json_t *container_inspect_json(struct container *c)
{
	json_t *j = json_deep_copy(c->config);
	json_t *state = container_state_json(c);
	json_t *health = health_state_json(c);
	if (health)
		json_object_set_new(state, "Health", health);
	json_object_set_new(j, "State", state);
	json_object_set_new(j, "RestartCount", json_integer(c->restart_count));
	return j;
}

/* Read one container's directory into a record; NULL when it is not a container. */
struct container *container_load_one(struct container_store *store, const char *id)
{
	char path[4200];
	struct berth_error err = {0};
	snprintf(path, sizeof(path), "%s/%s/config.json", store->dir, id);
	_cleanup_json_ json_t *config = berth_read_json(path, &err);
	if (!config) {
		log_warn("container %.12s: %s (skipped)", id, err.msg);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s/state.json", store->dir, id);
	_cleanup_json_ json_t *st = berth_read_json(path, &err);
	const char *name = json_string_value(json_object_get(config, "Name"));
	if (!name || *name != '/')
		return NULL;
	struct container *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->name = strdup(name);
	c->config = steal_pointer(&config);
	c->created_ns =
	    berth_parse_rfc3339(json_string_value(json_object_get(c->config, "Created")));
	c->status = CONTAINER_CREATED;
	if (st) {
		c->status =
		    container_status_parse(json_string_value(json_object_get(st, "Status")));
		c->pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
		c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		c->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
		const char *e = json_string_value(json_object_get(st, "Error"));
		if (e && *e)
			c->error = strdup(e);
		c->started_ns = json_integer_value(json_object_get(st, "StartedAtNs"));
		c->finished_ns = json_integer_value(json_object_get(st, "FinishedAtNs"));
		c->restart_count = (int)json_integer_value(json_object_get(st, "RestartCount"));
		c->starting = json_is_true(json_object_get(st, "Starting"));
		c->remove_on_exit = json_is_true(json_object_get(st, "RemoveOnExit"));
		c->stop_requested = json_is_true(json_object_get(st, "ManuallyStopped"));
		c->restart_delay_ns = json_integer_value(json_object_get(st, "RestartDelayNs"));
		health_load(c, json_object_get(st, "Health"));
	}
	return c;
}
