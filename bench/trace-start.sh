#!/bin/bash
# Where berth's start time goes: one `berth run --rm busybox true` traced two ways, plus the
# untraced median for scale.
#  1. perf trace -a (cheap, ~20 us a syscall): the CLI, agent, shim and container init on one
#     clock; syscall names, durations and sizes, no paths. The timeline to read times from.
#  2. strace -f -tt -T on the CLI and the agent (and all they start): paths and HTTP request
#     lines, but each syscall costs ~0.1 ms more: read it for what happens, not how long.
# Usage: bench/trace-start.sh   (as root; see bench/lib.sh for the environment)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
command -v strace >/dev/null || bench_die "strace is not installed (apt-get install strace)"
bench_busybox
bench_try berth_start || bench_die "berth cannot be run: $BENCH_WHY"

untraced=$(bench_hyperfine berth-untraced "$BERTH run --rm busybox true") || untraced=n/a
# A warm run first, then the traced one.
"$BERTH" run --rm busybox true
T="$BENCH_RESULTS/trace"
mkdir -p "$T"
rm -f "$T"/*.trace "$T"/perf.*

# 1. perf trace, system-wide, kept to our processes by name afterwards.
ev=connect,accept4,read,readv,write,writev,sendmsg,recvmsg,clone,clone3,vfork,execve,unshare
ev=$ev,setns,mount,pivot_root,umount2,exit_group,wait4,waitid,pidfd_open,openat,fsync,fdatasync
ev=$ev,rename,mkdir,rmdir,unlinkat,poll,ppoll,epoll_wait
if command -v perf >/dev/null; then
	perf trace -a -T -e "$ev" -o "$T/perf.all" 2>"$T/perf.err" &
	perfpid=$!
	bench_on_exit "kill -INT $perfpid"
	sleep 2 # perf trace sets up its events
	"$BERTH" run --rm busybox true
	sleep 0.5
	kill -INT "$perfpid"
	timeout 20 tail --pid="$perfpid" -f /dev/null || true
	# Lines look like "TIME ( DUR ms): COMM/PID syscall(...) = RET" (or "?" when unfinished).
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /ms\):$/) {
			if ($(i + 1) ~ /^(berth|berth-agent|berth-shim|true)\//) print; break } }' \
		"$T/perf.all" | sort -n -k1,1 >"$T/perf.ours"
fi
if [ -s "$T/perf.ours" ]; then
	p0=$(awk '$0 ~ /berth\/[0-9]+ +execve|berth\/[0-9]+ .*execve\(\)/ { print $1; exit }' "$T/perf.ours")
	p0=${p0:-$(awk '{ print $1; exit }' "$T/perf.ours")}
	{
		echo "== perf trace: ms since the CLI's execve; milestones and every syscall over 0.3 ms =="
		awk -v t0="$p0" '
			{
				d = ($3 ~ /^[0-9.]+$/) ? $3 : "-"; line = $0; sub(/^[0-9.]+ \( *[0-9.]* *ms\): /, "", line)
				keep = line ~ / (execve|connect|accept4|writev|clone|clone3|unshare|setns|pivot_root|exit_group|wait4|pidfd_open|fsync)\(/
				keep = keep || line ~ /continued\]: (execve|clone3|unshare|write)\(\)/ || (d + 0 > 0.3)
				keep = keep || (line ~ /^berth\/[0-9]+ (write|read)\(/)
				if (keep) printf "%9.3f %7s  %s\n", $1 - t0, d, substr(line, 1, 110)
			}' "$T/perf.ours"
		echo "(mount calls in the container init: $(grep -c ' mount(' "$T/perf.ours"); full list: $T/perf.ours)"
		echo
	} | tee "$T/perf-timeline.txt"
else
	echo "perf trace gave nothing (see $T/perf.err); strace only" >&2
fi

# 2. strace, for the names.
agent=$(bench_pids_of berth-agent | head -1)
[ -n "$agent" ] || bench_die "no berth-agent process"
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
		sub(/^[a-z]+ +[0-9]+ +[0-9:.]+ +/, "", line)
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
	echo "== strace: berth run --rm busybox true (untraced median ${untraced} ms, hyperfine) =="
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
echo "full traces: $T (perf.ours, perf-timeline.txt, cli.trace, agent.trace, timeline.txt)"
