/* Creating a container: Docker's merge of request and image config, names, files on disk. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/create_check.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "berth/volume_name.h"
#include "agent.h"
#include "container.h"
#include "image_store.h"
#include "netd_client.h"
#include "volumes.h"

static bool nonempty_array(const json_t *a)
{
	return json_is_array(a) && json_array_size(a) > 0;
}

static bool nonempty_string(const json_t *s)
{
	return json_is_string(s) && json_string_length(s) > 0;
}

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool env_has_key(const json_t *env, const char *kv)
{
	size_t i, klen = env_key_len(kv);
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && env_key_len(s) == klen && strncmp(s, kv, klen) == 0)
			return true;
	}
	return false;
}

/* Fields of the request that are not part of Config. */
static const char *const not_config[] = {"HostConfig", "NetworkingConfig", NULL};

json_t *container_merge_config(const json_t *request, const json_t *image_config,
			       struct berth_error *err)
{
	_cleanup_json_ json_t *c = json_object();
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)request, key, val)
	{
		bool skip = false;
		for (int i = 0; not_config[i]; i++)
			skip |= strcmp(key, not_config[i]) == 0;
		if (!skip)
			json_object_set(c, key, val);
	}
	const json_t *img = json_is_object(image_config) ? image_config : NULL;

	/* Env: the user's, then the image's keys the user did not set. */
	json_t *env = json_object_get(c, "Env");
	json_t *img_env = json_object_get(img, "Env");
	if (!nonempty_array(env)) {
		json_object_set_new(
		    c, "Env", json_is_array(img_env) ? json_deep_copy(img_env) : json_array());
	} else {
		env = json_deep_copy(env);
		size_t i;
		json_t *e;
		json_array_foreach(img_env, i, e)
		{
			if (json_is_string(e) && !env_has_key(env, json_string_value(e)))
				json_array_append(env, e);
		}
		json_object_set_new(c, "Env", env);
	}

	/* Labels and ExposedPorts and Volumes: the image's, overridden by the user's. */
	static const char *const maps[] = {"Labels", "ExposedPorts", "Volumes", NULL};
	for (int m = 0; maps[m]; m++) {
		json_t *mine = json_object_get(c, maps[m]);
		json_t *theirs = json_object_get(img, maps[m]);
		json_t *merged = json_is_object(theirs) ? json_deep_copy(theirs) : json_object();
		if (json_is_object(mine))
			json_object_update(merged, mine);
		if (json_object_size(merged) == 0 && strcmp(maps[m], "Labels") != 0) {
			json_decref(merged);
			json_object_set_new(c, maps[m], json_null());
		} else {
			json_object_set_new(c, maps[m], merged);
		}
	}

	/* No entrypoint of the user's: the image's Cmd unless the user gave one, and the image's
	 * entrypoint. With an entrypoint of the user's, the image's Cmd is dropped. */
	json_t *ep = json_object_get(c, "Entrypoint");
	if (!nonempty_array(ep)) {
		if (!nonempty_array(json_object_get(c, "Cmd"))) {
			json_t *ic = json_object_get(img, "Cmd");
			json_object_set_new(c, "Cmd",
					    json_is_array(ic) ? json_deep_copy(ic) : json_null());
		}
		if (!json_is_array(ep)) {
			json_t *ie = json_object_get(img, "Entrypoint");
			json_object_set_new(c, "Entrypoint",
					    json_is_array(ie) ? json_deep_copy(ie) : json_null());
		}
	}
	/* --entrypoint "" arrives as [""]: no entrypoint at all. */
	ep = json_object_get(c, "Entrypoint");
	if (json_array_size(ep) == 1 && json_string_length(json_array_get(ep, 0)) == 0)
		json_object_set_new(c, "Entrypoint", json_null());
	if (!json_is_array(json_object_get(c, "Cmd")))
		json_object_set_new(c, "Cmd", json_null());

	static const char *const strings[] = {"WorkingDir", "User", "StopSignal", NULL};
	for (int s = 0; strings[s]; s++) {
		if (!nonempty_string(json_object_get(c, strings[s]))) {
			json_t *iv = json_object_get(img, strings[s]);
			if (nonempty_string(iv))
				json_object_set(c, strings[s], iv);
		}
	}
	if (!json_object_get(c, "Healthcheck") && json_object_get(img, "Healthcheck"))
		json_object_set(c, "Healthcheck", json_object_get(img, "Healthcheck"));

	if (!nonempty_array(json_object_get(c, "Entrypoint")) &&
	    !nonempty_array(json_object_get(c, "Cmd"))) {
		berth_err(err, 400, "No command specified");
		return NULL;
	}

	/* Docker's inspect always has these. */
	static const char *const str_defaults[] = {"Hostname", "Domainname", "User",
						   "Image",    "WorkingDir", NULL};
	for (int s = 0; str_defaults[s]; s++)
		if (!json_is_string(json_object_get(c, str_defaults[s])))
			json_object_set_new(c, str_defaults[s], json_string(""));
	static const char *const bool_defaults[] = {
	    "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", NULL};
	for (int b = 0; bool_defaults[b]; b++)
		if (!json_is_boolean(json_object_get(c, bool_defaults[b])))
			json_object_set_new(c, bool_defaults[b], json_false());
	if (!json_object_get(c, "OnBuild"))
		json_object_set_new(c, "OnBuild", json_null());
	return steal_pointer(&c);
}

