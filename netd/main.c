/* berth-netd: the network daemon (for now only its API skeleton: /_ping and /version). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/fsutil.h"
#include "berth/http_server.h"
#include "berth/log.h"
#include "berth/paths.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

static void netd_ping(struct berth_http_call *call)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(out, "Cache-Control", "no-cache, no-store, must-revalidate");
	evhttp_add_header(out, "Pragma", "no-cache");
	berth_http_reply_text(call, 200, "text/plain; charset=utf-8", "OK");
}

static void netd_version(struct berth_http_call *call)
{
	berth_http_reply_json(
	    call, 200,
	    json_pack("{s:s, s:s}", "Component", "berth-netd", "Version", BERTH_VERSION));
}

static const struct berth_http_route netd_routes[] = {
    {"GET", "/_ping", netd_ping},
    {"GET", "/version", netd_version},
};

static void netd_on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(arg);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: berth-netd [OPTIONS]\n\n"
		     "The berth network daemon: bridge, addresses, DNS and published ports.\n"
		     "Serves its API on $BERTH_RUN/netd.sock.\n\n"
		     "Options:\n"
		     "  -h, --help   Print this help\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 125;
	}
	if (optind < argc) {
		fprintf(stderr, "berth-netd: unexpected argument %s\n", argv[optind]);
		return 125;
	}
	berth_log_init("berth-netd", BERTH_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);

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
	struct berth_http_server *srv =
	    berth_http_server_new(base, berth_netd_sock(), 0600, netd_routes,
				  sizeof(netd_routes) / sizeof(netd_routes[0]), NULL, &err);
	if (!srv) {
		log_error("%s", err.msg);
		event_base_free(base);
		return 1;
	}
	berth_http_server_add_header(srv, "Server", "berth-netd/" BERTH_VERSION);

	char pid_path[4096];
	snprintf(pid_path, sizeof(pid_path), "%s/netd.pid", berth_run_dir());
	char pid_text[32];
	snprintf(pid_text, sizeof(pid_text), "%d\n", (int)getpid());
	if (berth_write_atomic(pid_path, pid_text, strlen(pid_text), 0644, &err) < 0)
		log_warn("%s", err.msg);

	struct event *sigterm = evsignal_new(base, SIGTERM, netd_on_signal, base);
	struct event *sigint = evsignal_new(base, SIGINT, netd_on_signal, base);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	log_info("listening on %s", berth_netd_sock());

	event_base_dispatch(base);

	berth_http_server_free(srv);
	unlink(pid_path);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	return 0;
}
