/* berth-agent: serves images and containers over a Docker Engine API subset on
 * $BERTH_RUN/agent.sock. Containers live in their shims and outlive this process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <event2/thread.h>

#include "berth/cleanup.h"
#include "berth/daemon.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "agent.h"
#include "container.h"
#include "image_store.h"
#include "netd_client.h"

#define OVERLAYFS_MAGIC 0x794c7630
#define AUFS_MAGIC 0x61756673
#define NFS_MAGIC 0x6969
#define FUSE_MAGIC 0x65735546
/* evhttp holds a whole request body in memory before any handler runs (image_job.c). */
#define AGENT_MAX_BODY (256LL << 20)

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: berth-agent [OPTIONS]\n"
	    "\n"
	    "Serve berth's images and containers (a Docker Engine API v%s subset) on\n"
	    "$BERTH_RUN/agent.sock.\n"
	    "\n"
	    "Options:\n"
	    "      --root DIR         state directory (default $BERTH_ROOT or /var/lib/berth)\n"
	    "      --run DIR          runtime directory (default $BERTH_RUN or /run/berth)\n"
	    "  -l, --log-level LEVEL  debug, info, warn or error (default info)\n"
	    "  -D, --debug            same as --log-level debug\n"
	    "      --restart-backoff-min DURATION         first restart delay (default 100ms)\n"
	    "      --restart-backoff-max DURATION         longest restart delay (default 1m)\n"
	    "      --restart-backoff-multiplier N         delay growth per restart (default 2)\n"
	    "      --restart-backoff-reset DURATION       a run this long resets the delay\n"
	    "                                             (default 10s)\n"
	    "      --health-max-concurrent N  exec health checks run at once (default 8)\n"
	    "      --max-body-size SIZE  largest request body, e.g. an archive sent to\n"
	    "                            image load/import (default $BERTH_MAX_BODY_SIZE or\n"
	    "                            256m); berth's CLI sends files by path instead\n"
	    "  -v, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n",
	    BERTH_API_VERSION);
}

/* Overlay upper and work dirs cannot live on overlayfs (nor on a few network filesystems). */
static int check_root_fs(const char *root, struct berth_error *err)
{
	struct statfs sfs;
	if (statfs(root, &sfs) < 0)
		return berth_err_errno(err, 500, errno, "statfs %s", root);
	switch ((unsigned long)sfs.f_type) {
	case OVERLAYFS_MAGIC:
		return berth_err(err, 500,
				 "%s is on overlayfs, which cannot hold overlay upper directories: "
				 "set BERTH_ROOT (or --root) to a directory on ext4, xfs, btrfs or "
				 "tmpfs",
				 root);
	case AUFS_MAGIC:
	case NFS_MAGIC:
	case FUSE_MAGIC:
		return berth_err(err, 500,
				 "%s is on a filesystem that cannot hold overlay upper directories "
				 "(f_type 0x%lx): use ext4, xfs, btrfs or tmpfs",
				 root, (unsigned long)sfs.f_type);
	}
	return 0;
}

/* Is pid a berth-agent that has not died? (A zombie keeps its name until it is reaped.) */
static bool agent_pid_alive(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		return false;
	/* "PID (COMM) STATE ...": the state follows the last ')' */
	const char *comm = strchr(line, '('), *state = strrchr(line, ')');
	if (!comm || !state || state[1] != ' ' || strchr("ZXx", state[2]))
		return false;
	return strncmp(comm + 1, "berth-agent)", 12) == 0;
}

/* Refuse to run twice on one $BERTH_RUN; then record our pid. An agent that was just
 * kill -9'd is still a process until the kernel has torn it down: give it a moment (5 s). */
