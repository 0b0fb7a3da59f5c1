/* berth-netd: options, start-up (state, bridges, recovery), the loop, and shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "berth/daemon.h"
#include "berth/fsutil.h"
#include "berth/http_server.h"
#include "berth/log.h"
#include "berth/paths.h"
#include "dns.h"
#include "endpoint_kernel.h"
#include "link.h"
#include "netd.h"
#include "worker.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: berth-netd [OPTIONS]\n\n"
	    "The berth network daemon: bridges, addresses, DNS and published ports.\n"
	    "Serves its API on $BERTH_RUN/netd.sock.\n\n"
	    "Options:\n"
	    "      --bridge NAME           Bridge of the default network (default berth0)\n"
	    "      --bridge-subnet CIDR    Subnet of the default network (default 10.88.0.0/16)\n"
	    "      --port-range LOW-HIGH   Host ports to allocate (default 32768-60999)\n"
	    "      --dns-upstream IP[:PORT]  Forward other names there (repeatable; default:\n"
	    "                              $BERTH_DNS_UPSTREAM, else /etc/resolv.conf)\n"
	    "      --no-firewall           Leave nftables alone: no outbound NAT, no isolation\n"
	    "                              between networks (default: table ip berth)\n"
	    "      --port-mode nat|proxy   How published TCP ports reach a single container: DNAT\n"
	    "                              in table ip berth (default; like dockerd\n"
	    "                              --userland-proxy=false) or netd's proxy; UDP and\n"
	    "                              balanced ports always use the proxy. Default:\n"
	    "                              $BERTH_PORT_MODE, else nat (proxy with --no-firewall)\n"
	    "      --debug                 Log debug messages\n"
	    "  -h, --help                  Print this help\n");
}

static int netd_proxy_listen(void *ctx, const char *ip, int port, enum proxy_proto proto,
			     struct berth_error *err)
{
	return proxy_listen(ctx, ip, port, proto, err);
}

static void netd_proxy_unlisten(void *ctx, const char *ip, int port, enum proxy_proto proto)
{
	proxy_unlisten(ctx, ip, port, proto);
}

static int netd_add_upstream(struct netd_config *cfg, const char *s, struct berth_error *err)
{
	if (cfg->n_upstreams >= 4)
		return berth_err(err, 400, "at most 4 DNS upstreams");
	if (dns_parse_upstream(s, cfg->upstreams[cfg->n_upstreams], err) < 0)
		return -1;
	cfg->n_upstreams++;
	cfg->upstreams_given = true;
	return 0;
}

static int netd_parse_port_mode(const char *s, enum netd_port_mode *out)
{
	if (strcmp(s, "nat") == 0)
		*out = NETD_PORTS_NAT;
	else if (strcmp(s, "proxy") == 0)
		*out = NETD_PORTS_PROXY;
	else
		return -1;
	return 0;
}

static int netd_parse_args(int argc, char **argv, struct netd_config *cfg, int *level)
{
	enum {
		OPT_BRIDGE = 256,
		OPT_SUBNET,
		OPT_RANGE,
		OPT_UPSTREAM,
		OPT_DEBUG,
		OPT_NO_FIREWALL,
		OPT_PORT_MODE
	};
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"bridge", required_argument, NULL, OPT_BRIDGE},
	    {"bridge-subnet", required_argument, NULL, OPT_SUBNET},
	    {"port-range", required_argument, NULL, OPT_RANGE},
	    {"dns-upstream", required_argument, NULL, OPT_UPSTREAM},
	    {"debug", no_argument, NULL, OPT_DEBUG},
	    {"no-firewall", no_argument, NULL, OPT_NO_FIREWALL},
	    {"port-mode", required_argument, NULL, OPT_PORT_MODE},
	    {0}};
	const char *mode = NULL;
	struct berth_error err = {0};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_BRIDGE:
			if (strlen(optarg) == 0 || strlen(optarg) >= IFNAMSIZ) {
				fprintf(stderr, "berth-netd: invalid bridge name %s\n", optarg);
				return -1;
			}
			snprintf(cfg->bridge_name, sizeof(cfg->bridge_name), "%s", optarg);
			break;
		case OPT_SUBNET: {
			uint32_t s;
			int p;
			if (ipam_parse_cidr(optarg, &s, &p, &err) < 0) {
				fprintf(stderr, "berth-netd: --bridge-subnet: %s\n", err.msg);
				return -1;
			}
			snprintf(cfg->bridge_subnet, sizeof(cfg->bridge_subnet), "%s", optarg);
			break;
		}
		case OPT_RANGE:
			if (port_parse_range(optarg, &cfg->port_low, &cfg->port_high, &err) < 0) {
				fprintf(stderr, "berth-netd: --port-range: %s\n", err.msg);
				return -1;
			}
			break;
		case OPT_UPSTREAM:
			if (netd_add_upstream(cfg, optarg, &err) < 0) {
				fprintf(stderr, "berth-netd: --dns-upstream: %s\n", err.msg);
				return -1;
			}
			break;
		case OPT_DEBUG:
			*level = BERTH_LOG_DEBUG;
			break;
		case OPT_NO_FIREWALL:
			cfg->no_firewall = true;
			break;
		case OPT_PORT_MODE:
			mode = optarg;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berth-netd: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	const char *env = getenv("BERTH_PORT_MODE");
	if (mode && netd_parse_port_mode(mode, &cfg->port_mode) < 0) {
		fprintf(stderr, "berth-netd: --port-mode: invalid mode %s: expected nat or proxy\n",
			mode);
		return -1;
	}
	if (mode && cfg->no_firewall && cfg->port_mode == NETD_PORTS_NAT) {
		fprintf(stderr, "berth-netd: --port-mode nat needs the firewall (--no-firewall)\n");
		return -1;
	}
	if (!mode && env && *env && netd_parse_port_mode(env, &cfg->port_mode) < 0) {
		fprintf(stderr,
			"berth-netd: BERTH_PORT_MODE: invalid mode %s: expected nat or proxy\n",
			env);
		return -1;
	}
	if (cfg->no_firewall) /* no table, no DNAT */
		cfg->port_mode = NETD_PORTS_PROXY;
	env = getenv("BERTH_DNS_UPSTREAM");
	if (!cfg->upstreams_given && env && *env) {
		char buf[512], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", env);
		for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			if (netd_add_upstream(cfg, t, &err) < 0) {
				fprintf(stderr, "berth-netd: BERTH_DNS_UPSTREAM: %s\n", err.msg);
				return -1;
			}
	}
	if (!cfg->upstreams_given)
		cfg->n_upstreams = dns_read_resolv_conf("/etc/resolv.conf", cfg->upstreams, 4);
	return 0;
}

