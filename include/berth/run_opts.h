/* Parsers for run options the container's process gets: --ulimit and --tmpfs's options, as
 * Docker parses them (go-units ParseUlimit; moby's tmpfs option merge). Pure: no I/O. */
#ifndef BERTH_RUN_OPTS_H
#define BERTH_RUN_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

struct berth_ulimit {
	char name[16];
	int resource;	    /* RLIMIT_* */
	int64_t soft, hard; /* -1: unlimited */
};

/* RLIMIT_* for Docker's ulimit name ("nofile", "nproc", ...), -1 if it has none. */
int berth_ulimit_resource(const char *name);
/* "name=soft[:hard]" (hard defaults to soft) with go-units' checks and messages ("invalid ulimit
 * type: foo", "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"). */
int berth_ulimit_parse(const char *s, struct berth_ulimit *u, struct berth_error *err);

/* The mount of a --tmpfs: flags and propagation for mount(2), data for the kernel. */
struct berth_tmpfs_opts {
	unsigned long flags;	   /* MS_NOEXEC|MS_NOSUID|MS_NODEV unless overridden */
	unsigned long propagation; /* MS_PRIVATE|MS_REC unless given */
	char data[512];		   /* "size=64m,mode=1777" */
};
/* opts as in HostConfig.Tmpfs's values ("size=64m,mode=1777,exec"; NULL or "" for none) merged
 * over Docker's defaults noexec,nosuid,nodev: a later flag or key overrides an earlier one.
 * Unknown options and malformed values are refused with Docker's "invalid tmpfs option". */
int berth_tmpfs_parse(const char *opts, struct berth_tmpfs_opts *out, struct berth_error *err);
/* Docker's checks of a tmpfs destination: absolute and not "/". */
int berth_tmpfs_check_target(const char *target, struct berth_error *err);

#endif
