/* berth-image-worker runs for /images calls: spawned with pipes the loop drives (the request
 * body fed to its stdin, its stdout relayed or collected), reaped through a pidfd, and the
 * image index reloaded from disk before the reply. The loop never waits on a worker. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/log.h"
#include "image_job.h"
#include "image_store.h"

#define JOB_OUTPUT_MAX (4 << 20)  /* import/load print a few lines: more is a broken worker */
#define JOB_STREAM_HIGH (4 << 20) /* save: stop reading the worker above this much queued */
#define JOB_STREAM_LOW (1 << 20)  /* ... and read again below this */

struct job_pipe {
	int fd;
	struct event *ev;
	struct evbuffer *buf;
};

struct image_job {
	enum image_job_kind kind;
	struct agent *agent;
	struct berth_http_call *call; /* NULL once a save's client went away */
	json_t *args;		      /* the worker's command and its arguments */
	pid_t pid;
	int pidfd;
	struct event *exit_ev;
	bool exited;
	int wait_status;
	struct evbuffer *body; /* import/load: the request body, still to be fed */
	int in_fd;
	struct event *in_ev;
	struct job_pipe out, err;
	bool streaming;		 /* save: the 200 and some of the tar went out */
	struct event *resume_ev; /* save: waiting for the client to drain */
};

static unsigned jobs_running;	 /* workers alive (all on the loop thread) */
static bool orphans_pending;	 /* a worker failed: collect what it left once none runs */
static struct event *orphans_ev; /* retries the collection while images.lock is busy */

#define ORPHANS_RETRY_MS 100

static const char *const job_commands[] = {"import", "load", "save", "pull"};

static void pipe_close(struct job_pipe *p)
{
	if (p->ev)
		event_free(p->ev);
	p->ev = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void stdin_close(struct image_job *job)
{
	if (job->in_ev)
		event_free(job->in_ev);
	job->in_ev = NULL;
	if (job->in_fd >= 0)
		close(job->in_fd);
	job->in_fd = -1;
	if (job->body)
		evbuffer_free(job->body);
	job->body = NULL;
}

void image_job_free(struct image_job *job)
{
	if (!job)
		return;
	stdin_close(job);
	pipe_close(&job->out);
	pipe_close(&job->err);
	if (job->out.buf)
		evbuffer_free(job->out.buf);
	if (job->err.buf)
		evbuffer_free(job->err.buf);
	if (job->exit_ev)
		event_free(job->exit_ev);
	if (job->pidfd >= 0)
		close(job->pidfd);
	if (job->resume_ev)
		event_free(job->resume_ev);
	json_decref(job->args);
	free(job);
}

struct image_job *image_job_new(struct berth_http_call *call, enum image_job_kind kind)
{
	struct image_job *job = calloc(1, sizeof(*job));
	if (!job)
		abort();
	job->kind = kind;
	job->call = call;
	job->agent = call->ctx;
	job->pid = -1;
	job->pidfd = job->in_fd = job->out.fd = job->err.fd = -1;
	job->args = json_pack("[s]", job_commands[kind]);
	job->out.buf = evbuffer_new();
	job->err.buf = evbuffer_new();
	if (!job->out.buf || !job->err.buf)
		abort();
	if (kind != IMAGE_JOB_SAVE) {
		/* Move (not copy) the body off the call: it is fed to the worker as it drains. */
		job->body = evbuffer_new();
		struct evbuffer *in = berth_http_body(call);
		if (!job->body)
			abort();
		if (in)
			evbuffer_add_buffer(job->body, in);
	}
	return job;
}

void image_job_input(struct image_job *job, const char *data, size_t len)
{
	evbuffer_drain(job->body, evbuffer_get_length(job->body));
	evbuffer_add(job->body, data, len);
}

void image_job_arg(struct image_job *job, const char *arg)
{
	json_array_append_new(job->args, json_string(arg));
}

/* berth-image-worker next to berth-agent ($BERTH_IMAGE_WORKER overrides); else from PATH. */
static const char *worker_path(bool *search)
{
	static char path[PATH_MAX];
	const char *env = getenv("BERTH_IMAGE_WORKER");
	*search = false;
	if (env && *env)
		return env;
	if (!path[0]) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			snprintf(path, sizeof(path), "%s/berth-image-worker", dirname(self));
		}
	}
	if (path[0] && access(path, X_OK) == 0)
		return path;
	*search = true;
	return "berth-image-worker";
}

/* ---- finishing ---- */

static void collect_orphans_retry(evutil_socket_t fd, short what, void *arg);

/* Only while no worker runs (a running one may hold layers it has yet to register), and
 * without waiting for images.lock: when another process holds it, again in a moment. */
