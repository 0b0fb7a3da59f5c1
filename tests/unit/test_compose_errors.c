/* Unit tests for the compose loader's bad input: each error names file:line:column and the key. */
#include "test_compose_util.h"

static void test_yaml_syntax(void **state)
{
	expect_error("services:\n  web: {image: x\n",
		     "compose.yaml:3:1: did not find expected ',' or '}' (while parsing a flow "
		     "mapping at line 2)");
	expect_error(
	    "services:\n  web:\n    image: x\n   bad: 1\n",
	    "compose.yaml:4:4: did not find expected key (while parsing a block mapping at line "
	    "2)");
	expect_error(
	    "services:\n\tweb: {}\n",
	    "compose.yaml:2:1: found character that cannot start any token (while scanning "
	    "for the next token at line 2)");
	expect_error("a: *nope\n", "compose.yaml:1:4: found undefined alias");
	expect_error("services: {}\n---\nservices: {}\n",
		     "compose.yaml:3:1: only one YAML document is allowed in a compose file");
	expect_error("", "compose.yaml: empty compose file");
	expect_error("# only a comment\n", "compose.yaml: empty compose file");
	expect_error("- a\n", "compose.yaml:1:1: a compose file must be a mapping, not a sequence");
}

static void test_yaml_structure(void **state)
{
	expect_error(
	    "services:\n  web:\n    image: x\n    image: y\n",
	    "compose.yaml:4:5: services.web: mapping key \"image\" already defined at line 3");
	expect_error("services:\n  ? [a]\n  : 1\n",
		     "compose.yaml:2:5: services: mapping keys must be strings");
	expect_error("a: &a [*a]\n", "compose.yaml:1:4: a[0]: recursive alias");
	expect_error("x: &x {a: 1}\nservices:\n  web:\n    <<: [*x, 3]\n",
		     "compose.yaml:4:14: services.web: <<: a merge key takes a mapping or a "
		     "sequence of mappings");
}

static void test_alias_bomb(void **state)
{
	/* Each level doubles: 2^20 nodes after expansion, past the budget. */
	char chain[8192] = "a0: &a0 [x, x]\n";
	for (int i = 1; i <= 20; i++)
		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain),
			 "a%d: &a%d [*a%d, *a%d]\n", i, i, i - 1, i - 1);
	struct compose_options o = {0};
	struct berth_error err;
	assert_null(load_opts(chain, &o, &err));
	assert_non_null(strstr(err.msg, "document too large after alias expansion"));
}

static void test_unsupported_and_unknown(void **state)
{
	expect_error("services:\n  web:\n    image: x\n    configs: [a]\n",
		     "compose.yaml:4:5: services.web.configs: not supported by berth");
	expect_error("services:\n  web:\n    image: x\n    foo: 1\n",
		     "compose.yaml:4:5: services.web.foo: unknown key");
	expect_error("secrets: {}\nservices: {}\n", "compose.yaml:1:1: secrets: not supported by "
						    "berth");
	expect_error("servics: {}\n", "compose.yaml:1:1: servics: unknown key");
	expect_error("services:\n  web:\n    image: x\n    deploy: {placement: {}}\n",
		     "compose.yaml:4:14: services.web.deploy.placement: not supported by berth");
	expect_error(
	    "services:\n  web:\n    image: x\n    deploy: {mode: global}\n",
	    "compose.yaml:4:20: services.web.deploy.mode: global is not supported by berth "
	    "(one host: use replicas)");
	expect_error("services:\n  web:\n    image: x\n    healthcheck: {test: [NONE], tries: 1}\n",
		     "compose.yaml:4:33: services.web.healthcheck.tries: unknown key");
	expect_error("services:\n  web:\n    image: x\n    ports: [{target: 1, foo: 2}]\n",
		     "compose.yaml:4:25: services.web.ports[0].foo: unknown key");
	expect_error("services:\n  web:\n    image: x\n    volumes: [{type: tmpfs, target: /t}]\n",
		     "compose.yaml:4:22: services.web.volumes[0].type: volume type tmpfs is not "
		     "supported by berth");
	expect_error("services:\n  web:\n    image: x\n    networks: {default: {priority: 1}}\n",
		     "compose.yaml:4:26: services.web.networks.default.priority: not supported by "
		     "berth");
	expect_error("networks:\n  n: {enable_ipv6: true}\nservices: {}\n",
		     "compose.yaml:2:7: networks.n.enable_ipv6: not supported by berth");
	expect_error("services:\n  web:\n    build: {context: ., ssh: [default]}\n",
		     "compose.yaml:3:25: services.web.build.ssh: not supported by berth");
	expect_error(
	    "services:\n  web:\n    image: x\n    network_mode: service:db\n",
	    "compose.yaml:4:19: services.web.network_mode: \"service:db\": service: is not "
	    "supported by berth");
	expect_error("services:\n  web:\n    image: x\n    network_mode: nat\n",
		     "compose.yaml:4:19: services.web.network_mode: must be none, host, bridge or "
		     "container:NAME, not \"nat\"");
	expect_error("services:\n  web:\n    image: x\n    network_mode: host\n    networks: "
		     "[default]\n",
		     "compose.yaml:4:19: services.web.network_mode: cannot be used with networks");
	expect_error("services:\n  web:\n    image: x\n    read_only: true\n",
		     "compose.yaml:4:5: services.web.read_only: not supported by berth");
}

