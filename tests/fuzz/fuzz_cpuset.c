/* libFuzzer harness: a CPU list either fails or formats back into a list that parses to the
 * same set, and no buffer size makes the formatter overrun. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cpuset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[512];
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct berth_cpuset set, again;
	if (berth_cpuset_parse(buf, &set) < 0)
		return 0;
	size_t need = berth_cpuset_format(&set, NULL, 0);
	char *out = malloc(need + 1);
	if (!out || berth_cpuset_format(&set, out, need + 1) != need || strlen(out) != need ||
	    berth_cpuset_parse(out, &again) < 0 || memcmp(&set, &again, sizeof(set)) != 0)
		abort();
	char small[8];
	berth_cpuset_format(&set, small, (size_t)(size ? data[0] % sizeof(small) : 0));
	free(out);
	return 0;
}
