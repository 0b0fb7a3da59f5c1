/* Identifiers: random 64-hex IDs, Docker-style random names, SHA-256 digests. */
#ifndef BERTH_ID_H
#define BERTH_ID_H

#include <stdbool.h>
#include <stddef.h>

#define BERTH_ID_LEN 64

/* 64 lowercase hex characters + NUL, from getrandom(). */
void berth_id_random(char out[BERTH_ID_LEN + 1]);
/* "adjective_surname" like Docker's namesgenerator; retry > 0 appends a digit as Docker does. */
void berth_name_random(char *out, size_t size, int retry);
bool berth_is_hex(const char *s, size_t n);
/* len bytes as 2 * len lowercase hex characters + NUL. */
void berth_hex_encode(const unsigned char *in, size_t len, char *out);
/* Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' is allowed and ignored). */
bool berth_name_valid(const char *name);

/* Streaming SHA-256 over OpenSSL's EVP (lib/sha256.c; links libcrypto into what calls it). */
struct berth_sha256;
struct berth_sha256 *berth_sha256_new(void);
void berth_sha256_update(struct berth_sha256 *h, const void *data, size_t len);
/* Writes 64 hex chars + NUL and frees h. */
void berth_sha256_final_hex(struct berth_sha256 *h, char out[65]);
void berth_sha256_free(struct berth_sha256 *h);
void berth_sha256_hex(const void *data, size_t len, char out[65]);

#endif
