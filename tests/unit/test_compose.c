/* Unit tests for the compose loader: each supported key, short and long forms, names, order. */
#include "test_compose_util.h"

static void test_minimal(void **state)
{
	json_t *p = load("services:\n  web:\n    image: busybox\n");
	assert_json(p, NULL,
		    "{\"name\": \"myapp\", \"services\": {\"web\": {\"image\": \"busybox\","
		    " \"networks\": {\"default\": null}}},"
		    " \"networks\": {\"default\": {\"name\": \"myapp_default\"}}}");
	json_decref(p);
}

static void test_project_name(void **state)
{
	char out[64];
	compose_normalize_project_name("My App!.x", out, sizeof(out));
	assert_string_equal(out, "myappx");
	compose_normalize_project_name("_-Hello_World-", out, sizeof(out));
	assert_string_equal(out, "hello_world-");

	json_t *p = load("name: demo\nservices:\n  web: {image: x}\n");
	assert_string_equal(jstr(p, "name"), "demo");
	assert_string_equal(jstr(p, "networks.default.name"), "demo_default");
	json_decref(p);

	const char *yaml = "name: demo\nservices:\n  web: {image: x}\n";
	struct compose_options o = {.project_name = "cli"};
	struct berth_error err;
	p = load_opts(yaml, &o, &err);
	assert_string_equal(jstr(p, "name"), "cli");
	json_decref(p);

	char *env[] = {"COMPOSE_PROJECT_NAME=fromenv", NULL};
	struct compose_options o2 = {.environ = env};
	p = load_opts(yaml, &o2, &err);
	assert_string_equal(jstr(p, "name"), "fromenv");
	json_decref(p);

	struct compose_options o3 = {.project_name = "Bad"};
	assert_null(load_opts(yaml, &o3, &err));
	assert_string_equal(err.msg, "invalid project name \"Bad\": must consist only of lowercase "
				     "alphanumeric characters, hyphens, and underscores as well as "
				     "start with a letter or number");
	expect_error("name: _x\nservices: {}\n",
		     "compose.yaml:1:7: name: invalid project name \"_x\": must consist only of "
		     "lowercase alphanumeric characters, hyphens, and underscores as well as start "
		     "with a letter or number");
	struct compose_options o4 = {.working_dir = "/srv/___"};
	assert_null(load_opts("services: {}\n", &o4, &err));
	assert_string_equal(err.msg, "project name must not be empty: the directory name "
				     "\"/srv/___\" has no letters or digits; use -p or name:");
}

static void test_command(void **state)
{
	json_t *p = load("services:\n  web:\n    image: x\n"
			 "    command: sh -c 'echo \"hi there\"' a\\ b \"x\\\"y\"\n"
			 "    entrypoint: [\"/bin/tini\", \"--\"]\n"
			 "  empty:\n    image: x\n    entrypoint: \"\"\n    command: []\n");
	assert_json(p, "services.web.command",
		    "[\"sh\", \"-c\", \"echo \\\"hi there\\\"\", \"a b\", \"x\\\"y\"]");
	assert_json(p, "services.web.entrypoint", "[\"/bin/tini\", \"--\"]");
	assert_json(p, "services.empty.entrypoint", "[]");
	assert_json(p, "services.empty.command", "[]");
	json_decref(p);
	expect_error(
	    "services:\n  web:\n    image: x\n    command: echo 'oops\n",
	    "compose.yaml:4:14: services.web.command: unterminated quote in \"echo 'oops\"");
	expect_error(
	    "services:\n  web:\n    image: x\n    command: echo a; echo b\n",
	    "compose.yaml:4:14: services.web.command: unquoted shell operator (a string "
	    "command runs without a shell: use [\"sh\", \"-c\", \"...\"]) in \"echo a; echo "
	    "b\"");
	p = load("services:\n  web:\n    image: x\n    command: 'echo \"\\d\" \"a;b\" a\\|b'\n");
	assert_json(p, "services.web.command", "[\"echo\", \"d\", \"a;b\", \"a|b\"]");
	json_decref(p);
}

