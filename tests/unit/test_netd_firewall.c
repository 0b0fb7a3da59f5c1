/* Unit tests for netd's nftables table: the rendered script (NAT, isolation, internal
 * networks, names nft could misread), and, in a private network namespace, that the kernel
 * takes it, that applying again replaces rather than adds, and that a removed network's rules
 * go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "firewall.h"
#include "ipam.h"

static struct firewall_net fw_net(const char *bridge, const char *cidr, bool internal)
{
	struct firewall_net n = {.internal = internal};
	struct berth_error err = {0};
	snprintf(n.bridge, sizeof(n.bridge), "%s", bridge);
	assert_int_equal(ipam_parse_cidr(cidr, &n.subnet, &n.prefix, &err), 0);
	return n;
}

static void test_render(void **state)
{
	struct firewall_net nets[] = {fw_net("berth0", "10.88.0.0/16", false),
				      fw_net("br-0123456789ab", "10.89.0.0/16", false),
				      fw_net("br-internal1234", "10.90.0.0/24", true)};
	struct berth_error err = {0};
	char *s = firewall_render(nets, 3, &err);
	assert_non_null(s);
	assert_string_equal(
	    s, "add table ip berth\n"
	       "delete table ip berth\n"
	       "table ip berth {\n"
	       "\tset bridges {\n"
	       "\t\ttype ifname\n"
	       "\t\telements = { \"berth0\", \"br-0123456789ab\", \"br-internal1234\" }\n"
	       "\t}\n"
	       "\tchain forward {\n"
	       "\t\ttype filter hook forward priority filter; policy accept;\n"
	       "\t\tiifname \"berth0\" oifname @bridges oifname != \"berth0\" drop\n"
	       "\t\tiifname \"br-0123456789ab\" oifname @bridges oifname != \"br-0123456789ab\" "
	       "drop\n"
	       "\t\tiifname \"br-internal1234\" oifname != \"br-internal1234\" drop\n"
	       "\t\toifname \"br-internal1234\" iifname != \"br-internal1234\" drop\n"
	       "\t}\n"
	       "\tchain postrouting {\n"
	       "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	       "\t\tip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade\n"
	       "\t\tip saddr 10.89.0.0/16 oifname != \"br-0123456789ab\" masquerade\n"
	       "\t}\n"
	       "}\n");
	free(s);
	/* No networks: empty chains, no set (nft refuses an empty element list). */
	s = firewall_render(NULL, 0, &err);
	assert_non_null(s);
	assert_null(strstr(s, "set bridges"));
	assert_non_null(strstr(s, "chain postrouting"));
	free(s);
}

static void test_render_bad_names(void **state)
{
	static const char *bad[] = {"a\"b", "br0;", "a b", "x}", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct firewall_net n = fw_net("ok", "10.1.0.0/16", false);
		snprintf(n.bridge, sizeof(n.bridge), "%s", bad[i]);
		struct berth_error err = {0};
		assert_null(firewall_render(&n, 1, &err));
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.msg, "cannot go into an nftables rule"));
	}
}

/* The table as the kernel has it, listed through libnftables. */
static char *fw_list(void)
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

static size_t fw_count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_apply_in_private_netns(void **state)
{
	if (unshare(CLONE_NEWNET) < 0)
		skip(); /* not root: the system tests cover it */
	struct firewall_net nets[] = {fw_net("berth0", "10.88.0.0/16", false),
				      fw_net("br-aaaaaaaaaaaa", "10.89.0.0/16", false)};
	struct berth_error err = {0};
	assert_null(fw_list());
	for (int round = 0; round < 2; round++) {
		char *s = firewall_render(nets, 2, &err);
		assert_int_equal(firewall_apply(s, &err), 0);
		free(s);
	}
	char *l = fw_list();
	assert_non_null(l);
	/* Applied twice, present once. */
	assert_int_equal(fw_count(l, "masquerade"), 2);
	assert_int_equal(fw_count(l, "chain postrouting"), 1);
	assert_non_null(
	    strstr(l, "ip saddr 10.89.0.0/16 oifname != \"br-aaaaaaaaaaaa\" masquerade"));
	free(l);
	/* The second network goes: so do its rules. */
	char *s = firewall_render(nets, 1, &err);
	assert_int_equal(firewall_apply(s, &err), 0);
	free(s);
	l = fw_list();
	assert_int_equal(fw_count(l, "masquerade"), 1);
	assert_null(strstr(l, "br-aaaaaaaaaaaa"));
	free(l);
	/* A script the kernel refuses leaves the table as it was, with nft's message. */
	assert_int_equal(
	    firewall_apply("add table ip berth\nadd rule ip berth nochain drop\n", &err), -1);
	assert_int_equal(err.status, 500);
	assert_non_null(strstr(err.msg, "nftables: "));
	l = fw_list();
	assert_int_equal(fw_count(l, "masquerade"), 1);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_render_bad_names),
	    cmocka_unit_test(test_apply_in_private_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
