/* libFuzzer harness: image reference parsing (lib/image_ref.c, Docker's reference grammar)
 * must never crash or overrun on any input, and what it accepts is consistent: the key it
 * stores an image under ("familiar:tag") parses back to the same key, and so does the fully
 * qualified "domain/path[:tag][@digest]" form; a tag it keeps is a valid tag. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_store.h"

static void same_key(const char *what, const char *text, const char *key)
{
	struct image_ref again;
	struct berth_error err = {0};
	char key2[600];
	if (image_ref_parse(text, &again, &err) < 0) {
		fprintf(stderr, "%s \"%s\" does not parse: %s\n", what, text, err.msg);
		abort();
	}
	image_ref_key(&again, key2, sizeof(key2));
	if (strcmp(key, key2) != 0) {
		fprintf(stderr, "%s \"%s\" has key \"%s\", not \"%s\"\n", what, text, key2, key);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024];
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct image_ref ref;
	struct berth_error err = {0};
	char key[600], full[1200];
	if (image_ref_parse(buf, &ref, &err) == 0) {
		if (!ref.domain[0] || !ref.path[0] || !ref.familiar[0] ||
		    (ref.tag[0] && !image_ref_tag_valid(ref.tag)))
			abort();
		image_ref_key(&ref, key, sizeof(key));
		same_key("key", key, key);
		snprintf(full, sizeof(full), "%s/%s%s%s%s%s", ref.domain, ref.path,
			 ref.tag[0] ? ":" : "", ref.tag, ref.digest[0] ? "@" : "", ref.digest);
		same_key("full name", full, key);
	}
	image_ref_normalize(buf, key, sizeof(key), &err);
	image_ref_tag_valid(buf);
	return 0;
}
