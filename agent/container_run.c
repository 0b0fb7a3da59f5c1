/* A container's lifecycle through the runtime: start, stop, kill, exit, adoption, removal.
 * Nothing here waits: completions arrive as runtime callbacks, timers and watches. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "agent.h"
#include "shim_proto.h"
#include "container.h"
#include "image_store.h"
#include "runtime.h"
#include "volumes.h"

void container_watch(struct container *c, struct container_watch *w)
{
	w->next = c->watches;
	c->watches = w;
}

void container_unwatch(struct container *c, struct container_watch *w)
{
	for (struct container_watch **p = &c->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			w->next = NULL;
			return;
		}
	}
}

void container_event(struct container *c, const char *action, json_t *extra)
{
	json_t *config = json_object_get(c->config, "Config");
	json_t *attrs = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(json_object_get(config, "Labels"), key, val)
	    json_object_set(attrs, key, val);
	json_object_set(attrs, "image", json_object_get(config, "Image"));
	json_object_set_new(attrs, "name", json_string(c->name + 1));
	if (extra)
		json_object_update(attrs, extra);
	json_decref(extra);
	agent_event(c->store->agent, "container", action, c->id, attrs);
	json_decref(attrs);
}

static void release_later_cb(evutil_socket_t fd, short what, void *arg)
{
	runtime_release(arg);
}

/* Drop the runtime handle outside of its own callback. */
static void container_release_runtime(struct container *c)
{
	if (!c->rt)
		return;
	struct timeval zero = {0, 0};
	event_base_once(c->store->agent->base, -1, EV_TIMEOUT, release_later_cb, c->rt, &zero);
	c->rt = NULL;
}

static void notify_exit(struct container *c)
{
	for (struct container_watch *w = c->watches, *next; w; w = next) {
		next = w->next;
		if (w->on_exit)
			w->on_exit(w, c);
	}
}

static bool auto_remove(const struct container *c)
{
	return c->remove_on_exit || json_is_true(json_object_get(
					json_object_get(c->config, "HostConfig"), "AutoRemove"));
}

static void save_state_logged(struct container *c)
{
	struct berth_error err = {0};
	if (container_save_state(c, &err) < 0)
		log_error("container %.12s: saving state: %s", c->id, err.msg);
}

/* The container's process is gone: record it, tell the watchers, remove if asked. */
static void container_exited(struct container *c, int code, bool oom, int64_t finished_ns)
{
	c->status = CONTAINER_EXITED;
	c->exit_code = code;
	c->oom_killed = oom;
	c->finished_ns = finished_ns > 0 ? finished_ns : berth_now_ns();
	c->pid = 0;
	c->starting = false;
	if (c->kill_timer)
		event_del(c->kill_timer);
	container_release_runtime(c);
	health_stop(c);
	if (!auto_remove(c))
		restart_after_exit(c); /* Docker: restarting before "die" is published */
	save_state_logged(c);
	if (oom)
		container_event(c, "oom", NULL);
	char codebuf[16];
	snprintf(codebuf, sizeof(codebuf), "%d", code);
	container_event(c, "die", json_pack("{s:s}", "exitCode", codebuf));
	notify_exit(c);
	if (auto_remove(c))
		container_destroy(c);
}

static void rt_on_output(void *arg, int stream, const char *data, size_t len)
{
	struct container *c = arg;
	for (struct container_watch *w = c->watches, *next; w; w = next) {
		next = w->next;
		if (w->on_output)
			w->on_output(w, stream, data, len);
	}
}

static void rt_on_exit(void *arg, const struct runtime_exit *exit)
{
	container_exited(arg, exit->exit_code, exit->oom_killed, exit->finished_ns);
}

static const struct runtime_callbacks container_runtime_cbs = {
    .on_output = rt_on_output,
    .on_exit = rt_on_exit,
};

static void start_failed(struct container *c, const struct berth_error *err, container_done_cb done,
			 void *arg)
{
	int code = err->exit_code == 126 || err->exit_code == 127 ? err->exit_code : 128;
	free(c->error);
	c->error = strdup(err->msg);
	struct berth_error reply = *err;
	if (reply.status == 0 || reply.status == 200)
		reply.status = code == 128 ? 500 : 400;
	if (code != 128 && reply.status >= 500)
		reply.status = 400;
	bool remove = auto_remove(c);
	c->remove_on_exit = false; /* destroy after the reply, not inside container_exited */
	json_object_set_new(json_object_get(c->config, "HostConfig"), "AutoRemove", json_false());
	container_exited(c, code, false, 0);
	done(arg, reply.status, &reply);
	if (remove)
		container_destroy(c);
}

