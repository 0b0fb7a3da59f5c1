/* Unit tests for agent/container_net.c: the endpoint request built from what the docker CLI
 * sends, NetworkSettings from netd's endpoint, and network modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("bad JSON in test: %s", e.text);
	return j;
}

static void test_kind(void **state)
{
	struct berth_error err = {0};
	const char *net;
	enum container_net_kind kind;
	json_t *h = load("{\"NetworkMode\":\"default\"}");
	assert_int_equal(container_net_kind(h, &net, &kind, &err), 0);
	assert_string_equal(net, "bridge");
	assert_int_equal(kind, CONTAINER_NET_ENDPOINT);
	json_object_set_new(h, "NetworkMode", json_string("none"));
	assert_int_equal(container_net_kind(h, &net, &kind, &err), 0);
	assert_int_equal(kind, CONTAINER_NET_NONE);
	json_object_set_new(h, "NetworkMode", json_string("host"));
	assert_int_equal(container_net_kind(h, &net, &kind, &err), 0);
	assert_int_equal(kind, CONTAINER_NET_HOST);
	json_object_set_new(h, "NetworkMode", json_string("mynet"));
	assert_int_equal(container_net_kind(h, &net, &kind, &err), 0);
	assert_string_equal(net, "mynet");
	assert_int_equal(kind, CONTAINER_NET_ENDPOINT);
	json_object_set_new(h, "NetworkMode", json_string("container:abc"));
	assert_int_equal(container_net_kind(h, &net, &kind, &err), -1);
	assert_int_equal(err.status, 400);
	json_decref(h);
}

static void test_request_ports(void **state)
{
	struct berth_error err = {0};
	/* As docker run -p 8080 -p 127.0.0.1:9000:80/udp -p 9100-9105:81 -P --expose 7000 sends
	 * it, with the image exposing 6000. */
	json_t *config = load("{\"Hostname\":\"abc\",\"ExposedPorts\":{\"8080/tcp\":{},"
			      "\"80/udp\":{},\"81/tcp\":{},\"7000/tcp\":{},\"6000/tcp\":{}}}");
	json_t *host = load("{\"PublishAllPorts\":true,\"PortBindings\":{"
			    "\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}],"
			    "\"80/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"9000\"}],"
			    "\"81/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"9100-9105\"}]}}");
	json_t *networking = load("{\"EndpointsConfig\":{\"default\":{\"Aliases\":[\"svc\"]}}}");
	json_t *req = container_net_endpoint_request("0123", "/web", config, host, networking,
						     "bridge", &err);
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, "Name")), "web");
	assert_string_equal(json_string_value(json_object_get(req, "Network")), "bridge");
	assert_string_equal(json_string_value(json_object_get(req, "Hostname")), "abc");
	assert_string_equal(json_string_value(json_array_get(json_object_get(req, "Aliases"), 0)),
			    "svc");
	json_t *ports = json_object_get(req, "Ports");
	assert_int_equal(json_array_size(ports), 5);
	size_t i;
	json_t *p;
	int seen = 0;
	json_array_foreach(ports, i, p)
	{
		int ctr = (int)json_integer_value(json_object_get(p, "ContainerPort"));
		int hp = (int)json_integer_value(json_object_get(p, "HostPort"));
		const char *proto = json_string_value(json_object_get(p, "Proto"));
		const char *ip = json_string_value(json_object_get(p, "HostIp"));
		if (ctr == 80) {
			assert_string_equal(proto, "udp");
			assert_string_equal(ip, "127.0.0.1");
			assert_int_equal(hp, 9000);
			seen |= 1;
		} else if (ctr == 81) {
			assert_int_equal(hp, 9100); /* a host range: its first port */
			seen |= 2;
		} else {
			assert_int_equal(hp, 0); /* 8080, and 7000/6000 through -P */
			assert_string_equal(proto, "tcp");
			seen |= ctr == 8080 ? 4 : ctr == 7000 ? 8 : ctr == 6000 ? 16 : 0;
		}
	}
	assert_int_equal(seen, 31);
	json_decref(req);

	/* Without -P, exposed-only ports are not published. */
	json_object_set_new(host, "PublishAllPorts", json_false());
	req = container_net_endpoint_request("0123", "web", config, host, NULL, "bridge", &err);
	assert_int_equal(json_array_size(json_object_get(req, "Ports")), 3);
	json_decref(req);

	json_t *bad = load("{\"PortBindings\":{\"0/tcp\":[{\"HostPort\":\"\"}]}}");
	assert_null(
	    container_net_endpoint_request("0123", "web", config, bad, NULL, "bridge", &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "invalid port specification: \"0\"");
	json_decref(bad);
	bad = load("{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"70000\"}]}}");
	assert_null(
	    container_net_endpoint_request("0123", "web", config, bad, NULL, "bridge", &err));
	assert_string_equal(err.msg, "invalid port specification: \"70000\"");
	json_decref(bad);
	json_decref(config);
	json_decref(host);
	json_decref(networking);
}

