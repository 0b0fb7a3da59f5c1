/* libFuzzer harness: the agent's POST /containers/create path on a fuzzed body, through the
 * real container_create() (agent/container_create.c is compiled in here, as fuzz_dns.c does
 * with netd/dns_msg.c, so its static checks run as they do in the agent and pick up whatever
 * validation is added there).
 *
 * Input: "NAME\nJSON" (the ?name= query, then the body; no newline before a '{' means no
 * name). The body is parsed as api_create does (an empty body is {}), then container_create
 * runs: name checks, fields berth refuses (lib/create_unsupported.c), HostConfig defaults
 * and checks (log driver, restart policy, memory, CPUs, cpusets), network mode, the merge
 * with an image config, exposed ports, restart labels, health checks, the config document,
 * and for a networked container the endpoint request netd would get. The I/O edges are
 * stubbed, by macro, before the include:
 *   image_store_resolve  a fixed busybox-like image (Env, Cmd, WorkingDir, Volumes, Labels)
 *   netd_request         answers at once with an endpoint (or an error, by input parity)
 *   volumes_resolve      parses every bind with the real volumes_parse_bind, then either
 *                        stops with an error or goes on with no mounts (by input bit 1):
 *                        nothing is created on disk for a volume or a bind (no host dir)
 * A create that goes through writes its config and state in a temporary root (on /dev/shm),
 * then the harness builds its runtime spec as a start would (container_runtime_spec) and
 * removes it. The harness checks the done callback ran exactly once, with a container or an
 * error status in 400..599, and nothing is left pending. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "berth/error.h"
#include "berth/fsutil.h"

struct netd_client;
struct image_store;
struct image_info;

#define image_store_resolve fuzz_image_store_resolve
#define netd_request fuzz_netd_request
#define netd_release_endpoint fuzz_netd_release_endpoint
#define volumes_resolve fuzz_volumes_resolve
#include "../../agent/container_create.c"
#undef image_store_resolve
#undef netd_request
#undef netd_release_endpoint
#undef volumes_resolve

static const char image_config[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:"
    "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"LANG=C\"],\"Cmd\":[\"sh\"],"
    "\"WorkingDir\":\"/srv\",\"Volumes\":{\"/data\":{}},\"ExposedPorts\":{\"80/tcp\":{}},"
    "\"Labels\":{\"org.opencontainers.image.title\":\"busybox\"},\"StopSignal\":\"SIGTERM\"},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\"]}}";

static bool endpoint_fails, volumes_fail;

int fuzz_image_store_resolve(struct image_store *store, const char *ref, struct image_info *out,
			     struct berth_error *err)
{
	(void)store;
	memset(out, 0, sizeof(*out));
	if (!strcmp(ref, "missing"))
		return berth_err(err, 404, "No such image: %s", ref);
	snprintf(out->id, sizeof(out->id),
		 "sha256:1111111111111111111111111111111111111111111111111111111111111111");
	out->config = json_loads(image_config, 0, NULL);
	out->layers = calloc(2, sizeof(char *));
	if (!out->config || !out->layers)
		abort();
	out->layers[0] = strdup("/nonexistent-berth-fuzz/layers/0000");
	out->n_layers = 1;
	return 0;
}

void fuzz_netd_request(struct netd_client *n, const char *method, const char *path,
		       const json_t *body, netd_cb cb, void *arg)
{
	(void)n;
	if (strcmp(method, "POST") || strcmp(path, "/endpoints") || !json_is_object(body))
		abort();
	if (endpoint_fails) {
		struct berth_error err = {0};
		berth_err(&err, 409, "Bind for 0.0.0.0:80 failed: port is already allocated");
		cb(arg, 409, NULL, &err);
		return;
	}
	json_t *reply = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "IPAddress", "172.18.0.2",
				  "Gateway", "172.18.0.1", "MacAddress", "02:42:ac:12:00:02",
				  "IPPrefixLen", 16, "NetworkID", "n1", "Ports", json_object());
	cb(arg, 201, reply, NULL);
	json_decref(reply);
}

void fuzz_netd_release_endpoint(struct netd_client *n, const char *container_id)
{
	(void)n;
	(void)container_id;
}

int fuzz_volumes_resolve(const char *root, const json_t *binds, const json_t *config_volumes,
			 const struct image_info *image, json_t *mounts, struct berth_error *err)
{
	(void)root;
	(void)config_volumes;
	(void)image;
	(void)mounts;
	size_t i;
	json_t *b;
	json_array_foreach(binds, i, b)
	{
		char source[4096], target[4096];
		bool ro;
		if (json_is_string(b) &&
		    volumes_parse_bind(json_string_value(b), source, sizeof(source), target,
				       sizeof(target), &ro, err) < 0)
			return -1;
	}
	if (volumes_fail)
		return berth_err(err, 599, "fuzz: stop before anything is written");
	return 0;
}

static struct agent agent;
static struct container_store *store;
static int done_calls, done_status;

static void created(void *arg, struct container *c, const struct berth_error *err)
{
	(void)arg;
	done_calls++;
	if (!c) {
		if (!err)
			abort();
		done_status = err->status;
		return;
	}
	done_status = 0;
	if (volumes_fail || !json_is_object(c->config))
		abort();
	struct image_info img;
	struct berth_error e = {0};
	if (fuzz_image_store_resolve(NULL, "busybox", &img, &e) < 0)
		abort();
	json_t *spec = container_runtime_spec(c, &img, &e);
	json_decref(spec);
	image_info_clear(&img);
	char dir[4200];
	container_dir(c, dir, sizeof(dir));
	container_store_unlink(store, c);
	berth_rm_rf(dir, NULL);
	container_free(c);
}

static void cleanup(void)
{
	berth_rm_rf(agent.root, NULL);
}

static void setup(void)
{
	snprintf(agent.root, sizeof(agent.root), "%s/berth-fuzz-create.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(agent.root))
		abort();
	store = container_store_new(&agent, agent.root);
	if (!store)
		abort();
	agent.containers = store;
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	if (!store)
		setup();
	char *buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *name = NULL, *body_text = buf;
	char *nl = memchr(buf, '\n', size), *brace = memchr(buf, '{', size);
	if (nl && (!brace || nl < brace)) {
		*nl = '\0';
		name = buf;
		body_text = nl + 1;
	}
	size_t body_len = size - (size_t)(body_text - buf);
	endpoint_fails = size & 1;
	volumes_fail = size & 2;
	/* As berth_http_body_json: an empty body is {}. */
	json_error_t jerr;
	json_t *body = body_len ? json_loadb(body_text, body_len, 0, &jerr) : json_object();
	if (body) {
		json_t *warnings = json_array();
		done_calls = 0;
		container_create(store, name, body, warnings, created, NULL);
		if (done_calls != 1 || (done_status && (done_status < 400 || done_status > 599)) ||
		    store->pending || store->head)
			abort();
		json_decref(warnings);
		json_decref(body);
	}
	free(buf);
	return 0;
}