static void test_environment(void **state)
{
	json_t *p = load("services:\n"
			 "  a:\n    image: x\n    environment: [A=1, B=, HOME, NOPE, C=x=y]\n"
			 "  b:\n    image: x\n    environment:\n      N: 1\n      T: true\n"
			 "      E: \"\"\n      Z:\n      HOME:\n");
	assert_json(p, "services.a.environment",
		    "{\"A\": \"1\", \"B\": \"\", \"HOME\": \"/home/u\", \"NOPE\": null,"
		    " \"C\": \"x=y\"}");
	assert_json(
	    p, "services.b.environment",
	    "{\"N\": \"1\", \"T\": \"true\", \"E\": \"\", \"Z\": null, \"HOME\": \"/home/u\"}");
	json_decref(p);
	expect_error("services:\n  a:\n    image: x\n    environment: [\"=x\"]\n",
		     "compose.yaml:4:19: services.a.environment[0]: invalid entry \"=x\": want "
		     "KEY=VALUE");
	expect_error("services:\n  a:\n    image: x\n    environment:\n      A: [1]\n",
		     "compose.yaml:5:10: services.a.environment.A: must be a string, number, "
		     "boolean or null, not a sequence");
	expect_error("services:\n  a:\n    image: x\n    environment: 5\n",
		     "compose.yaml:4:18: services.a.environment: must be a mapping or a list of "
		     "KEY=VALUE, not a string");
}

static void test_env_file(void **state)
{
	char dir[4096];
	assert_non_null(realpath(fixture("envfile"), dir));
	struct compose_options o = {.working_dir = dir};
	struct berth_error err;
	json_t *p = load_opts("services:\n  a:\n    image: x\n"
			      "    env_file: [app.env, {path: missing.env, required: false}]\n"
			      "    environment: {OVERRIDE: mine}\n",
			      &o, &err);
	if (!p)
		fail_msg("%s", err.msg);
	assert_json(p, "services.a.environment",
		    "{\"PLAIN\": \"value\", \"QUOTED\": \"two words\", \"SINGLE\": \"${NOT}\","
		    " \"EXPORTED\": \"yes\", \"REF\": \"value-/home/u\", \"ESC\": \"a\\nb\","
		    " \"COMMENT\": \"x\", \"OVERRIDE\": \"mine\", \"EMPTY\": \"\"}");
	json_decref(p);
	p = load_opts("services:\n  a:\n    image: x\n    env_file: nope.env\n", &o, &err);
	assert_null(p);
	char want[8192];
	snprintf(want, sizeof(want),
		 "compose.yaml:4:15: services.a.env_file: env file %s/nope.env not found", dir);
	assert_string_equal(err.msg, want);
}

static void test_ports(void **state)
{
	json_t *p = load("services:\n  web:\n    image: x\n    ports:\n"
			 "      - 3000\n      - \"8000:80\"\n      - 127.0.0.1:8001:8001/udp\n"
			 "      - \"127.0.0.1::5000\"\n      - \"[::1]:6001:6001\"\n"
			 "      - \"9090-9091:8080-8081\"\n      - \"7000-7010:80\"\n"
			 "      - {target: 53, published: \"1053\", protocol: udp, mode: host}\n"
			 "      - {target: 443, host_ip: 0.0.0.0, name: https}\n");
	assert_json(p, "services.web.ports",
		    "[{\"mode\": \"ingress\", \"host_ip\": \"\", \"target\": 3000, \"published\": "
		    "\"\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"\", \"target\": 80, \"published\": "
		    "\"8000\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"127.0.0.1\", \"target\": 8001, "
		    "\"published\": \"8001\", \"protocol\": \"udp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"127.0.0.1\", \"target\": 5000, "
		    "\"published\": \"\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"::1\", \"target\": 6001, "
		    "\"published\": \"6001\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"\", \"target\": 8080, \"published\": "
		    "\"9090\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"\", \"target\": 8081, \"published\": "
		    "\"9091\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"\", \"target\": 80, \"published\": "
		    "\"7000-7010\", \"protocol\": \"tcp\"},"
		    "{\"mode\": \"host\", \"host_ip\": \"\", \"target\": 53, \"published\": "
		    "\"1053\", \"protocol\": \"udp\"},"
		    "{\"mode\": \"ingress\", \"host_ip\": \"0.0.0.0\", \"target\": 443, "
		    "\"published\": \"\", \"protocol\": \"tcp\", \"name\": \"https\"}]");
	json_decref(p);
}