static const struct {
	const char *name;
	int num;
} signals[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT}, {"BUS", SIGBUS},	   {"FPE", SIGFPE},
    {"KILL", SIGKILL},	   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},	   {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},	   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},	   {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},	   {"SYS", SIGSYS},
};

int container_parse_signal(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	long n = strtol(s, &end, 10);
	if (*end == '\0')
		return n > 0 && n < 65 ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].num;
	return -1;
}

static json_t *host_config_defaults(const json_t *req_host)
{
	json_t *h = json_is_object(req_host) ? json_deep_copy(req_host) : json_object();
	json_t *log = json_object_get(h, "LogConfig");
	if (!json_is_object(log)) {
		log = json_object();
		json_object_set_new(h, "LogConfig", log);
	}
	if (!nonempty_string(json_object_get(log, "Type")))
		json_object_set_new(log, "Type", json_string("json-file"));
	if (!json_is_object(json_object_get(log, "Config")))
		json_object_set_new(log, "Config", json_object());
	if (!nonempty_string(json_object_get(h, "NetworkMode")))
		json_object_set_new(h, "NetworkMode", json_string("default"));
	json_t *rp = json_object_get(h, "RestartPolicy");
	if (!json_is_object(rp) || !nonempty_string(json_object_get(rp, "Name")))
		json_object_set_new(h, "RestartPolicy",
				    json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
	/* Docker shows both, "" when unset. */
	static const char *const cpusets[] = {"CpusetCpus", "CpusetMems"};
	for (int i = 0; i < 2; i++)
		if (!json_object_get(h, cpusets[i]) || json_is_null(json_object_get(h, cpusets[i])))
			json_object_set_new(h, cpusets[i], json_string(""));
	static const char *const bools[] = {"AutoRemove", "ReadonlyRootfs", "Privileged", NULL};
	for (int i = 0; bools[i]; i++)
		if (!json_is_boolean(json_object_get(h, bools[i])))
			json_object_set_new(h, bools[i], json_false());
	return h;
}

static int check_host_config(json_t *h, const json_t *body, struct berth_error *err)
{
	const char *type =
	    json_string_value(json_object_get(json_object_get(h, "LogConfig"), "Type"));
	if (strcmp(type, "json-file") != 0 && strcmp(type, "none") != 0)
		return berth_err(err, 400, "logger: no log driver named '%s' is registered", type);
	const char *rp =
	    json_string_value(json_object_get(json_object_get(h, "RestartPolicy"), "Name"));
	if (strcmp(rp, "no") && strcmp(rp, "always") && strcmp(rp, "on-failure") &&
	    strcmp(rp, "unless-stopped"))
		return berth_err(err, 400, "invalid restart policy '%s'", rp);
	if (json_is_true(json_object_get(h, "AutoRemove")) && strcmp(rp, "no") != 0)
		return berth_err(err, 400,
				 "can't create 'AutoRemove' container with restart policy");
	if (create_check_limits(h, body, sysconf(_SC_NPROCESSORS_ONLN), err) < 0 ||
	    container_check_security(h, err) < 0)
		return -1;
	return container_check_cpuset(h, err);
}

static json_t *build_config_doc(const char *id, const char *name, int64_t now, json_t *config,
				json_t *host, const struct image_info *img, const char *dir)
{
	json_t *ep = json_object_get(config, "Entrypoint");
	json_t *cmd = json_object_get(config, "Cmd");
	json_t *argv = json_array();
	if (json_is_array(ep))
		json_array_extend(argv, ep);
	if (json_is_array(cmd))
		json_array_extend(argv, cmd);
	json_t *path = json_array_get(argv, 0);
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(argv); i++)
		json_array_append(args, json_array_get(argv, i));
	char created[48];
	berth_format_rfc3339(now, created, sizeof(created));
	_cleanup_free_ char *lower = NULL;
	size_t lower_len = 0;
	for (size_t i = img->n_layers; i > 0; i--)
		lower_len += strlen(img->layers[i - 1]) + 1;
	lower = calloc(1, lower_len + 1);
	for (size_t i = img->n_layers; i > 0; i--) {
		if (*lower)
			strcat(lower, ":");
		strcat(lower, img->layers[i - 1]);
	}
	json_t *doc = json_pack(
	    "{s:s, s:s, s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, "
	    "s:n, s:O, s:O, s:{s:{s:s, s:s, s:s, s:s}, s:s}, s:o, s:{s:s, s:s, s:b, s:s, "
	    "s:o, s:o}}",
	    "Id", id, "Created", created, "Path", path, "Args", args, "Image", img->id,
	    "ResolvConfPath", "", "HostnamePath", "", "HostsPath", "", "LogPath", "", "Name", name,
	    "RestartCount", 0, "Driver", "overlay2", "Platform", "linux", "MountLabel", "",
	    "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs", "HostConfig", host, "Config",
	    config, "GraphDriver", "Data", "LowerDir", lower, "UpperDir", "", "WorkDir", "",
	    "MergedDir", "", "Name", "overlay2", "Mounts", json_array(), "NetworkSettings",
	    "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "", "Ports",
	    json_object(), "Networks", json_object());
	json_decref(argv);
	char buf[4400];
	static const struct {
		const char *key, *file;
	} paths[] = {{"ResolvConfPath", "resolv.conf"},
		     {"HostnamePath", "hostname"},
		     {"HostsPath", "hosts"}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, paths[i].file);
		json_object_set_new(doc, paths[i].key, json_string(buf));
	}
	snprintf(buf, sizeof(buf), "%s/%s-json.log", dir, id);
	json_object_set_new(doc, "LogPath", json_string(buf));
	json_t *gd = json_object_get(json_object_get(doc, "GraphDriver"), "Data");
	static const char *const gdirs[][2] = {
	    {"UpperDir", "upper"}, {"WorkDir", "work"}, {"MergedDir", "rootfs"}};
	for (size_t i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, gdirs[i][1]);
		json_object_set_new(gd, gdirs[i][0], json_string(buf));
	}
	return doc;
}

