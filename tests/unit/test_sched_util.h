/* Helpers shared by the scheduler unit tests: JSON from a string, a project applied from a
 * model, replicas added by hand. Include after cmocka.h and sched.h. */
#ifndef TEST_SCHED_UTIL_H
#define TEST_SCHED_UTIL_H

#include <stdio.h>
#include <stdlib.h>

static inline json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("%s: %s", text, e.text);
	return j;
}

static inline struct sched_replica *add_replica(struct sched_service *svc, int number,
						const char *id, const char *state,
						const char *cpuset)
{
	svc->replicas = realloc(svc->replicas, (svc->n_replicas + 1) * sizeof(*svc->replicas));
	struct sched_replica *r = calloc(1, sizeof(*r));
	r->number = number;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->state, sizeof(r->state), "%s", state);
	snprintf(r->cpuset, sizeof(r->cpuset), "%s", cpuset);
	snprintf(r->hash, sizeof(r->hash), "%s", svc->hash);
	r->seen = true;
	svc->replicas[svc->n_replicas++] = r;
	svc->cap_replicas = svc->n_replicas;
	return r;
}

static inline struct sched_project *apply(struct sched *s, const char *name,
					  const char *model_text)
{
	struct berth_error err = {0};
	json_t *m = parse(model_text);
	struct sched_project *p = sched_project_apply(s, name, m, NULL, NULL, &err);
	json_decref(m);
	assert_non_null(p);
	return p;
}

#endif
