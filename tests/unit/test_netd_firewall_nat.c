/* Unit tests for port mode nat in netd's nftables table: the DNAT maps (every address, one
 * address), incremental element updates, the hairpin masquerade, the loopback guard, the
 * isolation exemption, port mode proxy rendering what it always did, bad ports; and, in a
 * private network namespace, that the kernel takes the table, that a removed port's element
 * goes, that elements change in place, and that a failed update changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "firewall.h"
#include "ipam.h"

static struct firewall_net fwn_net(const char *bridge, const char *cidr, bool internal)
{
	struct firewall_net n = {.internal = internal};
	struct berth_error err = {0};
	snprintf(n.bridge, sizeof(n.bridge), "%s", bridge);
	assert_int_equal(ipam_parse_cidr(cidr, &n.subnet, &n.prefix, &err), 0);
	return n;
}

static uint32_t fwn_ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static void test_render_ports(void **state)
{
	struct firewall_net nets[] = {fwn_net("berth0", "10.88.0.0/16", false),
				      fwn_net("br-internal1234", "10.90.0.0/24", true)};
	struct firewall_port ports[] = {
	    {.host_ip = 0,
	     .host_port = 9000,
	     .backend_ip = fwn_ip("10.88.0.2"),
	     .backend_port = 8080},
	    {.host_ip = fwn_ip("127.0.0.1"),
	     .host_port = 9001,
	     .backend_ip = fwn_ip("10.90.0.3"),
	     .backend_port = 80},
	};
	struct berth_error err = {0};
	char *s = firewall_render_nat(nets, 2, ports, 2, &err);
	assert_non_null(s);
	assert_string_equal(
	    s, "add table ip berth\n"
	       "delete table ip berth\n"
	       "table ip berth {\n"
	       "\tset bridges {\n"
	       "\t\ttype ifname\n"
	       "\t\telements = { \"berth0\", \"br-internal1234\" }\n"
	       "\t}\n"
	       "\tmap ports_any {\n"
	       "\t\ttype inet_service : ipv4_addr . inet_service\n"
	       "\t\telements = { 9000 : 10.88.0.2 . 8080 }\n"
	       "\t}\n"
	       "\tmap ports_ip {\n"
	       "\t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service\n"
	       "\t\telements = { 127.0.0.1 . 9001 : 10.90.0.3 . 80 }\n"
	       "\t}\n"
	       "\tchain ports {\n"
	       "\t\tdnat ip to tcp dport map @ports_any\n"
	       "\t\tdnat ip to ip daddr . tcp dport map @ports_ip\n"
	       "\t}\n"
	       "\tchain prerouting {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	       "\t\tfib daddr type local jump ports\n"
	       "\t}\n"
	       "\tchain output {\n"
	       "\t\ttype nat hook output priority -100; policy accept;\n"
	       "\t\tfib daddr type local jump ports\n"
	       "\t}\n"
	       "\tchain input {\n"
	       "\t\ttype filter hook input priority filter; policy accept;\n"
	       "\t\tiifname @bridges ip daddr 127.0.0.0/8 ct direction original drop\n"
	       "\t}\n"
	       "\tchain forward {\n"
	       "\t\ttype filter hook forward priority filter; policy accept;\n"
	       "\t\tct status dnat return\n"
	       "\t\tiifname \"berth0\" oifname @bridges oifname != \"berth0\" drop\n"
	       "\t\tiifname \"br-internal1234\" oifname != \"br-internal1234\" drop\n"
	       "\t\toifname \"br-internal1234\" iifname != \"br-internal1234\" drop\n"
	       "\t}\n"
	       "\tchain postrouting {\n"
	       "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	       "\t\tip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade\n"
	       "\t\toifname @bridges fib saddr type local ct status dnat masquerade\n"
	       "\t\tip saddr 10.88.0.0/16 oifname \"berth0\" ct status dnat masquerade\n"
	       "\t\tip saddr 10.90.0.0/24 oifname \"br-internal1234\" ct status dnat masquerade\n"
	       "\t}\n"
	       "}\n");
	free(s);
}

static void test_render_modes(void **state)
{
	struct firewall_net net = fwn_net("berth0", "10.88.0.0/16", false);
	struct berth_error err = {0};
	/* Port mode proxy (ports NULL) renders what firewall_render always did. */
	char *a = firewall_render(&net, 1, &err);
	char *b = firewall_render_nat(&net, 1, NULL, 0, &err);
	assert_string_equal(a, b);
	assert_null(strstr(a, "dnat"));
	assert_null(strstr(a, "chain ports"));
	assert_null(strstr(a, "127.0.0.0/8"));
	free(a);
	free(b);
	/* Mode nat without ports: empty maps (a port is one element away), and already the
	 * rules a port needs. */
	struct firewall_port none[1];
	a = firewall_render_nat(&net, 1, none, 0, &err);
	assert_non_null(strstr(
	    a, "\tmap ports_any {\n\t\ttype inet_service : ipv4_addr . inet_service\n\t}\n"));
	assert_null(strstr(a, " . 8080"));
	assert_non_null(strstr(a, "fib daddr type local jump ports"));
	assert_non_null(strstr(a, "ct status dnat return"));
	assert_non_null(strstr(a, "fib saddr type local ct status dnat masquerade"));
	free(a);
	/* No networks: no set to refer to, so no loopback guard either. */
	a = firewall_render_nat(NULL, 0, none, 0, &err);
	assert_non_null(a);
	assert_null(strstr(a, "@bridges"));
	free(a);
}

