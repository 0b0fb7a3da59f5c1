#!/usr/bin/env bats
# Port mode nat (berth-netd's default): published single-backend TCP ports are DNAT rules in
# table ip berth, like dockerd --userland-proxy=false. Reached via 127.0.0.1, via the host's
# other address (from the host and from an "outside" namespace behind a veth, 198.18.0.0/24),
# from a container; the proxy's listener still holds the port (same errors) but sees no
# connection; UDP and balanced ports stay on the proxy; the rule goes with the endpoint;
# kill -9 converges; --port-mode proxy and BERTH_PORT_MODE.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

stat_of() {
	curl -s --unix-socket "$BERTH_RUN/netd.sock" http://x/stats | jq -r ".$1"
}

# httpd NAME NETNS_FILE ADDR:PORT: a busybox httpd whose /cgi-bin/ip prints the client address.
httpd() {
	local www="$BATS_FILE_TMPDIR/www-$1"
	mkdir -p "$www/cgi-bin"
	printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%%s\\n" "$REMOTE_ADDR"\n' \
		>"$www/cgi-bin/ip"
	chmod +x "$www/cgi-bin/ip"
	echo "$1" >"$www/index.html"
	nsenter --net="$2" busybox httpd -f -p "$3" -h "$www" </dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-$1.pid"
}

OUT=test-outside

setup_file() {
	netd_start
	out="$BERTH_RUN/$OUT"
	touch "$out"
	unshare --net="$out" true
	ip link add vout type veth peer name eth0 netns "$out"
	ip addr add 198.18.0.1/24 dev vout
	ip link set vout up
	nsenter --net="$out" sh -c 'ip link set lo up && ip addr add 198.18.0.2/24 dev eth0 &&
		ip link set eth0 up'
}

teardown_file() {
	netd_kill TERM || true
	local p
	for p in "$BERTH_RUN"/test-httpd-*.pid "$BERTH_RUN"/test-hold-*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	umount "$BERTH_RUN/$OUT" 2>/dev/null || true
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/netd.log" >&3 2>/dev/null || true
}

@test "nat is the default mode; a published port is a DNAT rule and answers on every address" {
	[ "$(stat_of PortMode)" = nat ]
	a=$(cid a1)
	run napi POST /endpoints "{\"ContainerId\":\"$a\",\"Name\":\"web\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9000}]}"
	[[ "$output" == *'"IPAddress":"10.88.0.2"'*"[201]" ]]
	httpd web "$BERTH_RUN/netns/$a" 0.0.0.0:8080
	wait_for 5 curl -sf -m 1 -o /dev/null http://10.88.0.2:8080/
	run nft list table ip berth
	[[ "$output" == *'9000 : 10.88.0.2 . 8080'* ]]
	[[ "$output" == *'fib daddr type local jump ports'* ]]
	[[ "$output" == *'dnat ip to tcp dport map @ports_any'* ]]
	[ "$(cat /proc/sys/net/ipv4/conf/berth0/route_localnet)" = 1 ]
	run curl -s -m 3 http://127.0.0.1:9000/
	[ "$output" = web ]
	run curl -s -m 3 http://198.18.0.1:9000/
	[ "$output" = web ]
	# What the container sees, as with Docker's --userland-proxy=false: the real client from
	# outside, the gateway (masquerade) for the host's own connections.
	run nsenter --net="$BERTH_RUN/$OUT" curl -s -m 3 http://198.18.0.1:9000/cgi-bin/ip
	[ "$output" = 198.18.0.2 ]
	run curl -s -m 3 http://127.0.0.1:9000/cgi-bin/ip
	[ "$output" = 10.88.0.1 ]
	run curl -s -m 3 http://198.18.0.1:9000/cgi-bin/ip
	[ "$output" = 10.88.0.1 ]
	# Itself and a neighbour on the bridge, through the gateway (masqueraded): routed, and
	# bridged when br_netfilter hands bridged frames to nftables (hairpin mode on the port).
	b=$(cid b1)
	run napi POST /endpoints "{\"ContainerId\":\"$b\",\"Name\":\"nb\"}"
	[[ "$output" == *"[201]" ]]
	# (br_netfilter's sysctls are per network namespace since Linux 5.3: the sandbox's own.)
	nf=/proc/sys/net/bridge/bridge-nf-call-iptables
	for v in 0 1; do
		[ -f $nf ] && echo $v >$nf
		run in_ns "$a" curl -s -m 3 http://10.88.0.1:9000/cgi-bin/ip
		[ "$output" = 10.88.0.1 ]
		run in_ns "$b" curl -s -m 3 http://198.18.0.1:9000/cgi-bin/ip
		[ "$output" = 10.88.0.1 ]
	done
	run bridge -d link show dev "vb$(cut -c1-10 <<<"$a").0"
	[[ "$output" == *"hairpin on"* ]]
	# Every one of those went around the proxy's listener.
	[ "$(stat_of Accepted)" = 0 ]
	[ "$(stat_of Listeners)" -ge 1 ]
}

