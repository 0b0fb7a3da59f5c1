#!/bin/bash
# A/B of start latency between builds: `run --rm busybox true` under hyperfine, each build's
# daemons in turn in one sandbox, ROUNDS rounds alternating, so drift hits every build alike.
# Usage: bench/ab-start.sh BINDIR... (as root; BENCH_RUNS per measurement, default 60;
# BENCH_AB_ROUNDS, default 3). Prints one median per build and round, then each build's median.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
bench_busybox
ROUNDS=${BENCH_AB_ROUNDS:-3}
declare -A all
for ((r = 1; r <= ROUNDS; r++)); do
	for dir in "$@"; do
		BERTH_BIN=$dir
		berth_start >&2
		ms=$(bench_hyperfine "ab" "$BERTH run --rm busybox true")
		berth_stop
		mv "$BENCH_TMP/berth" "$BENCH_TMP/berth.$r.$RANDOM" # (netd leaves its netns mount)
		echo "round $r $dir $ms"
		all[$dir]+="$ms "
	done
done
for dir in "$@"; do
	printf '%s median of rounds: %s ms\n' "$dir" \
		"$(tr ' ' '\n' <<<"${all[$dir]}" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
done
