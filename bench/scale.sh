#!/bin/bash
# Scale on disk: `compose up -d` of one service with N replicas (busybox sleep, default 1000),
# once with network_mode: none and once on the project's default network (the bridge), with
# BERTH_ROOT under /var/tmp (the machine's disk: tmpfs would hide the fsyncs). For each: the
# time until all N run, `berth ps` latency sampled every 100 ms during the ramp (median and
# slowest), the daemons' RSS and open fds with N running, and the time of `compose down`.
# Usage: bench/scale.sh [N]   (as root; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
N=${1:-1000}
bench_busybox
df -T "$BENCH_TMP" | awk 'NR == 2 { print "scale: BERTH_ROOT on " $2 " (" $1 ")" }' >&2

OUT="$BENCH_RESULTS/scale.tsv"
: >"$OUT"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "n/a" }'; }

# Sample `berth ps` every 100 ms until the file $1 appears; each latency (ms) to stdout.
sample_ps() {
	local stop=$1 t0 t1
	while [ ! -e "$stop" ]; do
		t0=$(bench_now_ns)
		timeout 10 "$BERTH" ps -q >/dev/null 2>&1 || echo "ps failed" >&2
		t1=$(bench_now_ns)
		echo $(((t1 - t0) / 1000000))
		sleep 0.1
	done
}

fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# One round: N replicas of a service on network mode $1 ("none" or "default").
round() {
	local mode=$1 dir="$BENCH_TMP/proj-$1" t0 up=n/a down=n/a i count=0
	mkdir -p "$dir"
	{
		echo "services:"
		echo "  web:"
		echo "    image: busybox"
		echo "    command: sleep 600"
		[ "$mode" = none ] && echo "    network_mode: none"
		echo "    deploy:"
		echo "      replicas: $N"
	} >"$dir/compose.yaml"
	cd "$dir"
	local stop="$BENCH_TMP/stop-$mode" samples="$BENCH_TMP/ps-$mode"
	rm -f "$stop"
	sample_ps "$stop" >"$samples" &
	local sampler=$!
	bench_log "$mode: compose up -d with $N replicas"
	t0=$(bench_now_ns)
	timeout 600 "$BERTH" compose -p "s$mode" up -d >"$BENCH_TMP/up-$mode.log" 2>&1 || {
		bench_log "$mode: compose up failed: $(tail -1 "$BENCH_TMP/up-$mode.log")"
	}
	# Until all run (bounded: 600 s), by the agent's count.
	for i in $(seq 6000); do
		count=$(timeout 10 "$BERTH" ps -q 2>/dev/null | wc -l)
		[ "$count" -ge "$N" ] && break
		sleep 0.1
	done
	[ "$count" -ge "$N" ] && up=$((($(bench_now_ns) - t0) / 1000000))
	touch "$stop"
	wait "$sampler" || true
	local agent sched netd
	agent=$(pgrep -x berth-agent | head -1)
	sched=$(pgrep -x berth-scheduler | head -1)
	netd=$(pgrep -x berth-netd | head -1)
	local rss_a rss_s rss_n fd_a fd_s fd_n
	rss_a=$(bench_rss_kb "$agent") rss_s=$(bench_rss_kb "$sched") rss_n=$(bench_rss_kb "$netd")
	fd_a=$(fds_of "$agent") fd_s=$(fds_of "$sched") fd_n=$(fds_of "$netd")
	bench_log "$mode: compose down"
	t0=$(bench_now_ns)
	timeout 600 "$BERTH" compose -p "s$mode" down >"$BENCH_TMP/down-$mode.log" 2>&1 &&
		down=$((($(bench_now_ns) - t0) / 1000000)) ||
		bench_log "$mode: compose down failed: $(tail -1 "$BENCH_TMP/down-$mode.log")"
	cd /
	local n_ps med max
	n_ps=$(wc -l <"$samples")
	med=$(median <"$samples")
	max=$(sort -n "$samples" | tail -1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s/%s\t%s/%s/%s\n' "$mode" "$N" "$count" "$up" \
		"$n_ps" "$med" "${max:-n/a}" "$down" "$rss_a" "$rss_s" "$rss_n" "$fd_a" "$fd_s" \
		"$fd_n" >>"$OUT"
}

if bench_try berth_start; then
	for mode in ${BENCH_SCALE_MODES:-none default}; do
		round "$mode"
	done
	berth_stop
else bench_na berth "$BENCH_WHY"; fi

{
	printf 'network\treplicas\trunning\tup until all run (ms)\tps samples\tps median (ms)\tps slowest (ms)\tdown (ms)\tRSS agent/scheduler/netd (KB)\tfds agent/scheduler/netd\n'
	cat "$OUT"
} >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
column -t -s $'\t' "$OUT" | tee "$BENCH_RESULTS/scale.txt"
echo "results: $BENCH_RESULTS (scale.tsv)"
bench_finish
