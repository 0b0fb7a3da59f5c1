/* Loading the store at start, the /containers/json entries and ps filters. */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "agent.h"
#include "container.h"
#include "netd_client.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "shim_proto.h"

/* A directory without config.json is a create the agent died in (the config is written
 * last, atomically, and nothing starts without it): nobody was told of it, remove it. */
static void remove_half_created(struct container_store *store, const char *id)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/config.json", store->dir, id);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		return;
	struct agent *agent = store->agent;
	struct berth_error err = {0};
	snprintf(path, sizeof(path), "%s/%s", store->dir, id);
	runtime_cleanup(path, agent->run, id, agent->cgroup_parent, &err);
	if (berth_rm_rf(path, &err) < 0)
		log_warn("container %.12s: removing a half-created container: %s", id, err.msg);
	else
		log_info("container %.12s: removed a half-created container", id);
}

/* A container whose saved state is older than what ran: a start (or a policy restart) whose
 * "running" state was not yet on disk when the agent died (container_save.c queues it, and a
 * start's reply does not wait for it). Its shim's socket is there, or its exit.json is newer
 * than the saved state: adopt it as a running one would be. */
static bool ran_unsaved(struct container_store *store, struct container *c)
{
	if (c->status == CONTAINER_RUNNING || c->status == CONTAINER_PAUSED || c->starting ||
	    !store->agent)
		return false;
	char path[4200];
	if (shim_socket_path(path, sizeof(path), store->agent->run, c->id) == 0 &&
	    access(path, F_OK) == 0)
		return true;
	struct runtime_exit e = {0};
	container_dir(c, path, sizeof(path));
	return runtime_exit_read(path, &e) == 0 && e.finished_ns > c->finished_ns;
}

int container_store_load(struct container_store *store, struct berth_error *err)
{
	if (berth_mkdir_p(store->dir, 0710, err) < 0)
		return -1;
	_cleanup_closedir_ DIR *d = opendir(store->dir);
	if (!d)
		return berth_err_errno(err, 500, errno, "open %s", store->dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 64 || !berth_is_hex(de->d_name, 64))
			continue;
		struct container *c = container_load_one(store, de->d_name);
		if (c)
			container_store_add(store, c);
		else
			remove_half_created(store, de->d_name);
	}
	/* Adopt after all are loaded: an exit found now may remove a --rm container. */
	struct container *next;
	for (struct container *c = store->head; c; c = next) {
		next = c->next;
		if (ran_unsaved(store, c)) {
			log_info("container %.12s: ran after its last saved state", c->id);
			c->starting = true;
		}
		if (c->status == CONTAINER_RESTARTING && !c->starting)
			continue; /* waiting for its restart: restart_at_load */
		if (c->status == CONTAINER_RUNNING || c->status == CONTAINER_PAUSED ||
		    c->status == CONTAINER_RESTARTING || c->starting)
			container_adopt(c);
		else if (c->status == CONTAINER_REMOVING ||
			 (c->status == CONTAINER_EXITED && c->remove_on_exit))
			container_destroy(c);
	}
	log_info("loaded %zu containers", store->count);
	if (store->agent && store->agent->base)
		restart_at_load(store);
	/* Endpoints of containers removed while the agent was down go now. */
	if (store->netd)
		netd_reconcile(store->netd);
	return 0;
}

static json_t *list_ports(struct container *c)
{
	json_t *ports = json_array();
	json_t *bound = json_object_get(json_object_get(c->config, "NetworkSettings"), "Ports");
	const char *key;
	json_t *val;
	if (c->status != CONTAINER_RUNNING)
		return ports;
	json_object_foreach(json_object_get(json_object_get(c->config, "Config"), "ExposedPorts"),
			    key, val)
	{
		int port = atoi(key);
		const char *slash = strchr(key, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		json_t *bindings = json_object_get(bound, key);
		size_t i;
		json_t *b;
		if (json_array_size(bindings) == 0) {
			json_array_append_new(
			    ports, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", proto));
			continue;
		}
		json_array_foreach(bindings, i, b)
		{
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *hp = json_string_value(json_object_get(b, "HostPort"));
			json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "IP",
							       ip && *ip ? ip : "0.0.0.0",
							       "PrivatePort", port, "PublicPort",
							       hp ? atoi(hp) : 0, "Type", proto));
		}
	}
	return ports;
}

