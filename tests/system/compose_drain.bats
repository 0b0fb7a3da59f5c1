#!/usr/bin/env bats
# Connection draining: before the scheduler stops a replica it removes (scale-down, the old
# replicas of a rolling update, down), netd takes it off the published port and the scheduler
# waits for the requests already routed to it. The replicas serve a slow busybox httpd CGI.

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
	fi
	berth compose -p demo down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# compose.yaml with $1 replicas, V=$2, update order $3 and extra service lines in $4.
write_compose() {
	cat >compose.yaml <<EOF
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    init: true
    environment:
      V: "${2:-1}"
    volumes: ["./www:/www:ro"]
    ports: ["9000:8080"]
    deploy:
      replicas: $1
      update_config:
        order: ${3:-stop-first}
$4
EOF
}

# Open TCP connections through netd's published ports.
proxied() {
	curl -s --unix-socket "$BERTH_RUN/netd.sock" http://x/stats | jq -r .TcpConnections
}

serving() {
	[ "$(curl -s --max-time 2 http://127.0.0.1:9000/)" = hello ]
}

running() {
	[ "$(berth ps -q --filter label=com.docker.compose.project=demo | wc -l)" -eq "$1" ]
}

# slow N SECONDS: N slow requests in the background, replies in $BATS_TEST_TMPDIR/slow.K;
# returns once netd relays all of them.
slow() {
	local k
	for k in $(seq 1 "$1"); do
		curl -s --max-time 30 "http://127.0.0.1:9000/cgi-bin/slow?$2" \
			>"$BATS_TEST_TMPDIR/slow.$k" 2>&1 </dev/null &
	done
	wait_for 10 bash -c "[ \"\$(curl -s --unix-socket $BERTH_RUN/netd.sock http://x/stats | jq -r .TcpConnections)\" -ge $1 ]"
}

@test "scale-down: requests in flight on the removed replica get their whole reply" {
	write_compose 2
	compose_up
	wait_for 20 serving
	gone=$(berth ps -q --no-trunc --filter name=demo-web-2)
	# Four slow requests: the round-robin gives each replica two.
	slow 4 3
	t0=$(now_ms)
	run berth compose scale web=1
	t1=$(now_ms)
	[ "$status" -eq 0 ]
	echo "scale-down with 2 requests in flight: $((t1 - t0)) ms" >&3
	wait
	cat "$BATS_TEST_TMPDIR"/slow.* >&3
	[ "$(cat "$BATS_TEST_TMPDIR"/slow.* | grep -c '^slow from ')" -eq 4 ]
	# Two of them came from the replica that was removed.
	[ "$(cat "$BATS_TEST_TMPDIR"/slow.* | grep -c "^slow from ${gone:0:12}")" -eq 2 ]
	# It waited for them: they were started 3 s before they ended.
	[ $((t1 - t0)) -ge 1000 ]
	running 1
	run berth ps -a --format '{{.Names}}' --filter label=com.docker.compose.project=demo
	[ "$output" = demo-web-1 ]
	[ "$(proxied)" = 0 ]
}

@test "scale-down of idle replicas stays near-instant" {
	write_compose 5
	compose_up
	wait_for 20 serving
	t0=$(now_ms)
	run berth compose scale web=1
	t1=$(now_ms)
	[ "$status" -eq 0 ]
	running 1
	echo "scale-down 5 -> 1, no connections: $((t1 - t0)) ms" >&3
	[ $((t1 - t0)) -lt 3000 ]
}

@test "x-berth.drain_timeout bounds the wait; a request still open then is cut" {
	write_compose 2 1 stop-first '    x-berth:
      drain_timeout: 1s'
	compose_up
	wait_for 20 serving
	gone=$(berth ps -q --no-trunc --filter name=demo-web-2)
	slow 2 8
	t0=$(now_ms)
	run berth compose scale web=1
	t1=$(now_ms)
	[ "$status" -eq 0 ]
	echo "scale-down with a 1 s drain timeout and an 8 s request: $((t1 - t0)) ms" >&3
	[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 6000 ]
	wait
	# The request on the kept replica completes; the one on the removed replica was cut.
	[ "$(cat "$BATS_TEST_TMPDIR"/slow.* | grep -c '^slow from ')" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/slow.* | grep -c "^slow from ${gone:0:12}")" -eq 0 ]
	grep -q "demo-web-2: 1 connections still open after draining" "$BERTH_RUN/scheduler.log"
}

@test "start-first update and down: a request in flight on the old replica completes" {
	write_compose 1 1 start-first
	compose_up
	wait_for 20 serving
	old=$(berth ps -q --no-trunc --filter label=com.docker.compose.project=demo)
	slow 1 3
	write_compose 1 2 start-first
	run timeout 60 berth compose up -d
	[ "$status" -eq 0 ]
	wait
	[ "$(cat "$BATS_TEST_TMPDIR/slow.1")" = "slow from ${old:0:12}" ]
	new=$(berth ps -q --no-trunc --filter label=com.docker.compose.project=demo)
	[ -n "$new" ] && [ "$new" != "$old" ]

	# down drains too.
	wait_for 20 serving
	slow 1 2
	run berth compose down
	[ "$status" -eq 0 ]
	wait
	[ "$(cat "$BATS_TEST_TMPDIR/slow.1")" = "slow from ${new:0:12}" ]
}
