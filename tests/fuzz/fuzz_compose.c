/* libFuzzer harness: compose files, .env text and ${VAR} strings never crash or leak, and every
 * file that loads prints as YAML that loads back into the same model. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/compose.h"
#include "../../lib/compose_internal.h"

static char *fuzz_environ[] = {"HOME=/home/f", "TAG=1", "EMPTY=", "REPLICAS=3", NULL};

static void roundtrip(const struct compose_options *o, json_t *p)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct berth_error err = {0};
	if (!f)
		return;
	int rc = compose_write_yaml(p, f, &err);
	fclose(f);
	if (rc == 0) {
		json_t *again = compose_load_data(o, "out.yaml", out, len, &err);
		if (!again || !json_equal(p, again)) {
			fprintf(stderr, "round trip failed: %s\n%s\n", again ? "differs" : err.msg,
				out);
			abort();
		}
		json_decref(again);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	struct compose_options o = {.working_dir = "/nonexistent-berth-fuzz/proj",
				    .environ = fuzz_environ};
	struct berth_error err = {0};
	json_t *p = compose_load_data(&o, "fuzz.yaml", buf, size, &err);
	if (p) {
		json_t *order = compose_service_order(p, &err);
		json_decref(order);
		roundtrip(&o, p);
		json_decref(p);
	}

	struct compose_env env, vars = {0};
	compose_env_init(&env, fuzz_environ);
	if (compose_dotenv_parse("fuzz.env", buf, &env, &vars, &err) == 0)
		compose_env_get(&vars, "TAG");
	char *s = NULL, problem[256];
	bool changed;
	if (compose_interpolate_str(buf, &env, &vars, &s, &changed, problem, sizeof(problem)) == 0)
		free(s);
	json_t *words = json_array();
	const char *why;
	compose_split_words(buf, words, &why);
	json_decref(words);
	compose_env_free(&vars);
	compose_env_free(&env);
	free(buf);
	return 0;
}
