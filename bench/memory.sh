#!/bin/bash
# Memory: berth's daemons idle (agent, netd, scheduler) against dockerd+containerd; the overhead
# of each container (its shim's PSS plus the agent's RSS growth) against containerd-shim and
# conmon, with N sleeping containers; the agent's RSS with N containers. Targets from issue 2.
# Usage: bench/memory.sh [N]   (as root; default N=100; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
N=${1:-100}
bench_busybox

OUT="$BENCH_RESULTS/memory.tsv"
: >"$OUT"
# Rows: metric, peer, value in KB (or n/a), detail.
row() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$OUT"; }
kb_avg_pss() { # average PSS (KB) over the given pids
	local t=0 n=0 p
	for p in "$@"; do t=$((t + $(bench_pss_kb "$p"))); n=$((n + 1)); done
	[ $n -gt 0 ] && echo $((t / n)) || echo 0
}
settle() { sleep 2; } # let daemons finish their start-up work before reading RSS

measure_berth() {
	settle
	local agent netd sched idle agent0 agent1 shims pss growth
	agent=$(bench_pids_of berth-agent | head -1)
	netd=$(bench_pids_of berth-netd | head -1)
	sched=$(bench_pids_of berth-scheduler | head -1)
	[ -n "$agent" ] || { bench_na berth "no berth-agent process"; return 0; }
	idle=$(bench_sum_rss_kb $agent $netd $sched)
	row idle berth "$idle" "agent $(bench_rss_kb "$agent") + netd $(bench_rss_kb "${netd:-0}") + scheduler $(bench_rss_kb "${sched:-0}") KB RSS"
	agent0=$(bench_rss_kb "$agent")
	if ! many_start berth "$N" >/dev/null 2>"$BENCH_TMP/mem-berth.err"; then
		bench_na berth "run -d failed: $(tail -1 "$BENCH_TMP/mem-berth.err")"
		return 0
	fi
	settle
	agent1=$(bench_rss_kb "$agent")
	mapfile -t shims < <(bench_pids_of berth-shim)
	pss=$(kb_avg_pss "${shims[@]}")
	growth=$(((agent1 - agent0) / N))
	row per-container berth $((pss + growth)) "shim PSS $pss KB (${#shims[@]} shims) + agent growth $growth KB"
	row loaded berth "$agent1" "agent RSS with $N containers (idle: $agent0 KB)"
	many_rm berth >/dev/null 2>&1 || true
}

measure_docker() {
	settle
	local dockerd containerd idle d0 d1 shims pss growth
	dockerd=$DOCKERD_PID
	containerd=$(bench_pids_of containerd | head -1)
	idle=$(bench_sum_rss_kb $dockerd $containerd)
	row idle docker "$idle" "dockerd $(bench_rss_kb "$dockerd") + containerd $(bench_rss_kb "${containerd:-0}") KB RSS"
	d0=$idle
	if ! many_start docker "$N" >/dev/null 2>"$BENCH_TMP/mem-docker.err"; then
		bench_na docker "run -d failed: $(tail -1 "$BENCH_TMP/mem-docker.err")"
		return 0
	fi
	settle
	d1=$(bench_sum_rss_kb $dockerd $containerd)
	# comm is cut to 15 characters: containerd-shim-runc-v2 shows as containerd-shim.
	mapfile -t shims < <(bench_pids_of containerd-shim)
	pss=$(kb_avg_pss "${shims[@]}")
	growth=$(((d1 - d0) / N))
	row per-container docker $((pss + growth)) "containerd-shim PSS $pss KB (${#shims[@]} shims) + dockerd/containerd growth $growth KB"
	row loaded docker "$d1" "dockerd + containerd RSS with $N containers"
	many_rm docker >/dev/null 2>&1 || true
}

measure_podman() {
	local shims pss
	if ! many_start podman "$N" >/dev/null 2>"$BENCH_TMP/mem-podman.err"; then
		bench_na podman "run -d failed: $(tail -1 "$BENCH_TMP/mem-podman.err")"
		return 0
	fi
	settle
	mapfile -t shims < <(bench_pids_of conmon)
	pss=$(kb_avg_pss "${shims[@]}")
	row idle podman 0 "no daemon"
	row per-container podman "$pss" "conmon PSS $pss KB (${#shims[@]} conmons; podman has no daemon)"
	many_rm podman >/dev/null 2>&1 || true
}

if bench_try berth_start; then measure_berth; berth_stop; else bench_na berth "$BENCH_WHY"; fi
if bench_try podman_setup; then measure_podman; else bench_na podman "$BENCH_WHY"; fi
if bench_try docker_start; then measure_docker; docker_stop; else bench_na docker "$BENCH_WHY"; fi

# The table: one line per metric, peers across, the target beside.
awk -F'\t' -v n="$N" -v na="$BENCH_RESULTS/na.tsv" '
	function fmt(kb, unit) {
		if (kb == "") return "n/a"
		return unit == "MB" ? sprintf("%.1f MB", kb / 1024) : sprintf("%d KB", kb)
	}
	{ v[$1, $2] = $3 }
	END {
		m[1] = "idle";          t[1] = "daemons idle, RSS together"; u[1] = "MB"; g[1] = "< 12 MB";   lim[1] = 12 * 1024
		m[2] = "per-container"; t[2] = "per-container overhead, PSS"; u[2] = "KB"; g[2] = "< 200 KB"; lim[2] = 200
		m[3] = "loaded";        t[3] = "agent RSS, " n " containers"; u[3] = "MB"; g[3] = "< 16 MB"; lim[3] = 16 * 1024
		printf "%-36s %12s %14s %14s %10s %6s\n", "metric", "berth", "docker", "podman", "target", "met"
		for (i = 1; i <= 3; i++) {
			b = v[m[i], "berth"]
			met = b == "" ? "-" : (b + 0 < lim[i] ? "yes" : "NO")
			printf "%-36s %12s %14s %14s %10s %6s\n", t[i], fmt(b, u[i]), fmt(v[m[i], "docker"], u[i]),
				(m[i] == "per-container" ? fmt(v[m[i], "podman"], u[i]) : "-"), g[i], met
		}
	}' "$OUT" | tee "$BENCH_RESULTS/memory.txt"
echo "details:"
awk -F'\t' '{ printf "  %-14s %-7s %s\n", $1, $2, $4 }' "$OUT"
echo "results: $BENCH_RESULTS (memory.tsv)"
bench_finish
