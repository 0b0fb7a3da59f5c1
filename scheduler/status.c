/* Status documents (GET /projects/NAME and the read-only status endpoint: /status,
 * /services/NAME, /healthz, /metrics). /status is served from a snapshot rebuilt after each
 * reconcile pass; /metrics (which reads the containers' cgroups) is cached for a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/paths.h"
#include "sched.h"

static json_t *port_strings(json_t *ports, json_t *into)
{
	size_t i;
	json_t *pt;
	json_array_foreach(ports, i, pt)
	{
		json_int_t pub = json_integer_value(json_object_get(pt, "PublicPort"));
		json_int_t priv = json_integer_value(json_object_get(pt, "PrivatePort"));
		const char *ip = json_string_value(json_object_get(pt, "IP"));
		const char *type = json_string_value(json_object_get(pt, "Type"));
		json_t *s = pub ? json_sprintf("%s:%lld->%lld/%s", ip ? ip : "0.0.0.0",
					       (long long)pub, (long long)priv, type ? type : "tcp")
				: json_sprintf("%lld/%s", (long long)priv, type ? type : "tcp");
		bool dup = false;
		size_t k;
		json_t *have;
		json_array_foreach(into, k, have) dup |= json_equal(have, s);
		if (dup)
			json_decref(s);
		else
			json_array_append_new(into, s);
	}
	return into;
}

static json_t *service_status(struct sched_project *p, struct sched_service *svc)
{
	int running = 0, restarts = 0, healthy = 0, unhealthy = 0, starting = 0;
	json_t *containers = json_array(), *ports = json_array();
	for (size_t i = 0; i < svc->n_replicas; i++) {
		struct sched_replica *r = svc->replicas[i];
		char name[300];
		sched_container_name(p->name, svc->name, svc->config, r->number, name,
				     sizeof(name));
		running += !strcmp(r->state, "running");
		restarts += r->restarts;
		healthy += !strcmp(r->health, "healthy");
		unhealthy += !strcmp(r->health, "unhealthy");
		starting += !strcmp(r->health, "starting");
		json_t *c = json_pack(
		    "{s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:I, s:o}", "name", name, "id", r->id,
		    "number", r->number, "state", r->state, "status", r->status, "health",
		    r->health, "restarts", r->restarts, "exit_code", r->exit_code, "created",
		    (json_int_t)r->created, "ports", port_strings(r->ports, json_array()));
		json_object_set_new(c, "cpuset", json_string(r->cpuset));
		json_array_append_new(containers, c);
		port_strings(r->ports, ports);
	}
	const char *image = json_string_value(json_object_get(svc->config, "image"));
	json_t *doc = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i}, s:o, s:o, s:s}",
				"name", svc->name, "image", image ? image : "", "desired",
				svc->stopped ? 0 : svc->desired, "running", running, "pending",
				svc->n_pending, "restarts", restarts, "health", "healthy", healthy,
				"unhealthy", unhealthy, "starting", starting, "ports", ports,
				"containers", containers, "config_hash", svc->hash);
	if (svc->n_pending)
		json_object_set_new(doc, "pending_reason", json_string(svc->pending_reason));
	if (svc->waiting[0])
		json_object_set_new(doc, "waiting", json_string(svc->waiting));
	if (svc->error[0])
		json_object_set_new(doc, "error", json_string(svc->error));
	if (svc->stopped)
		json_object_set_new(doc, "stopped", json_true());
	json_t *upd = sched_update_status(svc);
	if (upd)
		json_object_set_new(doc, "update", upd);
	return doc;
}

json_t *sched_project_status(struct sched_project *p)
{
	json_t *services = json_object();
	for (size_t i = 0; i < p->n_services; i++)
		json_object_set_new(services, p->services[i]->name,
				    service_status(p, p->services[i]));
	return json_pack("{s:s, s:b, s:o}", "name", p->name, "stopped", p->stopped, "services",
			 services);
}

void sched_status_refresh(struct sched *s)
{
	json_t *projects = json_object();
	for (struct sched_project *p = s->projects; p; p = p->next)
		if (!p->removing)
			json_object_set_new(projects, p->name, sched_project_status(p));
	_cleanup_json_ json_t *doc =
	    json_pack("{s:o, s:{s:f, s:I}}", "projects", projects, "host", "cpus", s->host_cpus,
		      "memory", (json_int_t)s->host_memory);
	free(s->status_json);
	s->status_json = json_dumps(doc, JSON_COMPACT);
	s->status_len = s->status_json ? strlen(s->status_json) : 0;
}

/* A reply larger than a segment (the status of 100 replicas is 23 KB) on TCP waits 40 ms
 * for the client's delayed ACK under Nagle: 700 requests/s instead of tens of thousands. On
 * the unix socket this fails, harmlessly. */
