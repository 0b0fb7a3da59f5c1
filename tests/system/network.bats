#!/usr/bin/env bats
# berth network verbs through the agent's /networks API, and bad network input to run/create:
# clear errors, exit codes as Docker's, nothing left behind.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	berth network prune -f >/dev/null 2>&1 || true
}

containers_on_disk() {
	find "$BERTH_ROOT/containers" -mindepth 1 -maxdepth 1 -type d | wc -l
}

@test "network ls lists the predefined networks as docker does" {
	run berth network ls
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "NETWORK ID     NAME      DRIVER    SCOPE" ]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ \ \ bridge\ \ \ \ bridge\ \ \ \ local$ ]]
	[[ "${lines[2]}" =~ ^[0-9a-f]{12}\ \ \ host\ \ \ \ \ \ host\ \ \ \ \ \ local$ ]]
	[[ "${lines[3]}" =~ ^[0-9a-f]{12}\ \ \ none\ \ \ \ \ \ null\ \ \ \ \ \ local$ ]]
	run berth network ls -q
	[ "${#lines[@]}" -eq 3 ]
	run berth network ls --filter name=bri --format '{{.Name}} {{.Driver}}'
	[ "$output" = "bridge bridge" ]
}

@test "network create, inspect, rm" {
	run berth network create --subnet 10.77.0.0/24 --label team=a mynet
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	run berth network inspect --format '{{.Name}} {{.Id}} {{.Driver}} {{.Scope}} {{json .IPAM.Config}} {{.Labels.team}}' mynet
	[ "$output" = "mynet $id bridge local [{\"Subnet\":\"10.77.0.0/24\",\"Gateway\":\"10.77.0.1\"}] a" ]
	run berth network inspect "${id:0:12}"
	[[ "$output" == *'"Name": "mynet"'* ]]
	run berth network create mynet
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: network with name mynet already exists" ]
	run berth network rm mynet
	[ "$status" -eq 0 ]
	[ "$output" = "mynet" ]
	run berth network inspect mynet
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: No such network: mynet"* ]]
}

@test "network rm: unknown, predefined, and in use" {
	run berth network rm nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: network nosuch not found" ]
	run berth network rm bridge
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: bridge is a pre-defined network and cannot be removed" ]
	berth network create busy >/dev/null
	berth create --network busy --name c1 busybox true >/dev/null
	run berth network rm busy
	[ "$status" -eq 1 ]
	[[ "$output" == "Error response from daemon: error while removing network: network busy id "*" has active endpoints" ]]
	run berth network inspect --format '{{range .Containers}}{{.Name}}{{end}}' busy
	[[ "$output" == *c1* ]] || [[ "$(berth network inspect busy)" == *'"Name": "c1"'* ]]
	berth rm c1
	run berth network rm busy
	[ "$status" -eq 0 ]
}

@test "network create: bad input" {
	run berth network create --subnet 10.1.2.3/24 bad1
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: invalid subnet 10.1.2.3/24 : it should be 10.1.2.0/24" ]
	run berth network create -d overlay bad2
	[ "$status" -eq 1 ]
	[[ "$output" == *'plugin "overlay" not found'* ]]
	run berth network create
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '"berth network create" requires exactly 1 argument.' ]
}

@test "connect and disconnect a running container" {
	berth network create extra >/dev/null
	berth run -d --name c2 busybox sleep 600 >/dev/null
	run berth network connect extra c2
	[ "$status" -eq 0 ]
	run berth exec c2 ls /sys/class/net
	[[ "$output" == *eth1* ]]
	run berth inspect --format '{{json .NetworkSettings.Networks}}' c2
	[[ "$output" == *'"extra":'* ]]
	[[ "$output" == *'"bridge":'* ]]
	run berth network disconnect extra c2
	[ "$status" -eq 0 ]
	run berth exec c2 ls /sys/class/net
	[[ "$output" != *eth1* ]]
	run berth network connect extra nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: No such container: nosuch" ]
}

