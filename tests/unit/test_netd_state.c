/* Unit tests for netd's state file: a round trip keeps networks, leases, ports and health
 * marks; the leases it reloads are taken (never handed out again); bad entries are dropped,
 * not fatal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "netd.h"

static int fake_listen(void *ctx, const char *ip, int port, enum proxy_proto proto,
		       struct berth_error *err)
{
	return 0;
}

static void fake_unlisten(void *ctx, const char *ip, int port, enum proxy_proto proto)
{
}

static const struct port_ops ops = {fake_listen, fake_unlisten, NULL};

static void netd_init(struct netd *nd)
{
	memset(nd, 0, sizeof(*nd));
	port_table_init(&nd->ports, 32768, 60999, &ops);
}

static void netd_clear(struct netd *nd)
{
	while (nd->endpoints) {
		struct netd_endpoint *ep = nd->endpoints;
		nd->endpoints = ep->next;
		netd_endpoint_free(ep);
	}
	while (nd->networks) {
		struct netd_network *n = nd->networks;
		nd->networks = n->next;
		netd_network_free(n);
	}
	port_table_destroy(&nd->ports);
}

static const char *state_text =
    "{\"Version\":1,\"LastPort\":32770,"
    "\"Networks\":[{\"Id\":\"1111111111111111111111111111111111111111111111111111111111111111\","
    "\"Name\":\"bridge\",\"Driver\":\"bridge\",\"Bridge\":\"berth0\",\"Subnet\":\"10.88.0.0/16\","
    "\"Gateway\":\"10.88.0.1\",\"LastIP\":\"10.88.0.3\",\"Internal\":false,\"Predefined\":true,"
    "\"Labels\":{},\"Created\":5},"
    "{\"Id\":\"2222222222222222222222222222222222222222222222222222222222222222\","
    "\"Name\":\"app\",\"Driver\":\"bridge\",\"Bridge\":\"br-222222222222\",\"Subnet\":"
    "\"10.89.0.0/16\",\"Gateway\":\"10.89.0.1\",\"LastIP\":\"10.89.0.2\",\"Internal\":true,"
    "\"Predefined\":false,\"Labels\":{\"a\":\"b\"},\"Created\":6}],"
    "\"Endpoints\":[{\"ContainerId\":"
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"Name\":\"web\","
    "\"Hostname\":\"h\",\"Mode\":\"bridge\",\"Attachments\":[{\"Network\":"
    "\"1111111111111111111111111111111111111111111111111111111111111111\",\"IPAddress\":"
    "\"10.88.0.3\",\"Ifname\":\"eth0\",\"HostVeth\":\"vbaaaaaaaaaa.0\",\"Aliases\":[\"w\"]},"
    "{\"Network\":\"2222222222222222222222222222222222222222222222222222222222222222\","
    "\"IPAddress\":\"10.89.0.2\",\"Ifname\":\"eth1\",\"HostVeth\":\"vbaaaaaaaaaa.1\","
    "\"Aliases\":[]}],\"Ports\":[{\"ContainerPort\":80,\"Proto\":\"tcp\",\"HostIp\":"
    "\"0.0.0.0\",\"HostPort\":32770,\"Service\":\"\"}],\"Healthy\":false}]}";

static void test_round_trip(void **state)
{
	struct netd nd;
	netd_init(&nd);
	struct berth_error err = {0};
	json_t *in = json_loads(state_text, 0, NULL);
	assert_non_null(in);
	assert_int_equal(netd_state_from_json(&nd, in, &err), 0);
	json_t *out = netd_state_to_json(&nd);
	assert_true(json_equal(in, out));
	/* The reloaded leases and ports are taken. */
	struct netd_network *br = netd_network_find(&nd, "bridge");
	assert_non_null(br);
	assert_true(ipam_is_leased(&br->ipam, 0x0a580003));
	uint32_t next;
	assert_int_equal(ipam_alloc(&br->ipam, &next), 0);
	assert_int_equal(next, 0x0a580004);
	assert_non_null(port_table_find(&nd.ports, "0.0.0.0", 32770, PROXY_TCP));
	assert_non_null(netd_network_find(&nd, "2222")); /* id prefix */
	/* An unhealthy mark survives a restart. */
	assert_true(nd.endpoints->unhealthy);
	json_decref(in);
	json_decref(out);
	netd_clear(&nd);

	/* A state written before health marks were saved: everyone healthy. */
	netd_init(&nd);
	in = json_loads(state_text, 0, NULL);
	json_object_del(json_array_get(json_object_get(in, "Endpoints"), 0), "Healthy");
	assert_int_equal(netd_state_from_json(&nd, in, &err), 0);
	assert_false(nd.endpoints->unhealthy);
	json_decref(in);
	netd_clear(&nd);
}

/* POST /reconcile leaving out an endpoint whose setup is done but whose create still waits for
 * its state write (group commit): it must be marked orphaned (dropped, namespace and all, once
 * the write is done), not kept as if the agent knew it. Before the fix only a setup still on
 * the worker was marked, and such an endpoint kept its namespace for good (chaos seed 2). */
static void test_reconcile_marks_create_waiting_for_save(void **state)
{
	struct netd nd;
	netd_init(&nd);
	struct netd_endpoint *ep = calloc(1, sizeof(*ep));
	assert_non_null(ep);
	memset(ep->id, 'a', BERTH_ID_LEN);
	ep->name = strdup("");
	ep->hostname = strdup("");
	ep->busy = ep->create_saving = true; /* ep_create_done ran, ep_create_saved not yet */
	nd.endpoints = ep;
	json_t *ids = json_array(), *removed = netd_endpoints_reconcile(&nd, ids);
	assert_int_equal(json_array_size(removed), 0); /* busy: its create's callback drops it */
	assert_ptr_equal(nd.endpoints, ep);
	assert_true(ep->orphaned);
	json_decref(removed);
	json_decref(ids);
	netd_clear(&nd);
}

static void test_bad_entries(void **state)
{
	struct netd nd;
	netd_init(&nd);
	struct berth_error err = {0};
	/* Two endpoints claim one address: the second loses it; a bad port is dropped. */
	json_t *in = json_loads(state_text, 0, NULL);
	json_t *eps = json_object_get(in, "Endpoints");
	json_t *dup = json_deep_copy(json_array_get(eps, 0));
	json_object_set_new(
	    dup, "ContainerId",
	    json_string("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
	json_object_set_new(json_array_get(json_object_get(dup, "Ports"), 0), "HostPort",
			    json_integer(70000));
	json_array_append_new(eps, dup);
	json_array_append_new(eps, json_pack("{s:s}", "ContainerId", "short"));
	assert_int_equal(netd_state_from_json(&nd, in, &err), 0);
	struct netd_endpoint *b = netd_endpoint_find(
	    &nd, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_non_null(b);
	assert_int_equal(b->n_att, 0);
	assert_int_equal(b->n_ports, 0);
	json_decref(in);
	netd_clear(&nd);

	netd_init(&nd);
	in = json_pack("{s:i}", "Version", 99);
	assert_int_equal(netd_state_from_json(&nd, in, &err), -1);
	json_decref(in);
	netd_clear(&nd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_bad_entries),
	    cmocka_unit_test(test_reconcile_marks_create_waiting_for_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