static void test_expose(void **state)
{
	json_t *p = load("services:\n  web:\n    image: x\n    expose: [80, \"90/udp\", "
			 "\"100-102\"]\n");
	assert_json(p, "services.web.expose",
		    "[\"80/tcp\", \"90/udp\", \"100/tcp\", \"101/tcp\", \"102/tcp\"]");
	json_decref(p);
}

static void test_volumes(void **state)
{
	json_t *p =
	    load("services:\n  web:\n    image: x\n    volumes:\n"
		 "      - ./data:/data:ro\n      - ../up/x:/x:rw,z\n      - ~/cfg:/cfg\n"
		 "      - /abs:/abs:rshared\n      - db:/var/lib/db:nocopy\n"
		 "      - /anonymous\n"
		 "      - {type: bind, source: ./src, target: /src, read_only: true,"
		 " bind: {create_host_path: false}}\n"
		 "      - {type: volume, source: db, target: /db2, volume: {nocopy: true}}\n"
		 "volumes:\n  db:\n");
	assert_json(p, "services.web.volumes",
		    "[{\"type\": \"bind\", \"source\": \"/srv/My App/data\", \"target\": \"/data\","
		    " \"read_only\": true, \"bind\": {\"create_host_path\": true}},"
		    "{\"type\": \"bind\", \"source\": \"/srv/up/x\", \"target\": \"/x\","
		    " \"read_only\": false, \"bind\": {\"create_host_path\": true, \"selinux\": "
		    "\"z\"}},"
		    "{\"type\": \"bind\", \"source\": \"/home/u/cfg\", \"target\": \"/cfg\","
		    " \"read_only\": false, \"bind\": {\"create_host_path\": true}},"
		    "{\"type\": \"bind\", \"source\": \"/abs\", \"target\": \"/abs\","
		    " \"read_only\": false, \"bind\": {\"create_host_path\": true, "
		    "\"propagation\": \"rshared\"}},"
		    "{\"type\": \"volume\", \"source\": \"db\", \"target\": \"/var/lib/db\","
		    " \"read_only\": false, \"volume\": {\"nocopy\": true}},"
		    "{\"type\": \"volume\", \"target\": \"/anonymous\", \"read_only\": false},"
		    "{\"type\": \"bind\", \"source\": \"/srv/My App/src\", \"target\": \"/src\","
		    " \"read_only\": true, \"bind\": {\"create_host_path\": false}},"
		    "{\"type\": \"volume\", \"source\": \"db\", \"target\": \"/db2\","
		    " \"read_only\": false, \"volume\": {\"nocopy\": true}}]");
	assert_json(p, "volumes", "{\"db\": {\"name\": \"myapp_db\"}}");
	json_decref(p);
}