static void no_delay(struct berth_http_call *call)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(call->req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void sched_status_get(struct berth_http_call *call)
{
	no_delay(call);
	struct sched *s = call->ctx;
	if (!s->status_json)
		sched_status_refresh(s);
	berth_http_reply_text(call, 200, "application/json", s->status_json);
}

void sched_status_healthz(struct berth_http_call *call)
{
	berth_http_reply_text(call, 200, "text/plain; charset=utf-8", "ok");
}

void sched_status_service(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	const char *name = call->params[0];
	const char *only = berth_http_query(call, "project");
	struct sched_project *found = NULL;
	struct sched_service *svc = NULL;
	int matches = 0;
	for (struct sched_project *p = s->projects; p; p = p->next) {
		if (p->removing || (only && strcmp(only, p->name)))
			continue;
		struct sched_service *x = sched_service_find(p, name);
		if (x) {
			found = p;
			svc = x;
			matches++;
		}
	}
	if (!svc) {
		berth_http_reply_errorf(call, 404, "no such service: %s", name);
		return;
	}
	if (matches > 1) {
		berth_http_reply_errorf(
		    call, 409, "service %s is in several projects: add ?project=NAME", name);
		return;
	}
	json_t *doc = service_status(found, svc);
	json_object_set_new(doc, "project", json_string(found->name));
	no_delay(call);
	berth_http_reply_json(call, 200, doc);
}

/* The first number in a cgroup file (v1 cpuacct.usage, memory.usage_in_bytes, v2
 * memory.current), or the value after key (v2 cpu.stat's usage_usec). -1 if unreadable. */
static long long cgroup_read(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = atoll(line);
			break;
		}
		size_t kl = strlen(key);
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = atoll(line + kl + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

static void container_usage(const char *id, double *cpu_s, long long *mem)
{
	char path[512];
	const char *parent = berth_cgroup_parent();
	snprintf(path, sizeof(path), "/sys/fs/cgroup/cpuacct/%s/%s/cpuacct.usage", parent, id);
	long long ns = cgroup_read(path, NULL);
	if (ns >= 0) {
		*cpu_s = (double)ns / 1e9;
	} else {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/cpu.stat", parent, id);
		long long us = cgroup_read(path, "usage_usec");
		*cpu_s = us >= 0 ? (double)us / 1e6 : -1;
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s/%s/memory.usage_in_bytes", parent,
		 id);
	*mem = cgroup_read(path, NULL);
	if (*mem < 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/memory.current", parent, id);
		*mem = cgroup_read(path, NULL);
	}
}

static void metrics_build(struct sched *s, FILE *out)
{
	static const char *const states[] = {"created", "running",  "restarting", "exited",
					     "dead",	"creating", NULL};
	fprintf(out, "# HELP berth_service_replicas_desired Replicas wanted per service.\n"
		     "# TYPE berth_service_replicas_desired gauge\n");
	for (struct sched_project *p = s->projects; p; p = p->next)
		for (size_t i = 0; i < p->n_services; i++)
			fprintf(out,
				"berth_service_replicas_desired{project=\"%s\",service=\"%s\"} "
				"%d\n",
				p->name, p->services[i]->name,
				p->services[i]->stopped ? 0 : p->services[i]->desired);
	fprintf(out, "# HELP berth_service_replicas_running Replicas running per service.\n"
		     "# TYPE berth_service_replicas_running gauge\n");
	for (struct sched_project *p = s->projects; p; p = p->next)
		for (size_t i = 0; i < p->n_services; i++) {
			int running = 0;
			for (size_t j = 0; j < p->services[i]->n_replicas; j++)
				running += !strcmp(p->services[i]->replicas[j]->state, "running");
			fprintf(out,
				"berth_service_replicas_running{project=\"%s\",service=\"%s\"} "
				"%d\n",
				p->name, p->services[i]->name, running);
		}
	fprintf(out, "# HELP berth_service_replicas_pending Replicas that do not fit the host.\n"
		     "# TYPE berth_service_replicas_pending gauge\n");
	for (struct sched_project *p = s->projects; p; p = p->next)
		for (size_t i = 0; i < p->n_services; i++)
			fprintf(out,
				"berth_service_replicas_pending{project=\"%s\",service=\"%s\"} "
				"%d\n",
				p->name, p->services[i]->name, p->services[i]->n_pending);
	static const char *const heads[] = {
	    "# HELP berth_container_restarts_total Restarts made by the scheduler.\n"
	    "# TYPE berth_container_restarts_total counter\n",
	    "# HELP berth_container_state 1 for the container's current state.\n"
	    "# TYPE berth_container_state gauge\n",
	    "# HELP berth_container_health 1 for the container's current health.\n"
	    "# TYPE berth_container_health gauge\n",
	    "# HELP berth_container_cpu_seconds_total CPU time from the container's cgroup.\n"
	    "# TYPE berth_container_cpu_seconds_total counter\n",
	    "# HELP berth_container_memory_bytes Memory use from the container's cgroup.\n"
	    "# TYPE berth_container_memory_bytes gauge\n",
	};
	for (int kind = 0; kind < 5; kind++) {
		fputs(heads[kind], out);
		for (struct sched_project *p = s->projects; p; p = p->next)
			for (size_t i = 0; i < p->n_services; i++) {
				struct sched_service *svc = p->services[i];
				for (size_t j = 0; j < svc->n_replicas; j++) {
					struct sched_replica *r = svc->replicas[j];
					char name[300], lab[700];
					sched_container_name(p->name, svc->name, svc->config,
							     r->number, name, sizeof(name));
					snprintf(lab, sizeof(lab),
						 "project=\"%s\",service=\"%s\",container=\"%s\"",
						 p->name, svc->name, name);
					if (kind == 0)
						fprintf(out,
							"berth_container_restarts_total{%s} %d\n",
							lab, r->restarts);
					if (kind == 1)
						for (int k = 0; states[k]; k++)
							fprintf(out,
								"berth_container_state{%s,state=\"%"
								"s\"} %d\n",
								lab, states[k],
								!strcmp(r->state, states[k]));
					if (kind == 2 && r->health[0])
						fprintf(
						    out,
						    "berth_container_health{%s,health=\"%s\"} 1\n",
						    lab, r->health);
					if (kind >= 3 && r->id[0] && !strcmp(r->state, "running")) {
						double cpu;
						long long mem;
						container_usage(r->id, &cpu, &mem);
						if (kind == 3 && cpu >= 0)
							fprintf(
							    out,
							    "berth_container_cpu_seconds_total{%s}"
							    " %.6f\n",
							    lab, cpu);
						if (kind == 4 && mem >= 0)
							fprintf(out,
								"berth_container_memory_bytes{%s} "
								"%lld\n",
								lab, mem);
					}
				}
			}
	}
}

void sched_status_metrics(struct berth_http_call *call)
{
	struct sched *s = call->ctx;
	int64_t now = berth_now_ns();
	no_delay(call);
	if (!s->metrics_text || now - s->metrics_ns > 1000000000LL) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		if (!out) {
			berth_http_reply_errorf(call, 500, "out of memory");
			return;
		}
		metrics_build(s, out);
		fclose(out);
		free(s->metrics_text);
		s->metrics_text = buf;
		s->metrics_ns = now;
	}
	berth_http_reply_text(call, 200, "text/plain; version=0.0.4; charset=utf-8",
			      s->metrics_text);
}
