/* Following the logs of compose containers: one thread per container, each line printed
 * "web-1  | line" (or alone) under one lock, so lines of different containers never mix. */
#ifndef BERTH_CLI_COMPOSE_FOLLOW_H
#define BERTH_CLI_COMPOSE_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define COMPOSE_FOLLOW_MAX 4096

struct compose_follower;

struct compose_followers {
	struct cli *cli;
	bool follow, timestamps, no_prefix;
	struct compose_follower *f[COMPOSE_FOLLOW_MAX];
	size_t n;
};

/* Make the prefix column at least as wide as prefix (compose aligns the " | "). */
void compose_follow_widen(const char *prefix);
/* Stream container id's log (query: "tail=N" or "since=T") in a thread, unless it is being
 * streamed already. */
void compose_follow_start(struct compose_followers *s, const char *id, const char *prefix,
			  const char *query);
/* Wait (up to 2 s) until id's log stream has ended: the agent ends it when the container
 * stops, so what is printed next comes after its last line. */
void compose_follow_wait(struct compose_followers *s, const char *id);
/* Print a line of our own (on stdout) between the containers' lines; quiet then drops the
 * containers' lines from there on (compose prints none while it aborts). */
void compose_follow_say(const char *line, bool quiet);
/* Wait for every stream to end, and free them. */
void compose_follow_join(struct compose_followers *s);

#endif
