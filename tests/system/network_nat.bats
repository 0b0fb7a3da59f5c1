#!/usr/bin/env bats
# The firewall end to end, with containers made by `berth run`: a container reaches an
# "outside" namespace (a veth from the sandbox's namespace, its own subnet, no route back) as
# the host-side address; one on an --internal network cannot; containers on two user networks
# cannot reach each other. netd's own tests (netd_nat.bats) cover the table itself.

load helpers
bats_require_minimum_version 1.5.0

# get HOST: an HTTP/1.0 GET of /cgi-bin/ip from inside a container (busybox nc: no NSS needed).
get_ip() {
	berth run --rm "$@" busybox sh -c \
		'printf "GET /cgi-bin/ip HTTP/1.0\r\n\r\n" | nc -w 3 198.18.0.2 8000 2>/dev/null | tail -n 1'
}

setup_file() {
	berth_start
	berth_import_busybox
	local out="$BERTH_RUN/test-outside" www="$BATS_FILE_TMPDIR/www"
	touch "$out"
	unshare --net="$out" true
	ip link add vout type veth peer name eth0 netns "$out"
	ip addr add 198.18.0.1/24 dev vout
	ip link set vout up
	nsenter --net="$out" sh -c 'ip link set lo up && ip addr add 198.18.0.2/24 dev eth0 &&
		ip link set eth0 up'
	mkdir -p "$www/cgi-bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' \
		>"$www/cgi-bin/ip"
	chmod +x "$www/cgi-bin/ip"
	nsenter --net="$out" busybox httpd -f -p 198.18.0.2:8000 -h "$www" </dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd.pid"
	wait_for 5 curl -sf -m 1 -o /dev/null http://198.18.0.2:8000/cgi-bin/ip
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	kill "$(cat "$BERTH_RUN/test-httpd.pid")" 2>/dev/null
	umount "$BERTH_RUN/test-outside" 2>/dev/null
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
}

@test "a container reaches another network of the host, masqueraded" {
	run get_ip
	[ "$status" -eq 0 ]
	[ "$output" = "198.18.0.1" ]
	berth network create front >/dev/null
	run get_ip --network front
	[ "$output" = "198.18.0.1" ]
}

@test "an --internal network has no way out" {
	berth network create --internal priv >/dev/null
	run get_ip --network priv
	[ -z "$output" ]
	[ "$status" -eq 0 ]
	run berth network inspect -f '{{.Internal}}' priv
	[ "$output" = "true" ]
}

@test "containers on two user networks cannot reach each other; on one they can" {
	berth network create n1 >/dev/null
	berth network create n2 >/dev/null
	berth run -d --name web1 --network n1 busybox httpd -f -p 8080 -h /etc >/dev/null
	ip=$(berth inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' web1)
	[[ "$ip" == 10.* ]]
	probe='printf "GET /hostname HTTP/1.0\r\n\r\n" | nc -w 2 '"$ip"' 8080 2>/dev/null | head -n 1'
	for i in 1 2 3 4 5; do
		run berth run --rm --network n1 busybox sh -c "$probe"
		[[ "$output" == "HTTP/1."?" 200 OK"* ]] && break
		sleep 0.5
	done
	[[ "$output" == "HTTP/1."?" 200 OK"* ]]
	run berth run --rm --network n2 busybox sh -c "$probe"
	[ -z "$output" ]
	run berth run --rm busybox sh -c "$probe"
	[ -z "$output" ]
}
