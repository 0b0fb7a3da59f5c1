/* Restart policies (no, on-failure[:N], always, unless-stopped) with Docker's backoff: the
 * decision at each exit, the timer, and what the agent starts when it starts. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "agent.h"
#include "container.h"

struct restart_backoff restart_defaults = {
    .min_ns = 100000000LL,
    .max_ns = 60000000000LL,
    .reset_ns = 10000000000LL,
    .multiplier = 2.0,
};

int restart_backoff_set(struct restart_backoff *b, const char *what, const char *value,
			struct berth_error *err)
{
	if (!value || !*value)
		return berth_err(err, 400, "restart backoff %s: empty value", what);
	if (strcmp(what, "multiplier") == 0) {
		char *end;
		errno = 0;
		double m = strtod(value, &end);
		if (errno || *end || !(m >= 1.0) || m > 1000.0)
			return berth_err(err, 400,
					 "invalid restart backoff multiplier %s: want a number "
					 "from 1 to 1000",
					 value);
		b->multiplier = m;
		return 0;
	}
	int64_t ns = berth_parse_duration_ns(value);
	if (ns < 0)
		return berth_err(err, 400, "invalid restart backoff %s %s: want a duration (100ms, 1m)",
				 what, value);
	if (strcmp(what, "min") == 0) {
		/* 0: every restart at once, no backoff (measuring, or a supervisor of its own) */
		b->min_ns = ns;
	} else if (strcmp(what, "max") == 0) {
		b->max_ns = ns;
	} else if (strcmp(what, "reset") == 0) {
		b->reset_ns = ns;
	} else {
		return berth_err(err, 400, "unknown restart backoff setting %s", what);
	}
	return 0;
}

void restart_backoff_for(const struct container *c, struct restart_backoff *out)
{
	*out = restart_defaults;
	static const char *const keys[] = {"min", "max", "multiplier", "reset"};
	json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char label[64];
		snprintf(label, sizeof(label), "berth.restart.backoff-%s", keys[i]);
		const char *v = json_string_value(json_object_get(labels, label));
		struct berth_error err = {0};
		if (v && restart_backoff_set(out, keys[i], v, &err) < 0)
			log_warn("container %.12s: label %s ignored: %s", c->id, label, err.msg);
	}
	if (out->max_ns < out->min_ns)
		out->max_ns = out->min_ns;
}

int restart_check_labels(const json_t *labels, struct berth_error *err)
{
	struct restart_backoff b = restart_defaults;
	static const char *const keys[] = {"min", "max", "multiplier", "reset"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char label[64];
		snprintf(label, sizeof(label), "berth.restart.backoff-%s", keys[i]);
		json_t *v = json_object_get(labels, label);
		if (v && restart_backoff_set(&b, keys[i], json_string_value(v), err) < 0)
			return berth_err_wrap(err, "label %s", label);
	}
	return 0;
}

int64_t restart_backoff_next(const struct restart_backoff *b, int64_t prev_ns, int64_t uptime_ns)
{
	/* Docker's restart manager: a long enough run starts over; then min, doubling, capped. */
	if (uptime_ns >= b->reset_ns)
		prev_ns = 0;
	int64_t next;
	if (prev_ns <= 0)
		next = b->min_ns;
	else if (prev_ns < b->max_ns)
		next = (int64_t)((double)prev_ns * b->multiplier + 0.5);
	else
		next = prev_ns;
	return next > b->max_ns ? b->max_ns : next;
}

bool restart_policy_wants(const char *name, int max_retries, int restart_count, int exit_code,
			  bool stopped_by_user)
{
	if (!name || !*name || strcmp(name, "no") == 0 || stopped_by_user)
		return false;
	if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0)
		return true;
	if (strcmp(name, "on-failure") == 0)
		return exit_code != 0 && (max_retries <= 0 || restart_count < max_retries);
	return false;
}

static void policy_of(const struct container *c, const char **name, int *max)
{
	json_t *rp = json_object_get(json_object_get(c->config, "HostConfig"), "RestartPolicy");
	*name = json_string_value(json_object_get(rp, "Name"));
	*max = (int)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
}

