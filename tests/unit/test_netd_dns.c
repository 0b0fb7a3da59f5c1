/* Unit tests for netd's DNS: query parsing (good and hostile input), replies, local names
 * scoped to a network, aliases shared by several endpoints (rotated), REFUSED without an
 * upstream. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_msg.h"
#include "netd.h"

/* A query for name/type with id 0x1234, RD set; returns its length. */
static size_t mkquery(uint8_t *buf, const char *name, uint16_t type)
{
	uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(buf, hdr, 12);
	size_t off = 12;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		buf[off++] = (uint8_t)l;
		memcpy(buf + off, p, l);
		off += l;
		p += l + (dot ? 1 : 0);
	}
	buf[off++] = 0;
	buf[off++] = (uint8_t)(type >> 8);
	buf[off++] = (uint8_t)type;
	buf[off++] = 0;
	buf[off++] = 1;
	return off;
}

static void test_parse(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	size_t n = mkquery(buf, "Web.Example", DNS_TYPE_A);
	assert_int_equal(dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "web.example");
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.question_end, n);
	/* Truncated anywhere: rejected. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dns_parse_query(buf, i, &q), -1);
	/* A compression pointer in the question, a response, two questions, opcode 2. */
	uint8_t bad[512];
	memcpy(bad, buf, n);
	bad[12] = 0xc0;
	assert_int_equal(dns_parse_query(bad, n, &q), -1);
	memcpy(bad, buf, n);
	bad[2] |= 0x80;
	assert_int_equal(dns_parse_query(bad, n, &q), -1);
	memcpy(bad, buf, n);
	bad[5] = 2;
	assert_int_equal(dns_parse_query(bad, n, &q), -1);
	memcpy(bad, buf, n);
	bad[2] = 0x10;
	assert_int_equal(dns_parse_query(bad, n, &q), -1);
	/* A name longer than 255 characters. */
	char longname[400] = "";
	for (int i = 0; i < 6; i++)
		strcat(longname, i ? ".aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				   : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	n = mkquery(buf, longname, DNS_TYPE_A);
	assert_int_equal(dns_parse_query(buf, n, &q), -1);
	assert_int_equal(dns_parse_query(NULL, 0, &q), -1);
}

static void test_reply(void **state)
{
	uint8_t buf[512], out[512];
	struct dns_query q;
	size_t n = mkquery(buf, "db", DNS_TYPE_A);
	assert_int_equal(dns_parse_query(buf, n, &q), 0);
	uint32_t addrs[2] = {htonl(0x0a580002), htonl(0x0a580003)};
	size_t r = dns_build_reply(buf, &q, DNS_RCODE_OK, addrs, 2, 600, out, sizeof(out));
	assert_int_equal(r, n + 32);
	assert_int_equal(out[0], 0x12);
	assert_int_equal(out[2] & 0x80, 0x80); /* QR */
	assert_int_equal(out[3] & 0x0f, 0);
	assert_int_equal(out[7], 2); /* ancount */
	assert_memory_equal(out + n + 12, &addrs[0], 4);
	assert_int_equal(dns_reply_id(out, r), 0x1234);
	/* Too small for the records: truncated with TC. */
	r = dns_build_reply(buf, &q, DNS_RCODE_OK, addrs, 2, 600, out, n + 20);
	assert_int_equal(r, n + 16);
	assert_int_equal(out[2] & 0x02, 0x02);
	r = dns_build_error(0x4321, 0x0100, DNS_RCODE_FORMERR, out, sizeof(out));
	assert_int_equal(r, 12);
	assert_int_equal(out[3] & 0x0f, DNS_RCODE_FORMERR);
	assert_int_equal(dns_reply_id(buf, n), -1); /* a query is not a reply */
}

static void test_upstream_parse(void **state)
{
	char out[64];
	struct berth_error err = {0};
	assert_int_equal(dns_parse_upstream("127.0.0.1:5353", out, &err), 0);
	assert_string_equal(out, "127.0.0.1:5353");
	assert_int_equal(dns_parse_upstream("10.0.0.2", out, &err), 0);
	assert_string_equal(out, "10.0.0.2:53");
	assert_int_equal(dns_parse_upstream("10.0.0.2:0", out, &err), -1);
	assert_int_equal(dns_parse_upstream("name:53", out, &err), -1);
	assert_int_equal(dns_parse_upstream("", out, &err), -1);
}

