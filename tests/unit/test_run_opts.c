/* Unit tests for lib/run_opts.c: --ulimit as go-units parses it, --tmpfs options merged over
 * Docker's defaults, and the tmpfs target checks, each with Docker's message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "berth/run_opts.h"

static void ulimit_ok(void **state)
{
	(void)state;
	struct berth_ulimit u;
	struct berth_error err = {0};
	assert_int_equal(berth_ulimit_parse("nofile=1024:2048", &u, &err), 0);
	assert_string_equal(u.name, "nofile");
	assert_int_equal(u.resource, RLIMIT_NOFILE);
	assert_int_equal(u.soft, 1024);
	assert_int_equal(u.hard, 2048);
	/* hard defaults to soft */
	assert_int_equal(berth_ulimit_parse("core=0", &u, &err), 0);
	assert_int_equal(u.resource, RLIMIT_CORE);
	assert_int_equal(u.soft, 0);
	assert_int_equal(u.hard, 0);
	/* -1 is unlimited, above any soft limit */
	assert_int_equal(berth_ulimit_parse("memlock=1024:-1", &u, &err), 0);
	assert_int_equal(u.hard, -1);
	assert_int_equal(berth_ulimit_parse("nproc=+5", &u, &err), 0);
	assert_int_equal(u.soft, 5);
	assert_int_equal(berth_ulimit_resource("rttime"), RLIMIT_RTTIME);
	assert_int_equal(berth_ulimit_resource("foo"), -1);
	assert_int_equal(berth_ulimit_resource(NULL), -1);
}

static void expect_ulimit_error(const char *in, const char *msg)
{
	struct berth_ulimit u;
	struct berth_error err = {0};
	assert_int_equal(berth_ulimit_parse(in, &u, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, msg);
}

static void ulimit_errors(void **state)
{
	(void)state;
	expect_ulimit_error("nofile", "invalid ulimit argument: nofile");
	expect_ulimit_error("foo=1", "invalid ulimit type: foo");
	expect_ulimit_error("=1", "invalid ulimit type: ");
	expect_ulimit_error("averyveryverylongname=1",
			    "invalid ulimit type: averyveryverylongname");
	expect_ulimit_error(
	    "nofile=2048:1024",
	    "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024");
	expect_ulimit_error("nofile=1:2:3", "too many limit value arguments - 1:2:3, can only have "
					    "up to two, `soft[:hard]`");
	expect_ulimit_error("nofile=x", "strconv.ParseInt: parsing \"x\": invalid syntax");
	expect_ulimit_error("nofile=", "strconv.ParseInt: parsing \"\": invalid syntax");
	expect_ulimit_error("nofile=1:", "strconv.ParseInt: parsing \"\": invalid syntax");
	expect_ulimit_error("nofile=1:-", "strconv.ParseInt: parsing \"-\": invalid syntax");
	expect_ulimit_error(
	    "nofile=99999999999999999999",
	    "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
}

static void tmpfs_defaults(void **state)
{
	(void)state;
	struct berth_tmpfs_opts o;
	struct berth_error err = {0};
	assert_int_equal(berth_tmpfs_parse(NULL, &o, &err), 0);
	assert_int_equal(o.flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
	assert_int_equal(o.propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(o.data, "");
	assert_int_equal(berth_tmpfs_parse("", &o, &err), 0);
	assert_string_equal(o.data, "");
}

static void tmpfs_merge(void **state)
{
	(void)state;
	struct berth_tmpfs_opts o;
	struct berth_error err = {0};
	assert_int_equal(berth_tmpfs_parse("size=64m,mode=1777", &o, &err), 0);
	assert_string_equal(o.data, "size=64m,mode=1777");
	assert_int_equal(o.flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
	/* a later flag or key wins; data comes out in one order */
	assert_int_equal(berth_tmpfs_parse("uid=1000,exec,size=1g,ro,size=10%,suid,dev,rshared,"
					   "gid=5,nr_inodes=1k,noatime",
					   &o, &err),
			 0);
	assert_string_equal(o.data, "size=10%,nr_inodes=1k,uid=1000,gid=5");
	assert_int_equal(o.flags, MS_RDONLY | MS_NOATIME);
	assert_int_equal(o.propagation, MS_SHARED | MS_REC);
	assert_int_equal(berth_tmpfs_parse("exec,noexec,,rw", &o, &err), 0);
	assert_int_equal(o.flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
	assert_int_equal(berth_tmpfs_parse("mpol=interleave:0-1", &o, &err), 0);
	assert_string_equal(o.data, "mpol=interleave:0-1");
}

static void expect_tmpfs_error(const char *in, const char *msg)
{
	struct berth_tmpfs_opts o;
	struct berth_error err = {0};
	assert_int_equal(berth_tmpfs_parse(in, &o, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, msg);
}

static void tmpfs_errors(void **state)
{
	(void)state;
	expect_tmpfs_error("foo=bar", "invalid tmpfs option [\"foo\" \"bar\"]");
	expect_tmpfs_error("size=64m,foo", "invalid tmpfs option [\"foo\"]");
	expect_tmpfs_error("bind", "invalid tmpfs option [\"bind\"]");
	expect_tmpfs_error("size", "invalid tmpfs option [\"size\"]");
	expect_tmpfs_error("size=", "invalid tmpfs option [\"size\" \"\"]");
	expect_tmpfs_error("size=lots", "invalid tmpfs option [\"size\" \"lots\"]");
	expect_tmpfs_error("size=1mb", "invalid tmpfs option [\"size\" \"1mb\"]");
	expect_tmpfs_error("nr_inodes=5%", "invalid tmpfs option [\"nr_inodes\" \"5%\"]");
	expect_tmpfs_error("mode=1778", "invalid tmpfs option [\"mode\" \"1778\"]");
	expect_tmpfs_error("uid=-1", "invalid tmpfs option [\"uid\" \"-1\"]");
	expect_tmpfs_error("uid=1k", "invalid tmpfs option [\"uid\" \"1k\"]");
	expect_tmpfs_error("size=111111111111111111111111111111111",
			   "invalid tmpfs option [\"size\" \"111111111111111111111111111111111\"]");
}

static void tmpfs_targets(void **state)
{
	(void)state;
	struct berth_error err = {0};
	assert_int_equal(berth_tmpfs_check_target("/run", &err), 0);
	assert_int_equal(berth_tmpfs_check_target("run", &err), -1);
	assert_string_equal(err.msg, "invalid mount path: 'run' mount path must be absolute");
	assert_int_equal(berth_tmpfs_check_target("", &err), -1);
	assert_int_equal(berth_tmpfs_check_target("/", &err), -1);
	assert_string_equal(err.msg, "invalid specification: destination can't be '/'");
	assert_int_equal(berth_tmpfs_check_target("//", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ulimit_ok),      cmocka_unit_test(ulimit_errors),
	    cmocka_unit_test(tmpfs_defaults), cmocka_unit_test(tmpfs_merge),
	    cmocka_unit_test(tmpfs_errors),   cmocka_unit_test(tmpfs_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
