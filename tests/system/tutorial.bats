#!/usr/bin/env bats
# The tutorial as written: the echo image on published ports, ps/port output, port conflicts,
# containers reaching each other by name on a user network, --network none, ports released.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
	"$BERTH_SRC/examples/echo/make-image.sh" >/dev/null
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	if [ -f "$BATS_TEST_TMPDIR/nc.pid" ]; then
		kill "$(cat "$BATS_TEST_TMPDIR/nc.pid")" 2>/dev/null || true
	fi
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	berth network rm mynet >/dev/null 2>&1 || true
}

# The container's server may need a moment after run -d returns.
answers() {
	[ "$(curl -s --max-time 2 "$1")" = "Hello Docker!!" ]
}

containers_on_disk() {
	find "$BERTH_ROOT/containers" -mindepth 1 -maxdepth 1 -type d | wc -l
}

@test "run -d -p 9000:8080 echo-image answers on localhost:9000" {
	run berth run -d -p 9000:8080 echo-image
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	wait_for 5 answers http://localhost:9000/
	run curl -s http://localhost:9000/
	[ "$output" = "Hello Docker!!" ]
	run berth ps --format '{{.Ports}}'
	[ "$output" = "0.0.0.0:9000->8080/tcp" ]
}

@test "run -d -p 8080 gets a host port from 32768-60999 that ps and port show" {
	berth run -d -p 8080 --name myweb1 echo-image
	run berth port myweb1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^8080/tcp\ -\>\ 0\.0\.0\.0:([0-9]+)$ ]]
	local port=${BASH_REMATCH[1]}
	[ "$port" -ge 32768 ] && [ "$port" -le 60999 ]
	run berth port myweb1 8080/tcp
	[ "$output" = "0.0.0.0:$port" ]
	run berth ps
	[[ "${lines[0]}" == "CONTAINER ID   IMAGE        COMMAND                  CREATED"*"PORTS"*"NAMES" ]]
	[[ "${lines[1]}" == *"0.0.0.0:$port->8080/tcp   myweb1" ]]
	wait_for 5 answers "http://localhost:$port/"
	run berth port myweb1 9999
	[ "$status" -eq 1 ]
	[ "$output" = "Error: No public port '9999' published for myweb1" ]
}

@test "inspect and the list show Docker's NetworkSettings, PortBindings and Ports" {
	id=$(berth run -d -p 9000:8080 --name ins echo-image)
	run berth inspect --format '{{json .HostConfig.PortBindings}}' ins
	[ "$output" = '{"8080/tcp":[{"HostIp":"","HostPort":"9000"}]}' ]
	run berth inspect --format '{{json .NetworkSettings.Ports}}' ins
	[ "$output" = '{"8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"9000"}]}' ]
	run berth inspect --format '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}}' ins
	[[ "$output" =~ ^10\.88\.[0-9]+\.[0-9]+\ 10\.88\.0\.1\ 16\ 02:42:0a:58:[0-9a-f:]+$ ]]
	run berth inspect --format '{{.NetworkSettings.Networks.bridge.IPAddress}}' ins
	[[ "$output" =~ ^10\.88\. ]]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" http://x/v1.41/containers/json
	[[ "$output" == *'"Ports":[{"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":9000,"Type":"tcp"}]'* ]]
	# the container's own name resolves inside it (/etc/hosts), its DNS is netd's
	run berth exec ins cat /etc/resolv.conf
	[ "$output" = "nameserver 10.88.0.1" ]
	run berth exec ins sh -c 'grep "$(hostname)" /etc/hosts'
	[[ "$output" =~ ^10\.88\. ]]
}

@test "a port another container holds: Docker's error, exit 125, nothing created" {
	berth run -d -p 9000:8080 --name first echo-image
	before=$(containers_on_disk)
	run berth run -d -p 9000:8080 --name second echo-image
	[ "$status" -eq 125 ]
	[[ "${lines[0]}" == "berth: Error response from daemon: Bind for 0.0.0.0:9000 failed: port is already allocated"* ]]
	[ "$(containers_on_disk)" -eq "$before" ]
	run berth ps -a --format '{{.Names}}'
	[ "$output" = "first" ]
	# the name was not kept either
	run berth run -d -p 9001:8080 --name second echo-image
	[ "$status" -eq 0 ]
}

