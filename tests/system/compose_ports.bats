#!/usr/bin/env bats
# Published ports of compose replicas (labels com.docker.compose.project/service): a fixed host
# port is one listener balanced over the replicas; a port given only as the container's gets a
# host port per replica.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth compose -p cp down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# replica N: a compose-labelled httpd answering "replica N"
replica() {
	berth run -d --name "cp-web-$1" -l com.docker.compose.project=cp \
		-l com.docker.compose.service=web "${@:2}" busybox \
		sh -c "mkdir -p /www && echo replica $1 >/www/index.html && exec httpd -f -p 8080 -h /www"
}

host_port() {
	berth port "$1" 8080/tcp | head -n 1 | sed 's/.*://'
}

@test "fixed host port: two replicas share 9000, connections reach both" {
	replica 1 -p 9000:8080 >/dev/null
	replica 2 -p 9000:8080 >/dev/null
	[ "$(host_port cp-web-1)" = 9000 ]
	[ "$(host_port cp-web-2)" = 9000 ]
	wait_for 10 curl -sf -m 2 http://127.0.0.1:9000/ >/dev/null
	seen=""
	for _ in $(seq 40); do
		seen="$seen$(curl -s -m 2 http://127.0.0.1:9000/)"$'\n'
	done
	[[ "$seen" == *"replica 1"* ]]
	[[ "$seen" == *"replica 2"* ]]
}

@test "container port only: each replica gets its own host port, each answering itself" {
	replica 1 -p 8080 >/dev/null
	replica 2 -p 8080 >/dev/null
	p1=$(host_port cp-web-1)
	p2=$(host_port cp-web-2)
	[ "$p1" -ge 32768 ] && [ "$p1" -le 60999 ]
	[ "$p2" -ge 32768 ] && [ "$p2" -le 60999 ]
	[ "$p1" != "$p2" ]
	wait_for 10 curl -sf -m 2 "http://127.0.0.1:$p1/" >/dev/null
	wait_for 10 curl -sf -m 2 "http://127.0.0.1:$p2/" >/dev/null
	for _ in 1 2 3 4 5; do
		[ "$(curl -s -m 2 "http://127.0.0.1:$p1/")" = "replica 1" ]
		[ "$(curl -s -m 2 "http://127.0.0.1:$p2/")" = "replica 2" ]
	done
}

@test "berth compose: ports [\"8080\"] with 2 replicas gives two host ports" {
	if berth compose 2>&1 | grep -q "is not a berth command"; then
		skip "berth compose is not registered"
	fi
	mkdir -p "$BATS_TEST_TMPDIR/cp" && cd "$BATS_TEST_TMPDIR/cp"
	cat >compose.yaml <<'YAML'
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www'
    ports: ["8080"]
    deploy:
      replicas: 2
YAML
	berth compose -p cp up -d >/dev/null
	wait_for 20 sh -c '[ "$(berth ps -q --filter label=com.docker.compose.project=cp | wc -l)" -eq 2 ]'
	ports=$(for id in $(berth ps -q --filter label=com.docker.compose.project=cp); do
		host_port "$id"
	done | sort -u)
	[ "$(wc -l <<<"$ports")" -eq 2 ]
	for p in $ports; do
		wait_for 10 curl -sf -m 2 "http://127.0.0.1:$p/" >/dev/null
	done
}
