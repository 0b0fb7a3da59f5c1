#!/usr/bin/env bats
# berth-scheduler's API driven with curl and hand-written canonical models (independent of the
# compose loader and the CLI): replicas, names and labels, scaling order, a killed replica
# restarted, kill -9 of the scheduler mid-scale, placement, depends_on, the status endpoint,
# down, bad requests.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	for p in $(sapi GET /projects | jq -r '.[].name' 2>/dev/null); do
		sapi DELETE "/projects/$p" >/dev/null || true
	done
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# sapi METHOD PATH [BODY]: a call to the scheduler's socket; prints the body, then the status
# on a last line of its own.
sapi() {
	local args=(-s -X "$1" --unix-socket "$BERTH_RUN/scheduler.sock" -w '\n%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	curl "${args[@]}" "http://berth$2"
}

# A project of one busybox service: model NAME REPLICAS [EXTRA-SERVICE-JSON]
model() {
	printf '{"project": {"name": "%s", "services": {"web": {"image": "busybox", "command": ["sleep", "100000"], "init": true, "restart": "always", "deploy": {"replicas": %s}%s}}}}' \
		"$1" "$2" "${3:-}"
}

names() {
	berth ps -a --format '{{.Names}}' | sort -V | tr '\n' ' '
}

running() {
	berth ps -q | wc -l
}

@test "PUT a project of 3 replicas: PROJECT-web-1..3 with compose labels, on PROJECT_default" {
	run sapi PUT /projects/demo "$(model demo 3)"
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "${lines[0]}" | jq '.services.web.running')" = 3 ]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 " ]
	run berth inspect -f '{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.oneoff"}}' demo-web-2
	[ "$output" = "demo web 2 False" ]
	run berth inspect -f '{{.HostConfig.NetworkMode}} {{.HostConfig.Init}}' demo-web-1
	[ "$output" = "demo_default true" ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" == *demo_default* ]]
	[ -f "$BERTH_ROOT/scheduler/projects/demo.json" ]
	run sapi GET /projects/demo
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "${lines[0]}" | jq -r '[.services.web.containers[].name] | join(",")')" = "demo-web-1,demo-web-2,demo-web-3" ]
}

@test "scale up to 5 then down to 2: the highest numbers go first; a freed number is reused" {
	sapi PUT /projects/demo "$(model demo 3)" >/dev/null
	run sapi POST /projects/demo/scale '{"web": 5}'
	[ "${lines[-1]}" = 200 ]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 demo-web-4 demo-web-5 " ]
	run sapi POST /projects/demo/scale '{"web": 2}'
	[ "${lines[-1]}" = 200 ]
	[ "$(names)" = "demo-web-1 demo-web-2 " ]
	# A hole (web-1 removed by hand) is filled with the lowest free number.
	sapi POST /projects/demo/stop >/dev/null
	berth rm -f demo-web-1 >/dev/null
	sapi POST /projects/demo/start >/dev/null
	run sapi POST /projects/demo/scale '{"web": 3}'
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 " ]
	[ "$(running)" = 3 ]
}

@test "a replica killed outside berth is restarted (restart: always) and counted" {
	sapi PUT /projects/demo "$(model demo 2)" >/dev/null
	local pid
	pid=$(berth inspect -f '{{.State.Pid}}' demo-web-1)
	kill -9 "$pid"
	wait_for 5 bash -c '[ "$(berth inspect -f "{{.State.Pid}}" demo-web-1)" != '"$pid"' ] && [ "$(berth inspect -f "{{.State.Status}}" demo-web-1)" = running ]'
	run curl -s 127.0.0.1:7878/services/web
	[ "$(echo "$output" | jq '.restarts')" = 1 ]
	[ "$(echo "$output" | jq -r '.containers[0].name')" = demo-web-1 ]
}

@test "a replica that exits with restart: no stays exited; compose stop/start" {
	run sapi PUT /projects/once '{"project": {"services": {"job": {"image": "busybox", "command": ["true"]}}}}'
	[ "${lines[-1]}" = 200 ]
	wait_for 5 bash -c '[ "$(berth inspect -f "{{.State.Status}}" once-job-1)" = exited ]'
	sleep 0.3
	[ "$(berth inspect -f '{{.State.Status}}' once-job-1)" = exited ]
	sapi PUT /projects/demo "$(model demo 2)" >/dev/null
	run sapi POST /projects/demo/stop
	[ "${lines[-1]}" = 200 ]
	[ "$(running)" = 0 ]
	run sapi POST /projects/demo/start
	[ "${lines[-1]}" = 200 ]
	[ "$(running)" = 2 ]
}