static struct netd_network *mknet(const char *name, const char *subnet)
{
	struct netd_network *n = calloc(1, sizeof(*n));
	uint32_t s;
	int p;
	assert_int_equal(ipam_parse_cidr(subnet, &s, &p, NULL), 0);
	assert_int_equal(ipam_init(&n->ipam, s, p, 0, NULL), 0);
	n->name = strdup(name);
	n->driver = NETD_DRIVER_BRIDGE;
	return n;
}

static struct netd_endpoint *mkep(struct netd *nd, char c, const char *name,
				  struct netd_network *net, uint32_t ip, const char *alias)
{
	struct netd_endpoint *ep = calloc(1, sizeof(*ep));
	memset(ep->id, c, BERTH_ID_LEN);
	ep->name = strdup(name);
	ep->att[0].net = net;
	ep->att[0].ip = ip;
	ep->att[0].aliases = json_array();
	if (alias)
		json_array_append_new(ep->att[0].aliases, json_string(alias));
	ep->n_att = 1;
	ep->next = nd->endpoints;
	nd->endpoints = ep;
	return ep;
}

static void test_lookup_scoped_and_rotated(void **state)
{
	static struct netd nd;
	nd.base = event_base_new();
	struct netd_network *a = mknet("front", "10.89.0.0/16"), *b = mknet("back", "10.90.0.0/16");
	nd.networks = a;
	a->next = b;
	mkep(&nd, 'a', "web1", a, 0x0a590002, "web");
	mkep(&nd, 'b', "web2", a, 0x0a590003, "web");
	mkep(&nd, 'c', "db", b, 0x0a5a0002, NULL);
	struct berth_error err = {0};
	struct dns_server *s = dns_server_new(&nd, &err);
	assert_non_null(s);
	uint32_t addrs[8];
	assert_int_equal(dns_lookup(s, a, "web1", addrs, 8), 1);
	assert_int_equal(addrs[0], htonl(0x0a590002));
	assert_int_equal(dns_lookup(s, a, "WEB1.front", addrs, 8), 1);
	assert_int_equal(dns_lookup(s, a, "aaaaaaaaaaaa", addrs, 8), 1);
	assert_int_equal(dns_lookup(s, a, "db", addrs, 8), 0); /* another network */
	assert_int_equal(dns_lookup(s, b, "db", addrs, 8), 1);
	assert_int_equal(dns_lookup(s, a, "web", addrs, 8), 2);
	uint32_t first = addrs[0];
	assert_int_equal(dns_lookup(s, a, "web", addrs, 8), 2);
	assert_int_not_equal(addrs[0], first);

	/* Whole queries: a local answer, AAAA for a local name is empty NOERROR, an unknown
	 * name without upstreams is REFUSED, garbage gets FORMERR or nothing. */
	uint8_t q[512], out[512];
	size_t n = mkquery(q, "web", DNS_TYPE_A);
	size_t r = dns_handle_query(s, a, q, n, NULL, 0, -1, out, sizeof(out));
	assert_int_equal(r, n + 32);
	assert_int_equal(out[3] & 0x0f, DNS_RCODE_OK);
	n = mkquery(q, "web", DNS_TYPE_AAAA);
	r = dns_handle_query(s, a, q, n, NULL, 0, -1, out, sizeof(out));
	assert_int_equal(r, n);
	assert_int_equal(out[7], 0);
	n = mkquery(q, "example.org", DNS_TYPE_A);
	r = dns_handle_query(s, a, q, n, NULL, 0, -1, out, sizeof(out));
	assert_int_equal(out[3] & 0x0f, DNS_RCODE_REFUSED);
	q[12] = 0xc0;
	r = dns_handle_query(s, a, q, n, NULL, 0, -1, out, sizeof(out));
	assert_int_equal(r, 12);
	assert_int_equal(out[3] & 0x0f, DNS_RCODE_FORMERR);
	assert_int_equal(dns_handle_query(s, a, q, 5, NULL, 0, -1, out, sizeof(out)), 0);

	dns_server_free(s);
	while (nd.endpoints) {
		struct netd_endpoint *ep = nd.endpoints;
		nd.endpoints = ep->next;
		netd_endpoint_free(ep);
	}
	netd_network_free(a);
	netd_network_free(b);
	event_base_free(nd.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_upstream_parse),
	    cmocka_unit_test(test_lookup_scoped_and_rotated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