static void test_apply(void **state)
{
	json_t *doc = load("{\"Config\":{\"ExposedPorts\":{\"8080/tcp\":{},\"7000/tcp\":{}}},"
			   "\"NetworkSettings\":{\"Ports\":{},\"Networks\":{}}}");
	json_t *ep = load(
	    "{\"Netns\":\"/run/berth/netns/x\",\"Networks\":{\"bridge\":{\"NetworkId\":\"n1\","
	    "\"IPAddress\":\"10.88.0.2\",\"IPPrefixLen\":16,\"Gateway\":\"10.88.0.1\","
	    "\"MacAddress\":\"02:42:0a:58:00:02\",\"Aliases\":[]}},\"Ports\":[{\"ContainerPort\":"
	    "8080,\"Proto\":\"tcp\",\"HostIp\":\"0.0.0.0\",\"HostPort\":32768}]}");
	container_net_apply(doc, "bridge", ep);
	json_t *ns = json_object_get(doc, "NetworkSettings");
	char *ports = json_dumps(json_object_get(ns, "Ports"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(ports,
			    "{\"7000/tcp\":null,\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":"
			    "\"32768\"}]}");
	free(ports);
	assert_string_equal(json_string_value(json_object_get(ns, "IPAddress")), "10.88.0.2");
	assert_string_equal(json_string_value(json_object_get(ns, "Gateway")), "10.88.0.1");
	assert_int_equal(json_integer_value(json_object_get(ns, "IPPrefixLen")), 16);
	assert_string_equal(json_string_value(json_object_get(ns, "SandboxKey")),
			    "/run/berth/netns/x");
	json_t *bridge = json_object_get(json_object_get(ns, "Networks"), "bridge");
	assert_string_equal(json_string_value(json_object_get(bridge, "NetworkID")), "n1");
	assert_string_equal(json_string_value(json_object_get(bridge, "MacAddress")),
			    "02:42:0a:58:00:02");
	json_decref(ep);

	/* A user network: the top-level fields stay empty, as Docker's. */
	ep = load("{\"Netns\":\"/n\",\"Networks\":{\"mynet\":{\"IPAddress\":\"10.89.0.2\"}}}");
	container_net_apply(doc, "mynet", ep);
	assert_string_equal(json_string_value(json_object_get(ns, "IPAddress")), "");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(ns, "Networks"), "mynet"), "IPAddress")),
	    "10.89.0.2");
	json_decref(ep);

	/* none: an empty entry for the mode, no sandbox */
	container_net_apply(doc, "none", NULL);
	assert_non_null(json_object_get(json_object_get(ns, "Networks"), "none"));
	assert_string_equal(json_string_value(json_object_get(ns, "SandboxKey")), "");
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind),
	    cmocka_unit_test(test_request_ports),
	    cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