@test "the port stays reserved: the same errors as in proxy mode" {
	# netd's listener still holds it.
	run ss -Htln 'sport = :9000'
	[[ "$output" == *"0.0.0.0:9000"* ]]
	run napi POST /endpoints "{\"ContainerId\":\"$(cid c1)\",\"Name\":\"c\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9000}]}"
	[[ "$output" == *'Bind for 0.0.0.0:9000 failed: port is already allocated'*"[409]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$(cid c1)\",\"Name\":\"c\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9000,\"HostIp\":\"127.0.0.1\"}]}"
	[[ "$output" == *'port is already allocated'*"[409]" ]]
	run python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 9000))'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Address already in use"* ]]
	# A port a host process holds.
	python3 -c 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0", 9100)); s.listen(); time.sleep(60)' \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-hold-1.pid"
	wait_for 5 sh -c "ss -Htln 'sport = :9100' | grep -q 9100"
	run napi POST /endpoints "{\"ContainerId\":\"$(cid c1)\",\"Name\":\"c\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9100}]}"
	[[ "$output" == *'Error starting userland proxy: listen tcp4 0.0.0.0:9100: bind: address already in use'*"[409]" ]]
	kill "$(cat "$BERTH_RUN/test-hold-1.pid")"
	# None of the failed requests left a rule.
	run nft list table ip berth
	[ "$(grep -o ' : [0-9.]* \. [0-9]*' <<<"$output" | wc -l)" -eq 1 ]
}

@test "a port on one host address; UDP and balanced ports stay on the proxy" {
	d=$(cid d1)
	run napi POST /endpoints "{\"ContainerId\":\"$d\",\"Name\":\"lo\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9001,\"HostIp\":\"127.0.0.1\"},{\"ContainerPort\":53,\"HostPort\":9053,\"Proto\":\"udp\"}]}"
	[[ "$output" == *"[201]" ]]
	ip=$(sed -n 's/.*"IPAddress":"\([0-9.]*\)".*/\1/p' <<<"$output")
	httpd lo "$BERTH_RUN/netns/$d" 0.0.0.0:8080
	wait_for 5 curl -sf -m 1 -o /dev/null "http://$ip:8080/"
	run nft list table ip berth
	[[ "$output" == *"127.0.0.1 . 9001 : $ip . 8080"* ]]
	[[ "$output" != *9053* ]]
	run curl -s -m 3 http://127.0.0.1:9001/
	[ "$output" = lo ]
	run curl -s -m 2 http://198.18.0.1:9001/
	[ "$status" -ne 0 ]
	# Two replicas of a service share 9002: the proxy balances (and counts, for drains).
	for n in 1 2; do
		e=$(cid e$n)
		run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Name\":\"rep$n\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9002,\"Service\":\"p/rep\"}]}"
		[[ "$output" == *"[201]" ]]
		ip=$(sed -n 's/.*"IPAddress":"\([0-9.]*\)".*/\1/p' <<<"$output")
		httpd "rep$n" "$BERTH_RUN/netns/$e" 0.0.0.0:8080
		wait_for 5 curl -sf -m 1 -o /dev/null "http://$ip:8080/"
	done
	run nft list table ip berth
	[[ "$output" != *9002* ]]
	before=$(stat_of Accepted)
	got=""
	for i in 1 2 3 4; do got+="$(curl -s -m 3 http://127.0.0.1:9002/) "; done
	[[ "$got" == *rep1* && "$got" == *rep2* ]]
	[ "$(stat_of Accepted)" -eq $((before + 4)) ]
}

@test "a port of a container on a user network, from loopback, outside and another network" {
	run napi POST /networks '{"Name":"un1","Subnet":"10.77.0.0/24"}'
	[[ "$output" == *"[201]" ]]
	br=$(napi GET /networks/un1 | sed -n 's/.*"Bridge":"\([^"]*\)".*/\1/p')
	[ "$(cat "/proc/sys/net/ipv4/conf/$br/route_localnet")" = 1 ]
	u=$(cid f1)
	run napi POST /endpoints "{\"ContainerId\":\"$u\",\"Name\":\"un\",\"Network\":\"un1\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9003}]}"
	[[ "$output" == *'"IPAddress":"10.77.0.2"'*"[201]" ]]
	httpd un "$BERTH_RUN/netns/$u" 0.0.0.0:8080
	wait_for 5 curl -sf -m 1 -o /dev/null http://10.77.0.2:8080/
	run curl -s -m 3 http://127.0.0.1:9003/cgi-bin/ip
	[ "$output" = 10.77.0.1 ]
	run nsenter --net="$BERTH_RUN/$OUT" curl -s -m 3 http://198.18.0.1:9003/cgi-bin/ip
	[ "$output" = 198.18.0.2 ]
	# From the default bridge, across the isolation (as the proxy always reached it).
	run in_ns "$(cid b1)" curl -s -m 3 http://10.88.0.1:9003/
	[ "$output" = un ]
	# ...while the container itself stays out of reach from there.
	run in_ns "$(cid b1)" curl -s -m 2 http://10.77.0.2:8080/
	[ "$status" -ne 0 ]
	run napi DELETE "/endpoints/$u"
	[[ "$output" == *"[204]" ]]
	run napi DELETE /networks/un1
	[[ "$output" == *"[204]" ]]
}

