#!/usr/bin/env bats
# Scheduler gaps: CPU pinning that counts every container of the host (a project the scheduler
# has not listed, `run --cpuset-cpus`), drains undone for replicas kept after a kill -9 of the
# scheduler between drain and removal, the rollback's image kept by a tag
# (berth-rollback:PROJECT.SERVICE), and compose down -t.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/demo"
	cd "$BATS_TEST_TMPDIR/demo"
	slow_www
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		berth_dump_logs >&3
		berth ps -a >&3
		curl -s --unix-socket "$BERTH_RUN/netd.sock" http://x/endpoints | jq -c '.[] | {ContainerId, Draining, Connections}' >&3
	fi
	# The test's background curls and CLI calls (not the scheduler it may have started).
	[ -f "$BATS_TEST_TMPDIR/bg" ] && xargs -r kill <"$BATS_TEST_TMPDIR/bg" 2>/dev/null || true
	for p in demo a b; do berth compose -p $p down -t 0 >/dev/null 2>&1 || true; done
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# Remember a background job to end at teardown.
bg() {
	echo "$!" >>"$BATS_TEST_TMPDIR/bg"
}

# kill -9 of the scheduler; start_scheduler starts a new one.
kill_scheduler() {
	local pid
	pid=$(cat "$BERTH_RUN/scheduler.pid")
	kill -9 "$pid"
	wait_for 5 gone "$pid"
	echo "$pid" >"$BATS_TEST_TMPDIR/old-scheduler"
}

start_scheduler() {
	local pid
	pid=$(cat "$BATS_TEST_TMPDIR/old-scheduler")
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 10 bash -c '[ "$(cat "$BERTH_RUN/scheduler.pid")" != '"$pid"' ] && curl -sf 127.0.0.1:7878/healthz'
}

cpus_of() {
	berth inspect -f '{{.HostConfig.CpusetCpus}}' "$1"
}

# A pinned service: one CPU of 0-1 per replica.
write_pinned() {
	cat >compose.yaml <<EOF
services:
  web:
    image: busybox
    command: sleep 1000
    init: true
    cpuset: "0-1"
    cpus: 1
    deploy:
      replicas: $1
EOF
}

@test "pinning counts a project the scheduler has not listed and containers of berth run --cpuset-cpus" {
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
	mkdir a b
	(cd a && write_pinned 1 && berth compose -p a up -d 2>/dev/null)
	[ "$(cpus_of a-web-1)" = 0 ]
	# A scheduler that comes back without a's state (as if b reconciled before a's first
	# listing): b must still see a-web-1 on CPU 0.
	kill_scheduler
	rm "$BERTH_ROOT/scheduler/projects/a.json"
	start_scheduler
	(cd b && write_pinned 1 && berth compose -p b up -d 2>/dev/null)
	[ "$(cpus_of b-web-1)" = 1 ]
	# A container made outside compose on CPU 1 (exited: it keeps its pinning): b's second
	# replica goes to 0 (load 1) rather than 1 (load 2).
	berth run --cpuset-cpus 1 --name outside busybox true
	(cd b && berth compose -p b scale web=2 >/dev/null)
	[ "$(cpus_of b-web-2)" = 0 ]
	run berth ps -a --format '{{.Names}}' --filter name=a-web-1
	[ "$output" = a-web-1 ]
	# The listing shows CpusetCpus for any container that has one.
	curl -s --unix-socket "$BERTH_RUN/agent.sock" 'http://x/containers/json?all=1' |
		jq -e '[.[] | select(.Names[0] == "/outside") | .HostConfig.CpusetCpus] == ["1"]'
	berth rm -f outside >/dev/null
	berth compose -p a down -t 0 >/dev/null 2>&1
}

# Are $1 endpoints draining at netd?
draining() {
	[ "$(curl -s --unix-socket "$BERTH_RUN/netd.sock" http://x/endpoints | jq -r '[.[] | select(.Draining)] | length')" -eq "$1" ]
}

serving() {
	[ "$(curl -s --max-time 2 http://127.0.0.1:9000/)" = hello ]
}

running() {
	[ "$(berth ps -q --filter label=com.docker.compose.project=demo | wc -l)" -eq "$1" ]
}

@test "kill -9 of the scheduler between drain and removal: the replicas kept are put back into rotation" {
	cat >compose.yaml <<'EOF'
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    init: true
    volumes: ["./www:/www:ro"]
    ports: ["9000:8080"]
    x-berth:
      drain_timeout: 60s
    deploy:
      replicas: 2
EOF
	berth compose up -d 2>/dev/null
	wait_for 20 serving
	# One slow request on each replica (round-robin): down drains both and waits.
	for k in 1 2; do
		curl -s --max-time 20 "http://127.0.0.1:9000/cgi-bin/slow?15" >/dev/null 2>&1 </dev/null &
		bg
	done
	wait_for 10 bash -c "[ \"\$(curl -s --unix-socket $BERTH_RUN/netd.sock http://x/stats | jq -r .TcpConnections)\" -ge 2 ]"
	berth compose down >/dev/null 2>&1 </dev/null &
	down=$!
	bg
	wait_for 10 draining 2
	# The port has no backend left now.
	run serving
	[ "$status" -ne 0 ]
	kill_scheduler
	kill "$down" 2>/dev/null || true
	# The down is not persisted: the desired state is still 2 replicas, the same ones.
	start_scheduler
	wait_for 10 draining 0
	wait_for 10 serving
	running 2
	grep -q "demo-web-1: kept: back in its published ports' rotation" "$BERTH_RUN/scheduler.log"
	grep -q "demo-web-2: kept: back in its published ports' rotation" "$BERTH_RUN/scheduler.log"
	for k in 1 2 3 4; do serving; done
}