json_t *container_list_json(struct container *c, int64_t now_ns, bool size)
{
	json_t *config = json_object_get(c->config, "Config");
	json_t *host = json_object_get(c->config, "HostConfig");
	char status[96];
	container_status_text(c, now_ns, status, sizeof(status));
	_cleanup_free_ char *command = container_command_string(c);
	const char *image = json_string_value(json_object_get(config, "Image"));
	const char *netmode = json_string_value(json_object_get(host, "NetworkMode"));
	json_t *labels = json_object_get(config, "Labels");
	json_t *networks =
	    json_object_get(json_object_get(c->config, "NetworkSettings"), "Networks");
	json_t *mounts = json_object_get(c->config, "Mounts");
	json_t *j = json_pack(
	    "{s:s, s:[s], s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:{s:s}, s:{s:o}, s:o}", "Id",
	    c->id, "Names", c->name, "Image", image ? image : "", "ImageID", container_image_id(c),
	    "Command", command, "Created", (json_int_t)(c->created_ns / 1000000000LL), "Ports",
	    list_ports(c), "Labels", labels ? json_incref(labels) : json_object(), "State",
	    container_status_name(c->status), "Status", status, "HostConfig", "NetworkMode",
	    netmode ? netmode : "default", "NetworkSettings", "Networks",
	    networks ? json_incref(networks) : json_object(), "Mounts",
	    mounts ? json_incref(mounts) : json_array());
	/* Not in Docker's summary: the scheduler spreads pinned replicas by every container's
	 * CPUs, and one listing is cheaper than an inspect per container. */
	const char *cpus = json_string_value(json_object_get(host, "CpusetCpus"));
	if (cpus && *cpus)
		json_object_set_new(json_object_get(j, "HostConfig"), "CpusetCpus",
				    json_string(cpus));
	if (size) {
		char dir[4300];
		container_dir(c, dir, sizeof(dir));
		strcat(dir, "/upper");
		long long rw = berth_dir_size(dir);
		json_object_set_new(j, "SizeRw", json_integer(rw < 0 ? 0 : rw));
		json_object_set_new(j, "SizeRootFs", json_integer(rw < 0 ? 0 : rw));
	}
	return j;
}

static const char *const filter_keys[] = {"status", "label",	"name", "id",
					  "exited", "ancestor", NULL};

/* Filter values come as ["a","b"] or, from old clients, {"a":true,"b":true}. */
#define filter_foreach(values, idx, str, iter)                                                     \
	for (idx = 0, iter = json_is_object(values) ? json_object_iter(values) : NULL;             \
	     json_is_array(values) ? (idx < json_array_size(values) &&                             \
				      (str = json_string_value(json_array_get(values, idx)), 1))   \
				   : (iter && (str = json_object_iter_key(iter), 1));              \
	     idx++, iter = iter ? json_object_iter_next(values, iter) : NULL)

int container_filters_check(const json_t *filters, struct berth_error *err)
{
	if (!filters)
		return 0;
	if (!json_is_object(filters))
		return berth_err(err, 400, "invalid filters: expected a JSON object");
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)filters, key, val)
	{
		bool known = false;
		for (int i = 0; filter_keys[i]; i++)
			known |= strcmp(key, filter_keys[i]) == 0;
		if (!known)
			return berth_err(err, 400, "invalid filter '%s'", key);
		if (strcmp(key, "status") == 0) {
			size_t i;
			void *it;
			const char *s = NULL;
			filter_foreach(val, i, s, it)
			{
				if (container_status_parse(s) == CONTAINER_DEAD &&
				    strcmp(s, "dead") != 0)
					return berth_err(
					    err, 400,
					    "invalid filter 'status=%s': Invalid filter value", s);
			}
		}
	}
	return 0;
}

static bool regex_match(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return strstr(s, pattern) != NULL;
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static bool label_match(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t klen = eq ? (size_t)(eq - want) : strlen(want);
	char key[256];
	if (klen >= sizeof(key))
		return false;
	memcpy(key, want, klen);
	key[klen] = '\0';
	json_t *v = json_object_get(labels, key);
	if (!v)
		return false;
	return !eq || strcmp(json_string_value(v) ? json_string_value(v) : "", eq + 1) == 0;
}

static bool one_value_matches(struct container *c, const char *key, const char *s)
{
	json_t *config = json_object_get(c->config, "Config");
	if (strcmp(key, "status") == 0)
		return strcmp(container_status_name(c->status), s) == 0;
	if (strcmp(key, "name") == 0)
		return regex_match(s, c->name) || regex_match(s, c->name + 1);
	if (strcmp(key, "id") == 0)
		return strncmp(c->id, s, strlen(s)) == 0;
	if (strcmp(key, "exited") == 0)
		return c->status == CONTAINER_EXITED && c->exit_code == atoi(s);
	if (strcmp(key, "ancestor") == 0) {
		const char *image = json_string_value(json_object_get(config, "Image"));
		const char *iid = container_image_id(c);
		return (image && strcmp(image, s) == 0) ||
		       (strlen(s) >= 4 &&
			(strncmp(iid, s, strlen(s)) == 0 || strncmp(iid + 7, s, strlen(s)) == 0));
	}
	return false;
}

bool container_filters_match(struct container *c, const json_t *filters)
{
	const char *key;
	json_t *val;
	if (!filters)
		return true;
	json_object_foreach((json_t *)filters, key, val)
	{
		size_t i;
		void *it;
		const char *s = NULL;
		bool any = false, all = true, empty = true;
		filter_foreach(val, i, s, it)
		{
			empty = false;
			if (strcmp(key, "label") == 0) {
				all &= label_match(
				    json_object_get(json_object_get(c->config, "Config"), "Labels"),
				    s);
			} else {
				any |= one_value_matches(c, key, s);
			}
		}
		if (empty)
			continue;
		if (strcmp(key, "label") == 0 ? !all : !any)
			return false;
	}
	return true;
}
