/*
 * Compose files (the compose spec) parsed with libyaml into one canonical JSON model, the
 * shape `docker compose config --format json` prints: what the CLI sends to the scheduler.
 *
 * Canonical model (every service fully normalised; absent keys are omitted unless noted):
 * {
 *   "name": "project",
 *   "services": {                       (file order; profiles-disabled services are dropped)
 *     "web": {
 *       "image": "echo-image:latest",
 *       "build": {"context": "/abs/dir" (or a git/URL context as written),
 *                 "dockerfile": "Dockerfile" (default) | "dockerfile_inline": "...",
 *                 "args": {"K": "v", "UNSET": null}, "target": "x", "labels": {...},
 *                 "tags": [...], "no_cache": bool, "pull": bool, "network": "x"},
 *       "command": ["httpd", "-f"],      a string is split into words shell-style (quotes and
 *       "entrypoint": [...],             backslashes, no expansion), as compose does; never
 *                                        wrapped in sh -c (an unquoted ; & | < > is an error).
 *                                        [] (from "" or []) clears the image's.
 *       "environment": {"K": "V", "EMPTY": null},   (list and map forms; env_file files merged
 *                  in first, environment over them; a bare KEY takes the value from the
 *                  environment compose runs in, else stays null)
 *       "ports": [{"mode": "ingress"|"host", "host_ip": "" (always present), "target": 8080,
 *                  "published": "9000" (always present; "" when not published; "8000-8010"
 *                  when one target publishes on a host range), "protocol": "tcp"|"udp"|"sctp",
 *                  "name": .., "app_protocol": .. (only when given)}],
 *                  (short syntax expanded; equal-length ranges become one entry per port)
 *       "expose": ["8080/tcp"],          (ranges expanded)
 *       "volumes": [{"type": "bind"|"volume", "source": "/abs" (bind) or the key in the
 *                    top-level "volumes" (look its "name" up there; absent = anonymous),
 *                    "target": "/data", "read_only": false (always present),
 *                    "bind": {"create_host_path": true (short syntax), "propagation": "..",
 *                             "selinux": "z"}, "volume": {"nocopy": true, "subpath": ".."}}],
 *       "networks": {"default": null, "front": {"aliases": ["x"], "ipv4_address": "..."}}
 *                  (always present: {"default": null} when the file names none, except
 *                  with network_mode; keys are the keys of the top-level "networks", look
 *                  the real "name" up there),
 *       "network_mode": "none"|"host"|"bridge"|"container:NAME" (not with networks;
 *                  "service:NAME" is not supported by berth),
 *       "depends_on": {"db": {"condition": "service_started"|"service_healthy"|
 *                      "service_completed_successfully", "required": true, "restart": bool
 *                      (only when given)}},  (dependencies on profile-disabled services with
 *                      required: false are dropped)
 *       "healthcheck": {"test": ["CMD", "..."] | ["CMD-SHELL", "..."] | ["NONE"] |
 *                       ["CMD-HTTP", "http://..."] | ["CMD-TCP", "[HOST:]PORT"] (a string test
 *                       becomes CMD-SHELL, except "http://..." -> CMD-HTTP and "tcp:PORT" ->
 *                       CMD-TCP, the agent's probes from outside), "interval": ns, "timeout": ns,
 * "retries": n, "start_period": ns, "start_interval": ns, "disable": bool}, "restart":
 * "no"|"always"|"on-failure"|"on-failure:N"|"unless-stopped", "deploy": {"mode": "replicated",
 * "replicas": n, "labels": {...}, "resources": {"limits": {"cpus": 0.5 (real), "memory": bytes,
 *                  "pids": n}, "reservations": {"cpus": .., "memory": ..}},
 *                  "restart_policy": {"condition": "none"|"on-failure"|"any", "delay": ns,
 *                  "max_attempts": n, "window": ns},
 *                  "update_config": {"parallelism": n, "delay": ns, "order": "stop-first"|
 *                  "start-first", "failure_action": "rollback"|"pause"|"continue",
 *                  "monitor": ns, "max_failure_ratio": real}, "rollback_config": {same}}
 *                  (the legacy keys scale, mem_limit, mem_reservation, cpus and pids_limit
 *                  are folded in here; a conflicting value is an error),
 *       "labels": {"k": "v"}, "container_name": "x", "hostname": "x", "user": "x",
 *       "working_dir": "/x", "init": bool, "stop_signal": "SIGTERM",
 *       "cpuset": "0-1,3" (the kernel's form: "1,0" becomes "0-1"; "" is dropped; the
 *                  scheduler spreads replicas over it, see docs/scheduler.md),
 *       "stop_grace_period": ns, "profiles": ["debug"],
 *       "shm_size": bytes, "ulimits": {"nofile": {"soft": n, "hard": n}} (a single n is both),
 *       "tmpfs": ["/run:size=64m"] (a string is a list of one; checked as the daemon checks
 *                HostConfig.Tmpfs), "oom_score_adj": -1000..1000, "cpu_shares": n,
 *       "memswap_limit": bytes or -1,
 *       "privileged": true (only when true), "cap_add": ["NET_ADMIN"], "cap_drop": ["ALL"]
 *                (names checked as the daemon checks them),
 *       "security_opt": ["no-new-privileges:true", "seccomp=./p.json"] (as written, checked),
 *       "seccomp_profiles": {"./p.json": "<the file's compact JSON>"} (read at load time
 *                relative to the project directory; `compose config` does not print it),
 *       "x-...": anything (extensions kept, as YAML 1.2 types: plain scalars become
 *                null/bool/int/real, quoted ones strings)
 *     }
 *   },
 *   "networks": {"default": {"name": "project_default"}, "front": {"name": "project_front",
 *                "driver": "bridge", "driver_opts": {..}, "labels": {..}, "ipam": {as written},
 *                "internal": bool, "attachable": bool, "external": true (only when true;
 *                then "name" defaults to the key itself)}},   (omitted when empty)
 *   "volumes": {"data": {"name": "project_data", "driver": .., "driver_opts": {..},
 *               "labels": {..}, "external": true (only when true)}},   (omitted when empty)
 *   "x-...": anything
 * }
 * Durations are integer nanoseconds, sizes integer bytes. Every key the compose spec has and
 * berth does not implement (configs, secrets, devices, deploy.placement,
 * ...) is an error "FILE:L:C: services.web.configs: not supported by berth"; any other key
 * is "...: unknown key"; `x-` keys are allowed everywhere. `version` is accepted and dropped.
 * `!reset` and `!override` tags work across -f files as the compose spec's merge rules say.
 */
