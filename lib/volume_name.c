/* Volume names: Docker's pattern, and a length that fits one directory name. */
#include <ctype.h>
#include <string.h>

#include "berth/volume_name.h"

int volume_name_check(const char *name, struct berth_error *err)
{
	size_t len = strlen(name);
	bool ok = len >= 2 && isalnum((unsigned char)name[0]);
	for (size_t i = 1; ok && i < len; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]);
	if (!ok)
		return berth_err(err, 400,
				 "create %s: \"%s\" includes invalid characters for a local volume "
				 "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
				 "intended to pass a host directory, use absolute path",
				 name, name);
	if (len > VOLUME_NAME_MAX)
		return berth_err(
		    err, 400,
		    "create %.40s...: volume name is too long (%zu characters), at most "
		    "%d are allowed",
		    name, len, VOLUME_NAME_MAX);
	return 0;
}

int volume_binds_check(const json_t *binds, struct berth_error *err)
{
	size_t i;
	json_t *b;
	json_array_foreach(binds, i, b)
	{
		const char *spec = json_string_value(b);
		const char *colon = spec ? strchr(spec, ':') : NULL;
		if (!colon || spec[0] == '/')
			continue; /* a bind mount, or a bad spec that volumes_parse_bind reports */
		char name[VOLUME_NAME_MAX + 2];
		size_t len = (size_t)(colon - spec);
		if (len > VOLUME_NAME_MAX)
			len = VOLUME_NAME_MAX + 1;
		memcpy(name, spec, len);
		name[len] = '\0';
		if (volume_name_check(name, err) < 0)
			return -1;
	}
	return 0;
}
