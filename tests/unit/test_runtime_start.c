/* The runtime end to end, without the rest of the agent: runtime_start and berth-shim on a
 * busybox rootfs, in private namespaces (re-executes itself under unshare; needs root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "berth/fsutil.h"
#include "berth/id.h"
#include "runtime.h"

static char tmp_dir[256], layer_dir[512], shim_path[PATH_MAX], run_dir[512];
static char cgroup_parent[64];

struct result {
	struct event_base *base;
	struct runtime_handle *h;
	char dir[1024];
	char id[65];
	pid_t pid;
	bool started, failed, exited;
	struct berth_error err;
	struct runtime_exit exit;
	char out[65536], errout[65536];
	size_t out_len, err_len;
	/* run after start, from the loop */
	void (*after_start)(struct result *r);
	bool shared_base; /* the pool test's: not freed by finish */
	bool pooled;	  /* the init's parent is a pool shim */
	char check[256];  /* what after_start found */
};

static void on_output(void *arg, int stream, const char *data, size_t len)
{
	struct result *r = arg;
	char *buf = stream == 2 ? r->errout : r->out;
	size_t *n = stream == 2 ? &r->err_len : &r->out_len;
	if (*n + len < sizeof(r->out) - 1) {
		memcpy(buf + *n, data, len);
		*n += len;
		buf[*n] = '\0';
	}
}

static void on_exit_cb(void *arg, const struct runtime_exit *e)
{
	struct result *r = arg;
	r->exited = true;
	r->exit = *e;
	event_base_loopbreak(r->base);
}

static const struct runtime_callbacks cbs = {on_output, on_exit_cb};

static void on_started(void *arg, pid_t pid, const struct berth_error *err)
{
	struct result *r = arg;
	r->started = true;
	r->pid = pid;
	if (err) {
		r->failed = true;
		r->err = *err;
		event_base_loopbreak(r->base);
		return;
	}
	if (r->after_start)
		r->after_start(r);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fail_msg("container did not finish in time");
}

/* A spec for a busybox container; extra (a JSON object text) overrides keys. */
static json_t *make_spec(struct result *r, const char *extra)
{
	berth_id_random(r->id);
	snprintf(r->dir, sizeof(r->dir), "%s/containers/%s", tmp_dir, r->id);
	assert_int_equal(berth_mkdir_p(r->dir, 0700, NULL), 0);
	json_t *spec = json_pack("{s:s,s:[s],s:[],s:s,s:s,s:s}", "id", r->id, "layers", layer_dir,
				 "env", "cwd", "/", "cgroup_parent", cgroup_parent, "log_path", "");
	char log[PATH_MAX + 80];
	snprintf(log, sizeof(log), "%s/%s-json.log", r->dir, r->id);
	json_object_set_new(spec, "log_path", json_string(log));
	json_error_t jerr;
	json_t *x = json_loads(extra, 0, &jerr);
	if (!x)
		fail_msg("bad test spec %s: %s", extra, jerr.text);
	json_object_update(spec, x);
	json_decref(x);
	return spec;
}

static void run_spec(struct result *r, json_t *spec)
{
	if (!r->base)
		r->base = event_base_new();
	else
		r->shared_base = true;
	struct berth_error err = {0};
	int rc = runtime_start(r->base, shim_path, r->dir, run_dir, spec, &cbs, r, on_started,
			       &r->h, &err);
	json_decref(spec);
	if (rc < 0)
		fail_msg("runtime_start: %s", err.msg);
	struct timeval tv = {20, 0};
	struct event *t = evtimer_new(r->base, timeout_cb, NULL);
	evtimer_add(t, &tv);
	event_base_dispatch(r->base);
	event_free(t);
	runtime_release(r->h);
	r->h = NULL;
}

static void run(struct result *r, const char *extra)
{
	run_spec(r, make_spec(r, extra));
}