@test "a drain takes the rule away (the proxy refuses new connections); undrain restores it" {
	a=$(cid a1)
	run napi POST "/endpoints/$a/drain" '{"TimeoutMs":0}'
	[ "$output" = '{"Connections":0} [200]' ]
	run nft list table ip berth
	[[ "$output" != *'10.88.0.2 . 8080'* ]]
	run curl -s -m 3 http://127.0.0.1:9000/
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	run napi DELETE "/endpoints/$a/drain"
	[[ "$output" == *"[204]" ]]
	run nft list table ip berth
	[[ "$output" == *'9000 : 10.88.0.2 . 8080'* ]]
	run curl -s -m 3 http://127.0.0.1:9000/
	[ "$output" = web ]
}

@test "the rule goes with its endpoint (and a table someone changed is rebuilt)" {
	# Someone removed d1's element and added one: the update fails, the table is rebuilt.
	nft flush map ip berth ports_ip
	nft add element ip berth ports_any '{ 9998 : 10.88.0.98 . 1 }'
	run napi DELETE "/endpoints/$(cid d1)"
	[[ "$output" == *"[204]" ]]
	run nft list table ip berth
	[[ "$output" != *9001* ]]
	[[ "$output" != *9998* ]]
	[[ "$output" == *'9000 : 10.88.0.2 . 8080'* ]]
	run curl -s -m 2 http://127.0.0.1:9001/
	[ "$status" -ne 0 ]
	run ss -Htln 'sport = :9001'
	[ -z "$output" ]
}

@test "kill -9 and restart: the rules converge to the endpoints" {
	netd_kill KILL
	# Debris: a rule for a port nobody has, and the real one gone.
	nft flush map ip berth ports_any
	nft add element ip berth ports_any '{ 9999 : 10.88.0.99 . 1 }'
	netd_start
	run nft list table ip berth
	[[ "$output" != *9999* ]]
	[[ "$output" == *'9000 : 10.88.0.2 . 8080'* ]]
	run curl -s -m 3 http://198.18.0.1:9000/
	[ "$output" = web ]
	run napi POST /endpoints "{\"ContainerId\":\"$(cid c1)\",\"Name\":\"c\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9000}]}"
	[[ "$output" == *'port is already allocated'*"[409]" ]]
	# A second restart changes nothing.
	table=$(nft list table ip berth)
	netd_kill TERM
	netd_start
	[ "$(nft list table ip berth)" = "$table" ]
	[ "$(stat_of Accepted)" = 0 ]
}

@test "--port-mode proxy and BERTH_PORT_MODE: no DNAT, the proxy relays; bad values" {
	netd_kill TERM
	netd_start --port-mode proxy
	[ "$(stat_of PortMode)" = proxy ]
	run nft list table ip berth
	[[ "$output" != *dnat* ]]
	run curl -s -m 3 http://127.0.0.1:9000/
	[ "$output" = web ]
	run curl -s -m 3 http://127.0.0.1:9000/cgi-bin/ip
	[ "$output" = 10.88.0.1 ]
	[ "$(stat_of Accepted)" -eq 2 ]
	netd_kill TERM
	BERTH_PORT_MODE=proxy netd_start
	[ "$(stat_of PortMode)" = proxy ]
	netd_kill TERM
	run berth-netd --port-mode kernel
	[ "$status" -ne 0 ]
	[[ "$output" == *'--port-mode: invalid mode kernel: expected nat or proxy'* ]]
	BERTH_PORT_MODE=x run berth-netd
	[ "$status" -ne 0 ]
	[[ "$output" == *'BERTH_PORT_MODE: invalid mode x'* ]]
	run berth-netd --no-firewall --port-mode nat
	[ "$status" -ne 0 ]
	[[ "$output" == *'--port-mode nat needs the firewall'* ]]
	# Back to nat: the rule is back.
	netd_start
	[ "$(stat_of PortMode)" = nat ]
	run nft list table ip berth
	[[ "$output" == *'9000 : 10.88.0.2 . 8080'* ]]
}