static void collect_orphans(struct agent *agent)
{
	if (!orphans_pending || jobs_running > 0)
		return;
	if (image_store_collect_orphans(agent->images) == 0) {
		orphans_pending = false;
		return;
	}
	if (!orphans_ev)
		orphans_ev = evtimer_new(agent->base, collect_orphans_retry, agent);
	static const struct timeval tv = {0, ORPHANS_RETRY_MS * 1000};
	if (orphans_ev)
		evtimer_add(orphans_ev, &tv);
}

static void collect_orphans_retry(evutil_socket_t fd, short what, void *arg)
{
	collect_orphans(arg); /* a job started since: its end collects */
}

/* The worker's error line ({"status": N, "message": "..."}), the last one in buf. */
static bool find_error(struct evbuffer *buf, struct berth_error *err)
{
	size_t len = evbuffer_get_length(buf);
	char *text = (char *)evbuffer_pullup(buf, -1);
	bool found = false;
	for (size_t off = 0; text && off < len;) {
		char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		json_error_t jerr;
		json_t *j = json_loadb(text + off, end - off, 0, &jerr);
		json_t *status = json_object_get(j, "status");
		const char *msg = json_string_value(json_object_get(j, "message"));
		if (json_is_integer(status) && msg) {
			berth_err(err, (int)json_integer_value(status), "%s", msg);
			found = true;
		} else if (!j && end > off) {
			log_warn("image worker: %.*s", (int)(end - off), text + off);
		}
		json_decref(j);
		off = end + 1;
	}
	return found;
}

static void job_error(struct image_job *job, struct berth_error *err)
{
	/* Both parsed: stderr's other lines are logged either way. */
	bool on_stdout = find_error(job->out.buf, err);
	bool on_stderr = find_error(job->err.buf, err);
	if (on_stdout || on_stderr)
		return;
	int st = job->wait_status;
	if (WIFSIGNALED(st))
		berth_err(err, 500, "image worker was killed by signal %d (%s)", WTERMSIG(st),
			  strsignal(WTERMSIG(st)));
	else
		berth_err(err, 500, "image worker failed with exit code %d", WEXITSTATUS(st));
}

/* import/load: the worker's lines as Docker's JSON stream ("\r\n" after each). */
static void reply_lines(struct image_job *job)
{
	struct berth_http_call *call = job->call;
	const char *action = job->kind == IMAGE_JOB_IMPORT ? "import" : "load";
	char id[72] = "";
	berth_http_stream_start(call, 200, "application/json");
	size_t len = evbuffer_get_length(job->out.buf);
	char *text = (char *)evbuffer_pullup(job->out.buf, -1);
	for (size_t off = 0; text && off < len;) {
		char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		if (end > off) {
			json_error_t jerr;
			_cleanup_json_ json_t *j = json_loadb(text + off, end - off, 0, &jerr);
			const char *s = json_string_value(json_object_get(j, "status"));
			if (s && !strncmp(s, "sha256:", 7))
				snprintf(id, sizeof(id), "%s", s);
			berth_http_stream_send(call, text + off, end - off);
			berth_http_stream_send(call, "\r\n", 2);
		}
		off = end + 1;
	}
	agent_event(job->agent, "image", action, id, NULL);
	berth_http_stream_end(call);
}

static void relay_lines(struct image_job *job);

static void job_finish(struct image_job *job)
{
	bool ok = WIFEXITED(job->wait_status) && WEXITSTATUS(job->wait_status) == 0;
	struct image_store *store = job->agent->images;
	struct berth_error err = {0};
	if (!ok) {
		/* Nothing of a failed run is registered; its temporaries carry its pid. */
		image_store_sweep_pid(store, job->pid);
		orphans_pending = true;
		job_error(job, &err);
		if (job->call)
			log_warn("image %s failed: %s", job_commands[job->kind], err.msg);
		else
			log_info("image %s: the client went away, worker stopped",
				 job_commands[job->kind]);
	} else {
		find_error(job->err.buf, &err); /* logs what the worker said */
		berth_err_clear(&err);
	}
	if (job->kind != IMAGE_JOB_SAVE) {
		struct berth_error rerr = {0};
		if (image_store_reload(store, &rerr) < 0)
			log_error("reloading the image index: %s", rerr.msg);
	}
	struct berth_http_call *call = job->call;
	if (job->kind == IMAGE_JOB_PULL) {
		relay_lines(job); /* a last line without its newline is dropped with the pipe */
		if (ok)
			agent_event(job->agent, "image", "pull", "", NULL);
	}
	if (!call) {
		/* the client left a save: nothing to say */
	} else if (job->kind == IMAGE_JOB_PULL && job->streaming) {
		/* The 200 went out: Docker ends the stream with an error message. */
		if (!ok) {
			_cleanup_json_ json_t *e = json_pack("{s:{s:s}, s:s}", "errorDetail",
							     "message", err.msg, "error", err.msg);
			_cleanup_free_ char *text = json_dumps(e, JSON_COMPACT);
			berth_http_stream_send(call, text, strlen(text));
			berth_http_stream_send(call, "\r\n", 2);
		}
		berth_http_stream_end(call);
	} else if (job->kind == IMAGE_JOB_PULL && ok) {
		berth_http_stream_start(call, 200, "application/json"); /* it said nothing */
		berth_http_stream_end(call);
	} else if (!ok && job->streaming) {
		/* Part of the tar went out with a 200: only a cut connection says it failed (a
		 * clean end of the chunked body would look like a whole archive). */
		struct evhttp_connection *conn =
		    call->req ? evhttp_request_get_connection(call->req) : NULL;
		if (conn)
			evhttp_connection_free(conn); /* runs save_client_gone, frees call */
		else
			berth_http_stream_end(call);
	} else if (!ok) {
		berth_http_reply_error(call, &err);
	} else if (job->kind == IMAGE_JOB_SAVE) {
		berth_http_stream_end(call);
	} else {
		reply_lines(job);
	}
	jobs_running--;
	collect_orphans(job->agent);
	image_job_free(job);
	/* The body and pipe buffers were freed: hand the pages back, the agent stays small. */
	malloc_trim(0);
}