static void finish(struct result *r)
{
	/* let the reaper and the shim settle, then drop the loop */
	struct timeval tv = {0, 20000};
	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
	if (!r->shared_base)
		event_base_free(r->base);
}

static char *read_all(const char *path)
{
	char *s = NULL;
	if (berth_read_file(path, &s, NULL, NULL) < 0)
		return strdup("");
	return s;
}

static void test_output_log_exit(void **state)
{
	struct result r = {0};
	run(&r,
	    "{\"args\": [\"sh\", \"-c\", \"echo hello; echo oops >&2; printf partial; exit 3\"]}");
	assert_true(r.started);
	assert_false(r.failed);
	assert_true(r.exited);
	assert_int_equal(r.exit.exit_code, 3);
	assert_false(r.exit.oom_killed);
	assert_string_equal(r.out, "hello\npartial");
	assert_string_equal(r.errout, "oops\n");
	char path[PATH_MAX + 100];
	snprintf(path, sizeof(path), "%s/%s-json.log", r.dir, r.id);
	char *log = read_all(path);
	assert_non_null(strstr(log, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\""));
	assert_non_null(strstr(log, "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\""));
	assert_non_null(strstr(log, "{\"log\":\"partial\",\"stream\":\"stdout\""));
	free(log);
	snprintf(path, sizeof(path), "%s/exit.json", r.dir);
	char *ej = read_all(path);
	assert_non_null(strstr(ej, "\"exit_code\":3"));
	assert_non_null(strstr(ej, "\"oom_killed\":false"));
	free(ej);
	/* cgroups are gone */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s/%s", cgroup_parent, r.id);
	assert_int_equal(access(path, F_OK), -1);
	finish(&r);
}

static void test_not_found_127(void **state)
{
	struct result r = {0};
	run(&r, "{\"args\": [\"nosuchcmd\", \"x\"]}");
	assert_true(r.failed);
	assert_int_equal(r.err.exit_code, 127);
	assert_non_null(
	    strstr(r.err.msg, "exec: \"nosuchcmd\": executable file not found in $PATH"));
	char path[PATH_MAX + 20];
	snprintf(path, sizeof(path), "%s/exit.json", r.dir);
	char *ej = read_all(path);
	assert_non_null(strstr(ej, "\"exit_code\":127"));
	free(ej);
	finish(&r);

	struct result r2 = {0};
	run(&r2, "{\"args\": [\"/no/such/file\"]}");
	assert_true(r2.failed);
	assert_int_equal(r2.err.exit_code, 127);
	assert_non_null(strstr(r2.err.msg, "no such file or directory"));
	finish(&r2);
}

static void test_not_executable_126(void **state)
{
	struct result r = {0};
	run(&r, "{\"args\": [\"/etc\"]}");
	assert_true(r.failed);
	assert_int_equal(r.err.exit_code, 126);
	assert_non_null(strstr(r.err.msg, "exec: \"/etc\": is a directory"));
	finish(&r);
	struct result r2 = {0};
	run(&r2, "{\"args\": [\"/etc/passwd\"]}");
	assert_true(r2.failed);
	assert_int_equal(r2.err.exit_code, 126);
	assert_non_null(strstr(r2.err.msg, "permission denied"));
	finish(&r2);
}

