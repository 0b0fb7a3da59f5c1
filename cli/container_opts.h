/* The flags of `run` and `create`, and the container-create body docker builds from them. */
#ifndef BERTH_CLI_CONTAINER_OPTS_H
#define BERTH_CLI_CONTAINER_OPTS_H

#include <jansson.h>

#include "cli.h"

enum {
	CO_ATTACH,
	CO_DETACH,
	CO_TTY,
	CO_INTERACTIVE,
	CO_RM,
	CO_NAME,
	CO_ENV,
	CO_ENV_FILE,
	CO_WORKDIR,
	CO_USER,
	CO_ENTRYPOINT,
	CO_HOSTNAME,
	CO_LABEL,
	CO_VOLUME,
	CO_READ_ONLY,
	CO_INIT,
	CO_MEMORY,
	CO_CPUS,
	CO_CPUSET_CPUS,
	CO_CPUSET_MEMS,
	CO_PIDS_LIMIT,
	CO_RESTART,
	CO_CAP_ADD,
	CO_CAP_DROP,
	CO_PRIVILEGED,
	CO_STOP_SIGNAL,
	CO_STOP_TIMEOUT,
	CO_LOG_DRIVER,
	CO_LOG_OPT,
	CO_HEALTH_CMD,
	CO_HEALTH_INTERVAL,
	CO_HEALTH_TIMEOUT,
	CO_HEALTH_RETRIES,
	CO_HEALTH_START_PERIOD,
	CO_HEALTH_START_INTERVAL,
	CO_NO_HEALTHCHECK,
	CO_PUBLISH,
	CO_PUBLISH_ALL,
	CO_EXPOSE,
	CO_NETWORK,
	CO_NET,
	CO_DNS,
	CO_ADD_HOST,
	CO_TMPFS,
	CO_SHM_SIZE,
	CO_ULIMIT,
	CO_SIG_PROXY,
	CO_PULL,
	CO_PLATFORM,
	CO_SECURITY_OPT,
	CO_NETWORK_ALIAS,
	CO_IP,
	CO_CPU_SHARES,
	CO_MEMORY_SWAP,
	CO_MEMORY_RESERVATION,
	CO_KERNEL_MEMORY,
	CO_BLKIO_WEIGHT,
	CO_OOM_KILL_DISABLE,
	CO_OOM_SCORE_ADJ,
	CO_MEMORY_SWAPPINESS,
	CO_COUNT
};

extern const struct cli_flag cli_container_flags[];

/* Build the POST /containers/create body from the flags and the positional arguments
 * (IMAGE [COMMAND] [ARG...]). err->msg is docker's client-side message on bad input. */
json_t *cli_container_config(struct cli_args *a, bool detach, struct berth_error *err);
/* HostConfig.SecurityOpt from --security-opt (security_opts.c): seccomp=FILE is sent as the
 * file's compact JSON, systempaths=unconfined as empty host MaskedPaths and ReadonlyPaths, as
 * the docker CLI does. NULL (err set) when the file cannot be read. */
json_t *cli_security_opts(const struct cli_value *v, json_t *host, struct berth_error *err);

/* One -p spec → ExposedPorts and PortBindings entries (exported for the unit tests). */
int cli_parse_publish(const char *spec, json_t *exposed, json_t *bindings, struct berth_error *err);
/* "KEY=VALUE" / "KEY" (taken from the environment, dropped if unset) into env. */
void cli_env_add(json_t *env, const char *spec);
/* Docker's exit code for a failed start: 127 not found, 126 cannot invoke, else 125. */
int cli_start_error_code(const char *msg);
/* "busybox" → "busybox:latest" for "Unable to find image" (no change with a tag/digest). */
void cli_image_with_tag(const char *image, char *out, size_t size);

#endif