static void started_cb(void *arg, pid_t pid, const struct berth_error *err)
{
	struct container *c = arg;
	container_done_cb done = c->start_done;
	void *done_arg = c->start_done_arg;
	c->start_done = NULL;
	c->start_done_arg = NULL;
	if (!done)
		return;
	if (err && berth_err_is_set(err)) {
		start_failed(c, err, done, done_arg);
		return;
	}
	c->starting = false;
	c->status = CONTAINER_RUNNING;
	c->pid = pid;
	save_state_logged(c);
	container_event(c, "start", NULL);
	health_start(c);
	for (struct container_watch *w = c->watches, *next; w; w = next) {
		next = w->next;
		if (w->on_start)
			w->on_start(w, c);
	}
	done(done_arg, 204, NULL);
}

static void start_checked(struct container *c, bool policy, container_done_cb done, void *arg);

void container_start(struct container *c, container_done_cb done, void *arg)
{
	if (c->status == CONTAINER_RUNNING || c->status == CONTAINER_PAUSED ||
	    c->status == CONTAINER_RESTARTING) {
		done(arg, 304, NULL);
		return;
	}
	if (!c->starting) {
		/* Docker: a start by the user resets the restart count and the backoff. */
		c->restart_count = 0;
		c->restart_delay_ns = 0;
	}
	start_checked(c, false, done, arg);
}

void container_start_policy(struct container *c, container_done_cb done, void *arg)
{
	start_checked(c, true, done, arg);
}

static void start_checked(struct container *c, bool policy, container_done_cb done, void *arg)
{
	struct agent *agent = c->store->agent;
	struct berth_error err = {0};
	if (c->status == CONTAINER_RUNNING || c->status == CONTAINER_PAUSED) {
		done(arg, 304, NULL);
		return;
	}
	if (c->starting) {
		berth_err(&err, 409, "container %s is already starting", c->id);
		done(arg, 409, &err);
		return;
	}
	if (c->status == CONTAINER_REMOVING || c->status == CONTAINER_DEAD || c->remove_on_exit) {
		berth_err(&err, 409, "container is marked for removal and cannot be started");
		done(arg, 409, &err);
		return;
	}
	if (container_net_ensure(c, done, arg))
		return;
	struct image_info img = {0};
	if (image_store_resolve(agent->images, container_image_id(c), &img, &err) < 0) {
		berth_err_wrap(&err, "container %.12s", c->id);
		done(arg, err.status ? err.status : 500, &err);
		return;
	}
	_cleanup_json_ json_t *spec = container_runtime_spec(c, &img, &err);
	image_info_clear(&img);
	if (!spec) {
		done(arg, 500, &err);
		return;
	}
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	free(c->error);
	c->error = NULL;
	c->starting = true;
	if (!policy)
		c->stop_requested = false;
	c->started_ns = berth_now_ns();
	c->exit_code = 0;
	c->oom_killed = false;
	/* Not saved here: the state is saved once the container runs (or fails to start). An
	 * agent that dies in between finds the shim at its restart (container_store_load). */
	c->start_done = done;
	c->start_done_arg = arg;
	if (runtime_start(agent->base, agent->shim_path, dir, agent->run, spec,
			  &container_runtime_cbs, c, started_cb, &c->rt, &err) < 0) {
		c->start_done = NULL;
		c->start_done_arg = NULL;
		c->rt = NULL;
		start_failed(c, &err, done, arg);
	}
}

/* A one-shot watch that completes a stop or a remove. */
struct done_watch {
	struct container_watch w;
	container_done_cb done;
	void *arg;
	bool on_exit_too;
};

static void done_watch_exit(struct container_watch *w, struct container *c)
{
	struct done_watch *dw = (struct done_watch *)w;
	container_unwatch(c, w);
	container_event(c, "stop", NULL);
	/* The stopped state (ManuallyStopped) on disk before the reply: an agent restarted now
	 * must not start it again for its restart policy. */
	container_when_saved(c, 204, dw->done, dw->arg);
	free(dw);
}