static void test_hostname_hosts_env(void **state)
{
	struct result r = {0};
	run(&r,
	    "{\"hostname\": \"box1\", \"env\": [\"FOO=bar\"], \"cwd\": \"/work/dir\","
	    "\"args\": [\"sh\", \"-c\", \"hostname; cat /etc/hostname; grep localhost /etc/hosts;"
	    " echo $FOO $HOME $HOSTNAME; pwd; ip link | grep -c '^[0-9]'; echo $$\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	assert_non_null(strstr(r.out, "box1\nbox1\n127.0.0.1\tlocalhost\n"));
	assert_non_null(strstr(r.out, "bar /root box1\n/work/dir\n1\n1\n"));
	finish(&r);
}

static void test_isolation(void **state)
{
	struct result r = {0};
	run(&r, "{\"args\": [\"sh\", \"-c\", \"wc -c < /proc/timer_list; wc -c < /proc/keys;"
		" ls /proc/acpi | wc -l; ls /sys/firmware | wc -l;"
		" touch /sys/x 2>&1; echo x 2>&1 > /proc/sys/kernel/domainname;"
		" grep -E '^Cap(Bnd|Eff)' /proc/self/status; echo $$; ls /dev | tr '\\n' ' ';"
		" mount | grep -c ' /dev/pts '\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	assert_non_null(strstr(r.out, "0\n0\n0\n0\n"));
	assert_non_null(strstr(r.out, "touch: /sys/x: Read-only file system"));
	assert_non_null(strstr(r.out, "domainname: Read-only file system"));
	assert_non_null(strstr(r.out, "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n1\n"));
	assert_non_null(strstr(r.out, "console") == NULL ? "ok" : NULL);
	assert_non_null(strstr(r.out, "fd full mqueue null ptmx pts random shm stderr stdin stdout "
				      "tty urandom zero"));
	finish(&r);
}

static void test_caps_and_user(void **state)
{
	struct result r = {0};
	run(&r, "{\"cap_add\": [\"NET_ADMIN\"], \"cap_drop\": [\"MKNOD\", \"CAP_KILL\"],"
		"\"args\": [\"grep\", \"CapEff\", \"/proc/self/status\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	/* a80425fb + NET_ADMIN (0x1000) - MKNOD (0x8000000) - KILL (0x20) */
	assert_string_equal(r.out, "CapEff:\t00000000a00435db\n");
	finish(&r);

	struct result r2 = {0};
	run(&r2, "{\"user\": \"nobody\", \"args\": [\"sh\", \"-c\", \"id; grep CapEff "
		 "/proc/self/status; echo $HOME\"]}");
	assert_int_equal(r2.exit.exit_code, 0);
	assert_string_equal(r2.out, "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
				    "CapEff:\t0000000000000000\n/home\n");
	finish(&r2);

	struct result r3 = {0};
	run(&r3, "{\"user\": \"nosuchuser\", \"args\": [\"true\"]}");
	assert_true(r3.failed);
	assert_non_null(strstr(r3.err.msg, "unable to find user nosuchuser: no matching entries in "
					   "passwd file"));
	finish(&r3);

	struct result r4 = {0};
	run(&r4, "{\"user\": \"33:0\", \"cap_drop\": [\"ALL\"], \"args\": [\"id\"]}");
	assert_string_equal(r4.out, "uid=33(www-data) gid=0(root) groups=0(root)\n");
	finish(&r4);
}

static void test_oom_killed(void **state)
{
	struct result r = {0};
	run(&r, "{\"memory\": 8388608, \"args\": [\"sh\", \"-c\","
		" \"x=$(head -c 67108864 /dev/zero | tr '\\\\0' a); echo survived\"]}");
	assert_true(r.exited);
	assert_int_equal(r.exit.exit_code, 137);
	assert_true(r.exit.oom_killed);
	finish(&r);
}

static void test_pids_limit(void **state)
{
	struct result r = {0};
	run(&r, "{\"pids_limit\": 4, \"args\": [\"sh\", \"-c\","
		" \"for i in 1 2 3 4 5 6; do sleep 1 & done 2>&1; wait\"]}");
	assert_true(r.exited);
	assert_non_null(strstr(r.out, "can't fork"));
	finish(&r);
}

static void kill_term(struct result *r)
{
	struct berth_error err = {0};
	assert_int_equal(runtime_kill(r->h, SIGTERM, &err), 0);
}

static void test_init_forwards_and_reaps(void **state)
{
	struct result r = {0};
	run(&r, "{\"init\": true, \"args\": [\"sh\", \"-c\", \"(sleep 0.1 &); sleep 0.3;"
		" ps -o pid,stat,comm | grep -c ' Z '; ps -o pid,comm | grep -c '1 init'\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	assert_string_equal(r.out, "0\n1\n");
	finish(&r);

	struct result r2 = {0};
	r2.after_start = kill_term;
	run(&r2, "{\"init\": true, \"args\": [\"sleep\", \"30\"]}");
	assert_true(r2.exited);
	assert_int_equal(r2.exit.exit_code, 143);
	finish(&r2);
}

static void release_now(struct result *r)
{
	runtime_release(r->h);
	r->h = NULL;
	event_base_loopbreak(r->base);
}

static void test_adopt(void **state)
{
	struct result r = {0};
	r.after_start = release_now;
	json_t *spec = make_spec(&r, "{\"args\": [\"sh\", \"-c\", \"echo a; sleep 0.5; echo b;"
				     " exit 7\"]}");
	run_spec(&r, spec);
	assert_true(r.started);
	assert_false(r.exited);
	/* the agent is "gone"; a new one adopts the running container */
	struct runtime_exit ex = {0};
	pid_t pid = 0;
	struct berth_error err = {0};
	int rc = runtime_adopt(r.base, r.dir, run_dir, &cbs, &r, &r.h, &pid, &ex, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(pid, r.pid);
	struct timeval tv = {10, 0};
	event_base_loopexit(r.base, &tv);
	event_base_dispatch(r.base);
	assert_true(r.exited);
	assert_int_equal(r.exit.exit_code, 7);
	assert_non_null(strstr(r.out, "b\n"));
	runtime_release(r.h);
	finish(&r);

	/* exited while nobody was connected: exit.json */
	struct result r2 = {0};
	r2.after_start = release_now;
	run(&r2, "{\"args\": [\"sh\", \"-c\", \"exit 5\"]}");
	usleep(300000);
	rc = runtime_adopt(r2.base, r2.dir, run_dir, &cbs, &r2, &r2.h, &pid, &ex, &err);
	assert_int_equal(rc, 1);
	assert_null(r2.h);
	assert_int_equal(ex.exit_code, 5);
	finish(&r2);
}

static void write_ping(struct result *r)
{
	runtime_write_stdin(r->h, "ping\n", 5);
	runtime_close_stdin(r->h);
}

/* Stdin nobody reads must not hold up a kill. */
static void flood_then_kill(struct result *r)
{
	static char junk[300000];
	memset(junk, 'j', sizeof(junk));
	runtime_write_stdin(r->h, junk, sizeof(junk));
	struct berth_error err = {0};
	assert_int_equal(runtime_kill(r->h, SIGKILL, &err), 0);
}

static void test_stdin_and_tty(void **state)
{
	struct result r0 = {0};
	r0.after_start = flood_then_kill;
	run(&r0, "{\"stdin\": true, \"args\": [\"sleep\", \"30\"]}");
	assert_true(r0.exited);
	assert_int_equal(r0.exit.exit_code, 137);
	finish(&r0);

	struct result r = {0};
	r.after_start = write_ping;
	run(&r, "{\"stdin\": true, \"args\": [\"cat\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	assert_string_equal(r.out, "ping\n");
	finish(&r);

	struct result r2 = {0};
	run(&r2, "{\"tty\": true, \"console_size\": [33, 101], \"args\": [\"sh\", \"-c\", \"tty;"
		 " echo err >&2; stty size\"]}");
	assert_int_equal(r2.exit.exit_code, 0);
	assert_string_equal(r2.out, "/dev/pts/0\r\nerr\r\n33 101\r\n");
	finish(&r2);
}

/* A raw-mode terminal nobody reads: stdin stays pending when the container exits. The shim
 * must still read the agent's ACK behind it and go, not wait for a hang-up (or 60 s). */
static void flood_tty(struct result *r)
{
	static char junk[1500000]; /* more than a pty buffers (640 KB) */
	memset(junk, 'j', sizeof(junk));
	usleep(100000); /* stty raw first */
	runtime_write_stdin(r->h, junk, sizeof(junk));
}

static void test_tty_stdin_pending_at_exit(void **state)
{
	struct result r = {0};
	r.after_start = flood_tty;
	json_t *spec = make_spec(&r, "{\"tty\": true, \"stdin\": true, \"args\": [\"sh\", \"-c\","
				     " \"stty raw -echo; sleep 0.5\"]}");
	r.base = event_base_new();
	struct berth_error err = {0};
	assert_int_equal(runtime_start(r.base, shim_path, r.dir, run_dir, spec, &cbs, &r,
				       on_started, &r.h, &err),
			 0);
	json_decref(spec);
	struct timeval tv = {10, 0};
	event_base_loopexit(r.base, &tv);
	event_base_dispatch(r.base);
	assert_true(r.exited);
	/* still connected: the ACK is the shim's only reason to go */
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/shims/%.16s.sock", run_dir, r.id);
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		struct timeval step = {0, 20000};
		event_base_loopexit(r.base, &step);
		event_base_dispatch(r.base);
		gone = access(sock, F_OK) != 0;
	}
	assert_true(gone);
	runtime_release(r.h);
	r.h = NULL;
	finish(&r);
}

static int count_pool_cgroups(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s", cgroup_parent);
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, "pool-", 5) == 0;
	if (d)
		closedir(d);
	return n;
}

/* From the loop after start: the limits are in the container's (renamed) cgroups. */
static void check_pooled(struct result *r)
{
	char path[PATH_MAX], *s;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)r->pid);
	s = read_all(path);
	char *pp = strstr(s, "PPid:");
	int ppid = pp ? atoi(pp + 5) : 0;
	free(s);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", ppid);
	char cmd[256] = "";
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
	if (f)
		fclose(f);
	r->pooled = n > 11 && !strcmp(cmd + 11, "pool"); /* "berth-shim\0pool\0..." */
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s/%s/memory.limit_in_bytes",
		 cgroup_parent, r->id);
	char *mem = read_all(path);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/%s/%s/pids.max", cgroup_parent, r->id);
	char *pids = read_all(path);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/%s/%s/cgroup.procs", cgroup_parent,
		 r->id);
	char *procs = read_all(path);
	snprintf(r->check, sizeof(r->check), "%s %s %d", strtok(mem, "\n") ?: "-",
		 strtok(pids, "\n") ?: "-", atoi(procs) == r->pid);
	free(mem), free(pids), free(procs);
}

