#!/usr/bin/env bats
# berth-netd's DNS over TCP (RFC 7766) on the bridge gateway's port 53, with
# tests/system/netd_dns_client.py in an endpoint's namespace and netd_dns_upstream.py (UDP and
# TCP) on 127.0.0.1:5353: local names, pipelined queries, forwarding upstream over TCP, answers
# too big for UDP, framing across reads, bad lengths, the idle timeout, clients that go away.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

# dnsq ARGS...: the test client from container a's namespace.
dnsq() {
	in_ns "$(cid a1)" python3 "$BERTH_SRC/tests/system/netd_dns_client.py" "$@"
}

setup_file() {
	python3 "$BERTH_SRC/tests/system/netd_dns_upstream.py" 5353 </dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-upstream.pid"
	berth-netd --dns-upstream 127.0.0.1:5353 >>"$BERTH_RUN/netd.log" 2>&1 &
	echo $! >"$BERTH_RUN/test-netd.pid"
	wait_for 10 curl -sf --unix-socket "$BERTH_RUN/netd.sock" http://x/_ping >/dev/null || {
		cat "$BERTH_RUN/netd.log" >&2
		return 1
	}
	napi POST /endpoints "{\"ContainerId\":\"$(cid a1)\",\"Name\":\"web\",\"Aliases\":[\"front\"]}" |
		grep -q '\[201\]'
}

teardown_file() {
	kill "$(cat "$BERTH_RUN/test-netd.pid")" "$(cat "$BERTH_RUN/test-upstream.pid")" 2>/dev/null
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/netd.log" >&3 2>/dev/null || true
}

@test "local names and forwarded ones over one TCP connection, pipelined" {
	run dnsq query --tcp 10.88.0.1 web upstream.test nx.example front.bridge web.nope
	[ "$status" -eq 0 ]
	# Forwarded answers may come after later local ones: compare sorted.
	[ "$(sort <<<"$output")" = "front.bridge NOERROR tc=0 10.88.0.2
nx.example NXDOMAIN tc=0
upstream.test NOERROR tc=0 192.0.2.1
web NOERROR tc=0 10.88.0.2
web.nope NOERROR tc=0 192.0.2.99" ]
	# The first local answer is not held back by the forwarded ones before it.
	[ "$(head -1 <<<"$output")" = "web NOERROR tc=0 10.88.0.2" ]
}

@test "a name too big for UDP: truncated there (TC), whole over TCP; upstream too" {
	run napi POST /networks '{"Name":"big","Subnet":"10.70.0.0/24"}'
	[[ "$output" == *"[201]" ]]
	for i in $(seq 10 49); do
		napi POST /endpoints "{\"ContainerId\":\"$(cid "$i")\",\"Name\":\"r$i\",\"Network\":\"big\",\"Aliases\":[\"many\"]}" |
			grep -q '\[201\]'
	done
	nsenter --net="$BERTH_RUN/netns/$(cid 10)" python3 "$BERTH_SRC/tests/system/netd_dns_client.py" \
		query 10.70.0.1 many >"$BATS_TEST_TMPDIR/udp"
	nsenter --net="$BERTH_RUN/netns/$(cid 10)" python3 "$BERTH_SRC/tests/system/netd_dns_client.py" \
		query --tcp 10.70.0.1 many >"$BATS_TEST_TMPDIR/tcp"
	read -r -a udp <"$BATS_TEST_TMPDIR/udp"
	read -r -a tcp <"$BATS_TEST_TMPDIR/tcp"
	[ "${udp[2]}" = tc=1 ] && [ "${#udp[@]}" -lt 40 ]
	[ "${tcp[2]}" = tc=0 ] && [ "${#tcp[@]}" -eq 43 ]
	[ "$(printf '%s\n' "${tcp[@]:3}" | sort -u | wc -l)" -eq 40 ]
	for i in $(seq 10 49); do
		napi DELETE "/endpoints/$(cid "$i")" | grep -q '\[204\]'
	done
	# The upstream truncates big.test over UDP; netd forwards a TCP query over TCP.
	run dnsq query 10.88.0.1 big.test
	[ "$output" = "big.test NOERROR tc=1" ]
	run dnsq query --tcp 10.88.0.1 big.test
	[ "$output" = "big.test NOERROR tc=0 192.0.2.7" ]
}

@test "a query split over many reads; bad lengths close the connection; netd goes on" {
	run dnsq split 10.88.0.1 front
	[ "$output" = "front NOERROR tc=0 10.88.0.2" ]
	run dnsq badlen 10.88.0.1 0
	[ "$output" = closed ]
	run dnsq badlen 10.88.0.1 60000
	[ "$output" = closed ]
	run dnsq query --tcp 10.88.0.1 web
	[ "$output" = "web NOERROR tc=0 10.88.0.2" ]
}

@test "an upstream that never answers: SERVFAIL; a client gone before its answer" {
	t0=$(date +%s%N)
	run dnsq query --tcp 10.88.0.1 slow.example
	t1=$(date +%s%N)
	[ "$output" = "slow.example SERVFAIL tc=0" ]
	[ $(((t1 - t0) / 1000000)) -ge 1900 ]
	# Hang up while the forwarded query waits: netd drops it and keeps answering.
	run timeout 0.5 nsenter --net="$BERTH_RUN/netns/$(cid a1)" python3 "$BERTH_SRC/tests/system/netd_dns_client.py" \
		query --tcp 10.88.0.1 slow.a slow.b
	[ "$status" -eq 124 ]
	sleep 2.5
	run dnsq query --tcp 10.88.0.1 web upstream.test
	[ "$(sort <<<"$output")" = "upstream.test NOERROR tc=0 192.0.2.1
web NOERROR tc=0 10.88.0.2" ]
	kill -0 "$(cat "$BERTH_RUN/test-netd.pid")"
}

@test "an internal network answers its names over TCP and refuses the rest" {
	run napi POST /networks '{"Name":"priv","Subnet":"10.66.0.0/24","Internal":true}'
	[[ "$output" == *"[201]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$(cid c3)\",\"Name\":\"db\",\"Network\":\"priv\"}"
	[[ "$output" == *"[201]" ]]
	run in_ns "$(cid c3)" python3 "$BERTH_SRC/tests/system/netd_dns_client.py" \
		query --tcp 10.66.0.1 db upstream.test
	[ "$output" = "db NOERROR tc=0 10.66.0.2
upstream.test REFUSED tc=0" ]
}

@test "dig +tcp, when installed, resolves a container name" {
	command -v dig >/dev/null || skip "dig is not installed (bind9-dnsutils)"
	run in_ns "$(cid a1)" dig +tcp +short +time=2 +tries=1 @10.88.0.1 web
	[ "$output" = "10.88.0.2" ]
}

@test "an idle connection is closed after 10 s" {
	run dnsq idle 10.88.0.1
	[ "$status" -eq 0 ]
	echo "closed after $output s" >&3
	[ "${output%.*}" -ge 9 ] && [ "${output%.*}" -le 11 ]
}
