/* libFuzzer harness: --ulimit and --tmpfs option strings either fail with a message or give a
 * result that holds: soft <= hard for a ulimit, and tmpfs data that parses back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/run_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024];
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct berth_error err = {0};
	struct berth_ulimit u;
	if (berth_ulimit_parse(buf, &u, &err) == 0) {
		if (u.resource < 0 || (u.hard != -1 && u.soft > u.hard))
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	struct berth_tmpfs_opts o, again;
	berth_err_clear(&err);
	if (berth_tmpfs_parse(buf, &o, &err) == 0) {
		if (berth_tmpfs_parse(o.data, &again, &err) < 0 || strcmp(o.data, again.data))
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	berth_tmpfs_check_target(buf, &err);
	return 0;
}
