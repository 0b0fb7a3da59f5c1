/* Unit tests for the sliced json-file log reader: every slice size gives the bytes a one-shot
 * read gives, with tail, since/until, stream filters, rotated files, cut and broken lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "berth/duration.h"
#include "log_reader.h"

#define N_LINES 240
#define T0 1700000000000000000LL

struct line {
	int stream;
	int64_t ts;
	char text[300];
};

static struct line lines[N_LINES];
static char dir[64];
static char path[128];

/* Lines of varied lengths (some longer than the small slices), both streams, spread over
 * log.2, log.1 and log; garbage lines between them that must be skipped. */
static int setup(void **state)
{
	strcpy(dir, "/tmp/test_log_reader.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c-json.log", dir);
	FILE *f = NULL;
	for (int i = 0; i < N_LINES; i++) {
		if (i % 80 == 0) {
			if (f)
				fclose(f);
			char name[160];
			int gen = 2 - i / 80;
			if (gen)
				snprintf(name, sizeof(name), "%s.%d", path, gen);
			else
				snprintf(name, sizeof(name), "%s", path);
			f = fopen(name, "w");
			assert_non_null(f);
		}
		struct line *l = &lines[i];
		l->stream = i % 3 == 0 ? 2 : 1;
		l->ts = T0 + (int64_t)i * 1000000;
		int len = snprintf(l->text, sizeof(l->text), "line %d ", i);
		for (int k = 0; k < (i * 37) % 250; k++)
			l->text[len++] = (char)('a' + k % 26);
		l->text[len++] = '\n';
		l->text[len] = '\0';
		char stamp[48];
		berth_format_rfc3339(l->ts, stamp, sizeof(stamp));
		json_t *j = json_pack("{s:s, s:s, s:s}", "log", l->text, "stream",
				      l->stream == 2 ? "stderr" : "stdout", "time", stamp);
		char *s = json_dumps(j, JSON_COMPACT);
		bool last = i == N_LINES - 1;
		fprintf(f, "%s%s", s, last ? "" : "\n"); /* the very last line has no newline */
		if (i % 50 == 7)
			fprintf(f, "{not json\n\n");
		free(s);
		json_decref(j);
	}
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* What the reader must give: the model's lines, filtered, the last tail of them. */
static char *expected(const struct log_reader_opts *o, size_t *len)
{
	struct evbuffer *out = evbuffer_new();
	int take[N_LINES], n = 0;
	for (int i = 0; i < N_LINES; i++) {
		struct line *l = &lines[i];
		if ((l->stream == 1 && !o->want_stdout) || (l->stream == 2 && !o->want_stderr))
			continue;
		if ((o->since_ns && l->ts < o->since_ns) || (o->until_ns && l->ts > o->until_ns))
			continue;
		take[n++] = i;
	}
	int first = o->tail >= 0 && o->tail < n ? n - (int)o->tail : 0;
	for (int k = first; k < n; k++) {
		struct line *l = &lines[take[k]];
		log_frame_add(out, o->tty, l->stream, l->ts, l->text, strlen(l->text),
			      o->timestamps);
	}
	*len = evbuffer_get_length(out);
	char *s = malloc(*len + 1);
	evbuffer_remove(out, s, *len);
	evbuffer_free(out);
	return s;
}

static void check(struct log_reader_opts o)
{
	size_t want_len;
	char *want = expected(&o, &want_len);
	static const size_t slices[] = {1, 2, 7, 64, 333, 4096, 0};
	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
		o.slice = slices[i];
		struct log_reader *r = log_reader_open(path, &o);
		struct evbuffer *out = evbuffer_new();
		int steps = 0;
		while (log_reader_step(r, out) > 0)
			assert_true(++steps < 10000000);
		assert_int_equal(log_reader_step(r, out), 0);
		log_reader_free(r);
		size_t got_len = evbuffer_get_length(out);
		const char *got = (const char *)evbuffer_pullup(out, -1);
		if (got_len != want_len || (want_len && memcmp(got, want, want_len))) {
			fail_msg("slice %zu tail %ld: got %zu bytes, want %zu", slices[i], o.tail,
				 got_len, want_len);
		}
		evbuffer_free(out);
	}
	free(want);
}

static void test_all_and_tails(void **state)
{
	static const long tails[] = {-1, 0, 1, 2, 5, 79, 80, 81, 150, 160, 239, 240, 5000};
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		check((struct log_reader_opts){
		    .want_stdout = true, .want_stderr = true, .tty = true, .tail = tails[i]});
		check((struct log_reader_opts){
		    .want_stdout = true, .want_stderr = true, .tail = tails[i]});
	}
}

static void test_filters(void **state)
{
	for (long tail = -1; tail < 100; tail += 33) {
		check((struct log_reader_opts){.want_stdout = true, .tail = tail});
		check((struct log_reader_opts){.want_stderr = true, .tail = tail, .tty = true});
		check((struct log_reader_opts){.want_stdout = true,
					       .want_stderr = true,
					       .timestamps = true,
					       .tail = tail,
					       .since_ns = T0 + 50 * 1000000LL,
					       .until_ns = T0 + 200 * 1000000LL});
		check((struct log_reader_opts){
		    .want_stdout = true, .want_stderr = true, .tail = tail, .until_ns = T0 - 1});
	}
}

static void test_missing(void **state)
{
	struct log_reader_opts o = {.want_stdout = true, .want_stderr = true, .tail = 3};
	struct log_reader *r = log_reader_open("/nonexistent/x-json.log", &o);
	struct evbuffer *out = evbuffer_new();
	assert_int_equal(log_reader_step(r, out), 0);
	assert_int_equal(evbuffer_get_length(out), 0);
	log_reader_free(r);
	r = log_reader_open(NULL, &o);
	assert_int_equal(log_reader_step(r, out), 0);
	log_reader_free(r);
	evbuffer_free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_and_tails),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
