/* Docker Engine API: /volumes (list, create, inspect, remove, prune) over the local volume
 * store (volumes.c); in use means named in a container's Mounts, running or not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/http_server.h"
#include "berth/log.h"
#include "berth/volume_name.h"
#include "agent.h"
#include "container.h"
#include "volumes.h"

/* The ids of the containers whose Mounts name the volume, as a new array. */
static json_t *volume_users(struct agent *agent, const char *name)
{
	json_t *ids = json_array();
	for (struct container *c = agent->containers->head; c; c = c->next) {
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(c->config, "Mounts"), i, m)
		{
			const char *n = json_string_value(json_object_get(m, "Name"));
			const char *type = json_string_value(json_object_get(m, "Type"));
			if (n && type && strcmp(type, "volume") == 0 && strcmp(n, name) == 0) {
				json_array_append_new(ids, json_string(c->id));
				break;
			}
		}
	}
	return ids;
}

/* Docker's filter values: ["a", "b"] or the docker CLI's {"a": true}. */
static json_t *filter_values(const json_t *v)
{
	json_t *list = json_array();
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x) json_array_append_new(list, json_string(k));
	else if (json_is_array(v))
		json_array_foreach(v, i, x) if (json_is_string(x)) json_array_append(list, x);
	return list;
}

static bool label_match(const json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
	json_t *v = json_object_get(labels, key);
	return v && (!eq || strcmp(json_string_value(v) ?: "", eq + 1) == 0);
}

/* Parse ?filters; keys allowed lists what this endpoint takes. NULL and a 400 reply when bad;
 * an absent filter gives an empty object. */
static json_t *parse_filters(struct berth_http_call *call, const char *const *allowed)
{
	const char *f = berth_http_query(call, "filters");
	json_t *filters = f && *f ? json_loads(f, 0, NULL) : json_object();
	if (!json_is_object(filters)) {
		json_decref(filters);
		berth_http_reply_errorf(call, 400, "invalid filter: %s", f);
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(filters, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok) {
			berth_http_reply_errorf(call, 400, "invalid filter '%s'", key);
			json_decref(filters);
			return NULL;
		}
	}
	return filters;
}

static bool bool_value(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
}

/* Every value of a key must match for label and label!; any for the others. */
static bool volume_matches(struct agent *agent, const json_t *vol, const json_t *filters)
{
	const char *name = json_string_value(json_object_get(vol, "Name"));
	json_t *labels = json_object_get(vol, "Labels");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)filters, key, v)
	{
		_cleanup_json_ json_t *vals = filter_values(v);
		if (json_array_size(vals) == 0)
			continue;
		size_t i;
		json_t *x;
		bool any = false, all = true;
		json_array_foreach(vals, i, x)
		{
			const char *s = json_string_value(x);
			if (strcmp(key, "name") == 0) {
				any |= strstr(name, s) != NULL;
			} else if (strcmp(key, "driver") == 0) {
				any |= strcmp(s, "local") == 0;
			} else if (strcmp(key, "dangling") == 0) {
				_cleanup_json_ json_t *users = volume_users(agent, name);
				any |= bool_value(s) == (json_array_size(users) == 0);
			} else if (strcmp(key, "label") == 0) {
				all &= label_match(labels, s);
			} else if (strcmp(key, "label!") == 0) {
				all &= !label_match(labels, s);
			} else {
				any = true; /* "all" (prune) and the like select nothing here */
			}
		}
		bool label = strcmp(key, "label") == 0 || strcmp(key, "label!") == 0;
		if (label ? !all : !any)
			return false;
	}
	return true;
}

static void api_volume_list(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	static const char *const allowed[] = {"name", "driver", "dangling", "label", NULL};
	_cleanup_json_ json_t *filters = parse_filters(call, allowed);
	if (!filters)
		return;
	_cleanup_json_ json_t *all = volumes_list(agent->root);
	json_t *out = json_array();
	size_t i;
	json_t *vol;
	json_array_foreach(all, i, vol) if (volume_matches(agent, vol, filters))
	    json_array_append(out, vol);
	berth_http_reply_json(call, 200, json_pack("{s:o, s:[]}", "Volumes", out, "Warnings"));
}

