/* Following compose containers' logs (see compose_follow.h): the 8-byte frames of the
 * agent's log stream cut into lines, each printed with its container's prefix. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/http_client.h"
#include "compose_follow.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int prefix_width;
static bool quiet; /* aborting: compose prints no more log lines */

struct compose_follower {
	struct cli *cli;
	char id[65];
	char prefix[128];
	char query[128];
	unsigned char hdr[8];
	size_t hdr_have, remaining;
	int stream;
	char *line[3];
	size_t line_len[3];
	pthread_t thread;
	bool done;
	bool no_prefix;
};

static void emit(struct compose_follower *f, int stream, const char *text, size_t len)
{
	pthread_mutex_lock(&out_lock);
	FILE *out = stream == 2 ? stderr : stdout;
	if (quiet)
		;
	else if (f->no_prefix)
		fprintf(out, "%.*s\n", (int)len, text);
	else
		fprintf(out, "%-*s | %.*s\n", prefix_width, f->prefix, (int)len, text);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
}

static void take(struct compose_follower *f, int stream, const char *data, size_t len)
{
	int s = stream == 2 ? 2 : 1;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (!nl) {
			f->line[s] = realloc(f->line[s], f->line_len[s] + n + 1);
			memcpy(f->line[s] + f->line_len[s], data, n);
			f->line_len[s] += n;
			return;
		}
		if (f->line_len[s]) {
			f->line[s] = realloc(f->line[s], f->line_len[s] + n + 1);
			memcpy(f->line[s] + f->line_len[s], data, n);
			emit(f, s, f->line[s], f->line_len[s] + n);
			f->line_len[s] = 0;
		} else {
			emit(f, s, data, n);
		}
		data += n + 1;
		len -= n + 1;
	}
}

/* The 8-byte frame headers of a non-tty log stream. */
static int on_data(const char *data, size_t len, void *arg)
{
	struct compose_follower *f = arg;
	while (len) {
		if (f->remaining == 0) {
			size_t want = 8 - f->hdr_have, n = len < want ? len : want;
			memcpy(f->hdr + f->hdr_have, data, n);
			f->hdr_have += n;
			data += n;
			len -= n;
			if (f->hdr_have < 8)
				return 0;
			f->hdr_have = 0;
			f->stream = f->hdr[0];
			f->remaining = ((size_t)f->hdr[4] << 24) | ((size_t)f->hdr[5] << 16) |
				       ((size_t)f->hdr[6] << 8) | f->hdr[7];
			continue;
		}
		size_t n = len < f->remaining ? len : f->remaining;
		take(f, f->stream, data, n);
		f->remaining -= n;
		data += n;
		len -= n;
	}
	return 0;
}

static void *follow_thread(void *arg)
{
	struct compose_follower *f = arg;
	char path[512];
	struct berth_error err = {0};
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&%s", f->id, f->query);
	if (cli_api_stream(f->cli, "GET", path, on_data, f, &err) < 0 && err.status != 404) {
		pthread_mutex_lock(&out_lock);
		fprintf(stderr, "%s: %s\n", f->prefix, err.msg);
		pthread_mutex_unlock(&out_lock);
	}
	for (int s = 1; s <= 2; s++)
		if (f->line_len[s])
			emit(f, s, f->line[s], f->line_len[s]);
	berth_http_client_thread_cleanup();
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

void compose_follow_widen(const char *prefix)
{
	pthread_mutex_lock(&out_lock);
	if ((int)strlen(prefix) + 1 > prefix_width)
		prefix_width = (int)strlen(prefix) + 1;
	pthread_mutex_unlock(&out_lock);
}

void compose_follow_start(struct compose_followers *s, const char *id, const char *prefix,
			  const char *query)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->f[i]->id, id) && !__atomic_load_n(&s->f[i]->done, __ATOMIC_ACQUIRE))
			return; /* still streaming */
	if (s->n >= COMPOSE_FOLLOW_MAX)
		return;
	struct compose_follower *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->cli = s->cli;
	f->no_prefix = s->no_prefix;
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->prefix, sizeof(f->prefix), "%s", prefix);
	snprintf(f->query, sizeof(f->query), "%s%s%s", query, s->follow ? "&follow=1" : "",
		 s->timestamps ? "&timestamps=1" : "");
	compose_follow_widen(prefix);
	s->f[s->n++] = f;
	pthread_create(&f->thread, NULL, follow_thread, f);
}

void compose_follow_wait(struct compose_followers *s, const char *id)
{
	for (int i = 0; i < 200; i++) {
		bool busy = false;
		for (size_t k = 0; k < s->n; k++)
			busy |= !strcmp(s->f[k]->id, id) &&
				!__atomic_load_n(&s->f[k]->done, __ATOMIC_ACQUIRE);
		if (!busy)
			return;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
}

void compose_follow_say(const char *line, bool be_quiet)
{
	pthread_mutex_lock(&out_lock);
	fprintf(stdout, "%s\n", line);
	fflush(stdout);
	quiet |= be_quiet;
	pthread_mutex_unlock(&out_lock);
}

void compose_follow_join(struct compose_followers *s)
{
	for (size_t k = 0; k < s->n; k++) {
		pthread_join(s->f[k]->thread, NULL);
		for (int i = 0; i < 3; i++)
			free(s->f[k]->line[i]);
		free(s->f[k]);
	}
	s->n = 0;
}