@test "network prune removes unused user networks only" {
	berth network create unused1 >/dev/null
	berth network create used1 >/dev/null
	berth create --network used1 busybox true >/dev/null
	run berth network prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Networks:" ]
	[ "${lines[1]}" = "unused1" ]
	[ "${#lines[@]}" -eq 2 ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" == *used1* ]]
}

@test "bad -p and --expose: docker's texts, exit 125, nothing created" {
	# spec, then docker's error for it
	local cases=(
		"70000" "invalid containerPort: 70000"
		"80:70000" "invalid containerPort: 70000"
		"70000:80" "invalid hostPort: 70000"
		"abc" "invalid containerPort: abc"
		"" "no port specified: <empty>"
		"80:" "no port specified: 80:<empty>"
		"1.2.3:80:80" "invalid IP address: 1.2.3"
		"8080/foo" "invalid proto: foo"
		"8000-7000:80" "invalid hostPort: 8000-7000"
		"9000-9001:80-82" "invalid ranges specified for container and host Ports: 80-82 and 9000-9001"
	)
	for ((i = 0; i < ${#cases[@]}; i += 2)); do
		run berth run -d -p "${cases[i]}" busybox true
		[ "$status" -eq 125 ]
		[ "${lines[0]}" = "berth: ${cases[i + 1]}." ]
		[ "${lines[1]}" = "See 'berth run --help'." ]
	done
	run berth run -d -p 0 busybox true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = 'berth: Error response from daemon: invalid port specification: "0".' ]
	run berth create --expose 80:80 busybox true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "berth: invalid port format for --expose: 80:80." ]
	run berth ps -aq
	[ "$output" = "" ]
	[ "$(containers_on_disk)" -eq 0 ]
}

@test "-p forms become docker's ExposedPorts and PortBindings" {
	berth create --name pf -p 8080 -p 9000:80 -p 127.0.0.1:9001:81/udp -p 127.0.0.1::82 \
		-p 8000-8001:8000-8001 --expose 7000-7001 busybox true >/dev/null
	run berth inspect --format '{{json .HostConfig.PortBindings}}' pf
	[ "$output" = '{"8080/tcp":[{"HostIp":"","HostPort":""}],"80/tcp":[{"HostIp":"","HostPort":"9000"}],"81/udp":[{"HostIp":"127.0.0.1","HostPort":"9001"}],"82/tcp":[{"HostIp":"127.0.0.1","HostPort":""}],"8000/tcp":[{"HostIp":"","HostPort":"8000"}],"8001/tcp":[{"HostIp":"","HostPort":"8001"}]}' ]
	run berth port pf
	[ "${lines[0]}" = "80/tcp -> 0.0.0.0:9000" ]
	[ "${lines[1]}" = "81/udp -> 127.0.0.1:9001" ]
	[[ "${lines[2]}" =~ ^82/tcp\ -\>\ 127\.0\.0\.1:[0-9]+$ ]]
	[ "${lines[3]}" = "8000/tcp -> 0.0.0.0:8000" ]
	[ "${lines[4]}" = "8001/tcp -> 0.0.0.0:8001" ]
	[[ "${lines[5]}" =~ ^8080/tcp\ -\>\ 0\.0\.0\.0:[0-9]+$ ]]
	berth start pf >/dev/null
	berth run -d -P --name pall --expose 7000 busybox sleep 600 >/dev/null
	run berth port pall
	[[ "$output" =~ ^7000/tcp\ -\>\ 0\.0\.0\.0:[0-9]+$ ]]
}

@test "ps PORTS: grouped ranges, exposed-only ports, sorted, joined with ', '" {
	berth run -d -p 8000-8002:8000-8002 -p 9000:80 --expose 7000 --name ps1 busybox sleep 600 >/dev/null
	run berth ps --format '{{.Ports}}'
	[ "$output" = "7000/tcp, 0.0.0.0:8000-8002->8000-8002/tcp, 0.0.0.0:9000->80/tcp" ]
}

@test "unknown network, full subnet: clear errors, nothing left" {
	run berth run -d --network nosuch busybox true
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "berth: Error response from daemon: network nosuch not found." ]
	berth network create --subnet 10.66.0.0/29 tiny >/dev/null
	for i in 1 2 3 4 5; do
		berth create --network tiny busybox true >/dev/null
	done
	run berth create --network tiny --name sixth busybox true
	[ "$status" -eq 125 ]
	[[ "${lines[0]}" == "berth: Error response from daemon: no available IPv4 addresses on this network's address pools: tiny (10.66.0.0/29)"* ]]
	[ "$(containers_on_disk)" -eq 5 ]
	run berth ps -a --format '{{.Names}}'
	[[ "$output" != *sixth* ]]
	# one removed: its address is free again
	berth rm "$(berth ps -aq | head -n 1)" >/dev/null
	run berth create --network tiny --name sixth busybox true
	[ "$status" -eq 0 ]
}

@test "container:NAME mode is refused; host mode drops published ports with Docker's warning" {
	run berth create --network container:x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'network mode "container:x" is not supported by berth'* ]]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"host","PortBindings":{"80/tcp":[{"HostPort":"9000"}]}}}' \
		http://x/v1.41/containers/create
	[[ "$output" == *'"Warnings":["Published ports are discarded when using host network mode"]'* ]]
}

@test "without berth-netd: a clear 500 and nothing created; back when it is" {
	kill "$(cat "$BERTH_RUN/netd.pid")"
	wait_for 10 sh -c "! curl -sf --unix-socket $BERTH_RUN/netd.sock http://x/_ping"
	run berth run -d busybox true
	[ "$status" -eq 125 ]
	[[ "${lines[0]}" == "berth: Error response from daemon: berth-netd is not running ("* ]]
	[ "$(containers_on_disk)" -eq 0 ]
	# none and host need no netd
	run berth run --rm --network none busybox true
	[ "$status" -eq 0 ]
	berth_start
	run berth run --rm busybox true
	[ "$status" -eq 0 ]
}

@test "a container whose endpoint netd lost (a reboot) gets it back at start" {
	berth run -d -p 9500:8080 --name lost busybox httpd -f -p 8080 -h /etc >/dev/null
	berth stop -t 0 lost >/dev/null
	id=$(berth inspect -f '{{.Id}}' lost)
	curl -sf -X DELETE --unix-socket "$BERTH_RUN/netd.sock" "http://x/endpoints/$id"
	[ ! -e "$BERTH_RUN/netns/$id" ]
	run berth start lost
	[ "$status" -eq 0 ]
	[ -e "$BERTH_RUN/netns/$id" ]
	wait_for 5 curl -sf -o /dev/null http://localhost:9500/hostname
	run berth port lost
	[ "$output" = "8080/tcp -> 0.0.0.0:9500" ]
}
