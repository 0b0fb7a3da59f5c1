#!/bin/bash
# `run -d` of 100 `sleep 600` containers, one after the other from the CLI: total wall time and
# per-container ms for berth, docker and podman in one run (then all removed, also timed).
# Usage: bench/start-many.sh [N]   (as root; default N=100; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
N=${1:-100}
bench_busybox

OUT="$BENCH_RESULTS/start-many.tsv"
: >"$OUT"
# One row per peer: name, total ms, ms per container, rm ms, containers seen running.
run_peer() {
	local peer=$1 label=$2 total rm running
	bench_log "starting $N containers with $label"
	if ! total=$(many_start "$peer" "$N" 2>"$BENCH_TMP/many-$peer.err"); then
		bench_na "$label" "run -d failed: $(tail -1 "$BENCH_TMP/many-$peer.err")"
		printf '%s\tn/a (run -d failed)\n' "$label" >>"$OUT"
		many_rm "$peer" >/dev/null 2>&1 || true
		return 0
	fi
	running=$(many_count "$peer" 2>/dev/null) || running="?"
	rm=$(many_rm "$peer" 2>/dev/null) || rm="n/a"
	printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$total" \
		"$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.1f", t / n }')" "$rm" "$running" >>"$OUT"
}
skip() { bench_na "$1" "$2"; printf '%s\tn/a (%s)\n' "$1" "$2" >>"$OUT"; }

if bench_try berth_start; then
	run_peer berth berth
	berth_stop
else skip berth "$BENCH_WHY"; fi

if bench_try podman_setup; then
	run_peer podman "podman (crun, --network=none)"
else skip "podman (crun, --network=none)" "$BENCH_WHY"; fi

if bench_try docker_start; then
	run_peer docker "docker (--network none)"
	docker_stop
else skip "docker (--network none)" "$BENCH_WHY"; fi

awk -F'\t' -v n="$N" '
	{ peer[NR] = $1; total[NR] = $2; per[NR] = $3; rm[NR] = $4; up[NR] = $5
	  if ($1 == "berth" && $2 + 0 > 0) b = $2 }
	END {
		printf "%-32s %12s %10s %10s %10s %8s\n", "peer (" n " x run -d)", "total ms",
			"ms each", "x berth", "rm all ms", "running"
		for (i = 1; i <= NR; i++) {
			if (total[i] + 0 > 0)
				printf "%-32s %12d %10s %10s %10s %8s\n", peer[i], total[i], per[i],
					b ? sprintf("%.2f", total[i] / b) : "-", rm[i], up[i]
			else printf "%-32s %s\n", peer[i], total[i]
		}
	}' "$OUT" | tee "$BENCH_RESULTS/start-many.txt"
echo "results: $BENCH_RESULTS (start-many.tsv)"
bench_finish
