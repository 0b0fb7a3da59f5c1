#!/usr/bin/env bats
# berth-netd alone, through its API with curl: endpoints (netns files, veths, addresses,
# routes), traffic between namespaces, the embedded DNS (against a test upstream on loopback),
# networks, subnet exhaustion, ports, bad input, kill -9 and restart.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

json_get() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

setup_file() {
	python3 "$BERTH_SRC/tests/system/netd_dns_upstream.py" 5353 </dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-upstream.pid"
	netd_start
}

teardown_file() {
	netd_kill TERM || true
	kill "$(cat "$BERTH_RUN/test-upstream.pid")" 2>/dev/null || true
	pkill_httpd
}

pkill_httpd() {
	local p
	for p in "$BERTH_RUN"/test-httpd-*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
		rm -f "$p"
	done
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/netd.log" >&3 2>/dev/null || true
}

@test "ping, version, predefined networks" {
	run napi GET /_ping
	[ "$output" = "OK [200]" ]
	run napi GET /version
	[[ "$output" == *'"Component":"berth-netd"'* ]]
	run napi GET /networks
	[[ "$output" == *'"Name":"bridge","Driver":"bridge","Bridge":"berth0","Subnet":"10.88.0.0/16","Gateway":"10.88.0.1"'* ]]
	[[ "$output" == *'"Name":"host","Driver":"host"'* ]]
	[[ "$output" == *'"Name":"none","Driver":"null"'* ]]
	[ "$(stat -c %a "$(netd_sock)")" = 660 ]
	run ip -br addr show berth0
	[[ "$output" == *"10.88.0.1/16"* ]]
}

@test "an endpoint: netns file, eth0 with the address and MAC, default route, lo up, veth on the bridge" {
	id=$(cid a1)
	run napi POST /endpoints "{\"ContainerId\":\"$id\",\"Name\":\"web\",\"Aliases\":[\"front\"]}"
	[[ "$output" == *"[201]" ]]
	[[ "$output" == *'"IPAddress":"10.88.0.2","IPPrefixLen":16,"Gateway":"10.88.0.1","MacAddress":"02:42:0a:58:00:02"'* ]]
	[[ "$output" == *"\"Netns\":\"$BERTH_RUN/netns/$id\""* ]]
	[[ "$output" == *'"Dns":["10.88.0.1"]'* ]]
	[ -f "$BERTH_RUN/netns/$id" ]
	run in_ns "$id" ip -br addr
	[[ "$output" == *"lo "*"UNKNOWN"*"127.0.0.1/8"* ]]
	[[ "$output" == *"eth0@"*"UP"*"10.88.0.2/16"* ]]
	run in_ns "$id" ip link show eth0
	[[ "$output" == *"02:42:0a:58:00:02"* ]]
	run in_ns "$id" ip route
	[[ "$output" == *"default via 10.88.0.1 dev eth0"* ]]
	run ip -br link show master berth0
	[[ "$output" == *"vba1a1a1a1a1.0@"* ]]
	run napi GET "/endpoints/$id"
	[[ "$output" == *'"Name":"web"'*"[200]" ]]
	run napi GET /networks/bridge
	[[ "$output" == *"\"$id\":{\"Name\":\"web\",\"IPAddress\":\"10.88.0.2/16\""* ]]
	grep -q '"IPAddress":"10.88.0.2"' "$BERTH_ROOT/netd/state.json"
}

@test "two namespaces reach each other through the bridge, and the gateway" {
	a=$(cid a1) b=$(cid b2)
	run napi POST /endpoints "{\"ContainerId\":\"$b\",\"Name\":\"db\",\"Aliases\":[\"front\"]}"
	[[ "$output" == *'"IPAddress":"10.88.0.3"'*"[201]" ]]
	run in_ns "$a" busybox ping -c1 -W2 10.88.0.3
	[[ "$output" == *"1 packets received"* ]]
	run in_ns "$b" busybox ping -c1 -W2 10.88.0.1
	[[ "$output" == *"1 packets received"* ]]
	mkdir -p "$BATS_FILE_TMPDIR/www"
	echo "hello from b" >"$BATS_FILE_TMPDIR/www/index.html"
	# nsenter execs httpd, so $! is httpd itself; no stdio may keep bats' output pipe open.
	nsenter --net="$BERTH_RUN/netns/$b" busybox httpd -f -p 8080 -h "$BATS_FILE_TMPDIR/www" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-b.pid"
	wait_for 5 in_ns "$a" curl -sf -m 2 -o /dev/null http://10.88.0.3:8080/
	run in_ns "$a" curl -s -m 2 http://10.88.0.3:8080/
	[ "$output" = "hello from b" ]
}

