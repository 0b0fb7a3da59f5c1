/* Numbers in query strings: parsed whole and in range, never atoi's silent wrap. */
#include <errno.h>
#include <stdlib.h>

#include "berth/http_server.h"

int berth_http_query_int(struct berth_http_call *call, const char *key, long long min,
			 long long max, long long dflt, long long *out, struct berth_error *err)
{
	const char *s = berth_http_query(call, key);
	*out = dflt;
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || end == s || *s == ' ' || *s == '\t')
		return berth_err(err, 400, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
	if (errno == ERANGE)
		return berth_err(err, 400, "strconv.Atoi: parsing \"%s\": value out of range", s);
	if (v < min || v > max)
		return berth_err(err, 400, "invalid value for %s: %lld is not in [%lld, %lld]", key,
				 v, min, max);
	*out = v;
	return 0;
}
