/* Docker Engine API: exec. POST /containers/{id}/exec creates an instance, POST
 * /exec/{id}/start runs it (hijacked stream, or detached), GET /exec/{id}/json inspects it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/id.h"
#include "berth/log.h"
#include "agent.h"
#include "api_containers.h"
#include "container.h"
#include "runtime.h"

#define EXEC_KEEP_FINISHED 64

struct exec_inst {
	struct exec_inst *next;
	struct agent *agent;
	char id[65];
	char container_id[65];
	json_t *config; /* the create request */
	bool started, running, exited;
	int exit_code;
	pid_t pid;
	struct runtime_exec *x;
	struct bufferevent *bev;
	bool tty, stdout_on, stderr_on, stdin_on;
};

struct exec_store {
	struct exec_inst *head;
};

static struct exec_store *execs_get(struct agent *agent)
{
	if (!agent->execs) {
		agent->execs = calloc(1, sizeof(*agent->execs));
		if (!agent->execs)
			abort();
	}
	return agent->execs;
}

static void exec_free(struct exec_inst *e)
{
	if (e->bev)
		bufferevent_free(e->bev);
	if (e->x)
		runtime_exec_free(e->x);
	json_decref(e->config);
	free(e);
}

/* Keep a bounded number of finished instances so inspect works after the end. */
static void execs_trim(struct exec_store *s)
{
	size_t finished = 0;
	for (struct exec_inst **p = &s->head; *p;) {
		struct exec_inst *e = *p;
		if (e->exited && !e->bev && ++finished > EXEC_KEEP_FINISHED) {
			*p = e->next;
			exec_free(e);
			continue;
		}
		p = &e->next;
	}
}