static void test_pool(void **state)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		skip(); /* v1 only: v2 cgroups cannot be renamed */
	runtime_pool_stop();
	setenv("BERTH_SHIM_POOL", "2", 1);
	struct event_base *base = event_base_new();
	runtime_pool_start(base, shim_path, run_dir, cgroup_parent);
	struct result r[3] = {{0}};
	for (int i = 0; i < 3; i++) {
		/* until the pool is full and each zygote sits in its cgroups */
		for (int t = 0; t < 150 && count_pool_cgroups() < 2; t++) {
			struct timeval step = {0, 20000};
			event_base_loopexit(base, &step);
			event_base_dispatch(base);
		}
		struct timeval settle = {0, 150000};
		event_base_loopexit(base, &settle);
		event_base_dispatch(base);
		r[i].base = base;
	}
	r[0].after_start = check_pooled;
	run(&r[0], "{\"memory\": 67108864, \"pids_limit\": 5, \"args\": [\"sh\", \"-c\","
		   " \"sleep 0.2; echo hi; exit 3\"]}");
	assert_true(r[0].pooled);
	assert_string_equal(r[0].check, "67108864 5 1");
	assert_int_equal(r[0].exit.exit_code, 3);
	assert_string_equal(r[0].out, "hi\n");
	finish(&r[0]);
	run(&r[1], "{\"args\": [\"nosuchcmd\"]}");
	assert_true(r[1].failed);
	assert_int_equal(r[1].err.exit_code, 127);
	finish(&r[1]);
	r[2].after_start = check_pooled;
	run(&r[2], "{\"tty\": true, \"args\": [\"sh\", \"-c\", \"sleep 0.2; tty; hostname\"]}");
	assert_int_equal(r[2].exit.exit_code, 0);
	char want[64];
	snprintf(want, sizeof(want), "/dev/pts/0\r\n%.12s\r\n", r[2].id);
	assert_string_equal(r[2].out, want);
	finish(&r[2]);
	for (int i = 0; i < 3; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s/%s", cgroup_parent, r[i].id);
		assert_int_equal(access(path, F_OK), -1); /* removed at exit */
	}
	/* at stop every pool shim goes, with its zygote and cgroups */
	runtime_pool_stop();
	assert_int_equal(count_pool_cgroups(), 0);
	assert_int_equal(system("pgrep -x berth-pool || pgrep -x berth-zygote"), 256);
	event_base_free(base);
	setenv("BERTH_SHIM_POOL", "0", 1);
}