static void test_wrong_types(void **state)
{
	expect_error("services: [web]\n", "compose.yaml:1:11: services: must be a mapping, not a "
					  "sequence");
	expect_error("services:\n  web:\n", "compose.yaml:2:7: services.web: must be a mapping, "
					    "not null");
	expect_error("services:\n  web:\n    image: [x]\n",
		     "compose.yaml:3:12: services.web.image: must be a string, not a sequence");
	expect_error("services:\n  web:\n    image: \"\"\n",
		     "compose.yaml:3:12: services.web.image: must not be empty");
	expect_error("services:\n  web:\n    image: x\n    init: maybe\n",
		     "compose.yaml:4:11: services.web.init: must be a boolean");
	expect_error("services:\n  web:\n    image: x\n    deploy: {replicas: three}\n",
		     "compose.yaml:4:24: services.web.deploy.replicas: must be an integer");
	expect_error("services:\n  web:\n    image: x\n    deploy: {replicas: -1}\n",
		     "compose.yaml:4:24: services.web.deploy.replicas: must be between 0 and "
		     "1000000");
	expect_error("services:\n  web:\n    image: x\n    stop_grace_period: soon\n",
		     "compose.yaml:4:24: services.web.stop_grace_period: must be a duration (like "
		     "1m30s), not soon");
	expect_error(
	    "services:\n  web:\n    image: x\n    deploy:\n      resources:\n"
	    "        limits: {memory: lots}\n",
	    "compose.yaml:6:26: services.web.deploy.resources.limits.memory: must be a byte "
	    "size (like 512m), not lots");
	expect_error("services:\n  web:\n    image: x\n    deploy:\n      resources:\n"
		     "        limits: {cpus: -1}\n",
		     "compose.yaml:6:24: services.web.deploy.resources.limits.cpus: must be a "
		     "non-negative number");
	expect_error(
	    "services:\n  web:\n    image: x\n    restart: sometimes\n",
	    "compose.yaml:4:14: services.web.restart: must be no, always, on-failure[:N] or "
	    "unless-stopped, not \"sometimes\"");
	expect_error("services:\n  web:\n    image: x\n    deploy:\n      update_config: {order: "
		     "random}\n",
		     "compose.yaml:5:30: services.web.deploy.update_config.order: must be "
		     "stop-first or start-first, not \"random\"");
	expect_error("services:\n  web:\n    image: x\n    depends_on: {db: {condition: up}}\n"
		     "  db: {image: x}\n",
		     "compose.yaml:4:34: services.web.depends_on.db.condition: must be "
		     "service_started, service_healthy or service_completed_successfully, not "
		     "\"up\"");
	expect_error("services:\n  web:\n    image: x\n    healthcheck: {test: [RUN, x]}\n",
		     "compose.yaml:4:25: services.web.healthcheck.test: must start with \"CMD\", "
		     "\"CMD-SHELL\", \"CMD-HTTP\", \"CMD-TCP\" or \"NONE\"");
	expect_error("services:\n  web:\n    image: x\n    healthcheck: {test: \"tcp:http\"}\n",
		     "compose.yaml:4:25: services.web.healthcheck.test: CMD-TCP takes one PORT or "
		     "HOST:PORT");
	expect_error("services:\n  web:\n    image: x\n    healthcheck: {test: [CMD-HTTP, x]}\n",
		     "compose.yaml:4:25: services.web.healthcheck.test: CMD-HTTP takes one http:// "
		     "URL");
	expect_error("services:\n  web:\n    image: x\n    working_dir: app\n",
		     "compose.yaml:4:18: services.web.working_dir: must be an absolute path, not "
		     "\"app\"");
	expect_error("services:\n  web:\n    image: x\n    command: {a: b}\n",
		     "compose.yaml:4:14: services.web.command: must be a list, not a mapping");
	expect_error("services:\n  web:\n    image: x\n    profiles: [\"-x\"]\n",
		     "compose.yaml:4:16: services.web.profiles: invalid profile name \"-x\"");
	expect_error("services:\n  \"web app\": {image: x}\n",
		     "compose.yaml:2:3: services: invalid service name \"web app\": only "
		     "[a-zA-Z0-9._-] are allowed");
}