/* One create in flight: validated, named and numbered, waiting for its endpoint. */
struct create_job {
	struct container_store *store;
	struct container_pending pending;
	json_t *doc;
	json_t *config, *host; /* borrowed from doc */
	struct image_info img;
	char dir[4200];
	char network[256];
	json_t *warnings;
	container_created_cb done;
	void *arg;
};

struct container_pending *container_pending_by_name(struct container_store *store, const char *name)
{
	if (*name == '/')
		name++;
	for (struct container_pending *p = store->pending; p; p = p->next)
		if (strcmp(p->name + 1, name) == 0)
			return p;
	return NULL;
}

static void job_free(struct create_job *job)
{
	struct container_store *store = job->store;
	for (struct container_pending **p = &store->pending; *p; p = &(*p)->next) {
		if (*p == &job->pending) {
			*p = job->pending.next;
			break;
		}
	}
	json_decref(job->doc);
	image_info_clear(&job->img);
	free(job);
}

static void job_fail(struct create_job *job, const struct berth_error *err)
{
	container_created_cb done = job->done;
	void *arg = job->arg;
	job_free(job);
	done(arg, NULL, err);
}

/* Write the container to disk and add it to the store. */
static void job_commit(struct create_job *job, bool has_endpoint)
{
	struct container_store *store = job->store;
	struct agent *agent = store->agent;
	struct berth_error err = {0};
	json_t *mounts = json_object_get(job->doc, "Mounts");
	if (berth_mkdir_p(job->dir, 0710, &err) < 0 ||
	    volumes_resolve(agent->root, json_object_get(job->host, "Binds"),
			    json_object_get(job->config, "Volumes"), &job->img, mounts, &err) < 0)
		goto fail;

	struct container *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	snprintf(c->id, sizeof(c->id), "%s", job->pending.id);
	c->name = strdup(job->pending.name);
	c->config = steal_pointer(&job->doc);
	c->status = CONTAINER_CREATED;
	c->created_ns = berth_now_ns();
	container_store_add(store, c);
	container_created_cb done = job->done;
	void *arg = job->arg;
	if (container_save_new(c, done, arg, &err) < 0) {
		container_store_unlink(store, c);
		job->doc = steal_pointer(&c->config);
		container_free(c);
		goto fail;
	}
	job_free(job);
	return;
fail:
	berth_rm_rf(job->dir, NULL);
	if (has_endpoint)
		netd_release_endpoint(store->netd, job->pending.id);
	job_fail(job, &err);
}

