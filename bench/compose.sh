#!/bin/bash
# Compose side by side: `compose up -d` of one service scaled to N (busybox sleep) until all N
# run, berth vs Debian's docker-compose 1.29 against a private dockerd; the time from a replica's
# crash (kill -9 of its process from the host) to its restart, median of several (with the
# first backoff, 100 ms in both, and for berth also without a backoff: the label
# berth.restart.backoff-min=0); berth's status endpoint under wrk, and the scheduler's RSS
# with N replicas.
# Usage: bench/compose.sh [N]   (as root; default N=100; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
N=${1:-100}
CRASHES=${BENCH_CRASHES:-7}
bench_busybox

OUT="$BENCH_RESULTS/compose.tsv"
: >"$OUT"
PROJ="$BENCH_TMP/proj"
mkdir -p "$PROJ"
# The same file for both: compose 1.29 reads the spec format (no version key).
cat >"$PROJ/docker-compose.yml" <<'EOF'
services:
  web:
    image: busybox
    command: sleep 600
    init: true
    restart: always
EOF
# berth only: the same without the restart backoff, for the crash-to-restart time itself.
mkdir -p "$PROJ/fast"
cat >"$PROJ/fast/compose.yaml" <<EOF
services:
  fast:
    image: busybox
    command: sleep 600
    init: true
    restart: always
    labels:
      berth.restart.backoff-min: "0"
    deploy:
      replicas: $CRASHES
EOF

# Wait (bounded, 300 s) until `$@ ps` shows n running containers; polls every 20 ms.
wait_running() {
	local n=$1 i
	shift
	for i in $(seq 15000); do
		[ "$("$@" ps -q 2>/dev/null | wc -l)" -ge "$n" ] && return 0
		sleep 0.02
	done
	return 1
}