static void test_top_level_resources(void **state)
{
	json_t *p =
	    load("services:\n  web:\n    image: x\n    networks: [front, back, ext]\n"
		 "networks:\n  front:\n  back: {driver: bridge, internal: true, labels: "
		 "[a=b], ipam: {config: [{subnet: 10.5.0.0/16}]}, x-note: hi}\n"
		 "  ext: {external: true}\n  named: {name: custom}\n"
		 "  old: {external: {name: legacy}}\n"
		 "volumes:\n  data:\n  shared: {external: true}\n  n: {name: fixed, driver: "
		 "local, driver_opts: {type: tmpfs}}\n");
	assert_json(p, "networks",
		    "{\"front\": {\"name\": \"myapp_front\"}, \"back\": {\"name\": \"myapp_back\","
		    " \"driver\": \"bridge\", \"internal\": true, \"labels\": {\"a\": \"b\"},"
		    " \"ipam\": {\"config\": [{\"subnet\": \"10.5.0.0/16\"}]}, \"x-note\": \"hi\"},"
		    " \"ext\": {\"name\": \"ext\", \"external\": true},"
		    " \"named\": {\"name\": \"custom\"},"
		    " \"old\": {\"name\": \"legacy\", \"external\": true}}");
	assert_json(p, "volumes",
		    "{\"data\": {\"name\": \"myapp_data\"}, \"shared\": {\"name\": \"shared\", "
		    "\"external\": true}, \"n\": {\"name\": \"fixed\", \"driver\": \"local\", "
		    "\"driver_opts\": {\"type\": \"tmpfs\"}}}");
	/* no service on the default network: it is not created */
	assert_null(jget(p, "networks.default"));
	json_decref(p);
}

static void test_networks(void **state)
{
	json_t *p = load("services:\n  web:\n    image: x\n    networks:\n      front:\n"
			 "        aliases: [www, site]\n        ipv4_address: 10.5.0.9\n"
			 "      default:\nnetworks:\n  front:\n");
	assert_json(p, "services.web.networks",
		    "{\"front\": {\"aliases\": [\"www\", \"site\"], \"ipv4_address\": "
		    "\"10.5.0.9\"}, \"default\": null}");
	assert_string_equal(jstr(p, "networks.default.name"), "myapp_default");
	json_decref(p);
}

static void test_depends_on(void **state)
{
	json_t *p = load("services:\n  web:\n    image: x\n    depends_on: [db]\n"
			 "  worker:\n    image: x\n    depends_on:\n      web: {condition: "
			 "service_healthy, restart: true}\n      db:\n        condition: "
			 "service_completed_successfully\n        required: false\n"
			 "  db:\n    image: x\n");
	assert_json(p, "services.web.depends_on",
		    "{\"db\": {\"condition\": \"service_started\", \"required\": true}}");
	assert_json(p, "services.worker.depends_on",
		    "{\"web\": {\"condition\": \"service_healthy\", \"required\": true, "
		    "\"restart\": true}, \"db\": {\"condition\": "
		    "\"service_completed_successfully\", \"required\": false}}");
	struct berth_error err = {0};
	json_t *opt = load("services:\n  web:\n    image: x\n    depends_on:\n"
			   "      gone: {required: false}\n");
	assert_json(opt, "services.web.depends_on", "{}");
	json_decref(opt);
	json_t *order = compose_service_order(p, &err);
	assert_json(order, NULL, "[\"db\", \"web\", \"worker\"]");
	json_decref(order);
	json_decref(p);
}

