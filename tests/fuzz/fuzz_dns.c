/* libFuzzer harness for netd's DNS message parser and reply builder (netd/dns_msg.c, compiled
 * in here so it gets the fuzzer's instrumentation): the input as one UDP datagram, and as a
 * TCP stream of length-prefixed messages (RFC 7766) cut wherever the first byte says. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../netd/dns_msg.c"

static void fuzz_one_message(const uint8_t *data, size_t size);

/* The stream as dns_tcp.c walks it: frames while whole ones are there, the rest kept for the
 * next read (here: the reads are cut every `step` bytes). */
static void fuzz_tcp_stream(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	size_t step = data[0] ? data[0] : 1, off = 0, have = 0;
	data++;
	size--;
	while (have < size) {
		have = have + step < size ? have + step : size;
		for (;;) {
			size_t len = 0;
			int rc = dns_tcp_frame(data + off, have - off, 4096, &len);
			if (rc < 0)
				return; /* the server closes the connection */
			if (rc == 0)
				break;
			if (len == 0 || len > 4096 || off + 2 + len > have)
				__builtin_trap();
			fuzz_one_message(data + off + 2, len);
			off += 2 + len;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one_message(data, size);
	fuzz_tcp_stream(data, size);
	return 0;
}

static void fuzz_one_message(const uint8_t *data, size_t size)
{
	struct dns_query q;
	uint8_t out[DNS_MAX_UDP];
	int rc = dns_parse_query(data, size, &q);
	if (rc == 0) {
		/* Invariants the server relies on. */
		if (q.question_end > size || q.question_end < DNS_HEADER_LEN ||
		    strlen(q.name) > DNS_MAX_NAME)
			__builtin_trap();
		uint32_t addrs[40];
		memset(addrs, 0x5a, sizeof(addrs));
		size_t n = dns_build_reply(data, &q, 0, addrs, 40, 600, out, sizeof(out));
		if (n > sizeof(out) || (n && dns_reply_id(out, n) != q.id))
			__builtin_trap();
		struct dns_query again;
		/* The reply's question parses back to the same name (as a query once QR cleared).
		 */
		if (n >= q.question_end) {
			out[2] &= 0x7f;
			if (dns_parse_query(out, n, &again) == 0 && strcmp(again.name, q.name) != 0)
				__builtin_trap();
		}
	} else {
		dns_build_error(q.id, q.flags, 1, out, sizeof(out));
	}
	(void)dns_reply_id(data, size);
}