static void job_maybe_finish(struct image_job *job)
{
	if (job->exited && job->out.fd < 0 && job->err.fd < 0)
		job_finish(job);
}

/* ---- the loop's callbacks ---- */

static void job_exited(evutil_socket_t fd, short what, void *arg)
{
	struct image_job *job = arg;
	int st;
	pid_t r = waitpid(job->pid, &st, WNOHANG);
	if (r == 0)
		return;
	job->wait_status = r == job->pid ? st : 0;
	if (r < 0) /* reaped elsewhere: judge by the output */
		job->wait_status = W_EXITCODE(evbuffer_get_length(job->out.buf) ? 0 : 1, 0);
	job->exited = true;
	event_free(job->exit_ev);
	job->exit_ev = NULL;
	close(job->pidfd);
	job->pidfd = -1;
	stdin_close(job); /* whatever it did not read, it never will */
	job_maybe_finish(job);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct image_job *job = arg;
	while (evbuffer_get_length(job->body) > 0) {
		int n = evbuffer_write_atmost(job->body, job->in_fd, 1 << 20);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break; /* EPIPE: the worker stopped reading (it failed; it says why) */
		}
	}
	stdin_close(job); /* EOF for the worker */
}

static void resume_reading(evutil_socket_t fd, short what, void *arg);

/* save: pass what the worker wrote on to the client, pausing while the client is slow. */
static void relay(struct image_job *job)
{
	struct evbuffer *buf = job->out.buf;
	if (!job->call || berth_http_call_gone(job->call)) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		if (!job->exited)
			kill(job->pid, SIGTERM);
		return;
	}
	if (!job->streaming) {
		berth_http_stream_start(job->call, 200, "application/x-tar");
		job->streaming = true;
	}
	while (evbuffer_get_length(buf) > 0) {
		size_t n = evbuffer_get_contiguous_space(buf);
		berth_http_stream_send(job->call, evbuffer_pullup(buf, (ev_ssize_t)n), n);
		evbuffer_drain(buf, n);
	}
	if (berth_http_stream_pending(job->call) > JOB_STREAM_HIGH && job->out.ev) {
		event_del(job->out.ev);
		static const struct timeval tick = {0, 10000};
		evtimer_add(job->resume_ev, &tick);
	}
}

static void resume_reading(evutil_socket_t fd, short what, void *arg)
{
	struct image_job *job = arg;
	if (job->out.ev && job->call && !berth_http_call_gone(job->call) &&
	    berth_http_stream_pending(job->call) > JOB_STREAM_LOW) {
		static const struct timeval tick = {0, 10000};
		evtimer_add(job->resume_ev, &tick);
		return;
	}
	if (job->out.ev)
		event_add(job->out.ev, NULL);
}

/* pull: each whole progress line goes to the client as it comes (the 200 with the first);
 * error lines ({"status": N, ...}) stay behind for job_error. */
