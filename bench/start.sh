#!/bin/bash
# Container start latency, end to end from each CLI (`X run --rm busybox true`), for berth and
# its peers in one run with hyperfine; prints medians as ratios to berth and to the floor.
# Usage: bench/start.sh   (as root; BERTH_BIN, BENCH_RUNS, BENCH_RESULTS: see bench/lib.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
bench_busybox

OUT="$BENCH_RESULTS/start.tsv"
: >"$OUT"
# One row per peer: name, median ms (or n/a), what was run.
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
measure() {
	local peer=$1 name=$2 wrap=() ms
	shift 2
	[ "$1" = --v1ns ] && { wrap=(--v1ns); shift; }
	bench_log "measuring $peer: $*"
	if ms=$(bench_hyperfine "${wrap[@]}" "$name" "$*"); then
		record "$peer" "$ms" "$*"
	else
		bench_na "$peer" "hyperfine failed"
		record "$peer" "n/a (run failed)" "$*"
	fi
}
skip() { bench_na "$1" "$2"; record "$1" "n/a ($2)" "-"; }

# The floor: clone + overlay + pivot_root + exec and nothing else.
floor_src="$BENCH_DIR/floor.c"
mkdir -p "$BENCH_TMP/floor-scratch"
if err=$(cc -O2 -o "$BENCH_TMP/floor" "$floor_src" 2>&1); then
	measure floor floor "$BENCH_TMP/floor" "$BENCH_ROOTFS" "$BENCH_TMP/floor-scratch" /bin/true
else
	skip floor "$(basename "$floor_src") does not compile: ${err%%$'\n'*}"
fi

measure "unshare+chroot" unshare \
	unshare --fork --pid --mount --uts --ipc --net --mount-proc chroot "$BENCH_ROOTFS" /bin/true

if b=$(oci_bundle crun 2>&1); then
	measure "crun run" crun --v1ns crun run -b "$b" "berthbench-$BENCH_ID-crun"
else skip "crun run" "$b"; fi
if ! command -v runc >/dev/null; then
	skip "runc run" "runc is not installed"
elif b=$(oci_bundle runc 2>&1); then
	measure "runc run" runc runc --root "$BENCH_TMP/runc-state" run -b "$b" "berthbench-$BENCH_ID-runc"
else skip "runc run" "$b"; fi

if bench_try berth_start; then
	measure berth berth "$BERTH" run --rm busybox true
	# The same agent through Docker's CLI: separates berth's CLI from the agent's work.
	measure "docker CLI -> berth agent" docker-cli-berth \
		"$BENCH_DOCKER_CLI" -H "unix://$BERTH_RUN/agent.sock" run --rm busybox true
	berth_stop
else skip berth "$BENCH_WHY"; fi

if bench_try podman_setup; then
	measure "podman (crun, --network=none)" podman --v1ns $PODMAN run --rm $PODMAN_RUN_FLAGS busybox true
	bench_v1ns timeout 60 $PODMAN rm -af -t 0 >/dev/null 2>&1 || true
else skip "podman (crun, --network=none)" "$BENCH_WHY"; fi

if bench_try docker_start; then
	measure "docker (--network none)" docker-none $DOCKER run --rm --network none busybox true
	measure "docker (default bridge)" docker $DOCKER run --rm busybox true
	docker_stop
else
	skip "docker (--network none)" "$BENCH_WHY"
	skip "docker (default bridge)" "$BENCH_WHY"
fi

# The table: ratios against berth and the floor measured in this same run.
awk -F'\t' '
	{ peer[NR] = $1; ms[NR] = $2; if ($1 == "berth" && $2 + 0 > 0) b = $2; if ($1 == "floor" && $2 + 0 > 0) f = $2 }
	END {
		printf "%-32s %12s %10s %10s\n", "peer", "median ms", "x berth", "x floor"
		for (i = 1; i <= NR; i++) {
			if (ms[i] + 0 > 0) {
				printf "%-32s %12.2f %10s %10s\n", peer[i], ms[i],
					b ? sprintf("%.2f", ms[i] / b) : "-", f ? sprintf("%.2f", ms[i] / f) : "-"
			} else printf "%-32s %s\n", peer[i], ms[i]
		}
	}' "$OUT" | tee "$BENCH_RESULTS/start.txt"
echo "results: $BENCH_RESULTS (start.tsv, start-*.json)"
bench_finish