static void done_watch_removed(struct container_watch *w, struct container *c)
{
	struct done_watch *dw = (struct done_watch *)w;
	dw->done(dw->arg, 204, NULL);
	free(dw);
}

static void add_done_watch(struct container *c, bool on_exit, container_done_cb done, void *arg)
{
	struct done_watch *dw = calloc(1, sizeof(*dw));
	if (!dw)
		abort();
	dw->w.on_exit = on_exit ? done_watch_exit : NULL;
	dw->w.on_removed = done_watch_removed;
	dw->done = done;
	dw->arg = arg;
	container_watch(c, &dw->w);
}

static void kill_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	if (!c->rt)
		return;
	log_info("container %.12s did not stop in time: SIGKILL", c->id);
	runtime_kill(c->rt, SIGKILL, NULL);
}

static void arm_kill_timer(struct container *c, int seconds)
{
	if (!c->kill_timer)
		c->kill_timer = evtimer_new(c->store->agent->base, kill_timer_cb, c);
	struct timeval tv = {seconds, 0};
	/* A second, shorter stop wins; a longer one leaves the earlier deadline. */
	struct timeval left;
	if (evtimer_pending(c->kill_timer, &left)) {
		struct timeval now;
		event_base_gettimeofday_cached(c->store->agent->base, &now);
		if (timercmp(&left, &now, <=) || left.tv_sec - now.tv_sec <= seconds)
			return;
	}
	evtimer_add(c->kill_timer, &tv);
}

/* A stop or kill by the user of a container waiting to be restarted: it stays stopped. */
static bool stop_waiting_restart(struct container *c)
{
	if (c->rt || c->status != CONTAINER_RESTARTING)
		return false;
	c->stop_requested = true;
	restart_cancel(c);
	save_state_logged(c);
	return true;
}

void container_stop(struct container *c, int timeout_s, container_done_cb done, void *arg)
{
	if (stop_waiting_restart(c)) {
		container_event(c, "stop", NULL);
		container_when_saved(c, 204, done, arg);
		return;
	}
	if (!c->rt || (c->status != CONTAINER_RUNNING && c->status != CONTAINER_PAUSED &&
		       c->status != CONTAINER_RESTARTING)) {
		done(arg, 304, NULL);
		return;
	}
	json_t *config = json_object_get(c->config, "Config");
	if (timeout_s < 0) {
		json_t *st = json_object_get(config, "StopTimeout");
		timeout_s = json_is_integer(st) ? (int)json_integer_value(st) : 10;
	}
	int sig = container_parse_signal(json_string_value(json_object_get(config, "StopSignal")));
	if (sig <= 0)
		sig = SIGTERM;
	c->stop_requested = true;
	add_done_watch(c, true, done, arg);
	struct berth_error err = {0};
	char sigbuf[16];
	snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
	container_event(c, "kill", json_pack("{s:s}", "signal", sigbuf));
	if (runtime_kill(c->rt, timeout_s == 0 ? SIGKILL : sig, &err) < 0)
		log_warn("container %.12s: stop signal: %s", c->id, err.msg);
	if (timeout_s > 0)
		arm_kill_timer(c, timeout_s);
}

int container_kill(struct container *c, int sig, struct berth_error *err)
{
	if (stop_waiting_restart(c))
		return 0;
	if (!c->rt || (c->status != CONTAINER_RUNNING && c->status != CONTAINER_PAUSED &&
		       c->status != CONTAINER_RESTARTING))
		return berth_err(err, 409, "Container %s is not running", c->id);
	c->stop_requested = true;
	char sigbuf[16];
	snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
	container_event(c, "kill", json_pack("{s:s}", "signal", sigbuf));
	if (runtime_kill(c->rt, sig, err) < 0)
		return berth_err_wrap(err, "Cannot kill container: %s", c->id);
	return 0;
}