@test "the previous image of an update is tagged berth-rollback:PROJECT.SERVICE: image prune keeps it, down drops it" {
	berth image import --change 'CMD ["sleep","600"]' "$(busybox_tar)" app:current >/dev/null
	first=$(berth image inspect -f '{{.Id}}' app:current)
	cat >compose.yaml <<'EOF'
services:
  web:
    image: app:current
    init: true
    deploy:
      replicas: 1
      update_config:
        failure_action: rollback
EOF
	berth compose up -d 2>/dev/null
	# Nothing to roll back to yet.
	run berth image inspect berth-rollback:demo.web
	[ "$status" -ne 0 ]
	# A new image under the same tag: an update; the first image is only the rollback's now.
	berth image import --change 'CMD ["sleep","601"]' "$(busybox_tar)" app:current >/dev/null
	second=$(berth image inspect -f '{{.Id}}' app:current)
	[ "$second" != "$first" ]
	run timeout 60 berth compose up -d
	[ "$status" -eq 0 ]
	[ "$(berth inspect -f '{{.Image}}' demo-web-1)" = "$second" ]
	wait_for 5 bash -c "[ \"\$(berth image inspect -f '{{.Id}}' berth-rollback:demo.web 2>/dev/null)\" = $first ]"
	run berth images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"berth-rollback:demo.web"* ]]
	# No container uses it, and prune leaves it.
	berth image prune -f >/dev/null
	[ "$(berth image inspect -f '{{.Id}}' "$first")" = "$first" ]
	# The next update moves the tag to the image before it.
	berth image import --change 'CMD ["sleep","602"]' "$(busybox_tar)" app:current >/dev/null
	run timeout 60 berth compose up -d
	[ "$status" -eq 0 ]
	wait_for 5 bash -c "[ \"\$(berth image inspect -f '{{.Id}}' berth-rollback:demo.web 2>/dev/null)\" = $second ]"
	# The first one is dangling now (as after any re-tag), and prune removes it.
	[ "$(berth image inspect -f '{{json .RepoTags}}' "$first")" = '[]' ]
	berth image prune -f >/dev/null
	run berth image inspect "$first"
	[ "$status" -ne 0 ]
	[ "$(berth image inspect -f '{{.Id}}' "$second")" = "$second" ]
	# down drops the tag; an image nothing else tags nor uses goes with it (as image rm).
	berth compose down >/dev/null 2>&1
	wait_for 5 bash -c '! berth image inspect berth-rollback:demo.web >/dev/null 2>&1'
	run berth image inspect "$second"
	[ "$status" -ne 0 ]
	berth image rm app:current >/dev/null
}

@test "compose down -t bounds the drain and the stop" {
	cat >compose.yaml <<'EOF'
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["./www:/www:ro"]
    ports: ["9000:8080"]
    stop_grace_period: 30s
    x-berth:
      drain_timeout: 60s
EOF
	berth compose up -d 2>/dev/null
	wait_for 20 serving
	run berth compose down -t -1
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid timeout -1: want 0-86400 seconds"* ]]
	run berth compose down -t 100000
	[ "$status" -ne 0 ]
	running 1
	# httpd as PID 1 ignores SIGTERM; a request holds the drain.
	curl -s --max-time 20 "http://127.0.0.1:9000/cgi-bin/slow?15" >/dev/null 2>&1 </dev/null &
	bg
	wait_for 10 bash -c "[ \"\$(curl -s --unix-socket $BERTH_RUN/netd.sock http://x/stats | jq -r .TcpConnections)\" -ge 1 ]"
	t0=$(now_ms)
	run berth compose down -t 1
	t1=$(now_ms)
	echo "down -t 1 with a request in flight and a process ignoring SIGTERM: $((t1 - t0)) ms" >&3
	[ "$status" -eq 0 ]
	[[ "$output" == *"Container demo-web-1  Removed"* ]]
	# About 1 s of draining and 1 s of stopping, not 60 + 30.
	[ $((t1 - t0)) -ge 1500 ] && [ $((t1 - t0)) -lt 10000 ]
	[ "$(berth ps -aq --filter label=com.docker.compose.project=demo | wc -l)" -eq 0 ]
	grep -q "demo-web-1: 1 connections still open after draining" "$BERTH_RUN/scheduler.log"
	# The scheduler's API checks it too.
	run curl -s --unix-socket "$BERTH_RUN/scheduler.sock" -X DELETE 'http://x/projects/demo?timeout=x'
	[[ "$output" == *"invalid timeout x: want 0-86400 seconds"* ]]
}
