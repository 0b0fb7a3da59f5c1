/* Health probes: the healthcheck's parsing, exec probes (CMD without a shell, CMD-SHELL) in the
 * container's namespaces, and berth's CMD-HTTP / CMD-TCP probes made from the agent itself
 * (a nonblocking connection on the loop to the container's address, no exec). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "berth/duration.h"
#include "berth/log.h"
#include "agent.h"
#include "health_internal.h"
#include "runtime.h"

static int duration_field(const json_t *hc, const char *key, int64_t def, int64_t *out,
			  struct berth_error *err)
{
	json_t *v = json_object_get(hc, key);
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return berth_err(err, 400, "%s in Healthcheck must be a duration in nanoseconds",
				 key);
	json_int_t ns = json_integer_value(v);
	if (ns == 0)
		return 0;
	if (ns < 1000000)
		return berth_err(err, 400, "%s in Healthcheck cannot be less than 1ms", key);
	*out = ns;
	return 0;
}

/* "http://HOST:PORT/path": HOST empty, localhost or an IPv4 literal. */
static int parse_http(const char *url, struct health_config *out, struct berth_error *err)
{
	if (strncmp(url, "http://", 7) != 0)
		return berth_err(err, 400, "CMD-HTTP wants an http:// URL, not '%s'", url);
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	char hostport[128];
	if (hl >= sizeof(hostport))
		return berth_err(err, 400, "CMD-HTTP: bad URL '%s'", url);
	memcpy(hostport, h, hl);
	hostport[hl] = '\0';
	char *colon = strrchr(hostport, ':');
	out->port = 80;
	if (colon) {
		*colon = '\0';
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p < 1 || p > 65535)
			return berth_err(err, 400, "CMD-HTTP: bad port in '%s'", url);
		out->port = (int)p;
	}
	struct in_addr a;
	if (*hostport && strcmp(hostport, "localhost") != 0 && inet_pton(AF_INET, hostport, &a) != 1)
		return berth_err(err, 400,
				 "CMD-HTTP: the host must be empty, localhost or an IPv4 address: "
				 "'%s'",
				 url);
	if (strcmp(hostport, "localhost") != 0 && strcmp(hostport, "127.0.0.1") != 0)
		snprintf(out->host, sizeof(out->host), "%s", hostport);
	snprintf(out->path, sizeof(out->path), "%s", slash ? slash : "/");
	return 0;
}

/* "PORT" or "HOST:PORT". */
static int parse_tcp(const char *s, struct health_config *out, struct berth_error *err)
{
	const char *colon = strrchr(s, ':');
	const char *port = colon ? colon + 1 : s;
	char *end;
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		return berth_err(err, 400, "CMD-TCP wants PORT or HOST:PORT, not '%s'", s);
	out->port = (int)p;
	if (colon) {
		char host[64];
		struct in_addr a;
		size_t hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return berth_err(err, 400, "CMD-TCP: bad host in '%s'", s);
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (*host && strcmp(host, "localhost") && inet_pton(AF_INET, host, &a) != 1)
			return berth_err(err, 400, "CMD-TCP: the host must be an IPv4 address: '%s'",
					 s);
		if (strcmp(host, "localhost") && strcmp(host, "127.0.0.1"))
			snprintf(out->host, sizeof(out->host), "%s", host);
	}
	return 0;
}

