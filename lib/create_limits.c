/* The ranges a create body's numbers must be in: Docker's checks with Docker's messages, and
 * berth's bounds where Docker has none but berth's arithmetic on the value would overflow. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "berth/create_check.h"
#include "berth/run_opts.h"

#define MIN_MEMORY (6LL * 1024 * 1024)
#define MIN_CPU_SHARES 2
#define MAX_CPU_SHARES 262144
/* berth adds durations to a monotonic clock in nanoseconds: a year keeps that far from
 * overflowing and is longer than any sensible probe. */
#define MAX_DURATION_NS (365LL * 24 * 3600 * 1000000000LL)
/* berth keeps a stop timeout in an int of seconds. */
#define MAX_STOP_TIMEOUT INT_MAX

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static bool set(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return v && !json_is_null(v);
}

static int check_memory(const json_t *h, struct berth_error *err)
{
	json_int_t mem = num(h, "Memory"), swap = num(h, "MemorySwap");
	json_int_t res = num(h, "MemoryReservation"), kmem = num(h, "KernelMemory");
	if (mem != 0 && mem < MIN_MEMORY)
		return berth_err(err, 400, "Minimum memory limit allowed is 6MB");
	if (mem > 0 && swap > 0 && swap < mem)
		return berth_err(err, 400,
				 "Minimum memoryswap limit should be larger than memory limit, see "
				 "usage");
	if (mem == 0 && swap > 0)
		return berth_err(err, 400,
				 "You should always set the Memory limit when using Memoryswap "
				 "limit, see usage");
	if (swap < -1)
		return berth_err(err, 400,
				 "Invalid value: %lld, memory swap must be -1 (unlimited) or more",
				 (long long)swap);
	if (set(h, "MemorySwappiness")) {
		json_int_t s = num(h, "MemorySwappiness");
		if (s != -1 && (s < 0 || s > 100))
			return berth_err(
			    err, 400, "Invalid value: %lld, valid memory swappiness range is 0-100",
			    (long long)s);
	}
	if (res > 0 && res < MIN_MEMORY)
		return berth_err(err, 400, "Minimum memory reservation allowed is 6MB");
	if (mem > 0 && res > 0 && mem < res)
		return berth_err(err, 400,
				 "Minimum memory limit can not be less than memory reservation "
				 "limit, see usage");
	if (kmem > 0 && kmem < 4LL * 1024 * 1024)
		return berth_err(err, 400, "Minimum kernel memory limit allowed is 4MB");
	return 0;
}