static void test_invalid_ports(void **state)
{
	const char *bad[][2] = {
	    {"\"70000:80\"", "invalid port \\\"70000:80\\\""},
	    {"\"80:0\"", "invalid port \\\"80:0\\\""},
	    {"\"a:80\"", "invalid port \\\"a:80\\\""},
	    {"\"80/xyz\"", "invalid port \\\"80/xyz\\\": unknown protocol \\\"xyz\\\""},
	    {"\"300.1.1.1:80:80\"",
	     "invalid port \\\"300.1.1.1:80:80\\\": invalid IP address \\\"300.1.1.1\\\""},
	    {"\"8000-8002:80-81\"",
	     "invalid port \\\"8000-8002:80-81\\\": the published and target ranges differ "
	     "in size"},
	    {"\"90-80\"", "invalid port \\\"90-80\\\""},
	    {"\"1:2:3:4\"", "invalid port \\\"1:2:3:4\\\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char yaml[256], want[512], msg[256];
		snprintf(yaml, sizeof(yaml), "services:\n  web:\n    image: x\n    ports: [%s]\n",
			 bad[i][0]);
		/* unescape the \" written for readability above */
		size_t k = 0;
		for (const char *c = bad[i][1]; *c && k + 1 < sizeof(msg); c++)
			if (!(c[0] == '\\' && c[1] == '"'))
				msg[k++] = *c;
		msg[k] = '\0';
		snprintf(want, sizeof(want), "compose.yaml:4:13: services.web.ports[0]: %s", msg);
		expect_error(yaml, want);
	}
	expect_error(
	    "services:\n  web:\n    image: x\n    ports: [{target: 70000}]\n",
	    "compose.yaml:4:22: services.web.ports[0].target: must be between 1 and 65535");
	expect_error("services:\n  web:\n    image: x\n    ports: [{published: 80}]\n",
		     "compose.yaml:4:13: services.web.ports[0]: target is required");
	expect_error("services:\n  web:\n    image: x\n    expose: [\"http\"]\n",
		     "compose.yaml:4:14: services.web.expose[0]: invalid port \"http\"");
}

static void test_invalid_volumes(void **state)
{
	expect_error(
	    "services:\n  web:\n    image: x\n    volumes: [\"data:/data\"]\n",
	    "compose.yaml:4:15: services.web.volumes[0]: volume \"data\" is not declared in "
	    "the top-level volumes");
	expect_error("services:\n  web:\n    image: x\n    volumes: [\"./a:data\"]\n",
		     "compose.yaml:4:15: services.web.volumes[0]: invalid volume \"./a:data\": the "
		     "target must be an absolute path");
	expect_error("services:\n  web:\n    image: x\n    volumes: [\"./a:/a:rx\"]\n",
		     "compose.yaml:4:15: services.web.volumes[0]: invalid volume \"./a:/a:rx\": "
		     "unknown option \"rx\"");
	expect_error("services:\n  web:\n    image: x\n    volumes: [\"a:b:c:d\"]\n",
		     "compose.yaml:4:15: services.web.volumes[0]: invalid volume \"a:b:c:d\": too "
		     "many colons");
	expect_error("services:\n  web:\n    image: x\n    volumes: [{type: bind, target: /a}]\n",
		     "compose.yaml:4:15: services.web.volumes[0]: a bind mount needs a source");
	expect_error(
	    "services:\n  web:\n    image: x\n    networks: [front]\n",
	    "compose.yaml:4:16: services.web.networks: network \"front\" is not declared in "
	    "the top-level networks");
}

static void test_cross_service(void **state)
{
	expect_error("services:\n  web:\n    image: x\n    depends_on: [db]\n",
		     "compose.yaml:4:18: services.web.depends_on: service \"web\" depends on "
		     "undefined service \"db\"");
	expect_error(
	    "services:\n  a:\n    image: x\n    depends_on: [b]\n"
	    "  b:\n    image: x\n    depends_on:\n      a: {condition: service_healthy}\n",
	    "compose.yaml:4:17: services.a.depends_on: dependency cycle detected: a -> b -> "
	    "a");
	expect_error("services:\n  a:\n    image: x\n    depends_on: [a]\n",
		     "compose.yaml:4:17: services.a.depends_on: dependency cycle detected: a -> a");
	expect_error(
	    "services:\n  z:\n    image: x\n  a:\n    image: x\n    depends_on: [b]\n"
	    "  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n"
	    "    depends_on: [b]\n",
	    "compose.yaml:9:17: services.b.depends_on: dependency cycle detected: b -> c -> "
	    "b");
	expect_error(
	    "services:\n  web:\n    image: x\n    container_name: web\n"
	    "    deploy: {replicas: 3}\n",
	    "compose.yaml:4:21: services.web.container_name: container name \"web\" must be "
	    "unique, so it cannot be used with 3 replicas");
	expect_error("services:\n  web:\n    image: x\n    container_name: same\n"
		     "  api:\n    image: x\n    container_name: same\n",
		     "compose.yaml:7:21: services.api.container_name: container name \"same\" is "
		     "already used by service \"web\"");
	expect_error("services:\n  web:\n    restart: always\n",
		     "compose.yaml:3:5: services.web: service has neither an image nor a build "
		     "context");
	expect_error("services:\n  web:\n    image: x\n    container_name: \"-bad\"\n",
		     "compose.yaml:4:21: services.web.container_name: invalid container name "
		     "\"-bad\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");

	struct berth_error err = {0};
	json_t *p = json_pack("{s:{s:{s:{s:{}}}, s:{s:{s:{}}}}}", "services", "a", "depends_on",
			      "b", "b", "depends_on", "a");
	assert_null(compose_service_order(p, &err));
	assert_string_equal(err.msg, "dependency cycle detected: a -> b -> a");
	json_decref(p);
}

static void test_interpolation_errors(void **state)
{
	expect_error(
	    "services:\n  web:\n    image: ${TAG_UNSET:?set TAG_UNSET first}\n",
	    "compose.yaml:3:12: services.web.image: required variable TAG_UNSET is missing "
	    "a value: set TAG_UNSET first");
	expect_error("services:\n  web:\n    image: ${EMPTY:?}\n",
		     "compose.yaml:3:12: services.web.image: required variable EMPTY is missing a "
		     "value");
	expect_error("services:\n  web:\n    image: x\n    environment: [\"A=${NOPE?}\"]\n",
		     "compose.yaml:4:19: services.web.environment[0]: required variable NOPE is "
		     "missing a value");
	expect_error(
	    "services:\n  web:\n    image: \"${\"\n",
	    "compose.yaml:3:12: services.web.image: invalid interpolation format in \"${\": "
	    "you may need to escape any $ with another $");
	expect_error(
	    "services:\n  web:\n    image: \"${1A}\"\n",
	    "compose.yaml:3:12: services.web.image: invalid interpolation format in \"1A\": "
	    "you may need to escape any $ with another $");
	expect_error("services:\n  web:\n    image: \"${A:x}\"\n",
		     "compose.yaml:3:12: services.web.image: invalid interpolation format in "
		     "\"A:x\": you may need to escape any $ with another $");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_syntax),
	    cmocka_unit_test(test_yaml_structure),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_unsupported_and_unknown),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_invalid_ports),
	    cmocka_unit_test(test_invalid_volumes),
	    cmocka_unit_test(test_cross_service),
	    cmocka_unit_test(test_interpolation_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