static void test_readonly_and_binds(void **state)
{
	char src[300];
	snprintf(src, sizeof(src), "%s/vol", tmp_dir);
	mkdir(src, 0755);
	struct result r = {0};
	char spec[4 * PATH_MAX];
	snprintf(
	    spec, sizeof(spec),
	    "{\"readonly_rootfs\": true, \"mounts\": [{\"source\": \"%s\", \"target\": "
	    "\"/data/rw\"}, {\"source\": \"%s\", \"target\": \"/data/ro\", \"readonly\": true}],"
	    "\"args\": [\"sh\", \"-c\", \"touch /x; touch /data/rw/f && echo rw ok;"
	    " touch /data/ro/g; echo hi > /dev/shm/ok && echo shm ok\"]}",
	    src, src);
	run(&r, spec);
	assert_non_null(strstr(r.errout, "touch: /x: Read-only file system"));
	assert_non_null(strstr(r.out, "rw ok\nshm ok\n"));
	assert_non_null(strstr(r.errout, "touch: /data/ro/g: Read-only file system"));
	char f[PATH_MAX + 20];
	snprintf(f, sizeof(f), "%s/f", src);
	assert_int_equal(access(f, F_OK), 0);
	finish(&r);
}

static void test_log_rotation(void **state)
{
	struct result r = {0};
	run(&r, "{\"log_max_size\": 1000, \"log_max_file\": 3, \"args\": [\"sh\", \"-c\","
		" \"i=0; while [ $i -lt 100 ]; do echo line $i; i=$((i+1)); done\"]}");
	assert_int_equal(r.exit.exit_code, 0);
	char path[PATH_MAX + 100];
	snprintf(path, sizeof(path), "%s/%s-json.log.1", r.dir, r.id);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s-json.log.2", r.dir, r.id);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s-json.log.3", r.dir, r.id);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%s-json.log", r.dir, r.id);
	char *log = read_all(path);
	assert_non_null(strstr(log, "line 99\\n"));
	free(log);
	finish(&r);
}

