/* berth-scheduler: the daemon (flags, sockets, signals, pid file); the work is in the other
 * files of scheduler/ (sched.h is the map). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/daemon.h"
#include "berth/fsutil.h"
#include "berth/http_server.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "sched.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

static bool valid_hostport(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char *end = NULL;
	long port = colon && colon != addr ? strtol(colon + 1, &end, 10) : -1;
	return end && end != colon + 1 && *end == '\0' && port >= 0 && port <= 65535;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: berth-scheduler [OPTIONS]\n\n"
		"The berth scheduler: projects and services, reconciled against the agent.\n"
		"Serves its API on $BERTH_RUN/scheduler.sock.\n\n"
		"Options:\n"
		"      --status-addr ADDR   Status endpoint HOST:PORT (default 127.0.0.1:7878,\n"
		"                           \"none\" to disable)\n"
		"  -h, --help               Print this help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'}, {"status-addr", required_argument, NULL, 's'}, {0}};
	const char *status_addr = "127.0.0.1:7878";
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 's') {
			status_addr = optarg;
			continue;
		}
		usage(stderr);
		return 125;
	}
	if (strcmp(status_addr, "none") != 0 && !valid_hostport(status_addr)) {
		fprintf(stderr,
			"berth-scheduler: invalid --status-addr %s: want HOST:PORT or none\n",
			status_addr);
		return 125;
	}
	if (optind < argc) {
		fprintf(stderr, "berth-scheduler: unexpected argument %s\n", argv[optind]);
		return 125;
	}
	berth_daemon_init("berth-scheduler", BERTH_LOG_INFO);

	struct berth_error err = {0};
	if (berth_mkdir_p(berth_run_dir(), 0755, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	struct event_base *base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		return 1;
	}
	static struct sched sched;
	sched.base = base;
	sched.agent_sock = berth_agent_sock();
	sched_plan_host(&sched.host_cpus, &sched.host_memory);
	int loaded = sched_projects_load(&sched);
	if (loaded)
		log_info("resuming %d project%s", loaded, loaded == 1 ? "" : "s");
	struct berth_http_server *srv = berth_http_server_new(
	    base, berth_scheduler_sock(), 0600, sched_api_routes, sched_api_n_routes, &sched, &err);
	if (!srv) {
		log_error("%s", err.msg);
		event_base_free(base);
		return 1;
	}
	berth_http_server_add_header(srv, "Server", "berth-scheduler/" BERTH_VERSION);

	struct berth_http_server *status_srv = NULL;
	if (strcmp(status_addr, "none") != 0) {
		status_srv = berth_http_server_new(base, NULL, 0, sched_status_routes,
						   sched_status_n_routes, &sched, &err);
		if (status_srv && berth_http_server_listen_tcp(status_srv, status_addr, &err) < 0) {
			sched_events_free(sched.events);
			berth_http_server_free(status_srv);
			status_srv = NULL;
		}
		if (!status_srv)
			log_warn("no status endpoint: %s", err.msg);
		else
			log_info("status endpoint on http://%s", status_addr);
	}

	char pid_path[4096];
	snprintf(pid_path, sizeof(pid_path), "%s/scheduler.pid", berth_run_dir());
	if (berth_daemon_write_pid(pid_path, &err) < 0)
		log_warn("%s", err.msg);

	struct berth_daemon_signals sig = {0};
	berth_daemon_signals_add(&sig, base, "shutting down");
	log_info("listening on %s", berth_scheduler_sock());
	sched.events = sched_events_start(&sched);
	sched_kick_all(&sched);

	event_base_dispatch(base);

	sched_events_free(sched.events);
	berth_http_server_free(status_srv);
	berth_http_server_free(srv);
	sched_windows_free(&sched);
	unlink(pid_path);
	berth_daemon_signals_free(&sig);
	event_base_free(base);
	return 0;
}