static void test_healthcheck(void **state)
{
	json_t *p =
	    load("services:\n  a:\n    image: x\n    healthcheck:\n"
		 "      test: curl -f http://localhost\n      interval: 1m30s\n"
		 "      timeout: 500ms\n      retries: 5\n      start_period: 40s\n"
		 "      start_interval: 5s\n"
		 "  b:\n    image: x\n    healthcheck: {test: [CMD, wget, -q, "
		 "localhost], disable: false}\n"
		 "  c:\n    image: x\n    healthcheck: {test: [NONE]}\n"
		 "  d:\n    image: x\n    healthcheck: {disable: true}\n"
		 "  e:\n    image: x\n    healthcheck: {test: \"http://localhost:8080/health\"}\n"
		 "  f:\n    image: x\n    healthcheck: {test: \"tcp:8080\"}\n"
		 "  g:\n    image: x\n    healthcheck: {test: [CMD-TCP, \"127.0.0.1:53\"]}\n");
	assert_json(p, "services.a.healthcheck",
		    "{\"test\": [\"CMD-SHELL\", \"curl -f http://localhost\"], \"interval\": "
		    "90000000000, \"timeout\": 500000000, \"retries\": 5, \"start_period\": "
		    "40000000000, \"start_interval\": 5000000000}");
	assert_json(p, "services.b.healthcheck",
		    "{\"test\": [\"CMD\", \"wget\", \"-q\", \"localhost\"], \"disable\": false}");
	assert_json(p, "services.c.healthcheck", "{\"test\": [\"NONE\"]}");
	assert_json(p, "services.d.healthcheck", "{\"disable\": true}");
	assert_json(p, "services.e.healthcheck.test",
		    "[\"CMD-HTTP\", \"http://localhost:8080/health\"]");
	assert_json(p, "services.f.healthcheck.test", "[\"CMD-TCP\", \"8080\"]");
	assert_json(p, "services.g.healthcheck.test", "[\"CMD-TCP\", \"127.0.0.1:53\"]");
	json_decref(p);
}

static void test_deploy(void **state)
{
	json_t *p = load("services:\n  a:\n    image: x\n    deploy:\n      mode: replicated\n"
			 "      replicas: 3\n      labels: [a=b]\n      resources:\n"
			 "        limits: {cpus: \"0.5\", memory: 512m, pids: 100}\n"
			 "        reservations: {cpus: 0.25, memory: 1g}\n"
			 "      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3,"
			 " window: 2m}\n"
			 "      update_config: {parallelism: 2, delay: 10s, order: start-first,"
			 " failure_action: rollback, monitor: 30s, max_failure_ratio: 0.5}\n"
			 "      rollback_config: {parallelism: 1, order: stop-first}\n");
	assert_json(p, "services.a.deploy",
		    "{\"mode\": \"replicated\", \"replicas\": 3, \"labels\": {\"a\": \"b\"},"
		    " \"resources\": {\"limits\": {\"cpus\": 0.5, \"memory\": 536870912, \"pids\": "
		    "100}, \"reservations\": {\"cpus\": 0.25, \"memory\": 1073741824}},"
		    " \"restart_policy\": {\"condition\": \"on-failure\", \"delay\": 5000000000,"
		    " \"max_attempts\": 3, \"window\": 120000000000},"
		    " \"update_config\": {\"parallelism\": 2, \"delay\": 10000000000, \"order\":"
		    " \"start-first\", \"failure_action\": \"rollback\", \"monitor\": 30000000000,"
		    " \"max_failure_ratio\": 0.5},"
		    " \"rollback_config\": {\"parallelism\": 1, \"order\": \"stop-first\"}}");
	json_decref(p);
}

static void test_legacy_keys(void **state)
{
	json_t *p = load("services:\n  a:\n    image: x\n    scale: 4\n    mem_limit: 256m\n"
			 "    mem_reservation: 128m\n    cpus: 1.5\n    pids_limit: 50\n");
	assert_json(p, "services.a.deploy",
		    "{\"replicas\": 4, \"resources\": {\"limits\": {\"memory\": 268435456, "
		    "\"cpus\": 1.5, \"pids\": 50}, \"reservations\": {\"memory\": 134217728}}}");
	json_decref(p);
	p = load("services:\n  a:\n    image: x\n    scale: 2\n    deploy: {replicas: 2}\n");
	assert_int_equal(jint(p, "services.a.deploy.replicas"), 2);
	json_decref(p);
	expect_error("services:\n  a:\n    image: x\n    deploy: {replicas: 2}\n    scale: 3\n",
		     "compose.yaml:5:5: services.a.scale: conflicts with deploy.replicas");
}