struct exec_result {
	struct event_base *base;
	char out[4096];
	size_t len;
	int code;
	bool done;
};

static void exec_output(void *arg, int stream, const char *data, size_t len)
{
	struct exec_result *x = arg;
	if (x->len + len < sizeof(x->out)) {
		memcpy(x->out + x->len, data, len);
		x->len += len;
	}
}

static void exec_exit(void *arg, int code)
{
	struct exec_result *x = arg;
	x->code = code;
	x->done = true;
	event_base_loopbreak(x->base);
}

static const struct runtime_exec_callbacks exec_cbs = {exec_output, exec_exit};

static void run_exec(struct result *r, const char *spec_text, struct exec_result *x)
{
	x->base = r->base;
	json_t *spec = json_loads(spec_text, 0, NULL);
	struct runtime_exec *e = NULL;
	pid_t pid;
	struct berth_error err = {0};
	if (runtime_exec_start(r->base, r->pid, r->dir, spec, &exec_cbs, x, &e, &pid, &err) < 0)
		fail_msg("exec: %s", err.msg);
	json_decref(spec);
	struct timeval tv = {10, 0};
	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
	runtime_exec_free(e);
	assert_true(x->done);
}

static void test_exec(void **state)
{
	struct result r = {0};
	r.after_start = release_now;
	run(&r, "{\"hostname\": \"exechost\", \"args\": [\"sleep\", \"30\"]}");
	struct exec_result x = {0};
	run_exec(&r,
		 "{\"args\": [\"sh\", \"-c\", \"hostname; echo $$; id -u; pwd; ls /proc |"
		 " grep -c '^[0-9]'\"], \"env\": [], \"cwd\": \"/tmp\"}",
		 &x);
	assert_int_equal(x.code, 0);
	x.out[x.len] = '\0';
	/* its own PID in the container's namespace, after the container's init (1) */
	assert_non_null(strstr(x.out, "exechost\n"));
	assert_non_null(strstr(x.out, "0\n/tmp\n"));
	/* a terminal of the container's own devpts */
	struct exec_result t = {0};
	run_exec(&r, "{\"tty\": true, \"args\": [\"sh\", \"-c\", \"tty; ls /dev/pts\"]}", &t);
	assert_int_equal(t.code, 0);
	t.out[t.len] = '\0';
	assert_string_equal(t.out, "/dev/pts/0\r\n0     ptmx\r\n");
	struct exec_result y = {0};
	run_exec(&r, "{\"args\": [\"nosuch\"]}", &y);
	assert_int_equal(y.code, 127);
	y.out[y.len] = '\0';
	assert_non_null(strstr(y.out, "executable file not found in $PATH"));
	/* clean up the container */
	kill(r.pid, SIGKILL);
	pid_t pid;
	struct runtime_exit ex;
	struct berth_error err = {0};
	usleep(100000);
	if (runtime_adopt(r.base, r.dir, run_dir, &cbs, &r, &r.h, &pid, &ex, &err) == 0) {
		struct timeval tv = {5, 0};
		event_base_loopexit(r.base, &tv);
		event_base_dispatch(r.base);
		runtime_release(r.h);
	}
	finish(&r);
}

