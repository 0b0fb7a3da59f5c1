/*
 * Compose files (the compose spec) parsed with libyaml into one canonical JSON model, the
 * shape `docker compose config --format json` prints: what the CLI sends to the scheduler.
 *
 * Canonical model (every service fully normalised; absent keys are omitted):
 * {
 *   "name": "project",
 *   "services": {
 *     "web": {
 *       "image": "echo-image:latest",
 *       "build": {"context": "/abs/dir", "dockerfile": "Dockerfile", "args": {...}, "target": ""},
 *       "command": ["httpd", "-f"]  (a string command becomes ["/bin/sh", "-c", "..."]? no:
 *                  a string is split with shell-like word splitting, as compose does),
 *       "entrypoint": [...],
 *       "environment": {"K": "V", "EMPTY": null},   (list and map forms; env_file merged in)
 *       "ports": [{"mode": "ingress", "host_ip": "", "target": 8080, "published": "9000",
 *                  "protocol": "tcp"}],  (short syntax expanded; ranges become one entry each;
 *                  "published" is a string, "" when not published)
 *       "expose": ["8080/tcp"],
 *       "volumes": [{"type": "bind"|"volume", "source": "/abs or name", "target": "/data",
 *                    "read_only": false}],
 *       "networks": {"default": {"aliases": ["x"]}} (null value when no options),
 *       "depends_on": {"db": {"condition": "service_started"|"service_healthy"|
 *                      "service_completed_successfully", "required": true}},
 *       "healthcheck": {"test": ["CMD", "..."] | ["CMD-SHELL", "..."] | ["NONE"],
 *                       "interval": ns, "timeout": ns, "retries": n, "start_period": ns,
 *                       "start_interval": ns, "disable": bool},
 *       "restart": "no"|"always"|"on-failure[:N]"|"unless-stopped",
 *       "deploy": {"replicas": n, "resources": {"limits": {"cpus": 0.5, "memory": bytes,
 *                  "pids": n}, "reservations": {"cpus": .., "memory": ..}},
 *                  "restart_policy": {"condition": "none"|"on-failure"|"any", "delay": ns,
 *                  "max_attempts": n, "window": ns},
 *                  "update_config": {"parallelism": n, "delay": ns, "order": "stop-first"|
 *                  "start-first", "failure_action": "rollback"|"pause"|"continue",
 *                  "monitor": ns}},
 *       "labels": {"k": "v"}, "container_name": "x", "hostname": "x", "user": "x",
 *       "working_dir": "/x", "init": bool, "stop_signal": "SIGTERM",
 *       "stop_grace_period": ns, "profiles": ["debug"],
 *       "x-...": anything (extensions kept)
 *     }
 *   },
 *   "networks": {"default": {"name": "project_default"}, "front": {"name": "project_front",
 *                "driver": "bridge", "ipam": {...}, "external": false}},
 *   "volumes": {"data": {"name": "project_data", "external": false}}
 * }
 */
#ifndef BERTH_COMPOSE_H
#define BERTH_COMPOSE_H

#include <stddef.h>
#include <jansson.h>
#include "berth/error.h"

struct compose_options {
	const char *const *files;  /* -f files in order (later ones merge over earlier); NULL/0 =
				    * look for compose.yaml, compose.yml, docker-compose.yaml,
				    * docker-compose.yml in working_dir */
	size_t n_files;
	const char *working_dir;   /* the project directory; relative paths resolve against it */
	const char *project_name;  /* -p, or NULL: top-level name:, else basename of working_dir,
				    * lower-cased and cleaned as compose does */
	const char *const *profiles; /* --profile; services with profiles run only if listed */
	size_t n_profiles;
	char **environ;		   /* the environment for ${VAR} interpolation (.env in working_dir
				    * fills what is unset); NULL = the process's environ */
};

/*
 * Load, interpolate, merge, validate and normalise. Errors (400) name the file and, for YAML and
 * type errors, the line and column: "compose.yaml:12:5: services.web.ports[0]: invalid port
 * \"70000:80\"". Unsupported keys are errors naming the key, not ignored. Validation covers
 * unknown services in depends_on, dependency cycles, container_name with replicas > 1, port
 * specs, ${VAR:?msg} of unset variables.
 */
json_t *compose_load(const struct compose_options *opts, struct berth_error *err);

/* Services in dependency order (dependencies first), as a JSON array of names. */
json_t *compose_service_order(const json_t *project, struct berth_error *err);

/* Write the canonical model as YAML (what `berth compose config` prints). */
int compose_write_yaml(const json_t *project, FILE *out, struct berth_error *err);

#endif