int health_config_parse(const json_t *hc, struct health_config *out, struct berth_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!hc || json_is_null(hc))
		return 0;
	json_t *test = json_object_get(hc, "Test");
	if (!json_is_object(hc) || (test && !json_is_null(test) && !json_is_array(test)))
		return berth_err(err, 400, "Healthcheck.Test must be a list of strings");
	if (json_array_size(test) == 0)
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(test, i, v) if (!json_is_string(v)) return berth_err(
	    err, 400, "Healthcheck.Test must be a list of strings");
	const char *kind = json_string_value(json_array_get(test, 0));
	size_t n = json_array_size(test);
	if (strcmp(kind, "NONE") == 0)
		return 0;
	if (strcmp(kind, "CMD") == 0) {
		if (n < 2)
			return berth_err(err, 400, "Healthcheck CMD needs a command");
		out->kind = HEALTH_CMD;
		out->args = json_array();
		for (i = 1; i < n; i++)
			json_array_append(out->args, json_array_get(test, i));
	} else if (strcmp(kind, "CMD-SHELL") == 0) {
		if (n != 2 || !*json_string_value(json_array_get(test, 1)))
			return berth_err(err, 400, "Healthcheck CMD-SHELL needs one command string");
		out->kind = HEALTH_SHELL;
		out->args = json_pack("[s,s,O]", "/bin/sh", "-c", json_array_get(test, 1));
	} else if (strcmp(kind, "CMD-HTTP") == 0 || strcmp(kind, "CMD-TCP") == 0) {
		if (n != 2)
			return berth_err(err, 400, "Healthcheck %s needs exactly one argument", kind);
		const char *arg = json_string_value(json_array_get(test, 1));
		out->kind = kind[4] == 'H' ? HEALTH_HTTP : HEALTH_TCP;
		if ((out->kind == HEALTH_HTTP ? parse_http(arg, out, err) : parse_tcp(arg, out, err)) <
		    0)
			return -1;
	} else {
		return berth_err(err, 400,
				 "unknown Healthcheck type '%s' (NONE, CMD, CMD-SHELL, CMD-HTTP or "
				 "CMD-TCP)",
				 kind);
	}
	json_t *r = json_object_get(hc, "Retries");
	if (r && !json_is_null(r) && (!json_is_integer(r) || json_integer_value(r) < 0)) {
		health_config_clear(out);
		return berth_err(err, 400, "Retries in Healthcheck cannot be negative");
	}
	out->retries = json_integer_value(r) > 0 ? (int)json_integer_value(r) : 3;
	if (duration_field(hc, "Interval", 30000000000LL, &out->interval_ns, err) < 0 ||
	    duration_field(hc, "Timeout", 30000000000LL, &out->timeout_ns, err) < 0 ||
	    duration_field(hc, "StartPeriod", 0, &out->start_period_ns, err) < 0 ||
	    duration_field(hc, "StartInterval", 5000000000LL, &out->start_interval_ns, err) < 0) {
		health_config_clear(out);
		return -1;
	}
	return 0;
}

void health_config_clear(struct health_config *cfg)
{
	json_decref(cfg->args);
	cfg->args = NULL;
}

/* ---- exec probes ---- */

static void exec_output(void *arg, int stream, const char *data, size_t len)
{
	struct container_health *h = arg;
	size_t room = HEALTH_OUTPUT_MAX - h->out_len;
	if (len > room)
		len = room;
	memcpy(h->out + h->out_len, data, len);
	h->out_len += len;
}

static void exec_exit(void *arg, int exit_code)
{
	struct container_health *h = arg;
	struct runtime_exec *x = h->x;
	h->x = NULL;
	h->xpid = 0;
	runtime_exec_free(x);
	h->out[h->out_len] = '\0';
	health_probe_done(h, exit_code, h->out);
}

static const struct runtime_exec_callbacks exec_cbs = {exec_output, exec_exit};

/* SIGKILL pid and every process under it (the helper, the check, what the check started). */
static void kill_tree(pid_t pid, int depth)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	kill(pid, SIGSTOP); /* no new children while we look */
	FILE *f = fopen(path, "r");
	int child;
	while (f && depth < 16 && fscanf(f, "%d", &child) == 1)
		kill_tree(child, depth + 1);
	if (f)
		fclose(f);
	kill(pid, SIGKILL);
}

static void exec_probe(struct container_health *h)
{
	struct container *c = h->c;
	struct agent *agent = c->store->agent;
	json_t *config = json_object_get(c->config, "Config");
	const char *user = json_string_value(json_object_get(config, "User"));
	const char *cwd = json_string_value(json_object_get(config, "WorkingDir"));
	json_t *spec = json_pack("{s:O, s:o, s:s, s:s, s:b, s:b, s:b}", "args", h->cfg.args, "env",
				 container_env(c, false, NULL), "cwd", cwd && *cwd ? cwd : "/",
				 "user", user ? user : "", "tty", 0, "stdin", 0, "privileged", 0);
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	struct berth_error err = {0};
	int rc = runtime_exec_start(agent->base, c->pid, dir, spec, &exec_cbs, h, &h->x, &h->xpid,
				    &err);
	json_decref(spec);
	if (rc < 0) {
		h->x = NULL;
		health_probe_done(h, -1, err.msg);
	}
}

/* ---- HTTP and TCP probes ---- */

static void net_finish(struct container_health *h, int code, const char *output)
{
	if (h->bev) {
		bufferevent_free(h->bev);
		h->bev = NULL;
	}
	health_probe_done(h, code, output);
}

