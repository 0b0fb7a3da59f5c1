/* The attached `compose up`'s bookkeeping of container exits (see compose_exits.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose_exits.h"

void compose_exits_init(struct compose_exits *w, bool abort_on_exit, const char *exit_code_from)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->exit_code_from, sizeof(w->exit_code_from), "%s",
		 exit_code_from ? exit_code_from : "");
	w->abort_on_exit = abort_on_exit || w->exit_code_from[0];
}

void compose_exits_free(struct compose_exits *w)
{
	free(w->v);
	memset(w, 0, sizeof(*w));
}

static struct compose_exit_entry *find(const struct compose_exits *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].id, id))
			return &w->v[i];
	return NULL;
}

void compose_exits_track(struct compose_exits *w, const char *id, const char *service)
{
	struct compose_exit_entry *e = find(w, id);
	if (!e) {
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 8;
			w->v = realloc(w->v, w->cap * sizeof(*w->v));
			if (!w->v)
				abort();
		}
		e = &w->v[w->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "%s", id);
		snprintf(e->service, sizeof(e->service), "%s", service ? service : "");
	}
	/* Started again (compose start, a restart by hand): wait for it again, unless all is
	 * being stopped. */
	if (!w->aborting)
		e->done = false;
}

enum compose_exit_verdict compose_exits_exited(struct compose_exits *w, const char *id,
					       const char *service, int code)
{
	struct compose_exit_entry *e = find(w, id);
	if (!e || e->done)
		return COMPOSE_EXIT_IGNORE;
	e->done = true;
	if (!w->have_code && w->exit_code_from[0] && service &&
	    !strcmp(service, w->exit_code_from)) {
		w->have_code = true;
		w->exit_code = code;
	}
	if (w->aborting)
		return COMPOSE_EXIT_IGNORE;
	if (!w->abort_on_exit)
		return COMPOSE_EXIT_PRINT;
	w->aborting = true;
	if (!w->exit_code_from[0]) {
		w->have_code = true;
		w->exit_code = code;
	}
	return COMPOSE_EXIT_ABORT;
}

void compose_exits_gone(struct compose_exits *w, const char *id)
{
	struct compose_exit_entry *e = find(w, id);
	if (e)
		e->done = true;
}

bool compose_exits_all_done(const struct compose_exits *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].done)
			return false;
	return true;
}

int compose_exits_code(const struct compose_exits *w)
{
	return w->have_code ? w->exit_code : 0;
}