static void test_render_bad_ports(void **state)
{
	struct firewall_net net = fwn_net("berth0", "10.88.0.0/16", false);
	struct firewall_port bad[] = {
	    {.host_port = 0, .backend_ip = fwn_ip("10.88.0.2"), .backend_port = 80},
	    {.host_port = 65536, .backend_ip = fwn_ip("10.88.0.2"), .backend_port = 80},
	    {.host_port = 80, .backend_ip = fwn_ip("10.88.0.2"), .backend_port = 0},
	    {.host_port = 80, .backend_ip = 0, .backend_port = 80},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct berth_error err = {0};
		assert_null(firewall_render_nat(&net, 1, &bad[i], 1, &err));
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.msg, "cannot go into an nftables rule"));
	}
	/* A bad bridge name is still refused with ports. */
	struct firewall_port ok = {.host_port = 80, .backend_ip = 1, .backend_port = 80};
	snprintf(net.bridge, sizeof(net.bridge), "a b");
	struct berth_error err = {0};
	assert_null(firewall_render_nat(&net, 1, &ok, 1, &err));
	assert_int_equal(err.status, 400);
}

static void test_render_update(void **state)
{
	struct firewall_port old[] = {
	    {.host_port = 9000, .backend_ip = fwn_ip("10.88.0.2"), .backend_port = 8080},
	    {.host_ip = fwn_ip("127.0.0.1"),
	     .host_port = 9001,
	     .backend_ip = fwn_ip("10.88.0.2"),
	     .backend_port = 80},
	};
	struct firewall_port now[] = {
	    {.host_port = 9000, .backend_ip = fwn_ip("10.89.0.5"), .backend_port = 8080},
	};
	struct berth_error err = {0};
	char *s = firewall_render_port_update(old, 2, now, 1, &err);
	assert_string_equal(s, "delete element ip berth ports_any { 9000 }\n"
			       "delete element ip berth ports_ip { 127.0.0.1 . 9001 }\n"
			       "add element ip berth ports_any { 9000 : 10.89.0.5 . 8080 }\n");
	free(s);
	s = firewall_render_port_update(NULL, 0, now, 1, &err);
	assert_string_equal(s, "add element ip berth ports_any { 9000 : 10.89.0.5 . 8080 }\n");
	free(s);
	now[0].backend_port = 0;
	assert_null(firewall_render_port_update(NULL, 0, now, 1, &err));
	assert_int_equal(err.status, 400);
}