static void http_read(struct bufferevent *bev, void *arg)
{
	struct container_health *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t eol_len;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > 1024)
			net_finish(h, 1, "HTTP probe: no status line in the reply");
		return;
	}
	char line[256];
	size_t n = (size_t)eol.pos < sizeof(line) - 1 ? (size_t)eol.pos : sizeof(line) - 1;
	evbuffer_copyout(in, line, n);
	line[n] = '\0';
	int status = 0;
	if (sscanf(line, "HTTP/%*d.%*d %d", &status) != 1)
		status = 0;
	net_finish(h, status >= 200 && status < 400 ? 0 : 1, line);
}

static void net_event(struct bufferevent *bev, short what, void *arg)
{
	struct container_health *h = arg;
	char msg[256];
	if (what & BEV_EVENT_CONNECTED) {
		if (h->cfg.kind == HEALTH_TCP) {
			snprintf(msg, sizeof(msg), "TCP connection to port %d succeeded", h->cfg.port);
			net_finish(h, 0, msg);
			return;
		}
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		int e = EVUTIL_SOCKET_ERROR();
		if (h->cfg.kind == HEALTH_HTTP && (what & BEV_EVENT_EOF)) {
			http_read(bev, h);
			if (h->bev)
				net_finish(h, 1, "HTTP probe: connection closed without a reply");
			return;
		}
		snprintf(msg, sizeof(msg), "%s probe of port %d: %s",
			 h->cfg.kind == HEALTH_HTTP ? "HTTP" : "TCP", h->cfg.port,
			 e ? strerror(e) : "connection failed");
		net_finish(h, 1, msg);
	}
}

/* The container's address: its first network's IPv4, 127.0.0.1 in host mode. */
static int container_addr(struct container *c, char *out, size_t size)
{
	json_t *ns = json_object_get(c->config, "NetworkSettings");
	const char *ip = json_string_value(json_object_get(ns, "IPAddress"));
	const char *key;
	json_t *net;
	if (!ip || !*ip)
		json_object_foreach(json_object_get(ns, "Networks"), key, net)
		{
			ip = json_string_value(json_object_get(net, "IPAddress"));
			if (ip && *ip)
				break;
		}
	const char *mode = json_string_value(
	    json_object_get(json_object_get(c->config, "HostConfig"), "NetworkMode"));
	if ((!ip || !*ip) && mode && strcmp(mode, "host") == 0)
		ip = "127.0.0.1";
	if (!ip || !*ip)
		return -1;
	snprintf(out, size, "%s", ip);
	return 0;
}

static void net_probe(struct container_health *h)
{
	struct container *c = h->c;
	char ip[64];
	if (h->cfg.host[0])
		snprintf(ip, sizeof(ip), "%s", h->cfg.host);
	else if (container_addr(c, ip, sizeof(ip)) < 0) {
		health_probe_done(h, -1,
				  "the container has no IP address to probe (network mode none?)");
		return;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->cfg.port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	h->bev = bufferevent_socket_new(c->store->agent->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!h->bev) {
		health_probe_done(h, -1, "out of memory");
		return;
	}
	bufferevent_setcb(h->bev, h->cfg.kind == HEALTH_HTTP ? http_read : NULL, NULL, net_event,
			  h);
	bufferevent_enable(h->bev, EV_READ);
	if (h->cfg.kind == HEALTH_HTTP)
		evbuffer_add_printf(bufferevent_get_output(h->bev),
				    "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: berth-health\r\n"
				    "Connection: close\r\n\r\n",
				    h->cfg.path, ip, h->cfg.port);
	if (bufferevent_socket_connect(h->bev, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "connect to %s:%d: %s", ip, h->cfg.port,
			 strerror(errno));
		net_finish(h, 1, msg);
	}
}

void health_probe_run(struct container_health *h)
{
	h->probing = true;
	h->out_len = 0;
	h->probe_start_ns = berth_now_ns();
	if (h->cfg.kind == HEALTH_HTTP || h->cfg.kind == HEALTH_TCP)
		net_probe(h);
	else
		exec_probe(h);
}

void health_probe_abort(struct container_health *h)
{
	if (h->x) {
		if (h->xpid > 0)
			kill_tree(h->xpid, 0);
		/* runtime_exec_free reaps the helper from the loop */
		runtime_exec_free(h->x);
		h->x = NULL;
		h->xpid = 0;
	}
	if (h->bev) {
		bufferevent_free(h->bev);
		h->bev = NULL;
	}
	h->probing = false;
}