/* The shim is in its own session: killing the agent's process group does not reach it. */
static void check_session(struct result *r)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d))) {
		char path[300], cmd[4096] = "";
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0 || strcmp(cmd, "berth-shim") != 0 || !memmem(cmd, (size_t)n, r->id, 64))
			continue;
		/* the shim, and the --init (a fork of it, never exec'd) */
		pid_t pid = atoi(de->d_name);
		if (getsid(pid) == getsid(0) || getpgid(pid) == getpgid(0))
			found = -100;
		found++;
	}
	closedir(d);
	assert_true(found >= 1);
	kill_term(r);
}

static void test_shim_detached(void **state)
{
	struct result r = {0};
	r.after_start = check_session;
	run(&r, "{\"init\": true, \"args\": [\"sleep\", \"30\"]}");
	assert_true(r.exited);
	finish(&r);
}

static void test_network_modes(void **state)
{
	char cmd[1024];
	snprintf(
	    cmd, sizeof(cmd),
	    "touch %s/netns && unshare --net=%s/netns true && nsenter --net=%s/netns ip link add "
	    "joined0 type veth peer name joined1 && ip link add hostveth0 type veth peer name "
	    "hostveth1",
	    tmp_dir, tmp_dir, tmp_dir);
	assert_int_equal(system(cmd), 0);
	struct result r = {0};
	char spec[1024];
	snprintf(spec, sizeof(spec),
		 "{\"netns\": \"%s/netns\", \"args\": [\"sh\", \"-c\", \"ip -o link | cut -d: -f2;"
		 " ls /sys/class/net | tr '\\\\n' ' '\"]}",
		 tmp_dir);
	run(&r, spec);
	assert_int_equal(r.exit.exit_code, 0);
	assert_non_null(strstr(r.out, " joined0@joined1\n"));
	assert_non_null(strstr(r.out, "joined0 joined1 lo "));
	finish(&r);

	struct result r2 = {0};
	run(&r2, "{\"network_mode\": \"host\", \"args\": [\"sh\", \"-c\", \"ip -o link | grep -c "
		 "hostveth\"]}");
	assert_string_equal(r2.out, "2\n"); /* hostveth0 and its peer */
	finish(&r2);

	struct result r3 = {0};
	run(&r3, "{\"network_mode\": \"bridge\", \"args\": [\"sh\", \"-c\", \"ip -o link | cut "
		 "-d: -f2; ip -o addr show lo | grep -c 127.0.0.1\"]}");
	assert_string_equal(r3.out, " lo\n1\n");
	finish(&r3);
	assert_int_equal(system("ip link del hostveth0"), 0);
}