@test "kill -9 of the scheduler during a scale to 50: a restart converges to exactly 50" {
	sapi PUT /projects/k9 "$(model k9 1)" >/dev/null
	sapi POST /projects/k9/scale '{"web": 50}' >/dev/null &
	sleep 0.15
	kill9_wait "$(cat "$BERTH_RUN/scheduler.pid")"
	wait
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 10 bash -c '[ "$(berth ps -q | wc -l)" = 50 ]'
	sleep 0.5
	[ "$(berth ps -aq | wc -l)" = 50 ]
	[ "$(berth ps -a --format '{{.Names}}' | sort | uniq -d | wc -l)" = 0 ]
	[ "$(berth ps -a --format '{{.Names}}' | sort -V | tail -1)" = k9-web-50 ]
	run sapi DELETE /projects/k9
	[ "${lines[-1]}" = 200 ]
	[ "$(berth ps -aq | wc -l)" = 0 ]
}

@test "placement: replicas whose reservations do not fit stay pending with the reason" {
	run sapi PUT /projects/big "$(model big 3 ', "deploy": {"replicas": 3, "resources": {"reservations": {"cpus": 0.9}}}')"
	[ "${lines[-1]}" = 200 ]
	# 2 CPUs here: two replicas fit, the third waits (more CPUs fit more).
	local cpus
	cpus=$(nproc)
	local fit=$(((cpus * 10) / 9))
	[ "$fit" -gt 3 ] && fit=3
	[ "$(berth ps -q | wc -l)" = "$fit" ]
	run curl -s 127.0.0.1:7878/status
	[ "$(echo "$output" | jq '.projects.big.services.web.pending')" = $((3 - fit)) ]
	if [ "$fit" -lt 3 ]; then
		[[ "$(echo "$output" | jq -r '.projects.big.services.web.pending_reason')" == "insufficient cpus: needs 0.90"* ]]
	fi
}

@test "depends_on service_completed_successfully: web starts after init exited 0" {
	local m='{"project": {"services": {
		"init": {"image": "busybox", "command": ["sh", "-c", "sleep 0.5; echo done"]},
		"web": {"image": "busybox", "command": ["sleep", "1000"], "init": true,
			"depends_on": {"init": {"condition": "service_completed_successfully"}}}}}}'
	run sapi PUT /projects/dep "$m"
	[ "${lines[-1]}" = 200 ]
	local done_at started_at
	done_at=$(berth inspect -f '{{.State.FinishedAt}}' dep-init-1)
	started_at=$(berth inspect -f '{{.State.StartedAt}}' dep-web-1)
	[ "$(berth inspect -f '{{.State.ExitCode}}' dep-init-1)" = 0 ]
	[[ "$started_at" > "$done_at" ]]
}

@test "status endpoint: /status, /services/NAME, /healthz, /metrics; it changes nothing" {
	sapi PUT /projects/demo "$(model demo 2)" >/dev/null
	run curl -s 127.0.0.1:7878/status
	[ "$(echo "$output" | jq '.projects.demo.services.web.desired')" = 2 ]
	[ "$(echo "$output" | jq '.projects.demo.services.web.running')" = 2 ]
	run curl -s 127.0.0.1:7878/healthz
	[ "$output" = ok ]
	run curl -s 127.0.0.1:7878/metrics
	[[ "$output" == *'berth_service_replicas_running{project="demo",service="web"} 2'* ]]
	[[ "$output" == *'berth_container_state{project="demo",service="web",container="demo-web-1",state="running"} 1'* ]]
	[[ "$output" == *'berth_container_memory_bytes{project="demo",service="web",container="demo-web-1"} '* ]]
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE 127.0.0.1:7878/projects/demo
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{}' 127.0.0.1:7878/projects/x
	[ "$output" = 404 ]
	[ "$(running)" = 2 ]
}