@test "a port a host process holds: the userland proxy's error" {
	busybox nc -l -p 9100 </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/nc.pid"
	wait_for 5 sh -c 'cat /proc/net/tcp /proc/net/tcp6 | grep -q ":238C "'
	run berth run -d -p 9100:8080 echo-image
	[ "$status" -eq 125 ]
	[[ "$output" == *"Error starting userland proxy: listen tcp4 0.0.0.0:9100: bind: address already in use"* ]]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "two containers on a user network reach each other by name and alias" {
	run berth network create mynet
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	berth run -d --network mynet --network-alias echo --name web echo-image
	run berth run --rm --network mynet busybox sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web:8080/ && exit 0; sleep 0.2; done; exit 1'
	[ "$status" -eq 0 ]
	[ "$output" = "Hello Docker!!" ]
	run berth run --rm --network mynet busybox wget -qO- http://echo:8080/
	[ "$output" = "Hello Docker!!" ]
	run berth run --rm --network mynet busybox ping -c 1 -W 2 web
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 packets received"* ]]
	run berth inspect --format '{{json .NetworkSettings.Networks}}' web
	[[ "$output" == '{"mynet":{'* ]]
	[[ "$output" == *'"Aliases":["echo"]'* ]]
}

@test "--network none has only lo; --network host shares the host's interfaces" {
	run berth run --rm --network none busybox sh -c 'ls /sys/class/net'
	[ "$output" = "lo" ]
	run berth run --rm busybox sh -c 'ls /sys/class/net | sort | tr "\n" " "'
	[ "$output" = "eth0 lo " ]
	run berth run --rm --network host busybox sh -c 'ls /sys/class/net'
	[[ "$output" == *berth0* ]]
}

@test "stop and rm release the port; --rm does too" {
	berth run -d -p 9200:8080 --name p1 echo-image
	berth stop -t 1 p1
	# kept while the container exists (berth allocates at create, releases at removal)
	run berth run -d -p 9200:8080 echo-image
	[ "$status" -eq 125 ]
	berth rm p1
	run berth run -d -p 9200:8080 --name p2 echo-image
	[ "$status" -eq 0 ]
	wait_for 5 answers http://localhost:9200/
	berth rm -f p2
	run berth run --rm -p 9300:8080 busybox true
	[ "$status" -eq 0 ]
	run berth run -d -p 9300:8080 echo-image
	[ "$status" -eq 0 ]
}

@test "a restarted container keeps its address and port" {
	berth run -d -p 9400:8080 --name keep echo-image
	ip=$(berth inspect --format '{{.NetworkSettings.IPAddress}}' keep)
	berth restart -t 1 keep
	[ "$(berth inspect --format '{{.NetworkSettings.IPAddress}}' keep)" = "$ip" ]
	wait_for 5 answers http://localhost:9400/
	run berth port keep
	[ "$output" = "8080/tcp -> 0.0.0.0:9400" ]
}

@test "an agent restart changes nothing: endpoints live in netd" {
	berth run -d -p 9400:8080 --name keep echo-image
	ip=$(berth inspect --format '{{.NetworkSettings.IPAddress}}' keep)
	wait_for 5 answers http://localhost:9400/
	kill "$(cat "$BERTH_RUN/agent.pid")"
	wait_for 10 sh -c "! curl -sf --unix-socket $BERTH_RUN/agent.sock http://x/_ping"
	berth_start
	run berth ps --format '{{.Names}} {{.Ports}}'
	[ "$output" = "keep 0.0.0.0:9400->8080/tcp" ]
	wait_for 5 answers http://localhost:9400/
	[ "$(berth inspect --format '{{.NetworkSettings.IPAddress}}' keep)" = "$ip" ]
}
