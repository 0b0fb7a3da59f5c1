#!/usr/bin/env bats
# berth compose (CLI + loader + scheduler): up -d, ps, scale, berth scale, logs, down, a killed
# replica, the status endpoint, bad files with nothing started.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	if berth compose 2>&1 | grep -q "is not a berth command"; then
		skip "berth compose is not registered in cli/main.c yet"
	fi
	berth_start
	berth_import_busybox
}

setup() {
	if berth compose 2>&1 | grep -q "is not a berth command"; then
		skip "berth compose is not registered in cli/main.c yet"
	fi
	mkdir -p "$BATS_TEST_TMPDIR/demo"
	cd "$BATS_TEST_TMPDIR/demo"
	cat >compose.yaml <<'EOF'
services:
  web:
    image: busybox
    command: sh -c 'echo hello from $$HOSTNAME; exec httpd -f -p 8080'
    init: true
    restart: always
    labels:
      tier: front
    deploy:
      replicas: 3
EOF
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth compose -p demo down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

names() {
	berth ps -a --format '{{.Names}}' | sort -V | tr '\n' ' '
}

@test "compose up -d: 3 replicas PROJECT-web-1..3 with compose and service labels" {
	run berth compose up -d
	[ "$status" -eq 0 ]
	[[ "$output" == *"Container demo-web-3  Started"* ]]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 " ]
	run berth inspect -f '{{index .Config.Labels "com.docker.compose.project"}}/{{index .Config.Labels "com.docker.compose.service"}}/{{index .Config.Labels "com.docker.compose.container-number"}}/{{index .Config.Labels "tier"}}' demo-web-3
	[ "$output" = "demo/web/3/front" ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" == *demo_default* ]]
}

@test "compose ps: compose v2's columns, one line per replica" {
	compose_up
	run berth compose ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +IMAGE\ +COMMAND\ +SERVICE\ +CREATED\ +STATUS\ +PORTS$ ]]
	[[ "${lines[1]}" =~ ^demo-web-1\ +busybox\ +\"sh\ -c\ echo\ hello\ fr…\"\ +web\ +.*\ ago\ +Up\  ]]
	[ "${#lines[@]}" -eq 4 ]
	run berth compose ps -q
	[ "${#lines[@]}" -eq 3 ]
	run berth compose ps --services
	[ "$output" = web ]
}

@test "compose scale web=5 then web=2 removes the highest numbers; berth scale too" {
	compose_up
	run berth compose scale web=5
	[ "$status" -eq 0 ]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 demo-web-4 demo-web-5 " ]
	run berth compose scale web=2
	[ "$status" -eq 0 ]
	[ "$(names)" = "demo-web-1 demo-web-2 " ]
	run berth scale web=4
	[ "$status" -eq 0 ]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 demo-web-4 " ]
	run berth scale -p demo web=1
	[ "$(names)" = "demo-web-1 " ]
	run berth compose scale web=x
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid scale option "web=x"'* ]]
}

@test "compose up --scale, and compose logs prefixes each line with SERVICE-N" {
	berth compose up -d --scale web=2 2>/dev/null
	[ "$(names)" = "demo-web-1 demo-web-2 " ]
	wait_for 5 bash -c '[ "$(berth compose logs | grep -c "hello from")" = 2 ]'
	run berth compose logs
	[[ "$output" == *"web-1  | hello from "* ]]
	[[ "$output" == *"web-2  | hello from "* ]]
}

@test "a killed replica is restarted and the status endpoint shows the restart" {
	compose_up
	local pid
	pid=$(berth inspect -f '{{.State.Pid}}' demo-web-2)
	kill -9 "$pid"
	wait_for 10 bash -c '[ "$(berth inspect -f "{{.State.Status}}" demo-web-2)" = running ] && [ "$(berth inspect -f "{{.State.Pid}}" demo-web-2)" != '"$pid"' ]'
	wait_for 5 bash -c '[ "$(curl -s 127.0.0.1:7878/status | jq ".projects.demo.services.web.restarts")" = 1 ]'
	run curl -s 127.0.0.1:7878/status
	[ "$(echo "$output" | jq '.projects.demo.services.web.running')" = 3 ]
	[ "$(echo "$output" | jq -r '[.projects.demo.services.web.containers[].name] | join(",")')" = "demo-web-1,demo-web-2,demo-web-3" ]
}

@test "compose stop, start, restart" {
	compose_up
	run berth compose stop
	[ "$status" -eq 0 ]
	[ "$(berth ps -q | wc -l)" = 0 ]
	run berth compose ps -a
	[[ "$output" == *Exited* ]]
	run berth compose start
	[ "$status" -eq 0 ]
	[ "$(berth ps -q | wc -l)" = 3 ]
	run berth compose restart
	[ "$status" -eq 0 ]
	[ "$(berth ps -q | wc -l)" = 3 ]
}

@test "compose down removes the containers and the network" {
	compose_up
	run berth compose down
	[ "$status" -eq 0 ]
	[[ "$output" == *"Container demo-web-1  Removed"* ]]
	[[ "$output" == *"Network demo_default  Removed"* ]]
	[ "$(berth ps -aq | wc -l)" = 0 ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" != *demo_default* ]]
	run curl -s 127.0.0.1:7878/status
	[ "$(echo "$output" | jq '.projects | length')" = 0 ]
}

@test "bad files give the loader's errors and start nothing" {
	printf 'services:\n  web:\n    image: busybox\n    ports: ["70000:80"]\n' >bad.yaml
	run berth compose -f bad.yaml up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *'bad.yaml:4:'*'invalid port "70000:80"'* ]]
	printf 'services:\n  web:\n    image: busybox\n    depends_on: [db]\n' >dep.yaml
	run berth compose -f dep.yaml up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *db* ]]
	printf 'services:\n  web:\n    image: busybox\n   bad: [\n' >yaml.yaml
	run berth compose -f yaml.yaml up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *yaml.yaml:* ]]
	[ "$(berth ps -aq | wc -l)" = 0 ]
	run berth compose -f nope.yaml up -d
	[ "$status" -ne 0 ]
}

@test "compose up of an unknown image fails with the agent's error, nothing left running" {
	printf 'services:\n  web:\n    image: no-such-image\n' >compose.yaml
	run berth compose up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such image"* ]]
	[ "$(berth ps -q | wc -l)" = 0 ]
}