@test "DNS: names, aliases (all, rotated), short ids, scoped to the network; upstream forwarding" {
	a=$(cid a1)
	run in_ns "$a" busybox nslookup db 10.88.0.1
	[[ "$output" == *"Address: 10.88.0.3"* ]]
	run in_ns "$a" busybox nslookup b2b2b2b2b2b2 10.88.0.1
	[[ "$output" == *"Address: 10.88.0.3"* ]]
	run in_ns "$a" busybox nslookup DB.bridge 10.88.0.1
	[[ "$output" == *"Address: 10.88.0.3"* ]]
	run in_ns "$a" busybox nslookup front 10.88.0.1
	[[ "$output" == *"Address: 10.88.0.2"* ]]
	[[ "$output" == *"Address: 10.88.0.3"* ]]
	# Rotation: the first address changes between answers.
	first1=$(in_ns "$a" busybox nslookup -type=a front 10.88.0.1 | grep -m1 'Address: 10.88' )
	first2=$(in_ns "$a" busybox nslookup -type=a front 10.88.0.1 | grep -m1 'Address: 10.88' )
	[ "$first1" != "$first2" ]
	# Everything else goes to the upstream (the test's own, on loopback).
	run in_ns "$a" busybox nslookup upstream.test 10.88.0.1
	[[ "$output" == *"Address: 192.0.2.1"* ]]
	run in_ns "$a" busybox nslookup nx.test 10.88.0.1
	[[ "$output" == *"NXDOMAIN"* ]]
}

