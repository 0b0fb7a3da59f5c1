/* Which containers an attached `compose up` still waits for, and the exit code it returns:
 * compose v2's rules for "web-1 exited with code N", --abort-on-container-exit and
 * --exit-code-from. Pure (no I/O), so it is unit-tested. */
#ifndef BERTH_CLI_COMPOSE_EXITS_H
#define BERTH_CLI_COMPOSE_EXITS_H

#include <stdbool.h>
#include <stddef.h>

struct compose_exit_entry {
	char id[65];
	char service[128];
	bool done;
};

struct compose_exits {
	struct compose_exit_entry *v;
	size_t n, cap;
	bool abort_on_exit;	  /* the first exit stops everything */
	char exit_code_from[128]; /* "" or the service whose exit code is returned */
	bool aborting;
	bool have_code;
	int exit_code;
};

enum compose_exit_verdict {
	COMPOSE_EXIT_IGNORE, /* not one we wait for, already counted, or we are aborting */
	COMPOSE_EXIT_PRINT,  /* print "web-1 exited with code N" */
	COMPOSE_EXIT_ABORT,  /* print it, then "Aborting on container exit..." and stop all */
};

/* exit_code_from (may be NULL) implies abort_on_exit, as in compose. */
void compose_exits_init(struct compose_exits *w, bool abort_on_exit, const char *exit_code_from);
void compose_exits_free(struct compose_exits *w);
/* Wait for this container (listed at the start, or started since): not done. */
void compose_exits_track(struct compose_exits *w, const char *id, const char *service);
/* The container exited for good (it is not being restarted) with code. */
enum compose_exit_verdict compose_exits_exited(struct compose_exits *w, const char *id,
					       const char *service, int code);
/* The container was removed: nothing to wait for. */
void compose_exits_gone(struct compose_exits *w, const char *id);
/* Every tracked container is done (true when none was tracked). */
bool compose_exits_all_done(const struct compose_exits *w);
/* What up returns: the first exit code of exit_code_from's service, else with abort_on_exit
 * the first exit's code, else 0. */
int compose_exits_code(const struct compose_exits *w);

#endif
