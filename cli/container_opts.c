/* The flags of run/create and the create body docker sends for them (Config + HostConfig). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/compose.h"
#include "berth/duration.h"
#include "berth/fsutil.h"
#include "berth/run_opts.h"
#include "container_opts.h"

const struct cli_flag cli_container_flags[] = {
    [CO_ATTACH] = {"attach", 'a', CLI_LIST, "list", "Attach to STDIN, STDOUT or STDERR"},
    [CO_DETACH] = {"detach", 'd', CLI_BOOL, NULL,
		   "Run container in background and print container ID"},
    [CO_TTY] = {"tty", 't', CLI_BOOL, NULL, "Allocate a pseudo-TTY"},
    [CO_INTERACTIVE] = {"interactive", 'i', CLI_BOOL, NULL, "Keep STDIN open even if not attached"},
    [CO_RM] = {"rm", 0, CLI_BOOL, NULL, "Automatically remove the container when it exits"},
    [CO_NAME] = {"name", 0, CLI_STRING, "string", "Assign a name to the container"},
    [CO_ENV] = {"env", 'e', CLI_LIST, "list", "Set environment variables"},
    [CO_ENV_FILE] = {"env-file", 0, CLI_LIST, "list", "Read in a file of environment variables"},
    [CO_WORKDIR] = {"workdir", 'w', CLI_STRING, "string", "Working directory inside the container"},
    [CO_USER] = {"user", 'u', CLI_STRING, "string",
		 "Username or UID (format: <name|uid>[:<group|gid>])"},
    [CO_ENTRYPOINT] = {"entrypoint", 0, CLI_STRING, "string",
		       "Overwrite the default ENTRYPOINT of the image"},
    [CO_HOSTNAME] = {"hostname", 'h', CLI_STRING, "string", "Container host name"},
    [CO_LABEL] = {"label", 'l', CLI_LIST, "list", "Set meta data on a container"},
    [CO_VOLUME] = {"volume", 'v', CLI_LIST, "list", "Bind mount a volume"},
    [CO_READ_ONLY] = {"read-only", 0, CLI_BOOL, NULL,
		      "Mount the container's root filesystem as read only"},
    [CO_INIT] = {"init", 0, CLI_BOOL, NULL,
		 "Run an init inside the container that forwards signals and reaps processes"},
    [CO_MEMORY] = {"memory", 'm', CLI_STRING, "bytes", "Memory limit"},
    [CO_CPUS] = {"cpus", 0, CLI_STRING, "decimal", "Number of CPUs"},
    [CO_CPUSET_CPUS] = {"cpuset-cpus", 0, CLI_STRING, "string",
			"CPUs in which to allow execution (0-3, 0,1)"},
    [CO_CPUSET_MEMS] = {"cpuset-mems", 0, CLI_STRING, "string",
			"MEMs in which to allow execution (0-3, 0,1)"},
    [CO_PIDS_LIMIT] = {"pids-limit", 0, CLI_INT, "int",
		       "Tune container pids limit (set -1 for unlimited)"},
    [CO_RESTART] = {"restart", 0, CLI_STRING, "string",
		    "Restart policy to apply when a container exits (default \"no\")"},
    [CO_CAP_ADD] = {"cap-add", 0, CLI_LIST, "list", "Add Linux capabilities"},
    [CO_CAP_DROP] = {"cap-drop", 0, CLI_LIST, "list", "Drop Linux capabilities"},
    [CO_PRIVILEGED] = {"privileged", 0, CLI_BOOL, NULL,
		       "Give extended privileges to this container"},
    [CO_STOP_SIGNAL] = {"stop-signal", 0, CLI_STRING, "string", "Signal to stop the container"},
    [CO_STOP_TIMEOUT] = {"stop-timeout", 0, CLI_INT, "int",
			 "Timeout (in seconds) to stop a container"},
    [CO_LOG_DRIVER] = {"log-driver", 0, CLI_STRING, "string", "Logging driver for the container"},
    [CO_LOG_OPT] = {"log-opt", 0, CLI_LIST, "list", "Log driver options"},
    [CO_HEALTH_CMD] = {"health-cmd", 0, CLI_STRING, "string", "Command to run to check health"},
    [CO_HEALTH_INTERVAL] = {"health-interval", 0, CLI_STRING, "duration",
			    "Time between running the check (ms|s|m|h) (default 0s)"},
    [CO_HEALTH_TIMEOUT] = {"health-timeout", 0, CLI_STRING, "duration",
			   "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"},
    [CO_HEALTH_RETRIES] = {"health-retries", 0, CLI_INT, "int",
			   "Consecutive failures needed to report unhealthy"},
    [CO_HEALTH_START_PERIOD] = {"health-start-period", 0, CLI_STRING, "duration",
				"Start period for the container to initialize before starting "
				"health-retries countdown (ms|s|m|h) (default 0s)"},
    [CO_HEALTH_START_INTERVAL] = {"health-start-interval", 0, CLI_STRING, "duration",
				  "Time between running the check during the start period "
				  "(ms|s|m|h) (default 0s)"},
    [CO_NO_HEALTHCHECK] = {"no-healthcheck", 0, CLI_BOOL, NULL,
			   "Disable any container-specified HEALTHCHECK"},
    [CO_PUBLISH] = {"publish", 'p', CLI_LIST, "list", "Publish a container's port(s) to the host"},
    [CO_PUBLISH_ALL] = {"publish-all", 'P', CLI_BOOL, NULL,
			"Publish all exposed ports to random ports"},
    [CO_EXPOSE] = {"expose", 0, CLI_LIST, "list", "Expose a port or a range of ports"},
    [CO_NETWORK] = {"network", 0, CLI_STRING, "network", "Connect a container to a network"},
    [CO_NET] = {"net", 0, CLI_STRING, "network", "Connect a container to a network"},
    [CO_NETWORK_ALIAS] = {"network-alias", 0, CLI_LIST, "list",
			  "Add network-scoped alias for the container"},
    [CO_IP] = {"ip", 0, CLI_STRING, "string", "IPv4 address (e.g., 172.30.100.104)"},
    [CO_DNS] = {"dns", 0, CLI_LIST, "list", "Set custom DNS servers"},
    [CO_ADD_HOST] = {"add-host", 0, CLI_LIST, "list", "Add a custom host-to-IP mapping (host:ip)"},
    [CO_TMPFS] = {"tmpfs", 0, CLI_LIST, "list", "Mount a tmpfs directory"},
    [CO_SHM_SIZE] = {"shm-size", 0, CLI_STRING, "bytes", "Size of /dev/shm"},
    [CO_ULIMIT] = {"ulimit", 0, CLI_LIST, "ulimit", "Ulimit options"},
    [CO_SIG_PROXY] = {"sig-proxy", 0, CLI_BOOL, NULL,
		      "Proxy received signals to the process (default true)"},
    [CO_PULL] =
	{"pull", 0, CLI_STRING, "string",
	 "Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")"},
    [CO_PLATFORM] = {"platform", 0, CLI_STRING, "string",
		     "Set platform if server is multi-platform capable"},
    [CO_SECURITY_OPT] = {"security-opt", 0, CLI_LIST, "list", "Security Options"},
    [CO_CPU_SHARES] = {"cpu-shares", 'c', CLI_INT, "int", "CPU shares (relative weight)"},
    [CO_MEMORY_SWAP] = {"memory-swap", 0, CLI_STRING, "bytes",
			"Swap limit equal to memory plus swap: '-1' to enable unlimited swap"},
    [CO_MEMORY_RESERVATION] = {"memory-reservation", 0, CLI_STRING, "bytes", "Memory soft limit"},
    [CO_KERNEL_MEMORY] = {"kernel-memory", 0, CLI_STRING, "bytes", "Kernel memory limit"},
    [CO_BLKIO_WEIGHT] = {"blkio-weight", 0, CLI_INT, "uint16",
			 "Block IO (relative weight), between 10 and 1000, or 0 to disable "
			 "(default 0)"},
    [CO_OOM_KILL_DISABLE] = {"oom-kill-disable", 0, CLI_BOOL, NULL, "Disable OOM Killer"},
    [CO_OOM_SCORE_ADJ] = {"oom-score-adj", 0, CLI_INT, "int",
			  "Tune host's OOM preferences (-1000 to 1000)"},
    [CO_MEMORY_SWAPPINESS] = {"memory-swappiness", 0, CLI_INT, "int",
			      "Tune container memory swappiness (0 to 100) (default -1)"},
    [CO_COUNT] = {0},
};

void cli_env_add(json_t *env, const char *spec)
{
	if (strchr(spec, '=')) {
		json_array_append_new(env, json_string(spec));
		return;
	}
	const char *v = getenv(spec);
	if (!v)
		return;
	char *kv;
	if (asprintf(&kv, "%s=%s", spec, v) >= 0) {
		json_array_append_new(env, json_string(kv));
		free(kv);
	}
}

static int env_file(json_t *env, const char *path, struct berth_error *err)
{
	_cleanup_free_ char *data = NULL;
	struct berth_error e = {0};
	if (berth_read_file_max(path, BERTH_ENV_FILE_MAX, true, &data, NULL, &e) < 0)
		return berth_err(err, 400, "env file %s", e.msg);
	for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (!*line || *line == '#')
			continue;
		cli_env_add(env, line);
	}
	return 0;
}

/* Go's strconv.ParseUint(s, 10, 16): digits only, at most 65535. */
static int parse_uint16(const char *s, size_t len, long *out)
{
	if (len == 0)
		return -1;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			return -1;
	}
	*out = v;
	return 0;
}

