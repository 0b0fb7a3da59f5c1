/* Unit tests for lib/state_writer.c: coalescing, completion callbacks, drop, and that a reader
 * (or a process killed at any instant) only ever sees whole versions of a file. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/cleanup.h"
#include "berth/fsutil.h"
#include "berth/state_writer.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/var/tmp/berth-writer-XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/berth-writer-XXXXXX");
		assert_non_null(mkdtemp(dir));
	}
	return 0;
}

static int teardown(void **state)
{
	berth_rm_rf(dir, NULL);
	return 0;
}

/* Version n of the file: its number, a body whose length and letter depend on n, the number
 * again. */
static char *version(int n, size_t *len)
{
	size_t body = 1000 + (size_t)(n % 5000);
	char *s = malloc(body + 64);
	assert_non_null(s);
	int h = snprintf(s, 64, "v=%06d;", n);
	memset(s + h, 'a' + n % 26, body);
	*len = (size_t)h + body + (size_t)snprintf(s + h + body, 64, ";end=%06d", n);
	return s;
}

/* -1 unless buf is exactly one whole version; its number otherwise. */
static int whole_version(const char *buf, size_t len)
{
	int n;
	if (sscanf(buf, "v=%06d;", &n) != 1)
		return -1;
	size_t want;
	_cleanup_free_ char *v = version(n, &want);
	return len == want && memcmp(buf, v, len) == 0 ? n : -1;
}

static void count_cb(void *arg, int err)
{
	int *calls = arg;
	if (err == 0)
		calls[0]++;
	else if (err == ECANCELED)
		calls[1]++;
	else
		calls[2]++;
}

static void drain(struct berth_writer *w)
{
	berth_writer_flush(w);
	berth_writer_dispatch(w);
}

/* One thread busy with a big file: 200 versions of another file queued meanwhile are written
 * once (the last), and every caller's callback runs. */
static void test_coalesce(void **state)
{
	struct berth_writer *w = berth_writer_new(1);
	assert_non_null(w);
	char big_path[300], path[300];
	snprintf(big_path, sizeof(big_path), "%s/big", dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	size_t big_len = 32 << 20;
	char *big = calloc(1, big_len);
	assert_non_null(big);
	int calls[3] = {0};
	berth_writer_put(w, big_path, big, big_len, 0600, 0, count_cb, calls);
	free(big);
	for (int i = 0; i < 200; i++) {
		size_t len;
		_cleanup_free_ char *v = version(i, &len);
		berth_writer_put(w, path, v, len, 0600, 0, count_cb, calls);
	}
	drain(w);
	assert_int_equal(calls[0], 201);
	assert_int_equal(calls[1] + calls[2], 0);
	assert_int_equal(berth_writer_written(w), 2);
	_cleanup_free_ char *got = NULL;
	size_t len = 0;
	assert_int_equal(berth_read_file(path, &got, &len, NULL), 0);
	assert_int_equal(whole_version(got, len), 199);
	/* Nothing pending: when_written answers at the next dispatch. */
	berth_writer_when_written(w, path, count_cb, calls);
	assert_int_equal(berth_writer_dispatch(w), 1);
	assert_int_equal(calls[0], 202);
	berth_writer_free(w);
}

/* drop: queued versions under a prefix are forgotten, their callbacks get ECANCELED; others
 * are written. */
static void test_drop(void **state)
{
	struct berth_writer *w = berth_writer_new(1);
	char big_path[300], a[300], b[300];
	snprintf(big_path, sizeof(big_path), "%s/big2", dir);
	snprintf(a, sizeof(a), "%s/a/state.json", dir);
	snprintf(b, sizeof(b), "%s/b.json", dir);
	assert_int_equal(berth_mkdir_p(dir, 0700, NULL), 0);
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/a", dir);
	assert_int_equal(berth_mkdir_p(sub, 0700, NULL), 0);
	size_t big_len = 32 << 20;
	char *big = calloc(1, big_len);
	int calls[3] = {0};
	berth_writer_put(w, big_path, big, big_len, 0600, 0, NULL, NULL);
	free(big);
	berth_writer_put(w, a, "{}", 2, 0600, 0, count_cb, calls);
	berth_writer_put(w, b, "{}", 2, 0600, 0, count_cb, calls);
	berth_writer_drop(w, sub);
	drain(w);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 1);
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(access(b, F_OK), 0);
	berth_writer_free(w);
}

struct reader {
	const char *path;
	volatile bool stop;
	int reads, bad, last;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (!r->stop) {
		char *buf = NULL;
		size_t len = 0;
		if (berth_read_file(r->path, &buf, &len, NULL) == 0) {
			int n = whole_version(buf, len);
			r->reads++;
			if (n < 0 || n < r->last)
				r->bad++;
			else
				r->last = n;
		}
		free(buf);
	}
	return NULL;
}

/* 2,000 versions of one file from four threads while another thread reads it: every read is
 * a whole version, never older than the one before, and the last on disk is the last put. */
static void test_reader_sees_whole_versions(void **state)
{
	struct berth_writer *w = berth_writer_new(4);
	char path[300];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	size_t len;
	_cleanup_free_ char *v0 = version(0, &len);
	assert_int_equal(berth_write_atomic(path, v0, len, 0600, NULL), 0);
	struct reader r = {.path = path};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	int calls[3] = {0};
	for (int i = 1; i <= 2000; i++) {
		_cleanup_free_ char *v = version(i, &len);
		berth_writer_put(w, path, v, len, 0600, i % 2 ? BERTH_WRITE_NO_SYNC : 0, count_cb,
				 calls);
		if (i % 100 == 0)
			berth_writer_dispatch(w);
	}
	drain(w);
	r.stop = true;
	pthread_join(t, NULL);
	assert_int_equal(calls[0], 2000);
	assert_true(r.reads > 0);
	assert_int_equal(r.bad, 0);
	_cleanup_free_ char *got = NULL;
	assert_int_equal(berth_read_file(path, &got, &len, NULL), 0);
	assert_int_equal(whole_version(got, len), 2000);
	assert_true(berth_writer_written(w) <= 2000);
	berth_writer_free(w);
}

/* A process writing through the writer killed (SIGKILL) at 20 different instants: the file is
 * always one whole version. */
static void test_killed_writer_leaves_whole_file(void **state)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/killed.json", dir);
	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct berth_writer *w = berth_writer_new(2);
			for (int i = 1;; i++) {
				size_t len;
				char *v = version(i, &len);
				berth_writer_put(w, path, v, len, 0600, 0, NULL, NULL);
				free(v);
				if (i % 50 == 0)
					berth_writer_flush(w);
			}
		}
		struct timespec ts = {0, 2000000 + round * 1500000};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		_cleanup_free_ char *got = NULL;
		size_t len = 0;
		if (berth_read_file(path, &got, &len, NULL) < 0)
			continue; /* killed before the first rename */
		assert_true(whole_version(got, len) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coalesce),
	    cmocka_unit_test(test_drop),
	    cmocka_unit_test(test_reader_sees_whole_versions),
	    cmocka_unit_test(test_killed_writer_leaves_whole_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
