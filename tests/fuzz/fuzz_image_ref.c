/* libFuzzer harness: image reference parsing must never crash or overrun on any input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024];
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct image_ref ref;
	struct berth_error err = {0};
	char key[600];
	if (image_ref_parse(buf, &ref, &err) == 0)
		image_ref_key(&ref, key, sizeof(key));
	image_ref_normalize(buf, key, sizeof(key), &err);
	image_ref_tag_valid(buf);
	return 0;
}
