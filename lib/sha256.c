/* SHA-256 over OpenSSL's EVP, apart from id.c so that programs that only make IDs (the
 * daemons) do not load libcrypto: with --as-needed it is linked only where these are called. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "berth/id.h"

struct berth_sha256 {
	EVP_MD_CTX *ctx;
};

struct berth_sha256 *berth_sha256_new(void)
{
	struct berth_sha256 *h = malloc(sizeof(*h));
	if (!h)
		abort();
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return h;
}

void berth_sha256_update(struct berth_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void berth_sha256_final_hex(struct berth_sha256 *h, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	berth_hex_encode(md, 32, out);
	berth_sha256_free(h);
}

void berth_sha256_free(struct berth_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void berth_sha256_hex(const void *data, size_t len, char out[65])
{
	struct berth_sha256 *h = berth_sha256_new();
	berth_sha256_update(h, data, len);
	berth_sha256_final_hex(h, out);
}