static void relay_lines(struct image_job *job)
{
	struct evbuffer *buf = job->out.buf;
	for (;;) {
		struct evbuffer_ptr nl = evbuffer_search_eol(buf, NULL, NULL, EVBUFFER_EOL_LF);
		if (nl.pos < 0)
			return;
		size_t n = (size_t)nl.pos;
		char *line = (char *)evbuffer_pullup(buf, (ev_ssize_t)n + 1);
		_cleanup_json_ json_t *j = json_loadb(line, n, 0, NULL);
		if (json_is_integer(json_object_get(j, "status"))) {
			evbuffer_add(job->err.buf, line, n + 1);
		} else if (j && job->call && !berth_http_call_gone(job->call)) {
			if (!job->streaming) {
				berth_http_stream_start(job->call, 200, "application/json");
				job->streaming = true;
			}
			berth_http_stream_send(job->call, line, n);
			berth_http_stream_send(job->call, "\r\n", 2);
		}
		evbuffer_drain(buf, n + 1);
	}
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
	struct image_job *job = arg;
	struct job_pipe *p = fd == job->out.fd ? &job->out : &job->err;
	int n = evbuffer_read(p->buf, fd, 1 << 16);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (p == &job->out && job->kind == IMAGE_JOB_SAVE)
			relay(job);
		else if (p == &job->out && job->kind == IMAGE_JOB_PULL)
			relay_lines(job);
		else if (evbuffer_get_length(p->buf) > JOB_OUTPUT_MAX && !job->exited)
			kill(job->pid, SIGKILL); /* a broken worker; the reply says it was killed */
		return;
	}
	pipe_close(p);
	job_maybe_finish(job);
}

/* The client of a save went away: stop the worker (the call is freed after this returns). */
static void save_client_gone(struct berth_http_call *call, void *arg)
{
	struct image_job *job = arg;
	job->call = NULL;
	if (!job->exited)
		kill(job->pid, SIGTERM);
}

/* ---- spawning ---- */

static int spawn(struct image_job *job, int in_fd, int out_fd, int err_fd, struct berth_error *err)
{
	const char *root = image_store_root(job->agent->images);
	size_t n = json_array_size(job->args);
	_cleanup_free_ char **argv = calloc(n + 4, sizeof(*argv));
	if (!argv)
		abort();
	argv[0] = (char *)"berth-image-worker";
	argv[1] = (char *)"--root";
	argv[2] = (char *)root;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = (char *)json_string_value(json_array_get(job->args, i));
	/* A bare environment: the worker needs nothing of the agent's. */
	_cleanup_free_ char *root_env = berth_strdupf("BERTH_ROOT=%s", root);
	char *envp[] = {(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			root_env, NULL};

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	/* Nothing else of the agent's (sockets, container pipes) reaches the worker. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all); /* SIGPIPE too: the agent ignores it */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	bool search;
	const char *path = worker_path(&search);
	int rc = search ? posix_spawnp(&job->pid, path, &fa, &attr, argv, envp)
			: posix_spawn(&job->pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		return berth_err_errno(err, 500, rc, "cannot start %s", path);
	job->pidfd = (int)syscall(SYS_pidfd_open, job->pid, 0);
	if (job->pidfd < 0) {
		int saved = errno;
		kill(job->pid, SIGKILL);
		waitpid(job->pid, NULL, 0); /* just killed: returns at once */
		return berth_err_errno(err, 500, saved, "pidfd_open");
	}
	return 0;
}

static int job_launch(struct image_job *job, struct berth_error *err)
{
	struct event_base *base = job->agent->base;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	bool feed = job->kind != IMAGE_JOB_SAVE;
	if ((feed && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		berth_err_errno(err, 500, errno, "pipe");
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return -1;
	}
	int rc = spawn(job, in[0], out[1], errp[1], err);
	if (feed)
		close(in[0]);
	close(out[1]);
	close(errp[1]);
	job->in_fd = in[1];
	job->out.fd = out[0];
	job->err.fd = errp[0];
	if (rc < 0)
		return -1;
	int fds[] = {job->in_fd, job->out.fd, job->err.fd};
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	job->exit_ev = event_new(base, job->pidfd, EV_READ | EV_PERSIST, job_exited, job);
	job->out.ev = event_new(base, job->out.fd, EV_READ | EV_PERSIST, on_output, job);
	job->err.ev = event_new(base, job->err.fd, EV_READ | EV_PERSIST, on_output, job);
	job->resume_ev = evtimer_new(base, resume_reading, job);
	if (feed)
		job->in_ev = event_new(base, job->in_fd, EV_WRITE | EV_PERSIST, on_stdin, job);
	if (!job->exit_ev || !job->out.ev || !job->err.ev || !job->resume_ev ||
	    (feed && !job->in_ev))
		abort();
	jobs_running++;
	event_add(job->exit_ev, NULL);
	event_add(job->out.ev, NULL);
	event_add(job->err.ev, NULL);
	if (feed)
		event_add(job->in_ev, NULL);
	if (job->kind == IMAGE_JOB_SAVE || job->kind == IMAGE_JOB_PULL)
		berth_http_stream_on_close(job->call, save_client_gone, job);
	return 0;
}

void image_job_start(struct image_job *job)
{
	struct berth_error err = {0};
	if (job_launch(job, &err) < 0) {
		if (job->pid > 0 && job->pidfd < 0)
			job->pid = -1;
		log_error("image %s: %s", job_commands[job->kind], err.msg);
		berth_http_reply_error(job->call, &err);
		image_job_free(job);
	}
}