static void restart_started(void *arg, int status, const struct berth_error *err)
{
	struct container *c = arg;
	if (status < 300 || status == 304)
		return;
	/* Docker: a restart that fails to start leaves the container stopped. */
	log_warn("container %.12s: restart failed: %s", c->id, err ? err->msg : "");
}

static void restart_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	if (c->status != CONTAINER_RESTARTING || c->rt || c->starting)
		return;
	log_debug("container %.12s: restarting (count %d)", c->id, c->restart_count);
	container_start_policy(c, restart_started, c);
}

static void arm(struct container *c, int64_t delay_ns)
{
	if (!c->restart_timer)
		c->restart_timer = evtimer_new(c->store->agent->base, restart_timer_cb, c);
	if (delay_ns < 0)
		delay_ns = 0;
	struct timeval tv = {(time_t)(delay_ns / 1000000000LL),
			     (suseconds_t)(delay_ns % 1000000000LL / 1000)};
	evtimer_add(c->restart_timer, &tv);
}

bool restart_after_exit(struct container *c)
{
	const char *name;
	int max;
	policy_of(c, &name, &max);
	bool unhealthy = c->unhealthy_kill;
	c->unhealthy_kill = false;
	bool wants = restart_policy_wants(name, max, c->restart_count, c->exit_code,
					  c->stop_requested);
	if (unhealthy && !c->stop_requested)
		wants = true; /* berth replaces unhealthy containers whatever the policy */
	if (!wants || !c->store->agent || !c->store->agent->base)
		return false;
	struct restart_backoff b;
	restart_backoff_for(c, &b);
	int64_t uptime = c->finished_ns - c->started_ns;
	c->restart_delay_ns = restart_backoff_next(&b, c->restart_delay_ns, uptime);
	c->restart_count++;
	c->status = CONTAINER_RESTARTING;
	arm(c, c->restart_delay_ns);
	log_info("container %.12s exited (%d): restart %d in %.3f s", c->id, c->exit_code,
		 c->restart_count, (double)c->restart_delay_ns / 1e9);
	return true;
}

void restart_cancel(struct container *c)
{
	if (c->restart_timer)
		event_del(c->restart_timer);
	if (c->status == CONTAINER_RESTARTING && !c->rt)
		c->status = CONTAINER_EXITED;
}

/* Has the host booted since the agent last ran? Docker's "daemon start" is a boot: an
 * `always` container comes back then even when the user had stopped it. Only the agent
 * restarting (containers outlive it here) keeps the user's stops. */
static bool host_rebooted(const struct agent *agent)
{
	char now[64] = "", before[64] = "", path[PATH_MAX + 16];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f) {
		if (!fgets(now, sizeof(now), f))
			now[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/boot_id", agent->root);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(before, sizeof(before), f))
			before[0] = '\0';
		fclose(f);
	}
	if (strcmp(now, before) == 0)
		return false;
	struct berth_error err = {0};
	if (berth_write_atomic(path, now, strlen(now), 0644, &err) < 0)
		log_warn("%s", err.msg);
	return before[0] != '\0';
}

void restart_at_load(struct container_store *store)
{
	bool boot = host_rebooted(store->agent);
	for (struct container *c = store->head; c; c = c->next) {
		if (c->status == CONTAINER_RESTARTING && !c->rt && !c->starting) {
			/* Its wait was cut by the agent's exit: what is left of it, from now. */
			int64_t left = c->finished_ns + c->restart_delay_ns - berth_now_ns();
			arm(c, left);
			continue;
		}
		if (c->status != CONTAINER_EXITED || c->finished_ns == 0 || c->remove_on_exit)
			continue;
		const char *name;
		int max;
		policy_of(c, &name, &max);
		bool stopped = c->stop_requested && !(boot && name && strcmp(name, "always") == 0);
		if (!restart_policy_wants(name, max, c->restart_count, c->exit_code, stopped))
			continue;
		c->stop_requested = stopped;
		/* Docker starts these at daemon start, without a backoff delay. */
		c->status = CONTAINER_RESTARTING;
		arm(c, 0);
	}
}
