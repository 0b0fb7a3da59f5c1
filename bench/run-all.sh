#!/bin/bash
# Runs start.sh, start-many.sh and memory.sh one after the other into one results dir and prints
# one combined Markdown table (for the README), with the issue's targets beside berth's numbers.
# Usage: bench/run-all.sh [N]   (as root; N containers for start-many and memory, default 100)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "run-all: must run as root" >&2; exit 1; }
N=${1:-100}
if [ -z "${BENCH_RESULTS:-}" ]; then BENCH_RESULTS=$(mktemp -d /tmp/berth-bench-results.XXXXXX); fi
mkdir -p "$BENCH_RESULTS"
export BENCH_RESULTS
rm -f "$BENCH_RESULTS"/{start,start-many,memory,na}.tsv

rc=0
"$here/start.sh" >"$BENCH_RESULTS/start.out" 2>&1 || rc=$?
"$here/start-many.sh" "$N" >"$BENCH_RESULTS/start-many.out" 2>&1 || rc=$?
"$here/memory.sh" "$N" >"$BENCH_RESULTS/memory.out" 2>&1 || rc=$?

md="$BENCH_RESULTS/bench.md"
{
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r); all peers in one run, medians."
	echo
	echo '**Start** (`X run --rm busybox true`, end to end from the CLI; hyperfine, ratios in this run)'
	echo
	echo '| peer | median ms | × berth | × floor |'
	echo '|---|---:|---:|---:|'
	awk -F'\t' '
		{ peer[NR] = $1; ms[NR] = $2; if ($1 == "berth" && $2 + 0 > 0) b = $2; if ($1 == "floor" && $2 + 0 > 0) f = $2 }
		END {
			for (i = 1; i <= NR; i++) {
				if (ms[i] + 0 > 0)
					printf "| %s | %.1f | %s | %s |\n", peer[i], ms[i],
						b ? sprintf("%.1f", ms[i] / b) : "-", f ? sprintf("%.1f", ms[i] / f) : "-"
				else printf "| %s | %s | | |\n", peer[i], ms[i]
			}
			if (b && f) printf "\nTarget: berth at most 2× the floor — measured %.1f×.\n", b / f
		}' "$BENCH_RESULTS/start.tsv" 2>/dev/null || echo "(start.sh produced no results)"
	echo
	echo "**Many** (\`run -d\` of $N \`sleep 600\` containers, one after another from the CLI)"
	echo
	echo '| peer | total ms | ms each | × berth | rm all ms |'
	echo '|---|---:|---:|---:|---:|'
	awk -F'\t' '
		{ peer[NR] = $1; total[NR] = $2; per[NR] = $3; rm[NR] = $4; if ($1 == "berth" && $2 + 0 > 0) b = $2 }
		END {
			for (i = 1; i <= NR; i++) {
				if (total[i] + 0 > 0)
					printf "| %s | %d | %s | %s | %s |\n", peer[i], total[i], per[i],
						b ? sprintf("%.1f", total[i] / b) : "-", rm[i]
				else printf "| %s | %s | | | |\n", peer[i], total[i]
			}
			if (b) printf "\nTarget: 20 ms each — measured %.1f ms.\n", b / NR_N
		}' NR_N="$N" "$BENCH_RESULTS/start-many.tsv" 2>/dev/null || echo "(start-many.sh produced no results)"
	echo
	echo "**Memory** (RSS from /proc/PID/status, PSS from /proc/PID/smaps_rollup)"
	echo
	echo '| metric | berth | docker | podman | target |'
	echo '|---|---:|---:|---:|---:|'
	awk -F'\t' -v n="$N" '
		function fmt(kb, unit) {
			if (kb == "") return "n/a"
			return unit == "MB" ? sprintf("%.1f MB", kb / 1024) : sprintf("%d KB", kb)
		}
		{ v[$1, $2] = $3 }
		END {
			printf "| daemons idle, RSS together | %s | %s (dockerd + containerd) | no daemon | < 12 MB |\n",
				fmt(v["idle", "berth"], "MB"), fmt(v["idle", "docker"], "MB")
			printf "| per-container overhead, PSS | %s (shim + agent growth) | %s (containerd-shim + daemons growth) | %s (conmon) | < 200 KB |\n",
				fmt(v["per-container", "berth"], "KB"), fmt(v["per-container", "docker"], "KB"),
				fmt(v["per-container", "podman"], "KB")
			printf "| agent RSS with %d containers | %s | %s (dockerd + containerd) | - | < 16 MB |\n", n,
				fmt(v["loaded", "berth"], "MB"), fmt(v["loaded", "docker"], "MB")
		}' "$BENCH_RESULTS/memory.tsv" 2>/dev/null || echo "(memory.sh produced no results)"
	if [ -s "$BENCH_RESULTS/na.tsv" ]; then
		echo
		echo "Not measured:"
		sort -u "$BENCH_RESULTS/na.tsv" | awk -F'\t' '{ printf "- %s: %s\n", $1, $2 }'
	fi
} >"$md"
cat "$md"
echo
echo "results and logs: $BENCH_RESULTS (bench.md, *.tsv, *.out, start-*.json)"
exit $rc