static int check_cpu(json_t *h, long ncpu, struct berth_error *err)
{
	json_int_t nano = num(h, "NanoCpus"), period = num(h, "CpuPeriod"),
		   quota = num(h, "CpuQuota");
	if (nano > 0 && period > 0)
		return berth_err(
		    err, 400, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (nano > 0 && quota > 0)
		return berth_err(err, 400,
				 "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (ncpu < 1)
		ncpu = 1;
	if (nano < 0 || nano / 1000000000 > ncpu ||
	    (nano / 1000000000 == ncpu && nano % 1000000000))
		return berth_err(err, 400,
				 "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
				 "available",
				 ncpu, ncpu);
	if (period != 0 && (period < 1000 || period > 1000000))
		return berth_err(
		    err, 400,
		    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than "
		    "1 second (i.e. 1000000)");
	if (quota > 0 && quota < 1000)
		return berth_err(err, 400, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (quota < -1)
		return berth_err(err, 400,
				 "Invalid value: %lld, CPU cfs quota must be -1 (unlimited) or at "
				 "least 1000",
				 (long long)quota);
	/* Docker clamps shares into the kernel's range rather than refusing them. */
	json_int_t shares = num(h, "CpuShares");
	if (shares < 0)
		json_object_set_new(h, "CpuShares", json_integer(MIN_CPU_SHARES));
	else if (shares > MAX_CPU_SHARES)
		json_object_set_new(h, "CpuShares", json_integer(MAX_CPU_SHARES));
	return 0;
}

static int check_ulimits(const json_t *h, struct berth_error *err)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(h, "Ulimits"), i, u)
	{
		if (json_is_null(u))
			continue;
		const char *name = json_string_value(json_object_get(u, "Name"));
		if (berth_ulimit_resource(name) < 0)
			return berth_err(err, 400, "invalid ulimit type: %s", name ? name : "");
		json_int_t soft = num(u, "Soft"), hard = num(u, "Hard");
		if (soft < -1 || hard < -1)
			return berth_err(err, 400,
					 "invalid ulimit %s: limits must be -1 (unlimited) or more",
					 name);
		/* -1 is unlimited, above every number */
		if (hard != -1 && (soft == -1 || soft > hard))
			return berth_err(
			    err, 400,
			    "ulimit soft limit must be less than or equal to hard limit: "
			    "%lld > %lld",
			    (long long)soft, (long long)hard);
	}
	return 0;
}

static int check_restart(const json_t *h, struct berth_error *err)
{
	const json_t *rp = json_object_get(h, "RestartPolicy");
	const char *name = json_string_value(json_object_get(rp, "Name"));
	json_int_t max = num(rp, "MaximumRetryCount");
	if (!name)
		return 0;
	if (strcmp(name, "on-failure") == 0) {
		if (max < 0)
			return berth_err(err, 400, "maximum retry count cannot be negative");
		if (max > INT_MAX)
			return berth_err(err, 400, "maximum retry count cannot be more than %d",
					 INT_MAX);
	} else if (max != 0 && *name) {
		return berth_err(
		    err, 400, "maximum retry count cannot be used with restart policy '%s'", name);
	}
	return 0;
}

static int check_health(const json_t *config, struct berth_error *err)
{
	const json_t *hc = json_object_get(config, "Healthcheck");
	static const char *const durations[] = {"Interval", "Timeout", "StartPeriod",
						"StartInterval", NULL};
	for (int i = 0; hc && durations[i]; i++) {
		json_int_t ns = num(hc, durations[i]);
		if (ns > MAX_DURATION_NS)
			return berth_err(err, 400,
					 "%s in Healthcheck cannot be more than 8760h0m0s",
					 durations[i]);
		if (ns < 0)
			return berth_err(err, 400, "%s in Healthcheck cannot be less than 1ms",
					 durations[i]);
	}
	if (num(hc, "Retries") > INT_MAX)
		return berth_err(err, 400, "Retries in Healthcheck cannot be more than %d",
				 INT_MAX);
	return 0;
}

int create_check_limits(json_t *host, const json_t *config, long ncpu, struct berth_error *err)
{
	if (check_memory(host, err) < 0 || check_cpu(host, ncpu, err) < 0)
		return -1;
	json_int_t blkio = num(host, "BlkioWeight");
	if (blkio > 0 && (blkio < 10 || blkio > 1000))
		return berth_err(err, 400, "Range of blkio weight is from 10 to 1000");
	if (num(host, "ShmSize") < 0)
		return berth_err(err, 400, "SHM size can not be less than 0");
	json_int_t oom = num(host, "OomScoreAdj");
	if (oom < -1000 || oom > 1000)
		return berth_err(err, 400,
				 "Invalid value %lld, range for oom score adj is [-1000, 1000]",
				 (long long)oom);
	json_int_t stop = num(config, "StopTimeout");
	if (set(config, "StopTimeout") && (stop < -1 || stop > MAX_STOP_TIMEOUT))
		return berth_err(
		    err, 400, "invalid StopTimeout %lld: must be -1 (wait forever) to %d seconds",
		    (long long)stop, MAX_STOP_TIMEOUT);
	if (check_ulimits(host, err) < 0 || check_restart(host, err) < 0 ||
	    check_health(config, err) < 0)
		return -1;
	return 0;
}
