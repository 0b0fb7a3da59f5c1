/* libFuzzer harness for netd's DNS message parser and reply builder (netd/dns_msg.c, compiled
 * in here so it gets the fuzzer's instrumentation). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../netd/dns_msg.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
	return 0;
}
