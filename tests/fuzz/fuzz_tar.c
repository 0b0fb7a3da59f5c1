/* libFuzzer harness: unpacking an arbitrary (maybe compressed) layer tar must never crash,
 * and must never write outside its layer directory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/fsutil.h"
#include "image_store.h"

static char base[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/berth-fuzz-tar.XXXXXX");
		if (!mkdtemp(base))
			abort();
	}
	char tar[128], root[128], outside[128];
	snprintf(tar, sizeof(tar), "%s/in.tar", base);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(outside, 0755);
	if (berth_write_atomic(tar, data, size, 0644, NULL) < 0)
		abort();
	struct berth_error err = {0};
	image_layer_install(root, tar, "sha256:0000", &err);
	/* Whatever happened, the sibling directory stays empty. */
	if (rmdir(outside) < 0)
		abort();
	berth_rm_rf(root, NULL);
	return 0;
}
