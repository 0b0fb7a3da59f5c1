#!/usr/bin/env bats
# berth-netd's nftables table (table ip berth, in the sandbox's private network namespace):
# outbound NAT to an "outside" namespace the test makes (a veth with its own subnet and a
# busybox httpd that prints the client's address), internal networks, isolation between
# bridge networks (and the published-port proxy still reaching across), removal of a
# network's rules, and kill -9 + restart converging to the same table.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

# httpd NAME NETNS_FILE ADDR:PORT: a busybox httpd whose /cgi-bin/ip prints the client address.
httpd() {
	local www="$BATS_FILE_TMPDIR/www-$1"
	mkdir -p "$www/cgi-bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' \
		>"$www/cgi-bin/ip"
	chmod +x "$www/cgi-bin/ip"
	echo "$1" >"$www/index.html"
	# nsenter execs httpd, so $! is httpd itself; no stdio may keep bats' output pipe open.
	nsenter --net="$2" busybox httpd -f -p "$3" -h "$www" </dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-$1.pid"
}

OUT_NS_NAME=test-outside

setup_file() {
	netd_start
	# The outside world: its own namespace, 198.18.0.2/24 over a veth to ours (198.18.0.1),
	# and no route back to 10.88.0.0/16: only a masqueraded connection gets an answer.
	out="$BERTH_RUN/$OUT_NS_NAME"
	touch "$out"
	unshare --net="$out" true
	ip link add vout type veth peer name eth0 netns "$out"
	ip addr add 198.18.0.1/24 dev vout
	ip link set vout up
	nsenter --net="$out" sh -c 'ip link set lo up && ip addr add 198.18.0.2/24 dev eth0 &&
		ip link set eth0 up'
	httpd outside "$out" 198.18.0.2:8000
	wait_for 5 curl -sf -m 1 -o /dev/null http://198.18.0.2:8000/
}

teardown_file() {
	netd_kill TERM || true
	local p
	for p in "$BERTH_RUN"/test-httpd-*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	umount "$BERTH_RUN/$OUT_NS_NAME" 2>/dev/null || true
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/netd.log" >&3 2>/dev/null || true
}

@test "the table is in netd's (the sandbox's private) namespace, with NAT for the bridge network" {
	run nft list table ip berth
	[ "$status" -eq 0 ]
	[[ "$output" == *'ip saddr 10.88.0.0/16 oifname != "berth0" masquerade'* ]]
	[[ "$output" == *'elements = { "berth0" }'* ]]
	[[ "$output" == *'type nat hook postrouting priority srcnat; policy accept;'* ]]
	# The sandbox is its own network namespace: not pid 1's of the host (which we cannot see
	# from in here), but not the one the outside namespace or a container has either.
	[ "$(readlink /proc/self/ns/net)" != "$(readlink "$BERTH_RUN/$OUT_NS_NAME" 2>/dev/null)" ]
	run nft list tables
	[ "$output" = "table ip berth" ]
}

@test "a container on berth0 reaches the outside, which sees the host-side address" {
	a=$(cid a1)
	run napi POST /endpoints "{\"ContainerId\":\"$a\",\"Name\":\"web\"}"
	[[ "$output" == *'"IPAddress":"10.88.0.2"'*"[201]" ]]
	run in_ns "$a" curl -s -m 3 http://198.18.0.2:8000/cgi-bin/ip
	[ "$status" -eq 0 ]
	[ "$output" = "198.18.0.1" ]
	run in_ns "$a" busybox ping -c1 -W2 198.18.0.2
	[[ "$output" == *"1 packets received"* ]]
}

@test "an internal network: no NAT, no way out, DNS still answers its names" {
	run napi POST /networks '{"Name":"priv","Subnet":"10.66.0.0/24","Internal":true}'
	[[ "$output" == *'"Internal":true'*"[201]" ]]
	br=$(napi GET /networks/priv | sed -n 's/.*"Bridge":"\([^"]*\)".*/\1/p')
	[[ "$br" == br-* ]]
	run nft list table ip berth
	[[ "$output" == *"iifname \"$br\" oifname != \"$br\" drop"* ]]
	[[ "$output" == *"oifname \"$br\" iifname != \"$br\" drop"* ]]
	# No outbound masquerade (port mode nat's hairpin one, out of its own bridge, is fine).
	[[ "$output" != *"10.66.0.0/24 oifname != "* ]]
	i=$(cid c3)
	run napi POST /endpoints "{\"ContainerId\":\"$i\",\"Name\":\"secret\",\"Network\":\"priv\"}"
	[[ "$output" == *'"IPAddress":"10.66.0.2"'*"[201]" ]]
	run in_ns "$i" curl -s -m 2 http://198.18.0.2:8000/cgi-bin/ip
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	run in_ns "$i" busybox ping -c1 -W1 198.18.0.2
	[[ "$output" == *"0 packets received"* ]]
	# The gateway (the host) is still there, with its DNS.
	run in_ns "$i" busybox nslookup secret 10.66.0.1
	[[ "$output" == *"Address: 10.66.0.2"* ]]
	run napi DELETE "/endpoints/$i"
	[[ "$output" == *"[204]" ]]
}