static void test_simple_keys(void **state)
{
	json_t *p = load("services:\n  a:\n    image: x\n    restart: \"no\"\n"
			 "    labels: {com.example: \"1\", flag: true, empty: }\n"
			 "    container_name: my-box\n    hostname: box\n    user: \"1000:1000\"\n"
			 "    working_dir: /app\n    init: true\n    stop_signal: SIGINT\n"
			 "    stop_grace_period: 1m\n"
			 "  b:\n    image: x\n    restart: on-failure:3\n    labels: [a=1, b]\n");
	assert_json(p, "services.a",
		    "{\"image\": \"x\", \"restart\": \"no\", \"labels\": {\"com.example\": \"1\", "
		    "\"flag\": \"true\", \"empty\": \"\"}, \"container_name\": \"my-box\", "
		    "\"hostname\": \"box\", \"user\": \"1000:1000\", \"working_dir\": \"/app\", "
		    "\"init\": true, \"stop_signal\": \"SIGINT\", \"stop_grace_period\": "
		    "60000000000, \"networks\": {\"default\": null}}");
	assert_json(p, "services.b.labels", "{\"a\": \"1\", \"b\": \"\"}");
	assert_string_equal(jstr(p, "services.b.restart"), "on-failure:3");
	json_decref(p);
}

static void test_build(void **state)
{
	json_t *p = load("services:\n  a:\n    build: ./app\n"
			 "  b:\n    image: b:dev\n    build:\n      context: /ctx\n"
			 "      dockerfile: Dockerfile.dev\n      args: [V=1, UNSET]\n"
			 "      target: prod\n      tags: [b:1]\n      no_cache: true\n"
			 "  c:\n    build: {dockerfile_inline: \"FROM busybox\"}\n"
			 "  d:\n    build: https://github.com/x/y.git#main\n");
	assert_json(p, "services.a.build",
		    "{\"context\": \"/srv/My App/app\", \"dockerfile\": \"Dockerfile\"}");
	assert_json(p, "services.b.build",
		    "{\"context\": \"/ctx\", \"dockerfile\": \"Dockerfile.dev\", \"args\": "
		    "{\"V\": \"1\", \"UNSET\": null}, \"target\": \"prod\", \"tags\": [\"b:1\"], "
		    "\"no_cache\": true}");
	assert_json(p, "services.c.build",
		    "{\"context\": \"/srv/My App\", \"dockerfile_inline\": \"FROM busybox\"}");
	assert_json(p, "services.d.build",
		    "{\"context\": \"https://github.com/x/y.git#main\", \"dockerfile\": "
		    "\"Dockerfile\"}");
	json_decref(p);
}

static void test_profiles(void **state)
{
	const char *yaml = "services:\n  web:\n    image: x\n"
			   "  debug:\n    image: x\n    profiles: [debug]\n"
			   "  tools:\n    image: x\n    profiles: [tools, debug]\n"
			   "    depends_on: {web: {}, other: {required: false}}\n"
			   "  other:\n    image: x\n    profiles: [other]\n";
	json_t *p = load(yaml);
	assert_json(p, "services",
		    "{\"web\": {\"image\": \"x\", \"networks\": {\"default\": "
		    "null}}}");
	json_decref(p);
	const char *debug[] = {"debug"};
	struct compose_options o = {.profiles = debug, .n_profiles = 1};
	struct berth_error err;
	p = load_opts(yaml, &o, &err);
	assert_non_null(json_object_get(jget(p, "services"), "debug"));
	assert_non_null(json_object_get(jget(p, "services"), "tools"));
	assert_null(json_object_get(jget(p, "services"), "other"));
	/* a required: false dependency on a disabled service is dropped */
	assert_json(p, "services.tools.depends_on",
		    "{\"web\": {\"condition\": \"service_started\", \"required\": true}}");
	assert_json(p, "services.tools.profiles", "[\"tools\", \"debug\"]");
	json_decref(p);
	char *env[] = {"COMPOSE_PROFILES=other,tools", NULL};
	struct compose_options o2 = {.environ = env};
	p = load_opts(yaml, &o2, &err);
	assert_int_equal(json_object_size(jget(p, "services")), 3);
	json_decref(p);
	const char *all[] = {"*"};
	struct compose_options o3 = {.profiles = all, .n_profiles = 1};
	p = load_opts(yaml, &o3, &err);
	assert_int_equal(json_object_size(jget(p, "services")), 4);
	json_decref(p);
	const char *tools[] = {"tools"};
	struct compose_options o4 = {.profiles = tools, .n_profiles = 1};
	assert_null(load_opts("services:\n  web:\n    image: x\n    profiles: [w]\n"
			      "  tools:\n    image: x\n    profiles: [tools]\n"
			      "    depends_on: [web]\n",
			      &o4, &err));
	assert_string_equal(err.msg,
			    "compose.yaml:8:18: services.tools.depends_on: service "
			    "\"tools\" depends on service \"web\", which is disabled by its "
			    "profiles");
}

