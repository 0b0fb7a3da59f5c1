/* Unit tests for the subnets a network may not take: reserved ranges and host routes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipam.h"
#include "subnet_check.h"

static int reserved(const char *cidr, struct berth_error *err)
{
	uint32_t s;
	int p;
	memset(err, 0, sizeof(*err));
	assert_int_equal(ipam_parse_cidr(cidr, &s, &p, NULL), 0);
	return subnet_check_reserved(s, p, err);
}

static void test_reserved(void **state)
{
	struct berth_error err;
	static const char *const bad[] = {
	    "127.0.0.0/8",    "127.5.0.0/16", "0.0.0.0/8",    "0.1.2.0/24",  "169.254.0.0/16",
	    "169.254.3.0/24", "224.0.0.0/8",  "239.1.0.0/16", "240.0.0.0/8", "255.255.255.0/24"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(reserved(bad[i], &err), -1);
		assert_int_equal(err.status, 400);
	}
	assert_int_equal(reserved("127.0.0.0/8", &err), -1);
	assert_string_equal(err.msg, "invalid subnet 127.0.0.0/8: it overlaps 127.0.0.0/8, the "
				     "loopback range, which a network cannot use");
	static const char *const good[] = {"10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16",
					   "100.64.0.0/10", "126.0.0.0/8",   "223.255.255.0/24",
					   "128.0.0.0/8",   "169.253.0.0/16"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_int_equal(reserved(good[i], &err), 0);
}

static void test_routes(void **state)
{
	char path[] = "/tmp/test_netd_subnet.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"   /* default */
	    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"   /* 192.0.2.0/24 */
	    "berth0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" /* ours */
	    "br-0123\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	    "wg0\t0A00A8C0\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n", /* 192.168.0.10/32 */
	    f);
	fclose(f);
	struct berth_error err = {0};
	uint32_t s;
	int p;
	assert_int_equal(ipam_parse_cidr("192.0.0.0/16", &s, &p, NULL), 0);
	assert_int_equal(subnet_check_routes(path, s, p, &err), -1);
	assert_string_equal(err.msg,
			    "Pool overlaps with other one on this address space: "
			    "192.0.0.0/16 overlaps the host's route to 192.0.2.0/24 on eth0");
	assert_int_equal(ipam_parse_cidr("192.168.0.0/24", &s, &p, NULL), 0);
	assert_int_equal(subnet_check_routes(path, s, p, &err), -1);
	assert_non_null(strstr(err.msg, "192.168.0.10/32 on wg0"));
	/* the default route and berth's own bridges are no conflict */
	static const char *const ok[] = {"10.88.0.0/16", "10.89.0.0/16", "172.20.0.0/16",
					 "192.168.1.0/24"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		assert_int_equal(ipam_parse_cidr(ok[i], &s, &p, NULL), 0);
		assert_int_equal(subnet_check_routes(path, s, p, &err), 0);
	}
	/* no route file: nothing to compare with */
	assert_int_equal(subnet_check_routes("/nonexistent/route", s, p, &err), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
