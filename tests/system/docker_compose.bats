#!/usr/bin/env bats
# Debian's docker-compose 1.29 against the agent's socket: up -d (also --scale), the published
# port answers, ps lists the containers, a second up leaves them as they are, down (-v)
# removes the containers, the network and the volumes.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	command -v docker-compose >/dev/null || skip "docker-compose is not installed (scripts/install-deps.sh --test)"
	berth_start
	berth_import_busybox
}

setup() {
	command -v docker-compose >/dev/null || skip "docker-compose is not installed (scripts/install-deps.sh --test)"
	export DOCKER_HOST="unix://$BERTH_RUN/agent.sock"
	mkdir -p "$BATS_TEST_TMPDIR/demo"
	cd "$BATS_TEST_TMPDIR/demo"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	timeout 60 docker-compose -p demo down -v >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

dc() {
	timeout 120 docker-compose -p demo "$@"
}

@test "up -d, the port answers, ps, a second up changes nothing, down removes all" {
	cat >docker-compose.yml <<'YAML'
version: "3"
services:
  web:
    image: busybox
    command: sh -c 'echo hello from compose >/www/index.html && exec httpd -f -p 8080 -h /www'
    ports: ["9000:8080"]
YAML
	run dc up -d
	[ "$status" -eq 0 ]
	[[ "$output" == *'Creating network "demo_default" with the default driver'* ]]
	[[ "$output" == *"Creating demo_web_1 ... done"* ]]
	wait_for 10 curl -sf -m 2 http://127.0.0.1:9000/ >/dev/null
	[ "$(curl -s -m 2 http://127.0.0.1:9000/)" = "hello from compose" ]
	run dc ps
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" =~ ^demo_web_1\ .*\ Up\ .*0\.0\.0\.0:9000-\>8080/tcp ]]
	run berth ps --format '{{.Names}} {{.Label "com.docker.compose.service"}}'
	[ "$output" = "demo_web_1 web" ]
	# nothing changed: the network and the container stay (the network is not "recreated")
	run dc up -d
	[ "$status" -eq 0 ]
	[[ "$output" == *"demo_web_1 is up-to-date"* ]]
	[[ "$output" != *"needs to be recreated"* ]]
	run dc down
	[ "$status" -eq 0 ]
	[[ "$output" == *"Removing demo_web_1 ... done"* ]]
	[[ "$output" == *"Removing network demo_default"* ]]
	[ -z "$(berth ps -qa)" ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" != *demo_default* ]]
	! curl -sf -m 1 http://127.0.0.1:9000/
}

@test "--scale web=2: each replica has its own host port; ports reach each; down -v removes the volume" {
	cat >docker-compose.yml <<'YAML'
version: "3"
services:
  web:
    image: busybox
    command: sh -c 'hostname >/www/index.html && cat /data/motd >>/www/index.html; exec httpd -f -p 8080 -h /www'
    ports: ["8080"]
    volumes: ["data:/data"]
volumes:
  data: {}
YAML
	run dc up -d --scale web=2
	[ "$status" -eq 0 ]
	[[ "$output" == *'Creating volume "demo_data" with default driver'* ]]
	run berth volume inspect --format '{{.Name}} {{index .Labels "com.docker.compose.project"}}' demo_data
	[ "$output" = "demo_data demo" ]
	run dc ps
	[ "${#lines[@]}" -eq 4 ]
	p1=$(berth port demo_web_1 8080/tcp | sed 's/.*://')
	p2=$(berth port demo_web_2 8080/tcp | sed 's/.*://')
	[ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]
	wait_for 10 curl -sf -m 2 "http://127.0.0.1:$p1/" >/dev/null
	wait_for 10 curl -sf -m 2 "http://127.0.0.1:$p2/" >/dev/null
	[ "$(curl -s -m 2 "http://127.0.0.1:$p1/" | head -n 1)" = "$(berth inspect -f '{{.Config.Hostname}}' demo_web_1)" ]
	[ "$(curl -s -m 2 "http://127.0.0.1:$p2/" | head -n 1)" = "$(berth inspect -f '{{.Config.Hostname}}' demo_web_2)" ]
	run dc down -v
	[ "$status" -eq 0 ]
	[[ "$output" == *"Removing volume demo_data"* ]]
	[ -z "$(berth ps -qa)" ]
	[ -z "$(berth volume ls -q)" ]
}