static int write_pid_file(const char *path, struct berth_error *err)
{
	_cleanup_free_ char *old = NULL;
	size_t len;
	if (berth_read_file(path, &old, &len, NULL) == 0) {
		pid_t pid = (pid_t)atoi(old);
		for (int waited = 0; pid > 0 && pid != getpid() && agent_pid_alive(pid); waited++) {
			if (waited == 250)
				return berth_err(err, 409,
						 "berth-agent is already running (pid %d, %s)",
						 (int)pid, path);
			usleep(20000);
		}
	}
	return berth_daemon_write_pid(path, err);
}

static void find_shim(struct agent *agent)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(agent->shim_path, sizeof(agent->shim_path), "%s/berth-shim",
			 dirname(self));
	} else {
		snprintf(agent->shim_path, sizeof(agent->shim_path), "berth-shim");
	}
}

static struct berth_http_route *all_routes(size_t *n)
{
	const struct {
		const struct berth_http_route *v;
		size_t n;
	} tables[] = {
	    {api_system_routes, api_system_routes_len},
	    {api_containers_routes, api_containers_routes_len},
	    {api_exec_routes, api_exec_routes_len},
	    {api_images_routes, api_images_routes_len},
	    {api_networks_routes, api_networks_routes_len},
	    {api_volumes_routes, api_volumes_routes_len},
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		total += tables[i].n;
	struct berth_http_route *routes = calloc(total, sizeof(*routes));
	if (!routes)
		abort();
	*n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (size_t j = 0; j < tables[i].n; j++)
			routes[(*n)++] = tables[i].v[j];
	return routes;
}

static int agent_setup(struct agent *agent, struct berth_error *err)
{
	static const char *const subdirs[] = {"containers", "volumes", NULL};
	if (berth_mkdir_p(agent->root, 0711, err) < 0 || berth_mkdir_p(agent->run, 0711, err) < 0)
		return -1;
	if (check_root_fs(agent->root, err) < 0)
		return -1;
	for (int i = 0; subdirs[i]; i++) {
		_cleanup_free_ char *d = berth_strdupf("%s/%s", agent->root, subdirs[i]);
		if (berth_mkdir_p(d, 0711, err) < 0)
			return -1;
	}
	_cleanup_free_ char *pidfile = berth_strdupf("%s/agent.pid", agent->run);
	if (write_pid_file(pidfile, err) < 0)
		return -1;
	agent->images = image_store_open(agent->root, err);
	if (!agent->images)
		return berth_err_wrap(err, "opening the image store");
	agent->containers = container_store_new(agent, agent->root);
	if (container_store_load(agent->containers, err) < 0)
		return berth_err_wrap(err, "loading containers");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"run", required_argument, NULL, 'R'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"debug", no_argument, NULL, 'D'},
	    {"version", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"restart-backoff-min", required_argument, NULL, 0x100},
	    {"restart-backoff-max", required_argument, NULL, 0x101},
	    {"restart-backoff-multiplier", required_argument, NULL, 0x102},
	    {"restart-backoff-reset", required_argument, NULL, 0x103},
	    {"health-max-concurrent", required_argument, NULL, 0x104},
	    {"max-body-size", required_argument, NULL, 0x105},
	    {NULL, 0, NULL, 0},
	};
	enum berth_log_level level = BERTH_LOG_INFO;
	const char *max_body = getenv("BERTH_MAX_BODY_SIZE");
	int opt;
	while ((opt = getopt_long(argc, argv, "l:Dvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			setenv("BERTH_ROOT", optarg, 1);
			break;
		case 'R':
			setenv("BERTH_RUN", optarg, 1);
			break;
		case 'l':
			if (strcmp(optarg, "debug") == 0)
				level = BERTH_LOG_DEBUG;
			else if (strcmp(optarg, "info") == 0)
				level = BERTH_LOG_INFO;
			else if (strcmp(optarg, "warn") == 0 || strcmp(optarg, "warning") == 0)
				level = BERTH_LOG_WARN;
			else if (strcmp(optarg, "error") == 0)
				level = BERTH_LOG_ERROR;
			else {
				fprintf(stderr, "berth-agent: unknown log level '%s'\n", optarg);
				return 125;
			}
			break;
		case 'D':
			level = BERTH_LOG_DEBUG;
			break;
		case 0x100:
		case 0x101:
		case 0x102:
		case 0x103: {
			static const char *const what[] = {"min", "max", "multiplier", "reset"};
			struct berth_error e = {0};
			if (restart_backoff_set(&restart_defaults, what[opt - 0x100], optarg, &e) <
			    0) {
				fprintf(stderr, "berth-agent: %s\n", e.msg);
				return 125;
			}
			break;
		}
		case 0x104: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 1024) {
				fprintf(stderr,
					"berth-agent: --health-max-concurrent: want 1 to 1024, not "
					"'%s'\n",
					optarg);
				return 125;
			}
			health_max_concurrent = (int)n;
			break;
		}
		case 0x105:
			max_body = optarg;
			break;
		case 'v':
			printf("berth-agent version %s (API %s)\n", BERTH_VERSION,
			       BERTH_API_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 125;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berth-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 125;
	}
	int64_t max_body_size =
	    max_body && *max_body ? berth_parse_bytes(max_body) : AGENT_MAX_BODY;
	if (max_body_size <= 0) {
		fprintf(stderr,
			"berth-agent: --max-body-size: want a size such as 256m, not '%s'\n",
			max_body);
		return 125;
	}
	berth_daemon_init("berth-agent", level);
	evthread_use_pthreads();

	struct agent agent = {0};
	struct berth_error err = {0};
	agent.started_ns = berth_now_ns();
	snprintf(agent.root, sizeof(agent.root), "%s", berth_root_dir());
	snprintf(agent.run, sizeof(agent.run), "%s", berth_run_dir());
	snprintf(agent.cgroup_parent, sizeof(agent.cgroup_parent), "%s", berth_cgroup_parent());
	find_shim(&agent);
	agent.base = event_base_new();
	if (!agent.base) {
		fprintf(stderr, "berth-agent: cannot create the event loop\n");
		return 1;
	}
	int rc = 1;
	size_t n_routes = 0;
	_cleanup_free_ struct berth_http_route *routes = all_routes(&n_routes);
	_cleanup_free_ char *sock = berth_strdupf("%s/agent.sock", agent.run);
	_cleanup_free_ char *pidfile = berth_strdupf("%s/agent.pid", agent.run);
	struct berth_daemon_signals sig = {0};
	if (agent_setup(&agent, &err) < 0)
		goto out;
	agent.http = berth_http_server_new(agent.base, sock, 0660, routes, n_routes, &agent, &err);
	if (!agent.http) {
		berth_err_wrap(&err, "listening on %s", sock);
		goto out;
	}
	char server[64];
	snprintf(server, sizeof(server), "berth/%s (linux)", BERTH_VERSION);
	berth_http_server_set_max_body(agent.http, (size_t)max_body_size);
	berth_http_server_add_header(agent.http, "Api-Version", BERTH_API_VERSION);
	berth_http_server_add_header(agent.http, "Docker-Experimental", "false");
	berth_http_server_add_header(agent.http, "Ostype", "linux");
	berth_http_server_add_header(agent.http, "Server", server);
	berth_daemon_signals_add(&sig, agent.base, "exiting (containers keep running)");
	log_info("listening on %s (root %s, %zu containers)", sock, agent.root,
		 agent.containers->count);
	event_base_dispatch(agent.base);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "berth-agent: %s\n", err.msg);
	berth_daemon_signals_free(&sig);
	if (agent.http) {
		berth_http_server_free(agent.http);
		unlink(sock);
		unlink(pidfile);
	}
	agent_execs_free(&agent);
	agent_events_free(&agent);
	container_store_free(agent.containers);
	if (agent.images)
		image_store_free(agent.images);
	event_base_free(agent.base);
	return rc;
}
