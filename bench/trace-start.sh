#!/bin/bash
# Where berth's start time goes: one `berth run --rm busybox true` with the CLI, the agent and
# everything they start (shim, container init) under strace -f -tt -T, merged into one timeline
# of milestones (HTTP requests and responses, clone, mounts, pivot_root, exec, exit, wait), plus
# the untraced median for scale. strace slows every syscall: read the gaps, not the total.
# Usage: bench/trace-start.sh   (as root; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
command -v strace >/dev/null || bench_die "strace is not installed (apt-get install strace)"
bench_busybox
bench_try berth_start || bench_die "berth cannot be run: $BENCH_WHY"

untraced=$(bench_hyperfine berth-untraced "$BERTH" run --rm busybox true) || untraced=n/a
# A warm run first, then the traced one.
"$BERTH" run --rm busybox true
agent=$(bench_pids_of berth-agent | head -1)
[ -n "$agent" ] || bench_die "no berth-agent process"
T="$BENCH_RESULTS/trace"
mkdir -p "$T"
rm -f "$T"/*.trace
strace -f -tt -T -s 160 -o "$T/agent.trace" -p "$agent" 2>/dev/null &
tracer=$!
bench_on_exit "kill -INT $tracer"
sleep 1 # strace attaches to the agent's threads
strace -f -tt -T -s 160 -o "$T/cli.trace" "$BERTH" run --rm busybox true
sleep 0.5 # the agent's last writes after the CLI exits
kill -INT "$tracer"
timeout 10 tail --pid="$tracer" -f /dev/null || true

# Milestones from both traces, by time of day (one clock), relative to the CLI's execve.
{
	sed 's/^/cli /' "$T/cli.trace"
	sed 's/^/agent /' "$T/agent.trace"
} | awk '
	function secs(t, a) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	{
		who = $1; pid = $2; t = secs($3); line = $0
		sub(/^[a-z]+ [0-9]+ [0-9:.]+ /, "", line)
		ev = ""
		if (line ~ /^execve\(/) ev = line
		else if (line ~ /^(clone|clone3|vfork|fork)\(/) ev = line
		else if (line ~ /^(mount|umount2|pivot_root|mount_setattr|fsmount|move_mount|open_tree|unshare|setns)\(/) ev = line
		else if (line ~ /^(connect|accept|accept4)\(/ && line ~ /sun_path|= [0-9]/) ev = line
		else if (line ~ /"(GET|POST|PUT|DELETE|HEAD) \//) ev = line
		else if (line ~ /"HTTP\/1\.[01] [0-9]+/) ev = line
		else if (line ~ /^(exit_group|wait4|waitid|pidfd_open|pidfd_send_signal|kill)\(/) ev = line
		else if (line ~ /^\+\+\+ exited/) ev = line
		else if (line ~ /^(mkdir|mkdirat|rmdir)\(.*cgroup/) ev = line
		else if (line ~ /^(openat|open)\(.*\/sys\/fs\/cgroup/) ev = "cgroup " line
		if (ev == "") next
		if (length(ev) > 150) ev = substr(ev, 1, 150) "..."
		printf "%.6f\t%s\t%s\t%s\n", t, who, pid, ev
	}' | sort -n -k1,1 >"$T/milestones.tsv"
t0=$(awk -F'\t' '$2 == "cli" && $4 ~ /^execve/ { print $1; exit }' "$T/milestones.tsv")
{
	echo "berth run --rm busybox true: untraced median ${untraced} ms (hyperfine); traced timeline below"
	echo "(ms since the CLI's execve; who = cli or agent trace; PIDs are the sandbox's)"
	awk -F'\t' -v t0="$t0" '{ printf "%9.3f  %-5s %6s  %s\n", ($1 - t0) * 1000, $2, $3, $4 }' "$T/milestones.tsv"
	echo
	echo "syscall time by process (strace -T, top 12 per trace):"
	for f in cli agent; do
		echo "  $f:"
		awk '
			match($0, /<[0-9.]+>$/) {
				n = $3; sub(/\(.*/, "", n); if (n ~ /^<\.\.\.$/) next
				d = substr($0, RSTART + 1, RLENGTH - 2); tot[n] += d; cnt[n]++
			}
			END { for (n in tot) printf "    %-22s %6d calls %9.3f ms\n", n, cnt[n], tot[n] * 1000 }
		' "$T/$f.trace" | sort -k4 -n -r | head -12
	done
} | tee "$T/timeline.txt"
echo "full traces: $T (cli.trace, agent.trace, milestones.tsv, timeline.txt)"