@test "down removes containers and the network; an unknown project's containers go too" {
	sapi PUT /projects/demo "$(model demo 2)" >/dev/null
	run sapi DELETE /projects/demo
	[ "${lines[-1]}" = 200 ]
	[ "$(echo "${lines[0]}" | jq -r '[.removed[].name] | sort | join(",")')" = "demo-web-1,demo-web-2,demo_default" ]
	[ "$(berth ps -aq | wc -l)" = 0 ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" != *demo_default* ]]
	[ ! -f "$BERTH_ROOT/scheduler/projects/demo.json" ]
	berth run -d --init --name stray --label com.docker.compose.project=ghost busybox sleep 100 >/dev/null
	run sapi DELETE /projects/ghost
	[ "${lines[-1]}" = 200 ]
	[ "$(berth ps -aq | wc -l)" = 0 ]
}

@test "bad requests: clear errors, nothing started" {
	run sapi PUT /projects/Bad_Name "$(model x 1)"
	[ "${lines[-1]}" = 400 ]
	[[ "${lines[0]}" == *"invalid project name"* ]]
	run sapi PUT /projects/x '{"project": 3}'
	[ "${lines[-1]}" = 400 ]
	run sapi PUT /projects/x '{"project": {"services": {"web": {"image": "busybox"}}}, "scale": {"nope": 2}}'
	[ "${lines[-1]}" = 400 ]
	[[ "${lines[0]}" == *"no such service: nope"* ]]
	run sapi POST /projects/none/scale '{"web": 2}'
	[ "${lines[-1]}" = 404 ]
	run sapi PUT /projects/x '{"project": {"services": {"web": {"image": "no-such-image"}}}}'
	[ "${lines[-1]}" = 404 ]
	[[ "${lines[0]}" == *"No such image"* ]]
	run sapi PUT /projects/y '{"project": {"services": {"web": {"build": {"context": "."}}}}}'
	[ "${lines[-1]}" = 400 ]
	[[ "${lines[0]}" == *"build is not supported yet"* ]]
	[ "$(berth ps -aq | wc -l)" = 0 ]
	run sapi GET /projects/none
	[ "${lines[-1]}" = 404 ]
}

# A stand-in for a previous owner of a socket: stale (bound, then gone), dying (takes
# connections but answers nothing, as a daemon does for a moment after kill -9, then goes
# away after 1 s) or live (answers). It touches $2.ready once it listens.
socket_owner() {
	python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[2] + ".ready", "w").close()
if sys.argv[2].endswith("dying"):
    time.sleep(1)
while sys.argv[2].endswith("live"):
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
' "$@" </dev/null >/dev/null 2>&1 3>&-
}

# A second scheduler on its own run and state dirs: sched2 LOG
sched2() {
	BERTH_RUN="$BATS_TEST_TMPDIR/run" BERTH_ROOT="$BATS_TEST_TMPDIR/root" exec \
		berth-scheduler --status-addr none >>"$1" 2>&1 </dev/null 3>&-
}

sched2_ping() {
	curl -sf --max-time 5 --unix-socket "$BATS_TEST_TMPDIR/run/scheduler.sock" http://x/_ping >/dev/null
}

@test "socket in use: a stale or dying owner is replaced, a live one is not" {
	local dir="$BATS_TEST_TMPDIR" pid
	local sock="$dir/run/scheduler.sock"
	mkdir -p "$dir/run" "$dir/root"
	for owner in stale dying; do
		rm -f "$sock"
		socket_owner "$sock" "$dir/$owner" &
		wait_for 10 test -e "$dir/$owner.ready"
		sched2 "$dir/$owner.log" &
		pid=$!
		wait_for 20 sched2_ping || { cat "$dir/$owner.log"; false; }
		grep -q "listening on $sock" "$dir/$owner.log"
		! grep -q "in use" "$dir/$owner.log"
		kill "$pid"
		wait "$pid"
	done
	rm -f "$sock"
	socket_owner "$sock" "$dir/live" &
	local owner_pid=$!
	wait_for 10 test -e "$dir/live.ready"
	run timeout 20 bash -c "$(declare -f sched2); sched2 /dev/stdout"
	kill "$owner_pid"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$sock is in use by a running daemon"* ]]
}
