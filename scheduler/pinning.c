/* CPU pinning of replicas: a service's cpuset is the pool its replicas may use; with a CPU count
 * each replica gets that many of the pool's least-loaded CPUs (sched_plan_cpus), the load
 * being what every replica of every project is pinned to, read back from their labels. */
#include <stdio.h>
#include <stdlib.h>

#include "berth/cpuset.h"
#include "sched.h"

int *sched_pin_load(struct sched *s)
{
	int *load = calloc(BERTH_CPUSET_MAX, sizeof(*load));
	if (!load)
		abort();
	struct berth_cpuset set;
	for (struct sched_project *p = s->projects; p; p = p->next)
		for (size_t i = 0; i < p->n_services; i++)
			for (size_t j = 0; j < p->services[i]->n_replicas; j++) {
				const char *cpus = p->services[i]->replicas[j]->cpuset;
				if (!cpus[0] || berth_cpuset_parse(cpus, &set) < 0)
					continue;
				for (int c = berth_cpuset_next(&set, 0); c >= 0;
				     c = berth_cpuset_next(&set, c + 1))
					load[c]++;
			}
	return load;
}

void sched_pin_choose(const struct sched_service *svc, int *load, char *out, size_t size)
{
	const char *pool_text = json_string_value(json_object_get(svc->config, "cpuset"));
	struct berth_cpuset pool, chosen;
	out[0] = '\0';
	if (!pool_text || !*pool_text)
		return;
	/* The compose loader checked the list; a bad one goes to the agent, which says why. */
	if (berth_cpuset_parse(pool_text, &pool) < 0) {
		snprintf(out, size, "%s", pool_text);
		return;
	}
	sched_plan_cpus(&pool, load, BERTH_CPUSET_MAX, sched_plan_cpu_count(svc->config), &chosen);
	if (berth_cpuset_format(&chosen, out, size) >= size) {
		snprintf(out, size, "%s", pool_text); /* too long for the label: the whole pool */
		return;
	}
	for (int c = berth_cpuset_next(&chosen, 0); c >= 0; c = berth_cpuset_next(&chosen, c + 1))
		load[c]++;
}
