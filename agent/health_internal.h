/* Between the health monitor (health.c) and its probes (health_probe.c). */
#ifndef BERTH_HEALTH_INTERNAL_H
#define BERTH_HEALTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#include "container.h"

enum health_kind { HEALTH_NONE, HEALTH_CMD, HEALTH_SHELL, HEALTH_HTTP, HEALTH_TCP };

#define HEALTH_OUTPUT_MAX 4096 /* Docker's maxOutputLen */
#define HEALTH_LOG_MAX 5       /* Docker's maxLogEntries */

/* A parsed Config.Healthcheck, with Docker's defaults applied. */
struct health_config {
	enum health_kind kind;
	json_t *args; /* CMD: argv; SHELL: ["/bin/sh", "-c", cmd] */
	char host[64]; /* HTTP/TCP: "" = the container's address */
	int port;
	char path[512]; /* HTTP: "/..." with the query */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries;
};

struct container_health {
	struct container *c;
	struct health_config cfg;
	bool has_cfg;
	char status[16]; /* starting, healthy, unhealthy */
	int failing_streak;
	json_t *log; /* [{"Start", "End", "ExitCode", "Output"}], the last HEALTH_LOG_MAX */
	bool active;  /* the container runs and is monitored */
	struct event *timer; /* next probe, or the running probe's timeout */
	/* the probe in flight */
	bool probing, queued;
	struct container_health *queue_next;
	int64_t probe_start_ns;
	struct runtime_exec *x;
	pid_t xpid;
	struct bufferevent *bev;
	char out[HEALTH_OUTPUT_MAX + 1];
	size_t out_len;
};

/* Parse Config.Healthcheck; 0 with kind HEALTH_NONE when there is none; 400 when invalid. */
int health_config_parse(const json_t *hc, struct health_config *out, struct berth_error *err);
void health_config_clear(struct health_config *cfg);

/* Start the probe (h->probing set); health_probe_done is called once, from the loop. */
void health_probe_run(struct container_health *h);
/* Stop the probe in flight (kills an exec and what it started), without a result. */
void health_probe_abort(struct container_health *h);
/* The probe's result (exit code 0 healthy, -1 timeout/error) and output. */
void health_probe_done(struct container_health *h, int exit_code, const char *output);

#endif