static void netd_ip_forward(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "we");
	if (!f || fputs("1\n", f) < 0 || fclose(f) != 0)
		log_warn("cannot enable IPv4 forwarding: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	static struct netd nd;
	int level = BERTH_LOG_INFO;
	snprintf(nd.cfg.bridge_name, sizeof(nd.cfg.bridge_name), NETD_DEFAULT_BRIDGE);
	snprintf(nd.cfg.bridge_subnet, sizeof(nd.cfg.bridge_subnet), NETD_DEFAULT_SUBNET);
	nd.cfg.port_low = 32768;
	nd.cfg.port_high = 60999;
	if (netd_parse_args(argc, argv, &nd.cfg, &level) < 0)
		return 125;
	berth_daemon_init("berth-netd", (enum berth_log_level)level);
	evthread_use_pthreads();
	proxy_raise_nofile();

	struct berth_error err = {0};
	char netd_dir[PATH_MAX];
	snprintf(netd_dir, sizeof(netd_dir), "%s/netd", berth_root_dir());
	snprintf(nd.state_path, sizeof(nd.state_path), "%s/state.json", netd_dir);
	snprintf(nd.netns_dir, sizeof(nd.netns_dir), "%s/netns", berth_run_dir());
	if (berth_mkdir_p(berth_run_dir(), 0755, &err) < 0 ||
	    berth_mkdir_p(netd_dir, 0700, &err) < 0 ||
	    epk_netns_dir_setup(nd.netns_dir, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	nd.base = event_base_new();
	if (!nd.base) {
		log_error("cannot create the event loop");
		return 1;
	}
	nd.proxy = proxy_new(nd.base);
	struct port_ops ops = {netd_proxy_listen, netd_proxy_unlisten, nd.proxy};
	port_table_init(&nd.ports, nd.cfg.port_low, nd.cfg.port_high, &ops);
	nd.sk = link_sock_open(&err);
	if (!nd.proxy || !nd.sk || !(nd.worker = netd_worker_start(nd.base, &err)) ||
	    !(nd.dns = dns_server_new(&nd, &err)) || netd_state_load(&nd, &err) < 0 ||
	    netd_networks_setup(&nd, &err) < 0 || netd_recover(&nd, &err) < 0 ||
	    netd_drain_init(&nd) < 0 || netd_state_commit_init(&nd, &err) < 0) {
		log_error("%s", err.msg[0] ? err.msg : "cannot start");
		return 1;
	}
	netd_ip_forward();
	struct berth_http_server *srv = netd_api_start(&nd, &err);
	if (!srv) {
		log_error("%s", err.msg);
		return 1;
	}

	char pid_path[PATH_MAX];
	snprintf(pid_path, sizeof(pid_path), "%s/netd.pid", berth_run_dir());
	if (berth_daemon_write_pid(pid_path, &err) < 0)
		log_warn("%s", err.msg);

	struct berth_daemon_signals sig = {0};
	berth_daemon_signals_add(&sig, nd.base, "shutting down");
	log_info("listening on %s (bridge %s %s, ports %d-%d in mode %s, %d DNS upstreams)",
		 berth_netd_sock(), nd.cfg.bridge_name, nd.cfg.bridge_subnet, nd.cfg.port_low,
		 nd.cfg.port_high, netd_port_mode_name(nd.cfg.port_mode), nd.cfg.n_upstreams);

	event_base_dispatch(nd.base);

	/* Bridges, namespaces, veths and the state stay: containers keep their network, and the
	 * next netd picks them up. Listening sockets close with us and are re-opened then. */
	netd_drain_shutdown(&nd);
	berth_http_server_free(srv);
	unlink(pid_path);
	netd_worker_stop(nd.worker);
	netd_state_commit_fini(&nd);
	dns_server_free(nd.dns);
	proxy_free(nd.proxy);
	link_sock_close(nd.sk);
	berth_daemon_signals_free(&sig);
	port_table_destroy(&nd.ports);
	while (nd.endpoints) {
		struct netd_endpoint *ep = nd.endpoints;
		nd.endpoints = ep->next;
		netd_endpoint_free(ep);
	}
	while (nd.networks) {
		struct netd_network *n = nd.networks;
		nd.networks = n->next;
		netd_network_free(n);
	}
	event_base_free(nd.base);
	return 0;
}
