/* Unit tests for netd's IPAM: CIDR parsing, leases never handed twice, reserved addresses,
 * exhaustion of a /29, release and the rotating cursor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ipam.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	assert_int_equal(ipam_parse_ip(s, &v), 0);
	return v;
}

static void test_parse_cidr(void **state)
{
	struct berth_error err = {0};
	uint32_t s;
	int p;
	assert_int_equal(ipam_parse_cidr("10.88.0.0/16", &s, &p, &err), 0);
	assert_int_equal(s, ip("10.88.0.0"));
	assert_int_equal(p, 16);
	assert_int_equal(ipam_parse_cidr("10.88.0.1/16", &s, &p, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "invalid subnet 10.88.0.1/16 : it should be 10.88.0.0/16");
	assert_int_equal(ipam_parse_cidr("10.88.0.0", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr("10.88.0.0/", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr("10.88.0.0/33", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr("10.88.0.0/31", &s, &p, &err), -1);
	assert_non_null(strstr(err.msg, "8 to 30"));
	assert_int_equal(ipam_parse_cidr("300.1.0.0/16", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr("fe80::/64", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr("10.0.0.0/16x", &s, &p, &err), -1);
	assert_int_equal(ipam_parse_cidr(NULL, &s, &p, &err), -1);
	char buf[20];
	ipam_format_cidr(ip("10.89.0.0"), 16, buf);
	assert_string_equal(buf, "10.89.0.0/16");
	assert_true(ipam_overlaps(ip("10.88.0.0"), 16, ip("10.88.5.0"), 24));
	assert_false(ipam_overlaps(ip("10.88.0.0"), 16, ip("10.89.0.0"), 16));
}

static void test_gateway(void **state)
{
	struct berth_error err = {0};
	struct ipam a;
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, 0, &err), 0);
	assert_int_equal(a.gateway, ip("10.88.0.1"));
	ipam_destroy(&a);
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, ip("10.88.0.0"), &err), -1);
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, ip("10.88.255.255"), &err), -1);
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, ip("10.89.0.1"), &err), -1);
	assert_non_null(strstr(err.msg, "not a host address"));
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, ip("10.88.0.254"), &err), 0);
	uint32_t got;
	assert_int_equal(ipam_alloc(&a, &got), 0);
	assert_int_equal(got, ip("10.88.0.1"));
	ipam_destroy(&a);
}

static void test_exhaust_slash29(void **state)
{
	struct berth_error err = {0};
	struct ipam a;
	assert_int_equal(ipam_init(&a, ip("10.99.0.0"), 29, 0, &err), 0);
	assert_int_equal(ipam_capacity(&a), 5);
	uint32_t got[5];
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ipam_alloc(&a, &got[i]), 0);
		assert_int_equal(got[i], ip("10.99.0.2") + (uint32_t)i);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(got[i], got[k]);
	}
	uint32_t x;
	assert_int_equal(ipam_alloc(&a, &x), -1);
	/* Released addresses come back, and only those. */
	ipam_release(&a, ip("10.99.0.4"));
	assert_int_equal(ipam_alloc(&a, &x), 0);
	assert_int_equal(x, ip("10.99.0.4"));
	assert_int_equal(ipam_alloc(&a, &x), -1);
	ipam_destroy(&a);
}

static void test_cursor_and_reserve(void **state)
{
	struct berth_error err = {0};
	struct ipam a;
	assert_int_equal(ipam_init(&a, ip("10.88.0.0"), 16, 0, &err), 0);
	uint32_t x, y;
	assert_int_equal(ipam_alloc(&a, &x), 0);
	assert_int_equal(x, ip("10.88.0.2"));
	ipam_release(&a, x);
	/* A just-released address is not reused at once. */
	assert_int_equal(ipam_alloc(&a, &y), 0);
	assert_int_equal(y, ip("10.88.0.3"));
	assert_int_equal(ipam_reserve(&a, ip("10.88.0.3"), &err), -1);
	assert_int_equal(err.status, 409);
	assert_int_equal(ipam_reserve(&a, ip("10.88.0.1"), &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(ipam_reserve(&a, ip("10.88.255.255"), &err), -1);
	assert_int_equal(ipam_reserve(&a, ip("10.87.0.5"), &err), -1);
	assert_non_null(strstr(err.msg, "not in subnet 10.88.0.0/16"));
	assert_int_equal(ipam_reserve(&a, ip("10.88.0.4"), &err), 0);
	assert_int_equal(ipam_alloc(&a, &x), 0);
	assert_int_equal(x, ip("10.88.0.5"));
	assert_true(ipam_is_leased(&a, ip("10.88.0.4")));
	assert_false(ipam_is_leased(&a, ip("10.88.0.2")));
	ipam_destroy(&a);
}

static void test_many_unique(void **state)
{
	struct berth_error err = {0};
	struct ipam a;
	assert_int_equal(ipam_init(&a, ip("10.90.0.0"), 22, 0, &err), 0);
	size_t cap = ipam_capacity(&a);
	assert_int_equal(cap, 1021);
	uint32_t x;
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(ipam_alloc(&a, &x), 0);
	assert_int_equal(ipam_alloc(&a, &x), -1);
	for (size_t i = 1; i < a.n; i++)
		assert_true(a.leased[i - 1] < a.leased[i]);
	assert_false(ipam_is_leased(&a, a.gateway));
	/* Free every other one and take them back: wrap-around finds exactly those. */
	for (uint32_t v = ip("10.90.0.10"); v < ip("10.90.0.20"); v += 2)
		ipam_release(&a, v);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ipam_alloc(&a, &x), 0);
		assert_true(x >= ip("10.90.0.10") && x < ip("10.90.0.20") && x % 2 == 0);
	}
	assert_int_equal(ipam_alloc(&a, &x), -1);
	ipam_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_cidr),	    cmocka_unit_test(test_gateway),
	    cmocka_unit_test(test_exhaust_slash29), cmocka_unit_test(test_cursor_and_reserve),
	    cmocka_unit_test(test_many_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