@test "isolation: containers on different networks cannot reach each other; same network and published ports can" {
	run napi POST /networks '{"Name":"n1","Subnet":"10.71.0.0/24"}'
	[[ "$output" == *"[201]" ]]
	run napi POST /networks '{"Name":"n2","Subnet":"10.72.0.0/24"}'
	[[ "$output" == *"[201]" ]]
	x=$(cid d1) y=$(cid d2) z=$(cid d3)
	run napi POST /endpoints "{\"ContainerId\":\"$x\",\"Name\":\"x\",\"Network\":\"n1\"}"
	[[ "$output" == *'"IPAddress":"10.71.0.2"'*"[201]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$z\",\"Name\":\"z\",\"Network\":\"n1\"}"
	[[ "$output" == *'"IPAddress":"10.71.0.3"'*"[201]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$y\",\"Name\":\"y\",\"Network\":\"n2\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9080}]}"
	[[ "$output" == *'"IPAddress":"10.72.0.2"'*"[201]" ]]
	httpd y "$BERTH_RUN/netns/$y" 0.0.0.0:8080
	httpd z "$BERTH_RUN/netns/$z" 0.0.0.0:8080
	wait_for 5 curl -sf -m 1 -o /dev/null http://10.72.0.2:8080/
	wait_for 5 curl -sf -m 1 -o /dev/null http://10.71.0.3:8080/
	# Same network: yes.
	run in_ns "$x" busybox ping -c1 -W2 10.71.0.3
	[[ "$output" == *"1 packets received"* ]]
	run in_ns "$x" curl -s -m 2 http://10.71.0.3:8080/
	[ "$output" = "z" ]
	# Across networks, either way (and from the default bridge): no.
	run in_ns "$x" busybox ping -c1 -W1 10.72.0.2
	[[ "$output" == *"0 packets received"* ]]
	run in_ns "$x" curl -s -m 2 http://10.72.0.2:8080/
	[ "$status" -ne 0 ]
	run in_ns "$y" curl -s -m 2 http://10.71.0.3:8080/
	[ "$status" -ne 0 ]
	run in_ns "$(cid a1)" curl -s -m 2 http://10.71.0.3:8080/
	[ "$status" -ne 0 ]
	# The published port: through netd's proxy on the host, from the other network.
	run in_ns "$x" curl -s -m 2 http://10.71.0.1:9080/
	[ "$output" = "y" ]
	# The host itself reaches everyone, and user networks get NAT too.
	run curl -s -m 2 http://10.72.0.2:8080/
	[ "$output" = "y" ]
	run in_ns "$y" curl -s -m 3 http://198.18.0.2:8000/cgi-bin/ip
	[ "$output" = "198.18.0.1" ]
}

@test "removing a network removes its rules" {
	for id in d1 d2 d3; do
		run napi DELETE "/endpoints/$(cid $id)"
		[[ "$output" == *"[204]" ]]
	done
	run napi DELETE /networks/n2
	[[ "$output" == *"[204]" ]]
	run nft list table ip berth
	[[ "$output" != *"10.72.0.0/24"* ]]
	[[ "$output" == *"10.71.0.0/24"* ]]
	[ "$(grep -c 'oifname != .* masquerade' <<<"$output")" -eq 2 ]
}

@test "kill -9 and restart: the table is rebuilt from the state, debris gone, traffic flows" {
	netd_kill KILL
	# What a crash or a meddler might leave: a stale rule, and a missing one.
	nft add rule ip berth postrouting ip saddr 10.99.0.0/16 masquerade
	nft flush chain ip berth forward
	before=$(nft list table ip berth)
	[[ "$before" == *"10.99.0.0/16"* ]]
	netd_start
	run nft list table ip berth
	[[ "$output" != *"10.99.0.0/16"* ]]
	[[ "$output" == *'iifname "berth0" oifname @bridges oifname != "berth0" drop'* ]]
	[[ "$output" == *"oifname != \"br-"*"\" drop"* ]]
	[ "$(grep -c 'oifname != .* masquerade' <<<"$output")" -eq 2 ]
	# Restarting again changes nothing.
	netd_kill TERM
	netd_start
	[ "$(nft list table ip berth)" = "$output" ]
	run in_ns "$(cid a1)" curl -s -m 3 http://198.18.0.2:8000/cgi-bin/ip
	[ "$output" = "198.18.0.1" ]
}

@test "--no-firewall leaves nftables alone" {
	netd_kill TERM
	nft delete table ip berth
	netd_start --no-firewall
	run napi POST /networks '{"Name":"n3","Subnet":"10.73.0.0/24"}'
	[[ "$output" == *"[201]" ]]
	run nft list tables
	[ -z "$output" ]
	run berth-netd --no-firewall=x
	[ "$status" -ne 0 ]
	netd_kill TERM
	netd_start
	run nft list table ip berth
	[[ "$output" == *"10.73.0.0/24"* ]]
}