static void test_extensions(void **state)
{
	json_t *p =
	    load("x-top: {a: 1}\nservices:\n  web:\n    image: x\n"
		 "    x-berth-replace-unhealthy: true\n    x-list: [1, \"2\", 1.5, null, ~]\n"
		 "    deploy: {x-d: 1}\n    healthcheck: {test: [NONE], x-h: a}\n"
		 "  x-not-a-service: {foo: bar}\n");
	assert_json(p, "x-top", "{\"a\": 1}");
	assert_json(p, "services.web.x-berth-replace-unhealthy", "true");
	assert_json(p, "services.web.x-list", "[1, \"2\", 1.5, null, null]");
	assert_null(jget(p, "services.x-not-a-service"));
	json_decref(p);
}

static void test_anchors_and_merge_keys(void **state)
{
	json_t *p = load("x-base: &base\n  image: busybox\n  restart: always\n"
			 "x-env: &env\n  environment: {A: \"1\"}\n"
			 "x-cmd: &cmd [sleep, \"1000\"]\n"
			 "services:\n  a:\n    <<: [*base, *env]\n    restart: \"no\"\n"
			 "    command: *cmd\n  b:\n    <<: *base\n");
	assert_string_equal(jstr(p, "services.a.image"), "busybox");
	assert_string_equal(jstr(p, "services.a.restart"), "no");
	assert_json(p, "services.a.environment", "{\"A\": \"1\"}");
	assert_json(p, "services.a.command", "[\"sleep\", \"1000\"]");
	assert_string_equal(jstr(p, "services.b.restart"), "always");
	json_decref(p);
}

static void test_network_mode(void **state)
{
	json_t *p = load("services:\n  a:\n    image: x\n    network_mode: host\n"
			 "  b:\n    image: x\n    network_mode: \"container:other\"\n");
	assert_json(p, NULL,
		    "{\"name\": \"myapp\", \"services\": {\"a\": {\"image\": \"x\", "
		    "\"network_mode\": \"host\"}, \"b\": {\"image\": \"x\", \"network_mode\": "
		    "\"container:other\"}}}");
	json_decref(p);
}

static void test_version_ignored(void **state)
{
	json_t *p = load("version: \"3.8\"\nservices:\n  web: {image: x}\n");
	assert_null(jget(p, "version"));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_project_name),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_environment),
	    cmocka_unit_test(test_env_file),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_expose),
	    cmocka_unit_test(test_volumes),
	    cmocka_unit_test(test_top_level_resources),
	    cmocka_unit_test(test_networks),
	    cmocka_unit_test(test_depends_on),
	    cmocka_unit_test(test_healthcheck),
	    cmocka_unit_test(test_deploy),
	    cmocka_unit_test(test_legacy_keys),
	    cmocka_unit_test(test_simple_keys),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_extensions),
	    cmocka_unit_test(test_anchors_and_merge_keys),
	    cmocka_unit_test(test_network_mode),
	    cmocka_unit_test(test_version_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
