/* libFuzzer harness: the seccomp profile reader (lib/seccomp_profile.c). Any input either fails
 * with a message or gives rules that are all well-formed; the same input read for another arch
 * and capability set (the first bytes choose them) must hold the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/seccomp_profile.h"

static void check(const struct seccomp_profile *p)
{
	if (p->disabled && p->n_rules)
		abort();
	if (p->n_rules > SECCOMP_PROFILE_MAX_RULES || p->n_arches > SECCOMP_PROFILE_MAX_ARCHES)
		abort();
	for (size_t i = 0; i < p->n_arches; i++)
		if (strncmp(p->arches[i], "SCMP_ARCH_", 10) ||
		    strnlen(p->arches[i], sizeof(p->arches[i])) == sizeof(p->arches[i]))
			abort();
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct seccomp_rule *r = &p->rules[i];
		size_t len = strnlen(r->name, sizeof(r->name));
		if (!len || len == sizeof(r->name) || r->n_args > SECCOMP_PROFILE_MAX_ARGS ||
		    r->action > SECCOMP_ACTION_ALLOW || r->errno_ret > 4095)
			abort();
		for (unsigned k = 0; k < r->n_args; k++)
			if (r->args[k].index > 5 || r->args[k].op < SECCOMP_OP_NE ||
			    r->args[k].op > SECCOMP_OP_MASKED_EQ)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const arches[] = {"amd64", "arm64", "s390x", "x86", NULL};
	uint64_t caps = size ? (data[0] & 1 ? ~0ULL : 1ULL << (data[0] % 41)) : 0;
	struct seccomp_target t = {.caps = caps,
				   .arch = arches[size > 1 ? data[1] % 5 : 0],
				   .kernel_major = 6,
				   .kernel_minor = 1};
	struct seccomp_profile p;
	struct berth_error err = {0};
	if (seccomp_profile_parse((const char *)data, size, &t, &p, &err) < 0) {
		if (!err.msg[0] || (err.status != 400 && err.status != 500))
			abort();
		return 0;
	}
	check(&p);
	seccomp_profile_free(&p);
	return 0;
}
