/* libFuzzer harness for the HTTP route matcher and API-version stripping (lib/http_route.c's
 * internal functions, declared in lib/http_internal.h). Input: "PATTERN\nPATH". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = memchr(buf, '\n', size);
	if (!nl || strlen(buf) != size) { /* need exactly one split, no NULs */
		free(buf);
		return 0;
	}
	*nl = '\0';
	const char *pattern = buf;
	const char *path = http_strip_version(nl + 1);
	const char *start[BERTH_HTTP_MAX_PARAMS] = {0};
	size_t len[BERTH_HTTP_MAX_PARAMS] = {0};
	if (http_route_match(pattern, path, start, len, 0)) {
		size_t path_len = strlen(path);
		for (int i = 0; i < BERTH_HTTP_MAX_PARAMS && start[i]; i++) {
			/* A capture lies inside the path and is never empty. */
			if (start[i] < path || start[i] + len[i] > path + path_len || len[i] == 0)
				abort();
		}
	}
	free(buf);
	return 0;
}