static char *fwn_list(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	assert_non_null(ctx);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	char *out = NULL;
	if (nft_run_cmd_from_buffer(ctx, "list table ip berth") == 0)
		out = strdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return out;
}

static void test_apply_in_private_netns(void **state)
{
	if (unshare(CLONE_NEWNET) < 0)
		skip(); /* not root: the system tests cover it */
	struct firewall_net nets[] = {fwn_net("berth0", "10.88.0.0/16", false)};
	struct firewall_port ports[] = {
	    {.host_port = 9000, .backend_ip = fwn_ip("10.88.0.2"), .backend_port = 8080},
	    {.host_ip = fwn_ip("127.0.0.1"),
	     .host_port = 9001,
	     .backend_ip = fwn_ip("10.88.0.3"),
	     .backend_port = 80},
	};
	struct berth_error err = {0};
	char *s = firewall_render_nat(nets, 1, ports, 2, &err);
	assert_int_equal(firewall_apply(s, &err), 0);
	free(s);
	char *l = fwn_list();
	assert_non_null(l);
	assert_non_null(strstr(l, "elements = { 9000 : 10.88.0.2 . 8080 }"));
	assert_non_null(strstr(l, "elements = { 127.0.0.1 . 9001 : 10.88.0.3 . 80 }"));
	assert_non_null(strstr(l, "dnat ip to tcp dport map @ports_any"));
	/* nft lists the flag test in its own words: what the kernel got is what was meant. */
	assert_non_null(strstr(l, "ct status dnat return"));
	assert_non_null(strstr(l, "fib saddr type local ct status dnat masquerade"));
	free(l);
	/* The second port goes: so does its rule, and only its rule. */
	s = firewall_render_nat(nets, 1, ports, 1, &err);
	assert_int_equal(firewall_apply(s, &err), 0);
	free(s);
	l = fwn_list();
	assert_null(strstr(l, "9001"));
	assert_non_null(strstr(l, "elements = { 9000 : 10.88.0.2 . 8080 }"));
	free(l);
	/* Elements change in place: 9000 moves, 9002 comes. */
	struct firewall_port now[] = {
	    {.host_port = 9000, .backend_ip = fwn_ip("10.88.0.7"), .backend_port = 8080},
	    {.host_port = 9002, .backend_ip = fwn_ip("10.88.0.7"), .backend_port = 81},
	};
	s = firewall_render_port_update(ports, 1, now, 2, &err);
	assert_int_equal(firewall_apply(s, &err), 0);
	free(s);
	l = fwn_list();
	assert_non_null(strstr(l, "9000 : 10.88.0.7 . 8080"));
	assert_non_null(strstr(l, "9002 : 10.88.0.7 . 81"));
	assert_null(strstr(l, "10.88.0.2"));
	free(l);
	/* An update whose old element is not there fails whole: nothing changes. */
	s = firewall_render_port_update(&ports[1], 1, NULL, 0, &err);
	assert_int_equal(firewall_apply(s, &err), -1);
	free(s);
	l = fwn_list();
	assert_non_null(strstr(l, "9002 : 10.88.0.7 . 81"));
	free(l);
	/* Back to port mode proxy: no DNAT left. */
	s = firewall_render(nets, 1, &err);
	assert_int_equal(firewall_apply(s, &err), 0);
	free(s);
	l = fwn_list();
	assert_null(strstr(l, "dnat"));
	assert_null(strstr(l, "chain ports"));
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_ports),	   cmocka_unit_test(test_render_modes),
	    cmocka_unit_test(test_render_bad_ports),	   cmocka_unit_test(test_render_update),
	    cmocka_unit_test(test_apply_in_private_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
