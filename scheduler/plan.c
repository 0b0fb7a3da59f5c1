/* Pure planning rules: replica numbers, which replicas go first on scale-down, placement
 * against the host's capacity, the CPUs a pinned replica gets. Unit-tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cpuset.h"
#include "sched.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

void sched_plan_numbers(const int *used, size_t n_used, int count, int *out)
{
	int *sorted = malloc((n_used + 1) * sizeof(int));
	if (!sorted)
		abort();
	if (n_used > 0) {
		memcpy(sorted, used, n_used * sizeof(int));
		qsort(sorted, n_used, sizeof(int), cmp_int);
	}
	int candidate = 1;
	size_t j = 0;
	for (int k = 0; k < count; k++) {
		for (;;) {
			while (j < n_used && sorted[j] < candidate)
				j++;
			if (j < n_used && sorted[j] == candidate) {
				candidate++;
				continue;
			}
			break;
		}
		out[k] = candidate++;
	}
	free(sorted);
}

void sched_plan_scale_down(const int *numbers, size_t n, int keep, bool *remove)
{
	for (size_t i = 0; i < n; i++)
		remove[i] = false;
	if (keep < 0)
		keep = 0;
	for (size_t left = n; left > (size_t)keep; left--) {
		/* the highest number not yet marked */
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (!remove[i] && (best == n || numbers[i] > numbers[best]))
				best = i;
		if (best == n)
			break;
		remove[best] = true;
	}
}

static void human_bytes(int64_t b, char *out, size_t size)
{
	if (b >= (1LL << 30))
		snprintf(out, size, "%.1fGiB", (double)b / (1LL << 30));
	else
		snprintf(out, size, "%.0fMiB", (double)b / (1LL << 20));
}

bool sched_plan_fits(double host_cpus, int64_t host_memory, double used_cpus, int64_t used_memory,
		     double cpus, int64_t memory, char *reason, size_t size)
{
	if (cpus > 0 && used_cpus + cpus > host_cpus + 1e-9) {
		double left = host_cpus - used_cpus;
		snprintf(reason, size, "insufficient cpus: needs %.2f, %.2f of %.2f left", cpus,
			 left < 0 ? 0 : left, host_cpus);
		return false;
	}
	if (memory > 0 && used_memory + memory > host_memory) {
		char need[32], left[32], total[32];
		human_bytes(memory, need, sizeof(need));
		human_bytes(host_memory > used_memory ? host_memory - used_memory : 0, left,
			    sizeof(left));
		human_bytes(host_memory, total, sizeof(total));
		snprintf(reason, size, "insufficient memory: needs %s, %s of %s left", need, left,
			 total);
		return false;
	}
	return true;
}

void sched_plan_reservations(const json_t *service, double *cpus, int64_t *memory)
{
	json_t *res = json_object_get(
	    json_object_get(json_object_get(json_object_get(service, "deploy"), "resources"),
			    "reservations"),
	    "cpus");
	*cpus = json_is_number(res) ? json_number_value(res) : 0;
	json_t *mem = json_object_get(
	    json_object_get(json_object_get(json_object_get(service, "deploy"), "resources"),
			    "reservations"),
	    "memory");
	*memory = json_is_integer(mem) ? json_integer_value(mem) : 0;
}

void sched_plan_host(double *cpus, int64_t *memory)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	*cpus = n > 0 ? (double)n : 1;
	*memory = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		long long kb;
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1) {
			*memory = kb * 1024;
			break;
		}
	}
	if (f)
		fclose(f);
}

int sched_plan_cpu_count(const json_t *service)
{
	json_t *res = json_object_get(json_object_get(service, "deploy"), "resources");
	const char *kinds[] = {"reservations", "limits"};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(json_object_get(res, kinds[i]), "cpus");
		double cpus = json_is_number(v) ? json_number_value(v) : 0;
		if (cpus >= BERTH_CPUSET_MAX)
			return BERTH_CPUSET_MAX;
		if (cpus > 0) {
			int n = (int)cpus; /* ceil, with 1.0000000001 still 1 */
			return n + (cpus - n > 1e-9);
		}
	}
	return 0;
}

int sched_plan_cpus(const struct berth_cpuset *pool, const int *load, size_t n_load, int count,
		    struct berth_cpuset *out)
{
	int size = berth_cpuset_count(pool);
	if (count <= 0 || count >= size) {
		*out = *pool;
		return size;
	}
	berth_cpuset_clear(out);
	for (int k = 0; k < count; k++) {
		int best = -1, best_load = 0;
		for (int c = berth_cpuset_next(pool, 0); c >= 0;
		     c = berth_cpuset_next(pool, c + 1)) {
			int l = (size_t)c < n_load ? load[c] : 0;
			/* ascending order: a later CPU wins only with strictly less load */
			if (!berth_cpuset_has(out, c) && (best < 0 || l < best_load))
				best = c, best_load = l;
		}
		berth_cpuset_add(out, best);
	}
	return count;
}
