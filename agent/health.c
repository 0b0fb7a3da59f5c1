/* The health monitor: when to probe each running container, a bound on exec probes in flight,
 * Docker's state machine (starting, healthy, unhealthy, the failing streak, the last five
 * results), health_status events, netd told about unhealthy replicas, and berth's restart of
 * unhealthy services. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/duration.h"
#include "berth/log.h"
#include "agent.h"
#include "health_internal.h"
#include "netd_client.h"

int health_max_concurrent = 8;

/* Exec probes waiting for a slot, first come first served. */
static struct container_health *queue_head, *queue_tail;
static int exec_running;

static bool is_exec(const struct container_health *h)
{
	return h->cfg.kind == HEALTH_CMD || h->cfg.kind == HEALTH_SHELL;
}

int health_check_config(const json_t *hc, struct berth_error *err)
{
	struct health_config cfg;
	if (health_config_parse(hc, &cfg, err) < 0)
		return -1;
	health_config_clear(&cfg);
	return 0;
}

static struct container_health *health_get(struct container *c)
{
	if (!c->health) {
		c->health = calloc(1, sizeof(*c->health));
		if (!c->health)
			abort();
		c->health->c = c;
		c->health->log = json_array();
		snprintf(c->health->status, sizeof(c->health->status), "starting");
	}
	return c->health;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

static void arm(struct container_health *h, int64_t ns)
{
	if (!h->timer)
		h->timer = evtimer_new(h->c->store->agent->base, timer_cb, h);
	struct timeval tv = {(time_t)(ns / 1000000000LL), (suseconds_t)(ns % 1000000000LL / 1000)};
	evtimer_add(h->timer, &tv);
}

/* Docker: start_interval while starting within the start period, else interval. */
static int64_t next_delay(const struct container_health *h)
{
	const struct health_config *cfg = &h->cfg;
	if (strcmp(h->status, "starting") == 0 && cfg->start_period_ns > 0 &&
	    berth_now_ns() - h->c->started_ns < cfg->start_period_ns)
		return cfg->start_interval_ns;
	return cfg->interval_ns;
}

static void dequeue(struct container_health *h)
{
	struct container_health **p = &queue_head, *prev = NULL;
	for (; *p; prev = *p, p = &(*p)->queue_next) {
		if (*p == h) {
			*p = h->queue_next;
			if (queue_tail == h)
				queue_tail = prev;
			break;
		}
	}
	h->queue_next = NULL;
	h->queued = false;
}

static void begin_probe(struct container_health *h)
{
	if (is_exec(h))
		exec_running++;
	arm(h, h->cfg.timeout_ns); /* the same timer is the probe's deadline */
	health_probe_run(h);
}

static void run_queue(void)
{
	while (queue_head && exec_running < health_max_concurrent) {
		struct container_health *h = queue_head;
		dequeue(h);
		begin_probe(h);
	}
}

/* As Go prints a time.Duration, for the common cases: 300ms, 30s, 1m30s, 1.5s. */
static void go_duration(int64_t ns, char *out, size_t size)
{
	if (ns < 1000000000LL && ns % 1000000 == 0)
		snprintf(out, size, "%lldms", (long long)(ns / 1000000));
	else if (ns % 1000000000LL == 0 && ns >= 60000000000LL)
		snprintf(out, size, "%lldm%llds", (long long)(ns / 60000000000LL),
			 (long long)(ns / 1000000000LL % 60));
	else
		snprintf(out, size, "%gs", (double)ns / 1e9);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct container_health *h = arg;
	if (!h->active)
		return;
	if (h->probing) {
		char msg[96], d[32];
		go_duration(h->cfg.timeout_ns, d, sizeof(d));
		snprintf(msg, sizeof(msg), "Health check exceeded timeout (%s)", d);
		health_probe_abort(h);
		health_probe_done(h, -1, msg);
		return;
	}
	if (is_exec(h) && exec_running >= health_max_concurrent) {
		h->queued = true;
		if (queue_tail)
			queue_tail->queue_next = h;
		else
			queue_head = h;
		queue_tail = h;
		return;
	}
	begin_probe(h);
}

/* berth.health.restart=true|false; by default compose services are restarted. */
static bool restart_when_unhealthy(const struct container *c)
{
	json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
	const char *v = json_string_value(json_object_get(labels, "berth.health.restart"));
	if (v)
		return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	return json_object_get(labels, "com.docker.compose.project") != NULL;
}

static void netd_health_done(void *arg, int status, json_t *reply, const struct berth_error *err)
{
	if (err && status != 404)
		log_warn("telling netd about a replica's health: %s", err->msg);
}

/* Balanced ports (netd) stop sending an unhealthy container new connections at once. */
static void netd_set_healthy(struct container *c, bool healthy)
{
	enum container_net_kind kind;
	const char *network;
	if (!c->store->netd ||
	    container_net_kind(json_object_get(c->config, "HostConfig"), &network, &kind, NULL) < 0 ||
	    kind != CONTAINER_NET_ENDPOINT)
		return;
	char path[128];
	snprintf(path, sizeof(path), "/endpoints/%s/health", c->id);
	json_t *body = json_pack("{s:b}", "Healthy", healthy);
	netd_request(c->store->netd, "POST", path, body, netd_health_done, NULL);
	json_decref(body);
}

static void set_status(struct container_health *h, const char *status)
{
	struct container *c = h->c;
	if (strcmp(h->status, status) == 0)
		return;
	bool was_healthy = strcmp(h->status, "unhealthy") != 0;
	snprintf(h->status, sizeof(h->status), "%s", status);
	struct berth_error err = {0};
	if (container_save_state(c, &err) < 0)
		log_warn("container %.12s: %s", c->id, err.msg);
	char action[48];
	snprintf(action, sizeof(action), "health_status: %s", status);
	container_event(c, action, NULL);
	bool healthy = strcmp(status, "unhealthy") != 0;
	if (was_healthy != healthy)
		netd_set_healthy(c, healthy);
}

void health_probe_done(struct container_health *h, int exit_code, const char *output)
{
	struct container *c = h->c;
	int64_t end = berth_now_ns();
	bool was_exec = is_exec(h);
	h->probing = false;
	if (was_exec && exec_running > 0)
		exec_running--;
	char start_s[48], end_s[48];
	berth_format_rfc3339(h->probe_start_ns, start_s, sizeof(start_s));
	berth_format_rfc3339(end, end_s, sizeof(end_s));
	json_array_append_new(h->log, json_pack("{s:s, s:s, s:i, s:s}", "Start", start_s, "End",
						 end_s, "ExitCode", exit_code, "Output",
						 output ? output : ""));
	while (json_array_size(h->log) > HEALTH_LOG_MAX)
		json_array_remove(h->log, 0);
	if (exit_code == 0) {
		h->failing_streak = 0;
		set_status(h, "healthy");
	} else {
		/* Docker: failures within the start period do not count while starting. */
		bool count = !(strcmp(h->status, "starting") == 0 &&
			       h->probe_start_ns - c->started_ns < h->cfg.start_period_ns);
		if (count && ++h->failing_streak >= h->cfg.retries) {
			set_status(h, "unhealthy");
			if (h->active && restart_when_unhealthy(c)) {
				log_info("container %.12s is unhealthy: restarting it", c->id);
				h->active = false;
				container_stop_for_restart(c);
			}
		}
	}
	if (h->active)
		arm(h, next_delay(h));
	if (was_exec)
		run_queue();
}

void health_start(struct container *c)
{
	json_t *hc = json_object_get(json_object_get(c->config, "Config"), "Healthcheck");
	struct health_config cfg;
	struct berth_error err = {0};
	if (health_config_parse(hc, &cfg, &err) < 0) {
		log_warn("container %.12s: healthcheck ignored: %s", c->id, err.msg);
		return;
	}
	if (cfg.kind == HEALTH_NONE) {
		health_free(c);
		return;
	}
	struct container_health *h = health_get(c);
	if (h->has_cfg)
		health_config_clear(&h->cfg);
	h->cfg = cfg;
	h->has_cfg = true;
	/* A fresh start begins again at "starting" (Docker); an adopted container goes on. */
	if (c->started_ns >= h->probe_start_ns) {
		bool was_unhealthy = strcmp(h->status, "unhealthy") == 0;
		snprintf(h->status, sizeof(h->status), "starting");
		h->failing_streak = 0;
		json_array_clear(h->log);
		if (was_unhealthy)
			netd_set_healthy(c, true);
	}
	h->active = true;
	arm(h, next_delay(h));
}

void health_stop(struct container *c)
{
	struct container_health *h = c->health;
	if (!h)
		return;
	h->active = false;
	if (h->queued)
		dequeue(h);
	if (h->probing) {
		bool was_exec = is_exec(h);
		health_probe_abort(h);
		if (was_exec && exec_running > 0)
			exec_running--;
		if (was_exec)
			run_queue();
	}
	if (h->timer)
		event_del(h->timer);
}

void health_free(struct container *c)
{
	struct container_health *h = c->health;
	if (!h)
		return;
	health_stop(c);
	if (h->timer)
		event_free(h->timer);
	if (h->has_cfg)
		health_config_clear(&h->cfg);
	json_decref(h->log);
	free(h);
	c->health = NULL;
}

json_t *health_state_json(const struct container *c)
{
	const struct container_health *h = c->health;
	if (!h)
		return NULL;
	return json_pack("{s:s, s:i, s:O}", "Status", h->status, "FailingStreak",
			 h->failing_streak, "Log", h->log);
}

void health_load(struct container *c, const json_t *health)
{
	const char *status = json_string_value(json_object_get(health, "Status"));
	if (!status)
		return;
	struct container_health *h = health_get(c);
	snprintf(h->status, sizeof(h->status), "%s", status);
	h->failing_streak = (int)json_integer_value(json_object_get(health, "FailingStreak"));
	json_t *log = json_object_get(health, "Log");
	if (json_is_array(log)) {
		json_decref(h->log);
		h->log = json_deep_copy(log);
	}
	/* probes of this run happened before the agent restarted: keep the state */
	h->probe_start_ns = c->started_ns + 1;
}

const char *health_status_suffix(const struct container *c)
{
	const struct container_health *h = c->health;
	if (!h || !h->has_cfg)
		return "";
	if (strcmp(h->status, "healthy") == 0)
		return " (healthy)";
	if (strcmp(h->status, "unhealthy") == 0)
		return " (unhealthy)";
	return " (health: starting)";
}