static void endpoint_created(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	struct create_job *job = arg;
	if (err) {
		job_fail(job, err);
		return;
	}
	container_net_apply(job->doc, job->network, reply);
	job_commit(job, true);
}

/* Docker publishes every port it binds: PortBindings' ports are exposed too. */
static void expose_bound_ports(json_t *config, const json_t *host)
{
	json_t *bindings = json_object_get(host, "PortBindings");
	if (json_object_size(bindings) == 0)
		return;
	json_t *exposed = json_object_get(config, "ExposedPorts");
	if (!json_is_object(exposed)) {
		exposed = json_object();
		json_object_set_new(config, "ExposedPorts", exposed);
	}
	const char *key;
	json_t *val;
	json_object_foreach(bindings, key, val)
	{
		if (!json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
	}
}

/* A container's ports (exposed, bound or both) and host bindings at most: each costs a few KB
 * of JSON in the agent and a listener in netd (docs/limits.md). */
#define CONTAINER_MAX_PORTS 4096

static int check_port_count(const json_t *config, const json_t *host, struct berth_error *err)
{
	size_t ports = json_object_size(json_object_get(config, "ExposedPorts")), bindings = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)json_object_get(host, "PortBindings"), key, val) bindings +=
	    json_is_array(val) ? json_array_size(val) : 0;
	if (ports > CONTAINER_MAX_PORTS || bindings > CONTAINER_MAX_PORTS)
		return berth_err(err, 400,
				 "too many ports: %zu exposed, %zu published (a container may have "
				 "at most %d)",
				 ports, bindings, CONTAINER_MAX_PORTS);
	return 0;
}