#ifndef BERTH_COMPOSE_H
#define BERTH_COMPOSE_H

/* A service's security_opt seccomp=FILE profiles, by FILE as written: the file's content. */
#define COMPOSE_SECCOMP_PROFILES "seccomp_profiles"

/* An env file (compose env_file, .env, run --env-file) is read whole: at most this many bytes,
 * and only from a regular file. */
#define BERTH_ENV_FILE_MAX (1 << 20)

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "berth/error.h"

struct compose_options {
	const char *const *files; /* -f files in order (later ones merge over earlier), "-" =
				   * stdin; NULL/0 = the first of compose.yaml, compose.yml,
				   * docker-compose.yaml, docker-compose.yml in working_dir, with
				   * its compose.override.yaml (etc.) merged over it if present */
	size_t n_files;
	const char *working_dir;     /* the project directory; relative paths resolve against it.
				      * NULL = the first -f file's directory, else the cwd */
	const char *project_name;    /* -p, or NULL: $COMPOSE_PROJECT_NAME, the top-level name:,
				      * else basename of working_dir, lower-cased and cleaned as
				      * compose does (-p, the variable and name: must already be
				      * valid: [a-z0-9][a-z0-9_-]*) */
	const char *const *profiles; /* --profile; services with profiles run only if listed
				      * ("*" = all); none given = $COMPOSE_PROFILES (a,b) */
	size_t n_profiles;
	char **environ;	  /* the environment for ${VAR} interpolation (.env in working_dir
			   * fills what is unset); NULL = the process's environ */
	json_t *warnings; /* a JSON array, or NULL: compose's warnings are appended as strings
			   * ("The \"TAG\" variable is not set. Defaulting to a blank string.",
			   * "FILE: the attribute `version` is obsolete, ...") for the CLI to
			   * print as docker compose does (WARN[0000] ...) */
};

/*
 * Load, interpolate, merge, validate and normalise. Errors (400) name the file and, for YAML and
 * type errors, the line and column: "compose.yaml:12:5: services.web.ports[0]: invalid port
 * \"70000:80\"". Unsupported keys are errors naming the key, not ignored. Validation covers
 * unknown services in depends_on, dependency cycles ("...: dependency cycle detected: a -> b ->
 * a"), container_name with replicas > 1, port specs, ${VAR:?msg} of unset variables
 * ("...: required variable VAR is missing a value: msg"), undeclared named volumes and networks.
 */
json_t *compose_load(const struct compose_options *opts, struct berth_error *err);
/* The same over one file already in memory; name is what errors call it. */
json_t *compose_load_data(const struct compose_options *opts, const char *name, const char *data,
			  size_t len, struct berth_error *err);
/* The project name compose derives from a directory name: "My App!" -> "myapp". */
void compose_normalize_project_name(const char *in, char *out, size_t size);

/* Services in dependency order (dependencies first), as a JSON array of names. */
json_t *compose_service_order(const json_t *project, struct berth_error *err);

/*
 * Write the canonical model as YAML (what `berth compose config` prints) that loads back into
 * the same model: durations as "1m30s", strings that would read as other types quoted, and a
 * literal $ in a value written $$.
 */
int compose_write_yaml(const json_t *project, FILE *out, struct berth_error *err);

#endif