static int setup(void **state)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/berth-rt-test.XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	mount("tmpfs", tmp_dir, "tmpfs", 0, "mode=0755");
	snprintf(layer_dir, sizeof(layer_dir), "%s/layer", tmp_dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp_dir);
	char rnd[65];
	berth_id_random(rnd);
	snprintf(cgroup_parent, sizeof(cgroup_parent), "berth-test-rt-%.8s", rnd);
	mkdir(layer_dir, 0755);
	mkdir(run_dir, 0755);
	char src[1024];
	snprintf(src, sizeof(src), "%s", __FILE__);
	char cmd[4 * PATH_MAX];
	snprintf(cmd, sizeof(cmd),
		 "%s/../../scripts/mkbusybox-rootfs.sh %s/bb.tar >/dev/null && "
		 "tar -xf %s/bb.tar -C %s",
		 dirname(src), tmp_dir, tmp_dir, layer_dir);
	if (system(cmd) != 0)
		return -1;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(shim_path, sizeof(shim_path), "%s/../bin/berth-shim", dirname(self));
	runtime_set_shim_path(shim_path);
	return access(shim_path, X_OK);
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 200];
	snprintf(
	    cmd, sizeof(cmd),
	    "for d in /sys/fs/cgroup/*/%s; do [ -d $d ] && find $d -depth -type d -exec rmdir {} +;"
	    " done; true",
	    cgroup_parent);
	if (system(cmd) != 0)
		return -1;
	umount2(tmp_dir, MNT_DETACH);
	rmdir(tmp_dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		printf("skipped: test_runtime_start needs root (namespaces, mounts, cgroups)\n");
		return 0;
	}
	if (!getenv("BERTH_RT_TEST_INNER")) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		setenv("BERTH_RT_TEST_INNER", "1", 1);
		execlp("unshare", "unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
		       self, NULL);
		perror("unshare");
		return 1;
	}
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/* The pool is tested on its own (test_pool); the rest start their shims directly. */
	setenv("BERTH_SHIM_POOL", "0", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_output_log_exit),
	    cmocka_unit_test(test_not_found_127),
	    cmocka_unit_test(test_not_executable_126),
	    cmocka_unit_test(test_hostname_hosts_env),
	    cmocka_unit_test(test_isolation),
	    cmocka_unit_test(test_caps_and_user),
	    cmocka_unit_test(test_oom_killed),
	    cmocka_unit_test(test_pids_limit),
	    cmocka_unit_test(test_init_forwards_and_reaps),
	    cmocka_unit_test(test_adopt),
	    cmocka_unit_test(test_stdin_and_tty),
	    cmocka_unit_test(test_readonly_and_binds),
	    cmocka_unit_test(test_log_rotation),
	    cmocka_unit_test(test_exec),
	    cmocka_unit_test(test_shim_detached),
	    cmocka_unit_test(test_network_modes),
	    cmocka_unit_test(test_tty_stdin_pending_at_exit),
	    cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
