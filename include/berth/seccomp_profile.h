/* Seccomp profiles in Docker's JSON format, read into a flat rule list (no libseccomp here: the
 * shim maps names and arches to numbers and builds the filter). */
#ifndef BERTH_SECCOMP_PROFILE_H
#define BERTH_SECCOMP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"

#define SECCOMP_PROFILE_MAX_ARGS 6
#define SECCOMP_PROFILE_NAME_MAX 64
#define SECCOMP_PROFILE_MAX_ARCHES 16
/* Bounds on what one profile may expand to (Docker's default: ~450 rules). */
#define SECCOMP_PROFILE_MAX_RULES 8192

enum seccomp_action {
	SECCOMP_ACTION_KILL_THREAD,
	SECCOMP_ACTION_KILL_PROCESS,
	SECCOMP_ACTION_TRAP,
	SECCOMP_ACTION_ERRNO,
	SECCOMP_ACTION_TRACE,
	SECCOMP_ACTION_LOG,
	SECCOMP_ACTION_ALLOW,
};

/* The values of libseccomp's enum scmp_compare. */
enum seccomp_op {
	SECCOMP_OP_NE = 1,
	SECCOMP_OP_LT,
	SECCOMP_OP_LE,
	SECCOMP_OP_EQ,
	SECCOMP_OP_GE,
	SECCOMP_OP_GT,
	SECCOMP_OP_MASKED_EQ,
};

struct seccomp_arg {
	unsigned index; /* 0-5 */
	enum seccomp_op op;
	uint64_t value, value_two; /* MASKED_EQ: (arg & value) == value_two */
};

/* One syscall, one action, the comparisons all of which must hold. */
struct seccomp_rule {
	char name[SECCOMP_PROFILE_NAME_MAX];
	enum seccomp_action action;
	uint32_t errno_ret; /* ERRNO (default EPERM) and TRACE */
	unsigned n_args;
	struct seccomp_arg args[SECCOMP_PROFILE_MAX_ARGS];
};

/* What the profile's includes/excludes are evaluated against. */
struct seccomp_target {
	uint64_t caps;	  /* the container's capability set (bit n = capability n) */
	const char *arch; /* Docker's (Go's) name of the native arch: "amd64", "arm64", ... */
	unsigned kernel_major, kernel_minor;
};

struct seccomp_profile {
	int disabled; /* neither defaultAction nor syscalls: no filter, as Docker */
	enum seccomp_action default_action;
	uint32_t default_errno;
	/* "SCMP_ARCH_X86_64"... from architectures or the native arch's archMap entry */
	size_t n_arches;
	char arches[SECCOMP_PROFILE_MAX_ARCHES][32];
	size_t n_rules;
	struct seccomp_rule *rules;
};

/* Parse a profile (json, len bytes) and keep the rules that apply to target, one per syscall
 * name (a block comparing one argument twice becomes one rule per comparison, as runc does).
 * Errors (400) say what is wrong, prefixed "decoding seccomp profile failed: ". */
int seccomp_profile_parse(const char *json, size_t len, const struct seccomp_target *target,
			  struct seccomp_profile *out, struct berth_error *err);
void seccomp_profile_free(struct seccomp_profile *p);

/* Docker's name for the arch uname(2) reports ("x86_64" -> "amd64"); NULL when unknown. */
const char *seccomp_native_arch(const char *machine);

#endif