@test "networks: create, inspect, list, bad input, remove" {
	run napi POST /networks '{"Name":"app"}'
	[[ "$output" == *'"Name":"app","Driver":"bridge","Bridge":"br-'*'"Subnet":"10.89.0.0/16","Gateway":"10.89.0.1"'*"[201]" ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	run ip -br addr show "br-${id:0:12}"
	[[ "$output" == *"10.89.0.1/16"* ]]
	run napi POST /networks '{"Name":"app2","Subnet":"10.77.0.0/24","Gateway":"10.77.0.254","Labels":{"k":"v"}}'
	[[ "$output" == *'"Subnet":"10.77.0.0/24","Gateway":"10.77.0.254"'*'"Labels":{"k":"v"}'*"[201]" ]]
	run napi GET "/networks/${id:0:6}"
	[[ "$output" == *'"Name":"app"'*"[200]" ]]
	run napi GET /networks
	[[ "$output" == *'"Name":"app2"'* ]]
	run napi POST /networks '{"Name":"app"}'
	[ "$output" = '{"message":"network with name app already exists"} [409]' ]
	run napi POST /networks '{"Name":"x","Subnet":"10.77.0.1/24"}'
	[ "$output" = '{"message":"invalid subnet 10.77.0.1/24 : it should be 10.77.0.0/24"} [400]' ]
	run napi POST /networks '{"Name":"x","Subnet":"banana"}'
	[[ "$output" == *"invalid subnet banana"*"[400]" ]]
	run napi POST /networks '{"Name":"x","Subnet":"10.88.128.0/24"}'
	[ "$output" = '{"message":"Pool overlaps with other one on this address space"} [400]' ]
	run napi POST /networks '{"Name":"x","Subnet":"10.60.0.0/24","Gateway":"10.61.0.1"}'
	[[ "$output" == *"invalid gateway 10.61.0.1"*"[400]" ]]
	run napi POST /networks '{"Name":"x","Driver":"overlay"}'
	[ "$output" = '{"message":"plugin \"overlay\" not found"} [400]' ]
	run napi POST /networks '{"Name":"bad name"}'
	[[ "$output" == *"invalid network name"*"[400]" ]]
	run napi POST /networks '{"Name":'
	[[ "$output" == *"[400]" ]]
	run napi GET /networks/nope
	[ "$output" = '{"message":"network nope not found"} [404]' ]
	run napi DELETE /networks/bridge
	[ "$output" = '{"message":"bridge is a pre-defined network and cannot be removed"} [403]' ]
	run napi DELETE /networks/app2
	[ "$output" = " [204]" ]
	run ip link show type bridge
	[[ "$output" != *"10.77"* ]]
	run napi GET /networks/app2
	[[ "$output" == *"[404]" ]]
	# Nothing half-made of the refused ones.
	[ "$(ip -br link show type bridge | wc -l)" -eq 2 ]
}

@test "a container on a user network resolves only that network's names; connect and disconnect" {
	c=$(cid c3) a=$(cid a1)
	run napi POST /endpoints "{\"ContainerId\":\"$c\",\"Name\":\"api\",\"Network\":\"app\"}"
	[[ "$output" == *'"app":{'*'"IPAddress":"10.89.0.2"'*"[201]" ]]
	run in_ns "$c" busybox nslookup api 10.89.0.1
	[[ "$output" == *"Address: 10.89.0.2"* ]]
	run in_ns "$c" busybox nslookup web 10.89.0.1
	[[ "$output" != *"Address: 10.88"* ]]
	run napi POST "/endpoints/$a/connect" '{"Network":"app","Aliases":["webalias"]}'
	[[ "$output" == *'"app":{'*'"IPAddress":"10.89.0.3"'*'"Interface":"eth1"'*"[200]" ]]
	run in_ns "$a" ip -br addr show eth1
	[[ "$output" == *"10.89.0.3/16"* ]]
	run in_ns "$c" busybox nslookup webalias 10.89.0.1
	[[ "$output" == *"Address: 10.89.0.3"* ]]
	run in_ns "$c" busybox ping -c1 -W2 10.89.0.3
	[[ "$output" == *"1 packets received"* ]]
	run napi POST "/endpoints/$a/connect" '{"Network":"app"}'
	[[ "$output" == *"already exists in network app"*"[403]" ]]
	run napi DELETE /networks/app
	[[ "$output" == *"error while removing network: network app id "*" has active endpoints"*"[409]" ]]
	run napi POST "/endpoints/$a/disconnect" '{"Network":"app"}'
	[[ "$output" == *"[200]" ]]
	[[ "$output" != *'"app":{'* ]]
	wait_for 5 sh -c "! nsenter --net=$BERTH_RUN/netns/$a ip link show eth1 2>/dev/null"
	run napi POST "/endpoints/$a/disconnect" '{"Network":"app"}'
	[[ "$output" == *"is not connected to network app"*"[404]" ]]
	run napi DELETE "/endpoints/$c"
	[ "$output" = " [204]" ]
	run napi DELETE /networks/app
	[ "$output" = " [204]" ]
}

@test "a /29 holds 5 endpoints; the 6th gets Docker's error and leaves nothing behind" {
	run napi POST /networks '{"Name":"tiny","Subnet":"10.99.0.0/29"}'
	[[ "$output" == *"[201]" ]]
	for i in 1 2 3 4 5; do
		run napi POST /endpoints "{\"ContainerId\":\"$(cid d$i)\",\"Network\":\"tiny\"}"
		[[ "$output" == *"\"IPAddress\":\"10.99.0.$((i + 1))\""*"[201]" ]]
	done
	run napi POST /endpoints "{\"ContainerId\":\"$(cid d6)\",\"Network\":\"tiny\"}"
	[ "$output" = "{\"message\":\"no available IPv4 addresses on this network's address pools: tiny (10.99.0.0/29)\"} [409]" ]
	[ ! -e "$BERTH_RUN/netns/$(cid d6)" ]
	run napi GET "/endpoints/$(cid d6)"
	[[ "$output" == *"[404]" ]]
	# A freed address is handed out again, and only that one.
	run napi DELETE "/endpoints/$(cid d3)"
	[ "$output" = " [204]" ]
	[ ! -e "$BERTH_RUN/netns/$(cid d3)" ]
	run napi POST /endpoints "{\"ContainerId\":\"$(cid d6)\",\"Network\":\"tiny\"}"
	[[ "$output" == *'"IPAddress":"10.99.0.4"'*"[201]" ]]
	for i in 1 2 4 5 6; do
		napi DELETE "/endpoints/$(cid d$i)" >/dev/null
	done
	run napi DELETE /networks/tiny
	[ "$output" = " [204]" ]
}

@test "published ports: allocation, a taken port, a host process's port, bad ports; nothing leaked" {
	b=$(cid b2)
	napi DELETE "/endpoints/$b" >/dev/null
	run napi POST /endpoints "{\"ContainerId\":\"$b\",\"Name\":\"db\",\"Ports\":[{\"ContainerPort\":8080,\"HostPort\":9000},{\"ContainerPort\":8080},{\"ContainerPort\":53,\"Proto\":\"udp\",\"HostPort\":9000}]}"
	[[ "$output" == *'"Ports":[{"ContainerPort":8080,"Proto":"tcp","HostIp":"0.0.0.0","HostPort":9000},{"ContainerPort":8080,"Proto":"tcp","HostIp":"0.0.0.0","HostPort":32768},{"ContainerPort":53,"Proto":"udp","HostIp":"0.0.0.0","HostPort":9000}]'*"[201]" ]]
	ip_b=$(json_get "${output% \[*}" 'j["Networks"]["bridge"]["IPAddress"]')
	# The httpd of the earlier test runs in b's old namespace: start one in the new one.
	pkill_httpd
	# nsenter execs httpd, so $! is httpd itself; no stdio may keep bats' output pipe open.
	nsenter --net="$BERTH_RUN/netns/$b" busybox httpd -f -p 8080 -h "$BATS_FILE_TMPDIR/www" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-b.pid"
	wait_for 5 curl -sf -m 2 http://127.0.0.1:9000/ >/dev/null
	run curl -s -m 2 http://127.0.0.1:9000/
	[ "$output" = "hello from b" ]
	run curl -s -m 2 http://127.0.0.1:32768/
	[ "$output" = "hello from b" ]
	run napi GET /ports
	[[ "$output" == *"{\"HostIp\":\"0.0.0.0\",\"HostPort\":9000,\"Proto\":\"tcp\",\"Service\":\"\",\"Listening\":true,\"Backends\":[{\"ContainerId\":\"$b\",\"IPAddress\":\"$ip_b\",\"ContainerPort\":8080}]}"* ]]

	e=$(cid e5)
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9001},{\"ContainerPort\":80,\"HostPort\":9000}]}"
	[ "$output" = '{"message":"Bind for 0.0.0.0:9000 failed: port is already allocated"} [409]' ]
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"HostIp\":\"127.0.0.1\",\"HostPort\":9000}]}"
	[ "$output" = '{"message":"Bind for 127.0.0.1:9000 failed: port is already allocated"} [409]' ]
	busybox nc -l -p 9100 </dev/null >/dev/null &
	ncpid=$!
	wait_for 5 sh -c "ss -ltn | grep -q ':9100 '"
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9100}]}"
	[[ "$output" == *"9100"*"address already in use"*"[409]" ]]
	kill $ncpid 2>/dev/null || true
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":0}]}"
	[ "$output" = '{"message":"invalid container port 0: must be 1-65535"} [400]' ]
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":70000}]}"
	[ "$output" = '{"message":"invalid host port 70000: must be 1-65535 (or 0 for any)"} [400]' ]
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"Proto\":\"sctp\"}]}"
	[[ "$output" == *"invalid protocol sctp"*"[400]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Network\":\"nonet\"}"
	[ "$output" = '{"message":"network nonet not found"} [404]' ]
	run napi POST /endpoints '{"ContainerId":"abc"}'
	[[ "$output" == *"invalid ContainerId"*"[400]" ]]
	run napi POST /endpoints "{\"ContainerId\":\"$b\"}"
	[[ "$output" == *"already has an endpoint"*"[409]" ]]
	# None of the refused requests left a namespace, a listener (9001) or a lease.
	[ ! -e "$BERTH_RUN/netns/$e" ]
	run ss -ltn
	[[ "$output" != *":9001 "* ]]
	run napi GET /endpoints
	[[ "$output" != *"$e"* ]]
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Ports\":[{\"ContainerPort\":80,\"HostPort\":9001}]}"
	[[ "$output" == *"[201]" ]]
}

@test "none and host modes" {
	n=$(cid f6) h=$(cid f7)
	run napi POST /endpoints "{\"ContainerId\":\"$n\",\"Network\":\"none\",\"Ports\":[{\"ContainerPort\":80}]}"
	[[ "$output" == *'"Mode":"none"'*'"Ports":[]'*"[201]" ]]
	run in_ns "$n" ip -br link
	[[ "$output" == *"lo "*"UNKNOWN"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	run napi POST /endpoints "{\"ContainerId\":\"$h\",\"Network\":\"host\"}"
	[[ "$output" == *'"Mode":"host"'*"[201]" ]]
	[[ "$output" != *'"Netns"'* ]]
	[ ! -e "$BERTH_RUN/netns/$h" ]
	run napi DELETE "/endpoints/$n"
	[ "$output" = " [204]" ]
	run napi DELETE "/endpoints/$h"
	[ "$output" = " [204]" ]
	[ ! -e "$BERTH_RUN/netns/$n" ]
}

# Container id, addresses and ports of every endpoint but those given, one per line.
leases() {
	curl -s --unix-socket "$(netd_sock)" http://x/endpoints | python3 -c '
import json, sys
skip = sys.argv[1:]
for e in sorted(json.load(sys.stdin), key=lambda e: e["ContainerId"]):
    if e["ContainerId"] not in skip:
        print(e["ContainerId"][:12], sorted(n["IPAddress"] for n in e["Networks"].values()),
              sorted((p["HostIp"], p["HostPort"], p["Proto"], p["ContainerPort"]) for p in e["Ports"]))
' "$@"
}

@test "kill -9 and restart: leases and ports unchanged, ports answer again, strays cleaned" {
	b=$(cid b2) e=$(cid e5)
	before=$(leases "$e")
	[[ "$before" == *"b2b2b2b2b2b2 ['10.88.0."*"9000"* ]]
	netd_kill KILL
	# Its DNAT rules (port mode nat, the default) outlive netd: the port still answers.
	run curl -s -m 2 http://127.0.0.1:9000/
	[ "$output" = "hello from b" ]
	# Debris of a crash mid-create: a namespace file and a veth no endpoint owns; and an
	# endpoint whose namespace vanished while netd was down.
	touch "$BERTH_RUN/netns/$(cid 99)"
	ip link add vb9999999999.0 type veth peer name tmpx
	umount "$BERTH_RUN/netns/$e"
	netd_start
	run leases
	[ "$output" = "$before" ]
	run curl -s -m 2 http://127.0.0.1:9000/
	[ "$output" = "hello from b" ]
	run curl -s -m 2 http://127.0.0.1:32768/
	[ "$output" = "hello from b" ]
	run napi GET /ports
	[[ "$output" != *'"Listening":false'* ]]
	[ ! -e "$BERTH_RUN/netns/$(cid 99)" ]
	[ ! -e "$BERTH_RUN/netns/$e" ]
	run ip link show vb9999999999.0
	[ "$status" -ne 0 ]
	# e5's port 9001 was released with it.
	run ss -ltn
	[[ "$output" != *":9001 "* ]]
	[[ "$output" == *":9000 "* ]]
	# No address is handed out twice.
	run napi POST /endpoints "{\"ContainerId\":\"$(cid 12)\"}"
	[[ "$output" == *"[201]" ]]
	new_ip=$(json_get "${output% \[*}" 'j["Networks"]["bridge"]["IPAddress"]')
	[[ "$before" != *"'$new_ip'"* ]]
}

@test "SIGTERM: exit 0, namespaces, bridges and state stay; reconcile drops unknown containers" {
	b=$(cid b2)
	run napi POST /reconcile "{\"Containers\":[\"$b\",\"$(cid a1)\"]}"
	[[ "$output" == *'"Removed":["'*"$(cid 12)"*"[200]" ]]
	[ ! -e "$BERTH_RUN/netns/$(cid 12)" ]
	pid=$(cat "$BERTH_RUN/netd.pid")
	kill -TERM "$pid"
	wait_for 10 pid_gone "$pid" # (kill -0 also succeeds on a zombie)
	[ ! -e "$BERTH_RUN/netd.pid" ]
	[ -e "$BERTH_RUN/netns/$b" ]
	ip link show berth0 >/dev/null
	grep -q "$b" "$BERTH_ROOT/netd/state.json"
	netd_start
	run napi GET "/endpoints/$b"
	[[ "$output" == *"[200]" ]]
}
