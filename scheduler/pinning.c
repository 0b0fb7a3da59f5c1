/* CPU pinning of replicas: a service's cpuset is the pool its replicas may use; with a CPU count
 * each replica gets that many of the pool's least-loaded CPUs (sched_plan_cpus), the load
 * being what every container of the host is pinned to: read from a listing of all containers
 * (so projects not listed yet since a restart, and `run --cpuset-cpus`, count too) plus the
 * replicas whose create is still in flight. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/cpuset.h"
#include "sched.h"

static void add_cpus(int *load, const char *cpus)
{
	struct berth_cpuset set;
	if (!cpus || !cpus[0] || berth_cpuset_parse(cpus, &set) < 0)
		return;
	for (int c = berth_cpuset_next(&set, 0); c >= 0; c = berth_cpuset_next(&set, c + 1))
		load[c]++;
}

const char *sched_pin_of_listed(const json_t *c)
{
	/* HostConfig.CpusetCpus (the agent lists it when set) covers containers made outside
	 * compose; the label covers an agent that does not list it. */
	const char *cpus =
	    json_string_value(json_object_get(json_object_get(c, "HostConfig"), "CpusetCpus"));
	if (cpus && *cpus)
		return cpus;
	return json_string_value(json_object_get(json_object_get(c, "Labels"), SCHED_LABEL_CPUSET));
}

int *sched_pin_load(struct sched *s, const struct sched_project *p, const json_t *all)
{
	int *load = calloc(BERTH_CPUSET_MAX, sizeof(*load));
	if (!load)
		abort();
	_cleanup_json_ json_t *listed = json_object(); /* ids in the listing */
	size_t i;
	json_t *c;
	json_array_foreach(all, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *project = json_string_value(
		    json_object_get(json_object_get(c, "Labels"), SCHED_LABEL_PROJECT));
		if (id)
			json_object_set_new(listed, id, json_true());
		/* p's own are counted from its replicas below (with those being created). */
		if (p && project && !strcmp(project, p->name))
			continue;
		add_cpus(load, sched_pin_of_listed(c));
	}
	for (struct sched_project *q = s->projects; q; q = q->next)
		for (size_t k = 0; k < q->n_services; k++)
			for (size_t j = 0; j < q->services[k]->n_replicas; j++) {
				const struct sched_replica *r = q->services[k]->replicas[j];
				/* Another project's replica is in the listing unless it was
				 * made (or removed) since: counting it then errs towards
				 * spreading. */
				if (q == p || !r->id[0] || !json_object_get(listed, r->id))
					add_cpus(load, r->cpuset);
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