static struct exec_inst *exec_find(struct agent *agent, const char *id)
{
	for (struct exec_inst *e = execs_get(agent)->head; e; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void api_exec_create(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct container *c = api_container_lookup(call);
	if (!c)
		return;
	struct berth_error err = {0};
	json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	json_t *cmd = json_object_get(body, "Cmd");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		json_decref(body);
		berth_http_reply_errorf(call, 400, "No exec command specified");
		return;
	}
	if (!c->rt || c->status != CONTAINER_RUNNING) {
		json_decref(body);
		berth_http_reply_errorf(call, 409, "Container %s is not running", c->id);
		return;
	}
	struct exec_inst *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->agent = agent;
	berth_id_random(e->id);
	memcpy(e->container_id, c->id, sizeof(e->container_id));
	e->config = body;
	e->tty = json_is_true(json_object_get(body, "Tty"));
	e->stdin_on = json_is_true(json_object_get(body, "AttachStdin"));
	e->stdout_on = json_is_true(json_object_get(body, "AttachStdout"));
	e->stderr_on = json_is_true(json_object_get(body, "AttachStderr"));
	struct exec_store *s = execs_get(agent);
	e->next = s->head;
	s->head = e;
	execs_trim(s);
	container_event(c, "exec_create", json_pack("{s:s}", "execID", e->id));
	berth_http_reply_json(call, 201, json_pack("{s:s}", "Id", e->id));
}

static void exec_close_stream(struct exec_inst *e)
{
	if (e->bev) {
		bufferevent_free(e->bev);
		e->bev = NULL;
	}
}

static void exec_drained(struct bufferevent *bev, void *arg)
{
	struct exec_inst *e = arg;
	if (e->exited)
		exec_close_stream(e);
}

static void exec_read(struct bufferevent *bev, void *arg)
{
	struct exec_inst *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	if (e->stdin_on && e->x && !e->exited && len > 0)
		runtime_exec_write_stdin(e->x, evbuffer_pullup(in, (ssize_t)len), len);
	evbuffer_drain(in, len);
}

static void exec_event(struct bufferevent *bev, short what, void *arg)
{
	struct exec_inst *e = arg;
	/* The client half-closed (docker does as soon as it has no more input): keep sending
	 * until the process has exited and its last output is written; exec_drained ends it. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (!e->exited || evbuffer_get_length(bufferevent_get_output(bev)) > 0)) {
		if (e->stdin_on && e->x)
			runtime_exec_close_stdin(e->x);
		bufferevent_disable(bev, EV_READ);
		return;
	}
	exec_close_stream(e);
}

static void exec_on_output(void *arg, int stream, const char *data, size_t len)
{
	struct exec_inst *e = arg;
	if (!e->bev || (stream == 1 && !e->stdout_on) || (stream == 2 && !e->stderr_on))
		return;
	api_frame_add(bufferevent_get_output(e->bev), e->tty, stream, data, len);
}

static void exec_free_runtime_cb(evutil_socket_t fd, short what, void *arg)
{
	runtime_exec_free(arg);
}

static void exec_on_exit(void *arg, int exit_code)
{
	struct exec_inst *e = arg;
	e->exit_code = exit_code;
	e->running = false;
	e->exited = true;
	if (e->x) {
		struct timeval zero = {0, 0};
		event_base_once(e->agent->base, -1, EV_TIMEOUT, exec_free_runtime_cb, e->x, &zero);
		e->x = NULL;
	}
	struct berth_error err = {0};
	struct container *c = container_find(e->agent->containers, e->container_id, &err);
	if (c) {
		char code[16];
		snprintf(code, sizeof(code), "%d", exit_code);
		container_event(c, "exec_die",
				json_pack("{s:s, s:s}", "execID", e->id, "exitCode", code));
	}
	if (e->bev && evbuffer_get_length(bufferevent_get_output(e->bev)) == 0)
		exec_close_stream(e);
}

static const struct runtime_exec_callbacks exec_cbs = {
    .on_output = exec_on_output,
    .on_exit = exec_on_exit,
};

static json_t *exec_spec(struct exec_inst *e, struct container *c, const json_t *start)
{
	json_t *config = json_object_get(c->config, "Config");
	json_t *env = container_env(c, e->tty, json_object_get(e->config, "Env"));
	const char *cwd = json_string_value(json_object_get(e->config, "WorkingDir"));
	if (!cwd || !*cwd)
		cwd = json_string_value(json_object_get(config, "WorkingDir"));
	const char *user = json_string_value(json_object_get(e->config, "User"));
	if (!user || !*user)
		user = json_string_value(json_object_get(config, "User"));
	json_t *spec = json_pack(
	    "{s:O, s:o, s:s, s:s, s:b, s:b, s:b}", "args", json_object_get(e->config, "Cmd"), "env",
	    env, "cwd", cwd && *cwd ? cwd : "/", "user", user ? user : "", "tty", e->tty, "stdin",
	    e->stdin_on, "privileged", json_is_true(json_object_get(e->config, "Privileged")));
	/* The start's ConsoleSize wins over the create's, as in Docker. */
	json_t *size = container_console_size(json_object_get(start, "ConsoleSize"));
	if (!size)
		size = container_console_size(json_object_get(e->config, "ConsoleSize"));
	if (spec && size && e->tty)
		json_object_set_new(spec, "console_size", size);
	else
		json_decref(size);
	return spec;
}

static void api_exec_start(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct exec_inst *e = exec_find(agent, call->params[0]);
	if (!e) {
		berth_http_reply_errorf(call, 404, "No such exec instance: %s", call->params[0]);
		return;
	}
	struct berth_error err = {0};
	_cleanup_json_ json_t *body = berth_http_body_json(call, &err);
	if (!body) {
		berth_http_reply_error(call, &err);
		return;
	}
	if (e->started) {
		berth_http_reply_errorf(call, 409, "Error: Exec command %s is already running",
					e->id);
		return;
	}
	struct container *c = container_find(agent->containers, e->container_id, &err);
	if (!c || !c->rt || c->status != CONTAINER_RUNNING) {
		berth_http_reply_errorf(call, 409, "Container %s is not running", e->container_id);
		return;
	}
	if (json_is_boolean(json_object_get(body, "Tty")))
		e->tty = json_is_true(json_object_get(body, "Tty"));
	bool detach = json_is_true(json_object_get(body, "Detach"));
	_cleanup_json_ json_t *spec = exec_spec(e, c, body);
	e->started = true;
	if (!detach) {
		e->bev = berth_http_hijack(call, "application/vnd.docker.raw-stream");
		if (!e->bev)
			return;
		bufferevent_setcb(e->bev, exec_read, exec_drained, exec_event, e);
		bufferevent_enable(e->bev, EV_READ | EV_WRITE);
	}
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	if (runtime_exec_start(agent->base, c->pid, dir, spec, &exec_cbs, e, &e->x, &e->pid, &err) <
	    0) {
		e->exited = true;
		e->exit_code = err.exit_code == 126 || err.exit_code == 127 ? err.exit_code : 126;
		if (detach) {
			berth_http_reply_error(call, &err);
			return;
		}
		/* As Docker: the reason goes on the stream, the code to exec inspect. */
		_cleanup_free_ char *msg = berth_strdupf("%s\r\n", err.msg);
		api_frame_add(bufferevent_get_output(e->bev), e->tty, 1, msg, strlen(msg));
		return;
	}
	e->running = true;
	_cleanup_free_ char *cmdline = NULL;
	{
		json_t *cmd = json_object_get(e->config, "Cmd");
		size_t i;
		json_t *a;
		cmdline = strdup("");
		json_array_foreach(cmd, i, a)
		{
			char *n = berth_strdupf("%s%s%s", cmdline, i ? " " : "",
						json_string_value(a) ? json_string_value(a) : "");
			free(cmdline);
			cmdline = n;
		}
	}
	_cleanup_free_ char *action = berth_strdupf("exec_start: %s", cmdline);
	container_event(c, action, json_pack("{s:s}", "execID", e->id));
	if (detach)
		berth_http_reply_empty(call, 200);
}

static void api_exec_inspect(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct exec_inst *e = exec_find(agent, call->params[0]);
	if (!e) {
		berth_http_reply_errorf(call, 404, "No such exec instance: %s", call->params[0]);
		return;
	}
	json_t *cmd = json_object_get(e->config, "Cmd");
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	const char *user = json_string_value(json_object_get(e->config, "User"));
	json_t *j = json_pack(
	    "{s:b, s:s, s:s, s:o, s:s, s:b, s:b, s:b, s:b, s:{s:O, s:o, s:b, s:b, s:s}, s:i}",
	    "CanRemove", 0, "ContainerID", e->container_id, "DetachKeys", "", "ExitCode",
	    e->exited ? json_integer(e->exit_code) : json_null(), "ID", e->id, "OpenStderr",
	    e->stderr_on, "OpenStdin", e->stdin_on, "OpenStdout", e->stdout_on, "Running",
	    e->running, "ProcessConfig", "entrypoint", json_array_get(cmd, 0), "arguments", args,
	    "privileged", json_is_true(json_object_get(e->config, "Privileged")), "tty", e->tty,
	    "user", user ? user : "", "Pid", (int)e->pid);
	berth_http_reply_json(call, 200, j);
}

static void api_exec_resize(struct berth_http_call *call)
{
	struct agent *agent = call->ctx;
	struct exec_inst *e = exec_find(agent, call->params[0]);
	if (!e) {
		berth_http_reply_errorf(call, 404, "No such exec instance: %s", call->params[0]);
		return;
	}
	long long h, w;
	struct berth_error err = {0};
	if (berth_http_query_int(call, "h", 0, 65535, 0, &h, &err) < 0 ||
	    berth_http_query_int(call, "w", 0, 65535, 0, &w, &err) < 0) {
		berth_http_reply_error(call, &err);
		return;
	}
	if (e->x)
		runtime_exec_resize(e->x, (unsigned)h, (unsigned)w);
	berth_http_reply_empty(call, 200);
}

void agent_execs_free(struct agent *agent)
{
	if (!agent->execs)
		return;
	while (agent->execs->head) {
		struct exec_inst *e = agent->execs->head;
		agent->execs->head = e->next;
		exec_free(e);
	}
	free(agent->execs);
	agent->execs = NULL;
}

const struct berth_http_route api_exec_routes[] = {
    {"POST", "/containers/{id}/exec", api_exec_create},
    {"POST", "/exec/{id}/start", api_exec_start},
    {"POST", "/exec/{id}/resize", api_exec_resize},
    {"GET", "/exec/{id}/json", api_exec_inspect},
};
const size_t api_exec_routes_len = sizeof(api_exec_routes) / sizeof(api_exec_routes[0]);