void container_create(struct container_store *store, const char *name, const json_t *body,
		      json_t *warnings, container_created_cb done, void *arg)
{
	struct agent *agent = store->agent;
	struct berth_error err = {0};
	_cleanup_json_ json_t *host = NULL, *config = NULL, *req = NULL;
	struct create_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->store = store;
	job->done = done;
	job->arg = arg;
	job->warnings = warnings;
	if (create_check_types(body, create_fields, &err) < 0 ||
	    create_check_unsupported(body, create_unsupported, &err) < 0 ||
	    volume_binds_check(json_object_get(json_object_get(body, "HostConfig"), "Binds"),
			       &err) < 0)
		goto fail;
	const char *image = json_string_value(json_object_get(body, "Image"));
	if (!image || !*image) {
		berth_err(&err, 400, "No image specified");
		goto fail;
	}
	/* Before anything copies them (again after the image's ports are merged in). */
	if (check_port_count(body, json_object_get(body, "HostConfig"), &err) < 0)
		goto fail;
	char *namebuf = job->pending.name;
	size_t namesize = sizeof(job->pending.name);
	if (name && *name) {
		if (container_name_check(store, name, &err) < 0)
			goto fail;
		struct container_pending *p = container_pending_by_name(store, name);
		if (p) {
			berth_err(&err, 409,
				  "Conflict. The container name \"/%s\" is already in use by "
				  "container \"%s\". You have to remove (or rename) that container "
				  "to be able to reuse that name.",
				  *name == '/' ? name + 1 : name, p->id);
			goto fail;
		}
		snprintf(namebuf, namesize, "/%s", *name == '/' ? name + 1 : name);
	} else {
		for (int retry = 0;; retry++) {
			namebuf[0] = '/';
			berth_name_random(namebuf + 1, namesize - 1, retry);
			if (!container_by_name(store, namebuf) &&
			    !container_pending_by_name(store, namebuf))
				break;
		}
	}
	host = host_config_defaults(json_object_get(body, "HostConfig"));
	if (check_host_config(host, body, &err) < 0 ||
	    container_resources_adapt(host, warnings, &err) < 0)
		goto fail;
	const char *network;
	enum container_net_kind kind;
	if (container_net_kind(host, &network, &kind, &err) < 0)
		goto fail;
	snprintf(job->network, sizeof(job->network), "%s", network);

	if (image_store_resolve(agent->images, image, &job->img, &err) < 0)
		goto fail;
	config = container_merge_config(body, json_object_get(job->img.config, "config"), &err);
	if (!config)
		goto fail;
	expose_bound_ports(config, host);
	if (check_port_count(config, host, &err) < 0)
		goto fail;
	if (restart_check_labels(json_object_get(config, "Labels"), &err) < 0 ||
	    health_check_config(json_object_get(config, "Healthcheck"), &err) < 0)
		goto fail;

	char *id = job->pending.id;
	do
		berth_id_random(id);
	while (container_find(store, id, NULL) != NULL);
	if (!nonempty_string(json_object_get(config, "Hostname"))) {
		char hn[13];
		snprintf(hn, sizeof(hn), "%.12s", id);
		json_object_set_new(config, "Hostname", json_string(hn));
	}
	json_object_set_new(config, "Image", json_string(image));

	snprintf(job->dir, sizeof(job->dir), "%s/%s", store->dir, id);
	job->doc = build_config_doc(id, namebuf, berth_now_ns(), config, host, &job->img, job->dir);
	job->config = json_object_get(job->doc, "Config");
	job->host = json_object_get(job->doc, "HostConfig");
	job->pending.next = store->pending;
	store->pending = &job->pending;

	if (kind != CONTAINER_NET_ENDPOINT) {
		if (kind == CONTAINER_NET_HOST &&
		    json_object_size(json_object_get(host, "PortBindings")) > 0 && warnings)
			json_array_append_new(
			    warnings,
			    json_string(
				"Published ports are discarded when using host network mode"));
		container_net_apply(job->doc, job->network, NULL);
		job_commit(job, false);
		return;
	}
	req = container_net_endpoint_request(
	    id, namebuf, config, host, json_object_get(body, "NetworkingConfig"), network, &err);
	if (!req)
		goto fail;
	netd_request(store->netd, "POST", "/endpoints", req, endpoint_created, job);
	return;
fail:
	job_fail(job, &err);
}
