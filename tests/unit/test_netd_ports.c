/* Unit tests for netd's host port table: allocation from the range, taken ports, ports held by
 * host processes, sharing by a service's replicas, release. Listening is faked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "netd.h"
#include "ports.h"

static int host_taken = -1; /* a port a "host process" holds */
static int listens, unlistens;

static int fake_listen(void *ctx, const char *ip, int port, enum proxy_proto proto,
		       struct berth_error *err)
{
	if (port == host_taken)
		return berth_err(err, 409,
				 "Error starting userland proxy: listen tcp4 %s:%d: bind: address "
				 "already in use",
				 ip, port);
	listens++;
	return 0;
}

static void fake_unlisten(void *ctx, const char *ip, int port, enum proxy_proto proto)
{
	unlistens++;
}

static const struct port_ops ops = {fake_listen, fake_unlisten, NULL};

static struct netd_port mk(int ctr, int host, const char *ip, const char *svc)
{
	struct netd_port p = {.container_port = ctr, .host_port = host, .proto = PROXY_TCP};
	snprintf(p.host_ip, sizeof(p.host_ip), "%s", ip);
	p.service = strdup(svc);
	return p;
}

static void test_validate(void **state)
{
	struct berth_error err = {0};
	struct netd_port p = mk(0, 0, "", "");
	assert_int_equal(port_validate(&p, &err), -1);
	assert_string_equal(err.msg, "invalid container port 0: must be 1-65535");
	p.container_port = 80;
	p.host_port = 65536;
	assert_int_equal(port_validate(&p, &err), -1);
	p.host_port = 0;
	assert_int_equal(port_validate(&p, &err), 0);
	assert_string_equal(p.host_ip, "0.0.0.0");
	snprintf(p.host_ip, sizeof(p.host_ip), "::1");
	assert_int_equal(port_validate(&p, &err), -1);
	free(p.service);
	int lo, hi;
	assert_int_equal(port_parse_range("32768-60999", &lo, &hi, &err), 0);
	assert_int_equal(lo, 32768);
	assert_int_equal(port_parse_range("9-8", &lo, &hi, &err), -1);
	assert_int_equal(port_parse_range("1-70000", &lo, &hi, &err), -1);
	assert_int_equal(port_parse_range("100", &lo, &hi, &err), -1);
	enum proxy_proto pr;
	assert_int_equal(port_parse_proto("udp", &pr), 0);
	assert_int_equal(pr, PROXY_UDP);
	assert_int_equal(port_parse_proto("sctp", &pr), -1);
}

static void test_allocate_and_conflicts(void **state)
{
	struct berth_error err = {0};
	struct port_table t;
	port_table_init(&t, 40000, 40003, &ops);
	host_taken = 40001;
	struct netd_port a = mk(80, 0, "0.0.0.0", ""), b = mk(80, 0, "0.0.0.0", "");
	assert_int_equal(port_table_bind(&t, &a, &err), 0);
	assert_int_equal(a.host_port, 40000);
	/* 40001 is held by a host process: skipped. */
	assert_int_equal(port_table_bind(&t, &b, &err), 0);
	assert_int_equal(b.host_port, 40002);
	struct netd_port c = mk(80, 40000, "127.0.0.1", "");
	assert_int_equal(port_table_bind(&t, &c, &err), -1);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.msg, "Bind for 127.0.0.1:40000 failed: port is already allocated");
	struct netd_port d = mk(80, 40001, "0.0.0.0", "");
	assert_int_equal(port_table_bind(&t, &d, &err), -1);
	assert_non_null(strstr(err.msg, "address already in use"));
	/* The same port over UDP is a different socket. */
	struct netd_port u = mk(53, 40000, "0.0.0.0", "");
	u.proto = PROXY_UDP;
	assert_int_equal(port_table_bind(&t, &u, &err), 0);
	struct netd_port e = mk(80, 0, "0.0.0.0", ""), f = mk(80, 0, "0.0.0.0", "");
	assert_int_equal(port_table_bind(&t, &e, &err), 0);
	assert_int_equal(e.host_port, 40003);
	assert_int_equal(port_table_bind(&t, &f, &err), -1);
	assert_string_equal(err.msg, "no free host port in the range 40000-40003");
	assert_int_equal(t.count, 4);
	unlistens = 0;
	port_table_unbind(&t, &a);
	assert_int_equal(unlistens, 1);
	assert_null(port_table_find(&t, "0.0.0.0", 40000, PROXY_TCP));
	/* Wraps around to the freed port. */
	assert_int_equal(port_table_bind(&t, &f, &err), 0);
	assert_int_equal(f.host_port, 40000);
	port_table_destroy(&t);
	free(a.service), free(b.service), free(c.service), free(d.service), free(u.service);
	free(e.service), free(f.service);
	host_taken = -1;
}

static void test_service_sharing(void **state)
{
	struct berth_error err = {0};
	struct port_table t;
	port_table_init(&t, 41000, 41010, &ops);
	listens = unlistens = 0;
	struct netd_port r1 = mk(80, 8080, "0.0.0.0", "shop/web"),
			 r2 = mk(80, 8080, "0.0.0.0", "shop/web");
	struct netd_port other = mk(80, 8080, "0.0.0.0", "shop/api");
	assert_int_equal(port_table_bind(&t, &r1, &err), 0);
	assert_int_equal(port_table_bind(&t, &r2, &err), 0);
	assert_int_equal(listens, 1);
	assert_int_equal(port_table_bind(&t, &other, &err), -1);
	/* Replicas with only a container port join the service's allocated port. */
	struct netd_port s1 = mk(90, 0, "0.0.0.0", "shop/db"), s2 = mk(90, 0, "0.0.0.0", "shop/db");
	assert_int_equal(port_table_bind(&t, &s1, &err), 0);
	assert_int_equal(port_table_bind(&t, &s2, &err), 0);
	assert_int_equal(s1.host_port, s2.host_port);
	port_table_unbind(&t, &r1);
	assert_int_equal(unlistens, 0);
	port_table_unbind(&t, &r2);
	assert_int_equal(unlistens, 1);
	port_table_destroy(&t);
	free(r1.service), free(r2.service), free(other.service), free(s1.service), free(s2.service);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_allocate_and_conflicts),
	    cmocka_unit_test(test_service_sharing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