/* go-connections' nat.ParsePortRange: "8000-8002" or "80" → [lo, hi]. */
static int port_range(const char *s, long *lo, long *hi)
{
	const char *dash = strchr(s, '-');
	if (!dash)
		return parse_uint16(s, strlen(s), lo) < 0 ? -1 : (*hi = *lo, 0);
	const char *second = dash + 1;
	const char *third = strchr(second, '-');
	if (parse_uint16(s, (size_t)(dash - s), lo) < 0 ||
	    parse_uint16(second, third ? (size_t)(third - second) : strlen(second), hi) < 0 ||
	    *hi < *lo)
		return -1;
	return 0;
}

/* nat.SplitProtoPort: "80/udp" → "udp", "80"; "80" → "tcp", "80"; "" or "/x" → "", "". */
static void split_proto_port(char *raw, const char **proto, const char **port)
{
	char *slash = strchr(raw, '/');
	if (!*raw || raw == slash) {
		*proto = *port = "";
		return;
	}
	*port = raw;
	*proto = "tcp";
	if (!slash)
		return;
	*slash = '\0';
	char *rest = slash + 1, *next = strchr(rest, '/');
	if (next)
		*next = '\0';
	if (*rest)
		*proto = rest;
}

static bool ip_literal(const char *ip)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

