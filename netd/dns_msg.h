/* DNS wire format, only as much as netd's resolver needs: parse a query's header and single
 * question, build an answer with A records or an error code. Pure functions over buffers,
 * defensive against any input (fuzzed by tests/fuzz/fuzz_dns.c). */
#ifndef BERTH_NETD_DNS_MSG_H
#define BERTH_NETD_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_MAX_NAME 255  /* presentation form, without the trailing dot */
#define DNS_MAX_UDP 512	  /* answers beyond this are truncated (TC) */
#define DNS_MAX_TCP 65535 /* the length prefix's limit */

enum { DNS_TYPE_A = 1, DNS_TYPE_AAAA = 28, DNS_TYPE_ANY = 255, DNS_CLASS_IN = 1 };
enum {
	DNS_RCODE_OK = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

struct dns_query {
	uint16_t id;
	uint16_t flags;
	char name[DNS_MAX_NAME + 1]; /* lowercase, no trailing dot; "" for the root */
	uint16_t qtype, qclass;
	size_t question_end; /* offset just past the question */
};

/* 0 for a well-formed standard query with exactly one question; -1 otherwise (then, if the
 * header could be read, q->id/flags are set so a FORMERR can be sent). */
int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q);

/* Write a reply to q into out: the question copied from the query buffer, then one A record
 * per address (network order) with ttl; rcode as given. Returns the length, or 0 if out is
 * too small even for the header. Sets TC and drops records that do not fit in max_len. */
size_t dns_build_reply(const uint8_t *query, const struct dns_query *q, uint8_t rcode,
		       const uint32_t *addrs_be, size_t n_addrs, uint32_t ttl, uint8_t *out,
		       size_t max_len);
/* A bare error reply (FORMERR/SERVFAIL) that echoes only the header. */
size_t dns_build_error(uint16_t id, uint16_t flags, uint8_t rcode, uint8_t *out, size_t max_len);

/* DNS over TCP (RFC 1035 4.2.2, RFC 7766): every message is preceded by its length (2 bytes,
 * network order). Looks at the start of a stream buffer: 1 when a whole message is there (it
 * starts at buf + 2 and is *msg_len long), 0 when more bytes are needed, -1 when the length is
 * 0 or above max (the stream cannot go on). */
int dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, size_t *msg_len);

/* The id of a message (a reply from an upstream), -1 if too short or not a response. */
int dns_reply_id(const uint8_t *buf, size_t len);
void dns_set_id(uint8_t *buf, uint16_t id);

#endif
