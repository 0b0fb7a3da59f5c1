/* Unit tests for lib/seccomp_profile.c: berth's default profile read for a default and a
 * CAP_SYS_ADMIN container, argument splitting, and every refusal. */
#include <errno.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/capability.h"
#include "berth/cleanup.h"
#include "berth/seccomp_profile.h"

#define CAP(n) (1ULL << (n))
/* Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP */
#define DEFAULT_CAPS 0xa80425fbULL
#define SYS_ADMIN 21

static char *default_profile(void)
{
	char src[4096], path[4200];
	snprintf(src, sizeof(src), "%s", __FILE__);
	snprintf(path, sizeof(path), "%s/../../profiles/seccomp-default.json", dirname(src));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(n > 1000);
	return buf;
}

static int parse(const char *json, uint64_t caps, const char *arch, struct seccomp_profile *p,
		 struct berth_error *err)
{
	struct seccomp_target t = {
	    .caps = caps, .arch = arch, .kernel_major = 6, .kernel_minor = 1};
	return seccomp_profile_parse(json, strlen(json), &t, p, err);
}

/* The rules for name, in order; n is how many. */
static const struct seccomp_rule *find(const struct seccomp_profile *p, const char *name, size_t *n)
{
	const struct seccomp_rule *first = NULL;
	*n = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (!strcmp(p->rules[i].name, name) && (*n)++ == 0)
			first = &p->rules[i];
	return first;
}

static void test_default_profile(void **state)
{
	_cleanup_free_ char *json = default_profile();
	struct seccomp_profile p;
	struct berth_error err = {0};
	assert_int_equal(parse(json, DEFAULT_CAPS, "amd64", &p, &err), 0);
	assert_false(p.disabled);
	assert_int_equal(p.default_action, SECCOMP_ACTION_ERRNO);
	assert_int_equal(p.default_errno, EPERM);
	assert_int_equal(p.n_arches, 3);
	assert_string_equal(p.arches[0], "SCMP_ARCH_X86_64");
	assert_string_equal(p.arches[1], "SCMP_ARCH_X86");
	assert_string_equal(p.arches[2], "SCMP_ARCH_X32");
	size_t n;
	const struct seccomp_rule *r = find(&p, "read", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->action, SECCOMP_ACTION_ALLOW);
	assert_int_equal(r->n_args, 0);
	/* namespaces, mounts, keyrings, io_uring: not allowed without CAP_SYS_ADMIN */
	static const char *const denied[] = {"unshare",		  "setns",	    "mount",
					     "umount2",		  "add_key",	    "keyctl",
					     "io_uring_setup",	  "io_uring_enter", "bpf",
					     "open_by_handle_at", "reboot",	    "ptrace_x"};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		find(&p, denied[i], &n);
		assert_int_equal(n, 0);
	}
	r = find(&p, "clone", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->n_args, 1);
	assert_int_equal(r->args[0].index, 0);
	assert_int_equal(r->args[0].op, SECCOMP_OP_MASKED_EQ);
	assert_int_equal(r->args[0].value, 0x7E020000);
	assert_int_equal(r->args[0].value_two, 0);
	r = find(&p, "clone3", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->action, SECCOMP_ACTION_ERRNO);
	assert_int_equal(r->errno_ret, ENOSYS);
	r = find(&p, "personality", &n);
	assert_int_equal(n, 5);
	r = find(&p, "socket", &n);
	assert_int_equal(r->args[0].op, SECCOMP_OP_NE);
	assert_int_equal(r->args[0].value, 40); /* AF_VSOCK */
	find(&p, "chroot", &n);			/* CAP_SYS_CHROOT is a default capability */
	assert_int_equal(n, 1);
	find(&p, "arch_prctl", &n);
	assert_int_equal(n, 1);
	find(&p, "ptrace", &n); /* minKernel 4.8 */
	assert_int_equal(n, 1);
	seccomp_profile_free(&p);
}

static void test_default_profile_sys_admin(void **state)
{
	_cleanup_free_ char *json = default_profile();
	struct seccomp_profile p;
	struct berth_error err = {0};
	assert_int_equal(parse(json, DEFAULT_CAPS | CAP(SYS_ADMIN), "amd64", &p, &err), 0);
	size_t n;
	const struct seccomp_rule *r = find(&p, "unshare", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->action, SECCOMP_ACTION_ALLOW);
	r = find(&p, "clone", &n); /* unconditional, the masked rule excluded */
	assert_int_equal(n, 1);
	assert_int_equal(r->n_args, 0);
	r = find(&p, "clone3", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->action, SECCOMP_ACTION_ALLOW);
	/* on s390x the flags are the second argument; other arches are not in the map */
	seccomp_profile_free(&p);
	assert_int_equal(parse(json, DEFAULT_CAPS, "s390x", &p, &err), 0);
	r = find(&p, "clone", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->args[0].index, 1);
	find(&p, "arch_prctl", &n);
	assert_int_equal(n, 0);
	assert_int_equal(p.n_arches, 2);
	seccomp_profile_free(&p);
	assert_int_equal(parse(json, DEFAULT_CAPS, "ppc64le", &p, &err), 0);
	assert_int_equal(p.n_arches, 0);
	seccomp_profile_free(&p);
}