/* docker's -p, exactly as go-connections' nat.ParsePortSpec (same errors, same order). */
int cli_parse_publish(const char *spec, json_t *exposed, json_t *bindings, struct berth_error *err)
{
	char buf[512], ipbuf[512] = "";
	snprintf(buf, sizeof(buf), "%s", spec);
	/* splitParts: the last part is the container port, the one before the host port, and
	 * everything before that (colons and all) the IP. */
	char *ctr_raw = strrchr(buf, ':'), *host = "", *ip = "";
	if (!ctr_raw) {
		ctr_raw = buf;
	} else {
		*ctr_raw++ = '\0';
		char *h = strrchr(buf, ':');
		if (!h) {
			host = buf;
		} else {
			*h = '\0';
			host = h + 1;
			ip = buf;
		}
	}
	const char *proto, *ctr;
	split_proto_port(ctr_raw, &proto, &ctr);
	if (ip[0] == '[') {
		char *close = strchr(ip, ']');
		if (!close || close[1] != '\0')
			return berth_err(
			    err, 400, "invalid IP address %s: address %s:: missing port in address",
			    ip, ip);
		snprintf(ipbuf, sizeof(ipbuf), "%.*s", (int)(close - ip - 1), ip + 1);
		ip = ipbuf;
	}
	if (*ip && !ip_literal(ip))
		return berth_err(err, 400, "invalid IP address: %s", ip);
	if (!*ctr)
		return berth_err(err, 400, "no port specified: %s<empty>", spec);
	long clo, chi, hlo = 0, hhi = 0;
	if (port_range(ctr, &clo, &chi) < 0)
		return berth_err(err, 400, "invalid containerPort: %s", ctr);
	if (*host && port_range(host, &hlo, &hhi) < 0)
		return berth_err(err, 400, "invalid hostPort: %s", host);
	if (*host && chi - clo != hhi - hlo && chi != clo)
		return berth_err(err, 400,
				 "invalid ranges specified for container and host Ports: %s and %s",
				 ctr, host);
	char lproto[64];
	snprintf(lproto, sizeof(lproto), "%s", proto);
	for (char *p = lproto; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(lproto, "tcp") && strcmp(lproto, "udp") && strcmp(lproto, "sctp"))
		return berth_err(err, 400, "invalid proto: %s", proto);
	for (long i = 0; i <= chi - clo; i++) {
		char key[96], hp[64] = "";
		snprintf(key, sizeof(key), "%ld/%s", clo + i, lproto);
		if (*host)
			snprintf(hp, sizeof(hp), "%ld", hlo + i);
		if (clo == chi && hlo != hhi)
			snprintf(hp, sizeof(hp), "%ld-%ld", hlo, hhi);
		if (!json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
		json_t *list = json_object_get(bindings, key);
		if (!list) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
	}
	return 0;
}

/* docker's --expose: PORT[/PROTO] or a range, never with a host part. */
static int parse_expose(const char *spec, json_t *exposed, struct berth_error *err)
{
	if (strchr(spec, ':'))
		return berth_err(err, 400, "invalid port format for --expose: %s", spec);
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec);
	const char *proto, *port;
	split_proto_port(buf, &proto, &port);
	long lo, hi;
	if (port_range(port, &lo, &hi) < 0)
		return berth_err(err, 400,
				 "invalid range format for --expose: %s, error: strconv.ParseUint: "
				 "parsing \"%s\": invalid syntax",
				 spec, port);
	for (long p = lo; p <= hi; p++) {
		char key[96];
		snprintf(key, sizeof(key), "%ld/%s", p, proto);
		if (!json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
	}
	return 0;
}

static int duration_field(json_t *obj, const char *key, const struct cli_value *v, const char *flag,
			  struct berth_error *err)
{
	if (!v->set)
		return 0;
	int64_t ns = berth_parse_duration_ns(v->s);
	if (ns < 0)
		return berth_err(
		    err, 400,
		    "invalid argument \"%s\" for \"--%s\" flag: time: invalid duration \"%s\"",
		    v->s, flag, v->s);
	json_object_set_new(obj, key, json_integer(ns));
	return 0;
}

static int healthcheck(json_t *config, struct cli_args *a, struct berth_error *err)
{
	struct cli_value *v = a->v;
	bool any = v[CO_HEALTH_CMD].set || v[CO_HEALTH_INTERVAL].set || v[CO_HEALTH_TIMEOUT].set ||
		   v[CO_HEALTH_RETRIES].set || v[CO_HEALTH_START_PERIOD].set ||
		   v[CO_HEALTH_START_INTERVAL].set;
	if (v[CO_NO_HEALTHCHECK].b) {
		if (any)
			return berth_err(err, 400,
					 "--no-healthcheck conflicts with --health-* options");
		json_object_set_new(config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
		return 0;
	}
	if (!any)
		return 0;
	json_t *hc = json_object();
	json_object_set_new(config, "Healthcheck", hc);
	/* berth's probes from outside the container: "CMD-HTTP URL" and "CMD-TCP PORT". */
	const char *cmd = v[CO_HEALTH_CMD].s;
	if (v[CO_HEALTH_CMD].set &&
	    (strncmp(cmd, "CMD-HTTP ", 9) == 0 || strncmp(cmd, "CMD-TCP ", 8) == 0)) {
		const char *arg = strchr(cmd, ' ') + 1;
		while (*arg == ' ')
			arg++;
		json_object_set_new(hc, "Test",
				    json_pack("[s#,s]", cmd, (int)(strchr(cmd, ' ') - cmd), arg));
	} else if (v[CO_HEALTH_CMD].set) {
		json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", cmd));
	}
	if (duration_field(hc, "Interval", &v[CO_HEALTH_INTERVAL], "health-interval", err) < 0 ||
	    duration_field(hc, "Timeout", &v[CO_HEALTH_TIMEOUT], "health-timeout", err) < 0 ||
	    duration_field(hc, "StartPeriod", &v[CO_HEALTH_START_PERIOD], "health-start-period",
			   err) < 0 ||
	    duration_field(hc, "StartInterval", &v[CO_HEALTH_START_INTERVAL],
			   "health-start-interval", err) < 0)
		return -1;
	if (v[CO_HEALTH_RETRIES].set)
		json_object_set_new(hc, "Retries", json_integer(v[CO_HEALTH_RETRIES].n));
	return 0;
}

static int restart_policy(json_t *host, const char *s, bool rm, struct berth_error *err)
{
	char name[64] = "no";
	long max = 0;
	if (s) {
		snprintf(name, sizeof(name), "%s", s);
		char *colon = strchr(name, ':');
		if (colon) {
			*colon = '\0';
			char *end;
			max = strtol(colon + 1, &end, 10);
			if (*end || strcmp(name, "on-failure"))
				return berth_err(err, 400, "invalid restart policy format");
		}
		if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "on-failure") &&
		    strcmp(name, "unless-stopped"))
			return berth_err(err, 400, "invalid restart policy format");
	}
	if (rm && strcmp(name, "no") && strcmp(name, ""))
		return berth_err(err, 400, "Conflicting options: --restart and --rm");
	json_object_set_new(
	    host, "RestartPolicy",
	    json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
	return 0;
}

static json_t *list_or_null(const struct cli_value *v)
{
	if (!v->count)
		return json_null();
	json_t *l = json_array();
	for (size_t i = 0; i < v->count; i++)
		json_array_append_new(l, json_string(v->list[i]));
	return l;
}

static int resources(json_t *host, struct cli_args *a, struct berth_error *err)
{
	struct cli_value *v = a->v;
	int64_t mem = 0;
	if (v[CO_MEMORY].set && (mem = berth_parse_bytes(v[CO_MEMORY].s)) < 0)
		return berth_err(
		    err, 400,
		    "invalid argument \"%s\" for \"-m, --memory\" flag: invalid size: '%s'",
		    v[CO_MEMORY].s, v[CO_MEMORY].s);
	json_object_set_new(host, "Memory", json_integer(mem));
	double cpus = 0;
	if (v[CO_CPUS].set) {
		char *end;
		cpus = strtod(v[CO_CPUS].s, &end);
		/* (no "nan" or "inf", and nothing that overflows NanoCpus) */
		if (*end || !(cpus >= 0) || cpus > 9e9)
			return berth_err(err, 400,
					 "invalid argument \"%s\" for \"--cpus\" flag: failed to "
					 "parse %s as a rational number",
					 v[CO_CPUS].s, v[CO_CPUS].s);
	}
	json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(cpus * 1e9 + 0.5)));
	/* Checked by the daemon, as docker does (it knows the host's CPUs). */
	json_object_set_new(host, "CpusetCpus",
			    json_string(v[CO_CPUSET_CPUS].set ? v[CO_CPUSET_CPUS].s : ""));
	json_object_set_new(host, "CpusetMems",
			    json_string(v[CO_CPUSET_MEMS].set ? v[CO_CPUSET_MEMS].s : ""));
	json_object_set_new(host, "PidsLimit",
			    v[CO_PIDS_LIMIT].set ? json_integer(v[CO_PIDS_LIMIT].n) : json_null());
	if (v[CO_SHM_SIZE].set) {
		int64_t shm = berth_parse_bytes(v[CO_SHM_SIZE].s);
		if (shm < 0)
			return berth_err(err, 400, "invalid size: '%s'", v[CO_SHM_SIZE].s);
		json_object_set_new(host, "ShmSize", json_integer(shm));
	}
	static const struct {
		int flag;
		const char *label, *key;
	} sizes[] = {
	    {CO_MEMORY_SWAP, "--memory-swap", "MemorySwap"},
	    {CO_MEMORY_RESERVATION, "--memory-reservation", "MemoryReservation"},
	    {CO_KERNEL_MEMORY, "--kernel-memory", "KernelMemory"},
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const char *s = v[sizes[i].flag].s;
		if (!v[sizes[i].flag].set)
			continue;
		/* only --memory-swap takes -1 (unlimited) */
		bool unlimited = sizes[i].flag == CO_MEMORY_SWAP && !strcmp(s, "-1");
		int64_t n = unlimited ? -1 : berth_parse_bytes(s);
		if (n < 0 && !unlimited)
			return berth_err(
			    err, 400, "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'",
			    s, sizes[i].label, s);
		json_object_set_new(host, sizes[i].key, json_integer(n));
	}
	if (v[CO_CPU_SHARES].set)
		json_object_set_new(host, "CpuShares", json_integer(v[CO_CPU_SHARES].n));
	if (v[CO_BLKIO_WEIGHT].set) {
		if (v[CO_BLKIO_WEIGHT].n < 0 || v[CO_BLKIO_WEIGHT].n > 65535)
			return berth_err(err, 400,
					 "invalid argument \"%ld\" for \"--blkio-weight\" flag: "
					 "strconv.ParseUint: parsing \"%ld\": value out of range",
					 v[CO_BLKIO_WEIGHT].n, v[CO_BLKIO_WEIGHT].n);
		json_object_set_new(host, "BlkioWeight", json_integer(v[CO_BLKIO_WEIGHT].n));
	}
	if (v[CO_MEMORY_SWAPPINESS].set) {
		long sw = v[CO_MEMORY_SWAPPINESS].n;
		if (sw != -1 && (sw < 0 || sw > 100))
			return berth_err(
			    err, 400, "invalid value: %ld. Valid memory swappiness range is 0-100",
			    sw);
		json_object_set_new(host, "MemorySwappiness", json_integer(sw));
	}
	if (v[CO_OOM_KILL_DISABLE].b)
		json_object_set_new(host, "OomKillDisable", json_true());
	if (v[CO_OOM_SCORE_ADJ].set)
		json_object_set_new(host, "OomScoreAdj", json_integer(v[CO_OOM_SCORE_ADJ].n));
	if (v[CO_ULIMIT].count) {
		json_t *ul = json_array();
		for (size_t i = 0; i < v[CO_ULIMIT].count; i++) {
			struct berth_ulimit u;
			struct berth_error e = {0};
			if (berth_ulimit_parse(v[CO_ULIMIT].list[i], &u, &e) < 0) {
				json_decref(ul);
				return berth_err(
				    err, 400, "invalid argument \"%s\" for \"--ulimit\" flag: %s",
				    v[CO_ULIMIT].list[i], e.msg);
			}
			json_array_append_new(ul, json_pack("{s:s,s:I,s:I}", "Name", u.name, "Soft",
							    (json_int_t)u.soft, "Hard",
							    (json_int_t)u.hard));
		}
		json_object_set_new(host, "Ulimits", ul);
	}
	return 0;
}

