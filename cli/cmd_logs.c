/* berth logs: the container's json-file log as a (demultiplexed) stream, optionally followed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/duration.h"
#include "cli.h"
#include "output.h"

enum { F_FOLLOW, F_TAIL, F_TIMESTAMPS, F_SINCE, F_UNTIL, F_DETAILS };
static const struct cli_flag logs_flags[] = {
    [F_FOLLOW] = {"follow", 'f', CLI_BOOL, NULL, "Follow log output"},
    [F_TAIL] = {"tail", 'n', CLI_STRING, "string",
		"Number of lines to show from the end of the logs (default \"all\")"},
    [F_TIMESTAMPS] = {"timestamps", 't', CLI_BOOL, NULL, "Show timestamps"},
    [F_SINCE] = {"since", 0, CLI_STRING, "string",
		 "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
		 "\"42m\" for 42 minutes)"},
    [F_UNTIL] = {"until", 0, CLI_STRING, "string",
		 "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
		 "\"42m\" for 42 minutes)"},
    [F_DETAILS] = {"details", 0, CLI_BOOL, NULL, "Show extra details provided to logs"},
    {0},
};

/* docker's GetTimestamp: a relative duration or an RFC 3339 time → "seconds.nanoseconds". */
static void timestamp_arg(const char *s, char *out, size_t size)
{
	int64_t d = berth_parse_duration_ns(s);
	char *end;
	strtod(s, &end);
	if (d >= 0 && *end) {
		int64_t t = berth_now_ns() - d;
		snprintf(out, size, "%lld.%09lld", (long long)(t / 1000000000LL),
			 (long long)(t % 1000000000LL));
		return;
	}
	int64_t t = berth_parse_rfc3339(s);
	if (t > 0) {
		snprintf(out, size, "%lld.%09lld", (long long)(t / 1000000000LL),
			 (long long)(t % 1000000000LL));
		return;
	}
	snprintf(out, size, "%s", s);
}

struct logs_sink {
	bool tty;
	struct cli_demux demux;
};

static int logs_cb(const char *data, size_t len, void *arg)
{
	struct logs_sink *s = arg;
	if (s->tty)
		return cli_write_all(STDOUT_FILENO, data, len) < 0;
	return cli_demux_feed(&s->demux, data, len) < 0;
}

static int logs_exec(struct cli *cli, struct cli_args *a)
{
	struct cli_value *v = a->v;
	struct berth_error err = {0};
	char path[2048];
	char *e = cli_escape(a->pos[0]);
	snprintf(path, sizeof(path), "/containers/%s/json", e);
	free(e);
	json_t *info = NULL;
	if (cli_api(cli, "GET", path, NULL, &info, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	struct logs_sink sink = {
	    .tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty")),
	};
	cli_demux_init(&sink.demux, STDOUT_FILENO, STDERR_FILENO);
	char *tail = cli_escape(v[F_TAIL].s ? v[F_TAIL].s : "all");
	int n = snprintf(path, sizeof(path), "/containers/%s/logs?stderr=1&stdout=1&tail=%s",
			 json_string_value(json_object_get(info, "Id")), tail);
	free(tail);
	json_decref(info);
	if (v[F_FOLLOW].b)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "&follow=1");
	if (v[F_TIMESTAMPS].b)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "&timestamps=1");
	if (v[F_DETAILS].b)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "&details=1");
	char ts[64];
	if (v[F_SINCE].set) {
		timestamp_arg(v[F_SINCE].s, ts, sizeof(ts));
		n += snprintf(path + n, sizeof(path) - (size_t)n, "&since=%s", ts);
	}
	if (v[F_UNTIL].set) {
		timestamp_arg(v[F_UNTIL].s, ts, sizeof(ts));
		snprintf(path + n, sizeof(path) - (size_t)n, "&until=%s", ts);
	}
	if (cli_api_stream(cli, "GET", path, logs_cb, &sink, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}

const struct cli_command cli_cmd_logs = {
    .name = "logs",
    .usage = "logs [OPTIONS] CONTAINER",
    .summary = "Fetch the logs of a container",
    .flags = logs_flags,
    .min_args = 1,
    .max_args = 1,
    .interspersed = true,
    .exec = logs_exec,
};