void container_remove(struct container *c, bool force, bool volumes, container_done_cb done,
		      void *arg)
{
	struct berth_error err = {0};
	if (c->starting) {
		berth_err(&err, 409, "You cannot remove a container that is starting: %s", c->id);
		done(arg, 409, &err);
		return;
	}
	if (c->status == CONTAINER_REMOVING || (c->remove_on_exit && c->rt)) {
		if (!force) {
			berth_err(&err, 409, "removal of container %s is already in progress",
				  c->id);
			done(arg, 409, &err);
			return;
		}
		add_done_watch(c, false, done, arg);
		return;
	}
	if (c->rt) {
		if (!force) {
			berth_err(&err, 409,
				  "You cannot remove a running container %s. Stop the container "
				  "before attempting removal or force remove",
				  c->id);
			done(arg, 409, &err);
			return;
		}
		c->remove_on_exit = true;
		c->stop_requested = true;
		c->remove_volumes |= volumes;
		save_state_logged(c);
		add_done_watch(c, false, done, arg);
		container_event(c, "kill", json_pack("{s:s}", "signal", "9"));
		if (runtime_kill(c->rt, SIGKILL, &err) < 0)
			log_warn("container %.12s: kill: %s", c->id, err.msg);
		return;
	}
	if (c->status == CONTAINER_RESTARTING) {
		if (!force) {
			berth_err(&err, 409,
				  "You cannot remove a restarting container %s. Stop the container "
				  "before attempting removal or force remove",
				  c->id);
			done(arg, 409, &err);
			return;
		}
		stop_waiting_restart(c);
	}
	c->remove_volumes |= volumes;
	container_destroy(c);
	done(arg, 204, NULL);
}

void container_destroy(struct container *c)
{
	struct container_store *store = c->store;
	struct agent *agent = store->agent;
	struct berth_error err = {0};
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	c->status = CONTAINER_REMOVING;
	restart_cancel(c);
	health_free(c);
	container_release_runtime(c);
	container_net_release(c);
	if (runtime_cleanup(dir, agent->run, c->id, agent->cgroup_parent, &err) < 0)
		log_warn("container %.12s: cleanup: %s", c->id, err.msg);
	if (c->remove_volumes ||
	    json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove")))
		volumes_remove_anonymous(agent->root, json_object_get(c->config, "Mounts"));
	/* Gone from the API at once; the files go in the background ($BERTH_ROOT/tmp is cleared
	 * at agent start, so a crash leaves nothing). */
	char trash[4200];
	snprintf(trash, sizeof(trash), "%s/tmp", agent->root);
	container_save_forget(store, dir);
	berth_trash(dir, trash);
	container_store_unlink(store, c);
	container_event(c, "destroy", NULL);
	while (c->watches) {
		struct container_watch *w = c->watches;
		c->watches = w->next;
		w->next = NULL;
		if (w->on_removed)
			w->on_removed(w, c);
	}
	container_free(c);
}

void container_adopt(struct container *c)
{
	struct agent *agent = c->store->agent;
	struct berth_error err = {0};
	struct runtime_exit exited = {0};
	struct runtime_handle *h = NULL;
	pid_t pid = 0;
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	int r = runtime_adopt(agent->base, dir, agent->run, &container_runtime_cbs, c, &h, &pid,
			      &exited, &err);
	if (r == 0) {
		c->rt = h;
		c->pid = pid;
		if (c->starting || c->status != CONTAINER_RUNNING) {
			c->starting = false;
			c->status = CONTAINER_RUNNING;
		}
		save_state_logged(c);
		log_info("container %.12s re-adopted (pid %d)", c->id, (int)pid);
		health_start(c);
		return;
	}
	if (r < 0) {
		log_error("container %.12s: adopt: %s", c->id, err.msg);
		free(c->error);
		c->error = strdup(err.msg);
		exited.exit_code = 255;
	}
	log_info("container %.12s exited while the agent was down (%d)", c->id, exited.exit_code);
	container_exited(c, exited.exit_code, exited.oom_killed, exited.finished_ns);
}

void container_stop_for_restart(struct container *c)
{
	if (!c->rt || c->status != CONTAINER_RUNNING)
		return;
	json_t *config = json_object_get(c->config, "Config");
	json_t *st = json_object_get(config, "StopTimeout");
	int timeout_s = json_is_integer(st) ? (int)json_integer_value(st) : 10;
	int sig = container_parse_signal(json_string_value(json_object_get(config, "StopSignal")));
	if (sig <= 0)
		sig = SIGTERM;
	c->unhealthy_kill = true;
	char sigbuf[16];
	snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
	container_event(c, "kill", json_pack("{s:s}", "signal", sigbuf));
	struct berth_error err = {0};
	if (runtime_kill(c->rt, timeout_s == 0 ? SIGKILL : sig, &err) < 0)
		log_warn("container %.12s: stop signal: %s", c->id, err.msg);
	if (timeout_s > 0)
		arm_kill_timer(c, timeout_s);
}