static void test_split_and_filters(void **state)
{
	struct seccomp_profile p;
	struct berth_error err = {0};
	const char *json =
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
	    "{\"names\":[\"a\",\"b\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
	    "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
	    "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
	    "{\"name\":\"c\",\"action\":\"SCMP_ACT_KILL\",\"args\":["
	    "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_GE\"},"
	    "{\"index\":2,\"value\":2,\"op\":\"SCMP_CMP_LT\"}]},"
	    "{\"name\":\"d\",\"action\":\"SCMP_ACT_LOG\",\"includes\":{\"minKernel\":\"7.0\"}},"
	    "{\"name\":\"e\",\"action\":\"SCMP_ACT_LOG\",\"excludes\":{\"minKernel\":\"5.4\"}},"
	    "{\"name\":\"f\",\"action\":\"SCMP_ACT_TRAP\",\"includes\":{\"caps\":[\"CAP_BPF\"]}},"
	    "{\"name\":\"g\",\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":5,"
	    "\"includes\":{\"arches\":[\"amd64\"]}}]}";
	assert_int_equal(parse(json, 0, "amd64", &p, &err), 0);
	/* a and b each compare arg 0 twice: one rule per comparison */
	assert_int_equal(p.n_rules, 6);
	assert_string_equal(p.rules[0].name, "a");
	assert_int_equal(p.rules[0].n_args, 1);
	assert_int_equal(p.rules[1].args[0].value, 2);
	assert_int_equal(p.rules[1].errno_ret, EPERM);
	assert_string_equal(p.rules[3].name, "b");
	assert_string_equal(p.rules[4].name, "c");
	assert_int_equal(p.rules[4].n_args, 2);
	assert_int_equal(p.rules[4].action, SECCOMP_ACTION_KILL_THREAD);
	assert_string_equal(p.rules[5].name, "g");
	assert_int_equal(p.rules[5].errno_ret, 5);
	assert_int_equal(p.n_arches, 0);
	seccomp_profile_free(&p);
	assert_int_equal(parse(json, CAP(39), "arm64", &p, &err), 0);
	assert_string_equal(p.rules[p.n_rules - 1].name, "f");
	seccomp_profile_free(&p);
}

static void refused(const char *json, const char *want)
{
	struct seccomp_profile p;
	struct berth_error err = {0};
	assert_int_equal(parse(json, DEFAULT_CAPS, "amd64", &p, &err), -1);
	assert_int_equal(err.status, 400);
	if (!strstr(err.msg, want))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", json, err.msg, want);
	assert_null(p.rules);
}

static void test_refusals(void **state)
{
	refused("{", "decoding seccomp profile failed: ");
	refused("[]", "not a JSON object");
	refused("{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
		"defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	refused("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY is not supported");
	refused(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"a\",\"names\":[\"b\"],"
	    "\"action\":\"SCMP_ACT_ERRNO\"}]}",
	    "use either 'name' or 'names'");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		"args.index: not an integer from 0 to 5");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"EQ\"}]}]}",
		"syscalls[0].args[0]: unknown op \"EQ\"");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":-1}]}",
		"errnoRet: not an integer from 0 to 4095");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"\"],"
		"\"action\":\"SCMP_ACT_ERRNO\"}]}",
		"invalid syscall name");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[1],"
		"\"action\":\"SCMP_ACT_ERRNO\"}]}",
		"not a list of strings");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"minKernel\":\"four\"}}]}",
		"invalid kernel version \"four\"");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
		"\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
		"use either 'architectures' or 'archMap'");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"x86_64\"]}",
		"invalid architecture x86_64");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
		"invalid architecture SCMP_ARCH_VAX");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"]}",
		"flags (SECCOMP_FILTER_FLAG_LOG) are not supported");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "syscalls: not a list");
}

static void test_disabled_and_caps(void **state)
{
	struct seccomp_profile p;
	struct berth_error err = {0};
	assert_int_equal(parse("{}", 0, "amd64", &p, &err), 0);
	assert_true(p.disabled);
	assert_int_equal(parse("{\"defaultAction\":\"\",\"syscalls\":[]}", 0, "amd64", &p, &err),
			 0);
	assert_true(p.disabled);
	uint64_t m;
	assert_int_equal(berth_cap_from_name("CAP_SYS_ADMIN", &m), 0);
	assert_int_equal(m, CAP(SYS_ADMIN));
	assert_int_equal(berth_cap_from_name("net_admin", &m), 0);
	assert_int_equal(m, CAP(12));
	assert_int_equal(berth_cap_from_name("all", &m), 0);
	assert_int_equal(m, ~0ULL);
	assert_int_equal(berth_cap_from_name("CAP_NOPE", &m), -1);
	assert_string_equal(seccomp_native_arch("x86_64"), "amd64");
	assert_null(seccomp_native_arch("vax"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_profile),
	    cmocka_unit_test(test_default_profile_sys_admin),
	    cmocka_unit_test(test_split_and_filters),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_disabled_and_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