# ms from a kill -9 of container $2's main process to its `start` event, on the API socket $1.
crash_once() {
	local sock=$1 name=$2 cli=$3 pid ev t0 t1 i
	pid=$($cli inspect -f '{{.State.Pid}}' "$name")
	ev="$BENCH_TMP/events.$$"
	: >"$ev"
	timeout 20 curl -sN --unix-socket "$sock" \
		"http://x/events?filters=%7B%22container%22%3A%5B%22$name%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D" \
		>"$ev" 2>/dev/null &
	local curl_pid=$!
	sleep 0.3 # subscribed
	t0=$(bench_now_ns)
	kill -9 "$pid"
	for i in $(seq 1000); do
		grep -q timeNano "$ev" && break
		sleep 0.01
	done
	kill "$curl_pid" 2>/dev/null || true
	wait "$curl_pid" 2>/dev/null || true
	t1=$(head -1 "$ev" | jq -r .timeNano 2>/dev/null || echo 0)
	[ "$t1" -gt 0 ] 2>/dev/null || { echo "no start event for $name" >&2; return 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "n/a" }'; }

# Crash replicas 1..CRASHES (each restarted once: the first backoff, 100 ms in both).
crashes() {
	local sock=$1 cli=$2 fmt=$3 k
	for k in $(seq "$CRASHES"); do
		# shellcheck disable=SC2059
		crash_once "$sock" "$(printf "$fmt" "$k")" "$cli" || return 1
	done | median
}

# --- berth ---------------------------------------------------------------------------------
berth_up=n/a berth_crash=n/a berth_fast=n/a berth_rps=n/a berth_rss=n/a
if bench_try berth_start; then
	cd "$PROJ"
	bench_log "berth compose up -d --scale web=$N"
	t0=$(bench_now_ns)
	timeout 300 "$BERTH" compose -p bench up -d --scale "web=$N" >"$BENCH_TMP/berth-up.log" 2>&1 &&
		wait_running "$N" "$BERTH" &&
		berth_up=$((($(bench_now_ns) - t0) / 1000000)) ||
		bench_na berth "compose up failed: $(tail -1 "$BENCH_TMP/berth-up.log")"
	if [ "$berth_up" != n/a ]; then
		sleep 2
		berth_rss=$(bench_rss_kb "$(pgrep -x berth-scheduler | head -1)")
		bench_log "wrk on the status endpoint"
		wrk -t2 -c32 -d5s http://127.0.0.1:7878/status >"$BENCH_TMP/wrk.log" 2>&1 &&
			berth_rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$BENCH_TMP/wrk.log")
		bench_log "crash to restart, berth"
		berth_crash=$(crashes "$BERTH_RUN/agent.sock" "$BERTH" "bench-web-%d") || berth_crash=n/a
		bench_log "crash to restart without backoff, berth"
		(cd "$PROJ/fast" && timeout 120 "$BERTH" compose -p benchfast up -d >/dev/null 2>&1) &&
			berth_fast=$(crashes "$BERTH_RUN/agent.sock" "$BERTH" "benchfast-fast-%d") ||
			berth_fast=n/a
		(cd "$PROJ/fast" && timeout 120 "$BERTH" compose -p benchfast down >/dev/null 2>&1) || true
	fi
	timeout 120 "$BERTH" compose -p bench down >/dev/null 2>&1 || true
	cd /
	berth_stop
else bench_na berth "$BENCH_WHY"; fi

# --- docker-compose 1.29 against dockerd ----------------------------------------------------
docker_up=n/a docker_crash=n/a
if ! command -v docker-compose >/dev/null; then
	bench_na docker-compose "docker-compose is not installed (apt install docker-compose)"
elif bench_try docker_start; then
	cd "$PROJ"
	bench_log "docker-compose up -d --scale web=$N (slow)"
	export DOCKER_HOST="unix://$DOCKER_SOCK" COMPOSE_HTTP_TIMEOUT=300
	t0=$(bench_now_ns)
	timeout 600 docker-compose -p bench up -d --scale "web=$N" >"$BENCH_TMP/docker-up.log" 2>&1 &&
		wait_running "$N" $DOCKER &&
		docker_up=$((($(bench_now_ns) - t0) / 1000000)) ||
		bench_na docker-compose "up failed: $(tail -1 "$BENCH_TMP/docker-up.log")"
	if [ "$docker_up" != n/a ]; then
		bench_log "crash to restart, docker"
		docker_crash=$(crashes "$DOCKER_SOCK" "$DOCKER" "bench_web_%d") || docker_crash=n/a
	fi
	timeout 300 docker-compose -p bench down >/dev/null 2>&1 || true
	unset DOCKER_HOST
	cd /
	docker_stop
else bench_na docker-compose "$BENCH_WHY"; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "-" }'; }
{
	printf 'measure\tberth\tdocker-compose 1.29 + dockerd\tdocker / berth\n'
	printf 'up -d --scale web=%d until all run (ms)\t%s\t%s\t%s\n' "$N" "$berth_up" "$docker_up" \
		"$(ratio "$docker_up" "$berth_up")"
	printf 'kill -9 to restart, median of %d (ms)\t%s\t%s\t%s\n' "$CRASHES" "$berth_crash" \
		"$docker_crash" "$(ratio "$docker_crash" "$berth_crash")"
	printf 'kill -9 to restart, no backoff (berth.restart.backoff-min=0), median of %d (ms)\t%s\t-\t-\n' \
		"$CRASHES" "$berth_fast"
	printf 'status endpoint, wrk -t2 -c32 -d5s (req/s)\t%s\t-\t-\n' "$berth_rps"
	printf 'scheduler RSS with %d replicas (KB)\t%s\t-\t-\n' "$N" "$berth_rss"
} >"$OUT"
column -t -s $'\t' "$OUT" | tee "$BENCH_RESULTS/compose.txt"
echo "results: $BENCH_RESULTS (compose.tsv)"
bench_finish