static int volumes(json_t *config, json_t *host, struct cli_value *v, struct berth_error *err)
{
	json_t *binds = json_array(), *anon = json_object();
	for (size_t i = 0; i < v->count; i++) {
		const char *spec = v->list[i];
		if (!*spec) {
			json_decref(binds);
			json_decref(anon);
			return berth_err(err, 400, "invalid empty volume spec");
		}
		if (strchr(spec, ':'))
			json_array_append_new(binds, json_string(spec));
		else
			json_object_set_new(anon, spec, json_object());
	}
	json_object_set_new(config, "Volumes", anon);
	json_object_set_new(host, "Binds", json_array_size(binds) ? binds : json_null());
	if (!json_array_size(binds))
		json_decref(binds);
	return 0;
}

static json_t *key_values(const struct cli_value *v, char sep, bool empty_ok)
{
	json_t *o = json_object();
	for (size_t i = 0; i < v->count; i++) {
		char *kv = strdup(v->list[i]);
		char *eq = strchr(kv, sep);
		if (eq)
			*eq = '\0';
		if (eq || empty_ok)
			json_object_set_new(o, kv, json_string(eq ? eq + 1 : ""));
		free(kv);
	}
	return o;
}

json_t *cli_container_config(struct cli_args *a, bool detach, struct berth_error *err)
{
	struct cli_value *v = a->v;
	bool tty = v[CO_TTY].b, in = v[CO_INTERACTIVE].b;
	json_t *env = json_array();
	for (size_t i = 0; i < v[CO_ENV_FILE].count; i++)
		if (env_file(env, v[CO_ENV_FILE].list[i], err) < 0) {
			json_decref(env);
			return NULL;
		}
	for (size_t i = 0; i < v[CO_ENV].count; i++)
		cli_env_add(env, v[CO_ENV].list[i]);
	json_t *cmd = json_null();
	if (a->npos > 1) {
		cmd = json_array();
		for (int i = 1; i < a->npos; i++)
			json_array_append_new(cmd, json_string(a->pos[i]));
	}
	json_t *entry = v[CO_ENTRYPOINT].set ? json_pack("[s]", v[CO_ENTRYPOINT].s) : json_null();
	json_t *config = json_pack(
	    "{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:o,s:s,s:s,s:o,s:o}", "Hostname",
	    v[CO_HOSTNAME].s ? v[CO_HOSTNAME].s : "", "Domainname", "", "User",
	    v[CO_USER].s ? v[CO_USER].s : "", "AttachStdin", in && !detach, "AttachStdout", !detach,
	    "AttachStderr", !detach, "Tty", tty, "OpenStdin", in, "StdinOnce", in && !detach, "Env",
	    json_array_size(env) ? env : json_null(), "Cmd", cmd, "Image", a->pos[0], "WorkingDir",
	    v[CO_WORKDIR].s ? v[CO_WORKDIR].s : "", "Entrypoint", entry, "Labels",
	    key_values(&v[CO_LABEL], '=', true));
	if (!json_array_size(env))
		json_decref(env);
	json_t *host = json_object();
	json_object_set_new(config, "HostConfig", host);
	json_t *exposed = json_object(), *bindings = json_object();
	json_object_set_new(config, "ExposedPorts", exposed);
	json_object_set_new(host, "PortBindings", bindings);
	for (size_t i = 0; i < v[CO_PUBLISH].count; i++)
		if (cli_parse_publish(v[CO_PUBLISH].list[i], exposed, bindings, err) < 0)
			goto fail;
	for (size_t i = 0; i < v[CO_EXPOSE].count; i++)
		if (parse_expose(v[CO_EXPOSE].list[i], exposed, err) < 0)
			goto fail;
	if (v[CO_STOP_SIGNAL].set)
		json_object_set_new(config, "StopSignal", json_string(v[CO_STOP_SIGNAL].s));
	if (v[CO_STOP_TIMEOUT].set)
		json_object_set_new(config, "StopTimeout", json_integer(v[CO_STOP_TIMEOUT].n));
	if (healthcheck(config, a, err) < 0 || volumes(config, host, &v[CO_VOLUME], err) < 0 ||
	    restart_policy(host, v[CO_RESTART].s, v[CO_RM].b, err) < 0 ||
	    resources(host, a, err) < 0)
		goto fail;
	const char *net = v[CO_NETWORK].s ? v[CO_NETWORK].s : v[CO_NET].s ? v[CO_NET].s : "default";
	json_object_set_new(host, "NetworkMode", json_string(net));
	json_object_set_new(host, "PublishAllPorts", json_boolean(v[CO_PUBLISH_ALL].b));
	json_object_set_new(host, "AutoRemove", json_boolean(v[CO_RM].b));
	json_object_set_new(host, "ReadonlyRootfs", json_boolean(v[CO_READ_ONLY].b));
	json_object_set_new(host, "Privileged", json_boolean(v[CO_PRIVILEGED].b));
	json_object_set_new(host, "Init",
			    v[CO_INIT].set ? json_boolean(v[CO_INIT].b) : json_null());
	json_object_set_new(host, "CapAdd", list_or_null(&v[CO_CAP_ADD]));
	json_object_set_new(host, "CapDrop", list_or_null(&v[CO_CAP_DROP]));
	json_object_set_new(host, "Dns", list_or_null(&v[CO_DNS]));
	json_object_set_new(host, "ExtraHosts", list_or_null(&v[CO_ADD_HOST]));
	json_t *security = cli_security_opts(&v[CO_SECURITY_OPT], host, err);
	if (!security)
		goto fail;
	json_object_set_new(host, "SecurityOpt", security);
	if (v[CO_TMPFS].count)
		json_object_set_new(host, "Tmpfs", key_values(&v[CO_TMPFS], ':', true));
	json_object_set_new(host, "LogConfig",
			    json_pack("{s:s,s:o}", "Type",
				      v[CO_LOG_DRIVER].s ? v[CO_LOG_DRIVER].s : "", "Config",
				      key_values(&v[CO_LOG_OPT], '=', false)));
	/* docker names the endpoint after the network ("default" without --network). */
	json_t *endpoint = json_object();
	if (v[CO_NETWORK_ALIAS].count)
		json_object_set_new(endpoint, "Aliases", list_or_null(&v[CO_NETWORK_ALIAS]));
	if (v[CO_IP].set) {
		unsigned char ip4[4];
		if (inet_pton(AF_INET, v[CO_IP].s, ip4) != 1) {
			json_decref(endpoint);
			berth_err(err, 400, "invalid IPv4 address: %s", v[CO_IP].s);
			goto fail;
		}
		json_object_set_new(endpoint, "IPAMConfig",
				    json_pack("{s:s}", "IPv4Address", v[CO_IP].s));
	}
	json_object_set_new(config, "NetworkingConfig",
			    json_pack("{s:{s:o}}", "EndpointsConfig", net, endpoint));
	return config;
fail:
	json_decref(config);
	return NULL;
}

int cli_start_error_code(const char *msg)
{
	if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
	    strstr(msg, "No such file or directory"))
		return 127;
	if (strstr(msg, "permission denied") || strstr(msg, "Permission denied") ||
	    strstr(msg, "is a directory") || strstr(msg, "Is a directory"))
		return 126;
	return 125;
}

void cli_image_with_tag(const char *image, char *out, size_t size)
{
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	if (strchr(last, ':') || strchr(image, '@'))
		snprintf(out, size, "%s", image);
	else
		snprintf(out, size, "%s:latest", image);
}
