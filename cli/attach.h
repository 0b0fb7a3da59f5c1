/* Foreground containers: attach before start, wait, stream, and return the exit code. */
#ifndef BERTH_CLI_ATTACH_H
#define BERTH_CLI_ATTACH_H

#include <stdbool.h>

#include "cli.h"
#include "hijack.h"

struct cli_attach_opts {
	bool tty;
	bool stdin;	 /* send our stdin (-i) */
	bool autoremove; /* wait?condition=removed */
	bool sig_proxy;	 /* forward SIGINT/SIGTERM to the container */
	bool start;	 /* start the container (false: attach to a running one) */
};

/* Attach to container id (hijacked), open wait, start it on conn, stream until the output
 * ends, and return the container's exit code; on failure prints docker's message and returns
 * 125/126/127 (start errors) or 1. */
int cli_attach_run(struct cli *cli, struct cli_conn *conn, const char *id,
		   const struct cli_attach_opts *o);

#endif
