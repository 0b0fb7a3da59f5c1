/* DNS message parsing and building for the embedded resolver (RFC 1035 section 4). */
#include <ctype.h>
#include <string.h>

#include "dns_msg.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query *q)
{
	memset(q, 0, sizeof(*q));
	if (!buf || len < DNS_HEADER_LEN)
		return -1;
	q->id = rd16(buf);
	q->flags = rd16(buf + 2);
	if (q->flags & 0x8000) /* a response, not a query */
		return -1;
	if (((q->flags >> 11) & 0xf) != 0) /* opcode: only QUERY */
		return -1;
	if (rd16(buf + 4) != 1) /* qdcount */
		return -1;
	/* Names in a question are never compressed (nothing precedes them to point at). */
	size_t off = DNS_HEADER_LEN, out = 0;
	for (;;) {
		if (off >= len)
			return -1;
		uint8_t l = buf[off++];
		if (l == 0)
			break;
		if (l & 0xc0) /* a pointer or an extended label type */
			return -1;
		if (off + l > len || out + l + 1 > DNS_MAX_NAME)
			return -1;
		if (out)
			q->name[out++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = buf[off + i];
			/* A dot or NUL inside a label cannot be written in our flat form. */
			if (c == '.' || c == 0)
				return -1;
			q->name[out++] = (char)tolower(c);
		}
		off += l;
	}
	q->name[out] = '\0';
	if (off + 4 > len)
		return -1;
	q->qtype = rd16(buf + off);
	q->qclass = rd16(buf + off + 2);
	q->question_end = off + 4;
	return 0;
}

size_t dns_build_error(uint16_t id, uint16_t flags, uint8_t rcode, uint8_t *out, size_t max_len)
{
	if (max_len < DNS_HEADER_LEN)
		return 0;
	memset(out, 0, DNS_HEADER_LEN);
	wr16(out, id);
	/* QR, the query's opcode and RD, RA, rcode */
	wr16(out + 2, (uint16_t)(0x8000 | (flags & 0x7900) | 0x0080 | (rcode & 0xf)));
	return DNS_HEADER_LEN;
}

size_t dns_build_reply(const uint8_t *query, const struct dns_query *q, uint8_t rcode,
		       const uint32_t *addrs_be, size_t n_addrs, uint32_t ttl, uint8_t *out,
		       size_t max_len)
{
	if (q->question_end < DNS_HEADER_LEN || max_len < q->question_end)
		return dns_build_error(q->id, q->flags, rcode, out, max_len);
	memcpy(out, query, q->question_end);
	/* QR, AA, opcode and RD from the query, RA */
	wr16(out + 2, (uint16_t)(0x8000 | 0x0400 | (q->flags & 0x7900) | 0x0080 | (rcode & 0xf)));
	wr16(out + 4, 1);
	wr16(out + 6, 0);
	wr16(out + 8, 0);
	wr16(out + 10, 0);
	size_t off = q->question_end;
	uint16_t an = 0;
	for (size_t i = 0; i < n_addrs; i++) {
		if (off + 16 > max_len) {
			out[2] |= 0x02; /* TC */
			break;
		}
		wr16(out + off, 0xc000 | DNS_HEADER_LEN); /* the question's name */
		wr16(out + off + 2, DNS_TYPE_A);
		wr16(out + off + 4, DNS_CLASS_IN);
		wr16(out + off + 6, (uint16_t)(ttl >> 16));
		wr16(out + off + 8, (uint16_t)ttl);
		wr16(out + off + 10, 4);
		memcpy(out + off + 12, &addrs_be[i], 4);
		off += 16;
		an++;
	}
	wr16(out + 6, an);
	return off;
}

int dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, size_t *msg_len)
{
	if (len < 2)
		return 0;
	size_t n = rd16(buf);
	if (n == 0 || n > max)
		return -1;
	if (len - 2 < n)
		return 0;
	*msg_len = n;
	return 1;
}

int dns_reply_id(const uint8_t *buf, size_t len)
{
	if (!buf || len < DNS_HEADER_LEN || !(buf[2] & 0x80))
		return -1;
	return rd16(buf);
}

void dns_set_id(uint8_t *buf, uint16_t id)
{
	wr16(buf, id);
}
