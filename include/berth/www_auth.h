/* WWW-Authenticate challenges of a registry (RFC 7235; the Docker token flow). */
#ifndef BERTH_WWW_AUTH_H
#define BERTH_WWW_AUTH_H

#include <stddef.h>

enum berth_auth_scheme { BERTH_AUTH_NONE, BERTH_AUTH_BASIC, BERTH_AUTH_BEARER };

struct berth_auth_challenge {
	enum berth_auth_scheme scheme;
	char realm[512];
	char service[256];
	char scope[512];
	char error[64]; /* "insufficient_scope", "invalid_token", or "" */
};

/* Parse the first Basic or Bearer challenge of a header value: bytes in, a struct out, no
 * I/O. Quoted strings may hold escaped characters; unknown parameters are skipped. Returns
 * 0, or -1 when the value has no Basic or Bearer challenge or is malformed (out->scheme is
 * then BERTH_AUTH_NONE). A value too long for a field is malformed. */
int berth_www_auth_parse(const char *value, size_t len, struct berth_auth_challenge *out);

#endif
