/* Docker Engine API: /_ping, /version, /info and /events (events.c streams them). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"

static void add_no_cache(struct berth_http_call *call)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(h, "Cache-Control", "no-cache, no-store, must-revalidate");
	evhttp_add_header(h, "Pragma", "no-cache");
}

static void api_ping_head(struct berth_http_call *call)
{
	add_no_cache(call);
	evhttp_add_header(evhttp_request_get_output_headers(call->req), "Content-Type",
			  "text/plain; charset=utf-8");
	berth_http_reply_empty(call, 200);
}

static void api_ping(struct berth_http_call *call)
{
	add_no_cache(call);
	berth_http_reply_text(call, 200, "text/plain; charset=utf-8", "OK");
}

static const char *arch_name(const char *machine)
{
	if (strcmp(machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(machine, "aarch64") == 0)
		return "arm64";
	return machine;
}

static void api_version(struct berth_http_call *call)
{
	struct utsname u;
	uname(&u);
	const char *arch = arch_name(u.machine);
	json_t *j = json_pack(
	    "{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}], "
	    "s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "Platform", "Name", "berth", "Components", "Name", "Engine", "Version", BERTH_VERSION,
	    "Details", "ApiVersion", BERTH_API_VERSION, "Arch", arch, "BuildTime",
	    __DATE__ " " __TIME__, "Experimental", "false", "GitCommit", "", "GoVersion",
	    "none (C)", "KernelVersion", u.release, "MinAPIVersion", BERTH_MIN_API_VERSION, "Os",
	    "linux", "Version", BERTH_VERSION, "ApiVersion", BERTH_API_VERSION, "MinAPIVersion",
	    BERTH_MIN_API_VERSION, "GitCommit", "", "GoVersion", "none (C)", "Os", "linux", "Arch",
	    arch, "KernelVersion", u.release, "BuildTime", __DATE__ " " __TIME__);
	berth_http_reply_json(call, 200, j);
}

static char *os_pretty_name(void)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (berth_read_file("/etc/os-release", &data, &len, NULL) < 0)
		return strdup("Linux");
	char *p = strstr(data, "PRETTY_NAME=");
	if (!p)
		return strdup("Linux");
	p += strlen("PRETTY_NAME=");
	if (*p == '"')
		p++;
	size_t n = strcspn(p, "\"\n");
	return strndup(p, n);
}

/* The engine's ID, kept across restarts in $BERTH_ROOT/engine-id. */
static void engine_id(struct agent *agent, char out[65])
{
	_cleanup_free_ char *path = berth_strdupf("%s/engine-id", agent->root);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (berth_read_file(path, &data, &len, NULL) == 0 && len >= 64 && berth_is_hex(data, 64)) {
		memcpy(out, data, 64);
		out[64] = '\0';
		return;
	}
	berth_id_random(out);
	berth_write_atomic(path, out, 64, 0644, NULL);
}

/* Images: one record per image under $BERTH_ROOT/images (the image store's layout). */
static long count_images(struct agent *agent)
{
	_cleanup_free_ char *path = berth_strdupf("%s/images", agent->root);
	_cleanup_closedir_ DIR *d = opendir(path);
	long n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
			n++;
	}
	return n;
}

static void api_info(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	long running = 0, paused = 0, stopped = 0, total = 0;
	for (struct container *c = agent->containers->head; c; c = c->next) {
		total++;
		if (c->status == CONTAINER_RUNNING || c->status == CONTAINER_RESTARTING)
			running++;
		else if (c->status == CONTAINER_PAUSED)
			paused++;
		else
			stopped++;
	}
	struct utsname u;
	uname(&u);
	struct sysinfo si;
	sysinfo(&si);
	char hostname[256] = "";
	gethostname(hostname, sizeof(hostname) - 1);
	char id[65], now[48];
	engine_id(agent, id);
	berth_format_rfc3339(berth_now_ns(), now, sizeof(now));
	struct stat st;
	bool v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
	_cleanup_free_ char *os = os_pretty_name();
	json_t *j = json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:[], s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, "
	    "s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:[], s:s, "
	    "s:s, s:b, s:b}",
	    "ID", id, "Containers", (json_int_t)total, "ContainersRunning", (json_int_t)running,
	    "ContainersPaused", (json_int_t)paused, "ContainersStopped", (json_int_t)stopped,
	    "Images", (json_int_t)count_images(agent), "Driver", "overlay2", "DriverStatus",
	    "MemoryLimit", 1, "SwapLimit", 0, "CpuCfsPeriod", 1, "CpuCfsQuota", 1, "CPUShares", 0,
	    "CPUSet", 0, "PidsLimit", 1, "IPv4Forwarding", 1, "Debug", 0, "SystemTime", now,
	    "LoggingDriver", "json-file", "CgroupDriver", "cgroupfs", "CgroupVersion",
	    v2 ? "2" : "1", "KernelVersion", u.release, "OperatingSystem", os, "OSType", "linux",
	    "Architecture", u.machine, "NCPU", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
	    "MemTotal", (json_int_t)si.totalram * (json_int_t)si.mem_unit, "DockerRootDir",
	    agent->root, "Name", hostname, "ServerVersion", BERTH_VERSION, "Labels",
	    "DefaultRuntime", "berth", "IndexServerAddress", "https://index.docker.io/v1/",
	    "ExperimentalBuild", 0, "LiveRestoreEnabled", 1);
	json_object_set_new(j, "Plugins",
			    json_pack("{s:[s], s:[s, s, s], s:n, s:[s, s]}", "Volume", "local",
				      "Network", "bridge", "host", "none", "Authorization", "Log",
				      "json-file", "none"));
	json_object_set_new(j, "Runtimes",
			    json_pack("{s:{s:s}}", "berth", "path", agent->shim_path));
	json_object_set_new(j, "Swarm",
			    json_pack("{s:s, s:s, s:s, s:s, s:b}", "NodeID", "", "NodeAddr", "",
				      "LocalNodeState", "inactive", "Error", "", "ControlAvailable",
				      0));
	json_object_set_new(
	    j, "RegistryConfig",
	    json_pack("{s:[], s:{}, s:[]}", "InsecureRegistryCIDRs", "IndexConfigs", "Mirrors"));
	json_object_set_new(j, "SecurityOptions",
			    json_pack("[s, s]", "name=seccomp,profile=builtin", "name=cgroupns"));
	json_object_set_new(j, "Warnings", json_array());
	json_object_set_new(j, "HttpProxy", json_string(""));
	json_object_set_new(j, "HttpsProxy", json_string(""));
	json_object_set_new(j, "NoProxy", json_string(""));
	json_object_set_new(j, "ContainerdCommit",
			    json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
	json_object_set_new(j, "RuncCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
	json_object_set_new(j, "InitCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
	berth_http_reply_json(call, 200, j);
}

const struct berth_http_route api_system_routes[] = {
    {"HEAD", "/_ping", api_ping_head}, {"GET", "/_ping", api_ping},
    {"GET", "/version", api_version},  {"GET", "/info", api_info},
    {"GET", "/events", api_events},
};
const size_t api_system_routes_len = sizeof(api_system_routes) / sizeof(api_system_routes[0]);
