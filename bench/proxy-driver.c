/*
 * Runs netd's published-port proxy (netd/proxy*.c) on its own loop, for bench/proxy.sh until
 * netd and containers can be benchmarked end to end with `berth run -p`.
 *
 * Usage: proxy-driver [-a HOSTIP] [-p HOSTPORT] [-u] [-b IP:PORT]... [-m BASE:N] [-s PIPESIZE]
 *   -p   publish HOSTPORT (tcp; -u for udp) with the -b backends
 *   -m   also publish the N ports BASE..BASE+N-1 with the same backends (for the RSS count)
 *   -s   F_SETPIPE_SZ per direction (default: the proxy's)
 * Prints "ready" on stdout once listening; runs until SIGINT or SIGTERM, then prints its stats.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/log.h"
#include "proxy.h"

#define MAX_BACKENDS 16

struct driver_backend {
	char ip[64];
	int port;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int publish(struct proxy *p, const char *ip, int port, enum proxy_proto proto,
		   const struct driver_backend *b, int n)
{
	struct berth_error err = {0};
	if (proxy_listen(p, ip, port, proto, &err) < 0) {
		fprintf(stderr, "proxy-driver: %s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "backend%d", i);
		if (proxy_backend_add(p, ip, port, proto, id, b[i].ip, b[i].port, &err) < 0) {
			fprintf(stderr, "proxy-driver: %s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *host_ip = "";
	int port = 0, many_base = 0, many_n = 0, pipe_size = -1, opt;
	enum proxy_proto proto = PROXY_TCP;
	struct driver_backend backends[MAX_BACKENDS];
	int n_backends = 0;
	while ((opt = getopt(argc, argv, "a:p:ub:m:s:h")) != -1) {
		switch (opt) {
		case 'a':
			host_ip = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'u':
			proto = PROXY_UDP;
			break;
		case 'b': {
			char *colon = strrchr(optarg, ':');
			if (!colon || n_backends == MAX_BACKENDS) {
				fprintf(stderr, "proxy-driver: -b IP:PORT (at most %d)\n",
					MAX_BACKENDS);
				return 2;
			}
			snprintf(backends[n_backends].ip, sizeof(backends[0].ip), "%.*s",
				 (int)(colon - optarg), optarg);
			backends[n_backends++].port = atoi(colon + 1);
			break;
		}
		case 'm':
			if (sscanf(optarg, "%d:%d", &many_base, &many_n) != 2) {
				fprintf(stderr, "proxy-driver: -m BASE:N\n");
				return 2;
			}
			break;
		case 's':
			pipe_size = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: proxy-driver [-a HOSTIP] [-p HOSTPORT] [-u] "
					"[-b IP:PORT]... [-m BASE:N] [-s PIPESIZE]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	berth_log_init("proxy-driver", BERTH_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	proxy_raise_nofile();
	struct event_base *base = event_base_new();
	struct proxy *p = proxy_new(base);
	if (pipe_size >= 0)
		proxy_set_pipe_size(p, pipe_size);
	if (port && publish(p, host_ip, port, proto, backends, n_backends) < 0)
		return 1;
	for (int i = 0; i < many_n; i++)
		if (publish(p, host_ip, many_base + i, proto, backends, n_backends) < 0)
			return 1;
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(base);

	struct proxy_stats st;
	proxy_get_stats(p, &st);
	printf("listeners %u accepted %llu refused %llu connect_failures %llu bytes %llu\n",
	       st.listeners, st.accepted, st.refused, st.connect_failures, st.bytes);
	event_free(sigint);
	event_free(sigterm);
	proxy_free(p);
	event_base_free(base);
	return 0;
}