static void api_volume_create(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *name = json_object_get(body, "Name");
	json_t *labels = json_object_get(body, "Labels");
	json_t *opts = json_object_get(body, "DriverOpts");
	if ((name && !json_is_string(name) && !json_is_null(name)) ||
	    (labels && !json_is_object(labels) && !json_is_null(labels)) ||
	    (opts && !json_is_object(opts) && !json_is_null(opts))) {
		berth_http_reply_errorf(call, 400,
					"invalid JSON: Name must be a string, Labels "
					"and DriverOpts objects of strings");
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(labels, key, v) if (!json_is_string(v))
	{
		berth_http_reply_errorf(call, 400, "invalid JSON: label %s is not a string", key);
		return;
	}
	const char *n = json_string_value(name);
	if (n && *n && volume_name_check(n, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *vol =
	    volumes_create(agent->root, json_string_value(name),
			   json_string_value(json_object_get(body, "Driver")), labels, opts, &err);
	if (!vol) {
		berth_http_reply_error(call, &err);
		return;
	}
	agent_event(agent, "volume", "create", json_string_value(json_object_get(vol, "Name")),
		    NULL);
	berth_http_reply_json(call, 201, vol);
}

static void api_volume_inspect(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct berth_error err = {0};
	json_t *vol = volumes_inspect(agent->root, call->params[0], &err);
	if (!vol)
		berth_http_reply_error(call, &err);
	else
		berth_http_reply_json(call, 200, vol);
}

/* 409 with Docker's text when a container uses the volume. */
static int check_unused(struct agent *agent, const char *name, struct berth_error *err)
{
	_cleanup_json_ json_t *users = volume_users(agent, name);
	if (json_array_size(users) == 0)
		return 0;
	/* Go prints the []string as [a b] */
	char ids[4096] = "";
	size_t off = 0, i;
	json_t *id;
	json_array_foreach(users, i, id)
	{
		int n = snprintf(ids + off, sizeof(ids) - off, "%s%s", i ? " " : "",
				 json_string_value(id));
		if (n < 0 || (size_t)n >= sizeof(ids) - off)
			break;
		off += (size_t)n;
	}
	return berth_err(err, 409, "remove %s: volume is in use - [%s]", name, ids);
}

static void api_volume_delete(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	const char *name = call->params[0];
	bool force = berth_http_query_bool(call, "force", false);
	struct berth_error err = {0};
	_cleanup_json_ json_t *vol = volumes_inspect(agent->root, name, &err);
	if (!vol) {
		/* Docker: force ignores a volume that is not there */
		if (force)
			berth_http_reply_empty(call, 204);
		else
			berth_http_reply_error(call, &err);
		return;
	}
	if (check_unused(agent, name, &err) < 0 || volumes_remove(agent->root, name, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	agent_event(agent, "volume", "destroy", name, NULL);
	berth_http_reply_empty(call, 204);
}

static void api_volume_prune(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	static const char *const allowed[] = {"label", "label!", "all", NULL};
	_cleanup_json_ json_t *filters = parse_filters(call, allowed);
	if (!filters)
		return;
	_cleanup_json_ json_t *all = volumes_list(agent->root);
	json_t *deleted = json_array();
	json_int_t reclaimed = 0;
	size_t i;
	json_t *vol;
	json_array_foreach(all, i, vol)
	{
		const char *name = json_string_value(json_object_get(vol, "Name"));
		struct berth_error err = {0};
		if (!volume_matches(agent, vol, filters) || check_unused(agent, name, &err) < 0)
			continue;
		int64_t size = volumes_size(agent->root, name);
		if (volumes_remove(agent->root, name, &err) < 0) {
			log_warn("volume prune: %s", err.msg);
			continue;
		}
		reclaimed += size;
		json_array_append_new(deleted, json_string(name));
		agent_event(agent, "volume", "destroy", name, NULL);
	}
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", reclaimed));
}

const struct berth_http_route api_volumes_routes[] = {
    {"GET", "/volumes", api_volume_list},
    {"POST", "/volumes/create", api_volume_create},
    {"POST", "/volumes/prune", api_volume_prune},
    {"GET", "/volumes/{name}", api_volume_inspect},
    {"DELETE", "/volumes/{name}", api_volume_delete},
};
const size_t api_volumes_routes_len = sizeof(api_volumes_routes) / sizeof(api_volumes_routes[0]);
