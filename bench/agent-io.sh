#!/bin/bash
# Does long I/O stall the agent's loop? Inside a private sandbox (tests/system/sandbox.sh):
#  1. `berth ps` latency while `berth logs` of a ~100 MB json-file log streams to /dev/null;
#  2. agent RSS (peak sampled VmRSS, and VmHWM) while `berth image load` reads a 200 MB archive,
#     given as a file (-i) and through stdin (a pipe: the body goes through the agent);
#  3. `berth ps` latency while images.lock is held by another process and a `berth tag` waits.
# Usage: bench/agent-io.sh   (BERTH_BIN: berth's binaries, default build/bin of this checkout)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export BERTH_BIN=${BERTH_BIN:-$here/build/bin}
export BERTH_SRC=$here
if [ "${BERTH_IN_SANDBOX:-}" != 1 ]; then
	exec "$here/tests/system/sandbox.sh" "$0" "$@"
fi

ms() { date +%s%3N; }
ps_time() { # 5 `berth ps` one after another: the slowest and all, ms
	local t=() max=0
	for _ in 1 2 3 4 5; do
		local a=$(ms)
		timeout 60 berth ps >/dev/null
		t+=($(($(ms) - a)))
		[ "${t[-1]}" -gt "$max" ] && max=${t[-1]}
	done
	echo "max $max ms (${t[*]})"
}
rss_watch() { # sample the agent's VmRSS every 20 ms until the file $1 exists; print the peak, kB
	local pid=$2 peak=0 v
	while [ ! -e "$1" ]; do
		v=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		sleep 0.02
	done
	echo "$peak"
}

tmp=$(mktemp -d)
berth system start >/dev/null || exit 1
agent=$(cat "$BERTH_RUN"/agent.pid 2>/dev/null || pgrep -x berth-agent)
bbtar=$BERTH_TEST_DATA/busybox.tar
[ -s "$bbtar" ] || { bbtar=$tmp/busybox.tar; "$here/scripts/mkbusybox-rootfs.sh" "$bbtar"; }
berth image import --change 'CMD ["sh"]' "$bbtar" busybox:latest >/dev/null

echo "== 1. berth ps while berth logs of a ~100 MB log streams"
echo "idle: ps $(ps_time)"
berth run -d --name chatty --log-opt max-size=40m --log-opt max-file=5 busybox \
	sh -c 'yes 0123456789012345678901234567890123456789 | head -c 52000000; sleep 1000' >/dev/null
timeout 120 sh -c "until [ \$(cat $BERTH_ROOT/containers/*/*-json.log* | wc -c) -ge 100000000 ]; do sleep 0.2; done"
echo "log: $(cat "$BERTH_ROOT"/containers/*/*-json.log* | wc -c) bytes in $(ls "$BERTH_ROOT"/containers/*/*-json.log* | wc -l) files"
a=$(ms)
berth logs chatty >/dev/null 2>&1 &
lp=$!
sleep 0.1
echo "during logs: ps $(ps_time)"
wait $lp
echo "logs took $(($(ms) - a)) ms; agent VmHWM $(awk '/^VmHWM/ {print $2}' /proc/"$agent"/status) kB"
berth rm -f chatty >/dev/null

echo "== 2. agent RSS during a 200 MB load"
mkdir -p "$tmp/rootfs"
head -c 200000000 /dev/urandom >"$tmp/rootfs/blob"
tar -C "$tmp/rootfs" -cf "$tmp/big-rootfs.tar" .
rm -rf "$tmp/rootfs"
berth image import "$tmp/big-rootfs.tar" big:1 >/dev/null
rm -f "$tmp/big-rootfs.tar"
berth image save -o "$tmp/big.tar" big:1
berth rmi big:1 >/dev/null
echo "archive: $(stat -c %s "$tmp/big.tar") bytes; agent VmRSS before: $(awk '/^VmRSS/ {print $2}' /proc/"$agent"/status) kB"
rss_watch "$tmp/done1" "$agent" >"$tmp/peak1" &
berth image load -i "$tmp/big.tar"
touch "$tmp/done1"
wait
echo "load -i FILE: agent peak VmRSS $(cat "$tmp/peak1") kB, VmHWM $(awk '/^VmHWM/ {print $2}' /proc/"$agent"/status) kB"
berth rmi big:1 >/dev/null
rss_watch "$tmp/done2" "$agent" >"$tmp/peak2" &
cat "$tmp/big.tar" | berth image load
touch "$tmp/done2"
wait
echo "load from a pipe: agent peak VmRSS $(cat "$tmp/peak2") kB, VmHWM $(awk '/^VmHWM/ {print $2}' /proc/"$agent"/status) kB"

echo "== 3. berth ps while images.lock is held for 3 s and a berth tag waits for it"
flock "$BERTH_ROOT/images.lock" sleep 3 &
fp=$!
sleep 0.2
a=$(ms)
berth tag busybox:latest busybox:held >/dev/null 2>&1 &
tp=$!
sleep 0.2
echo "during the lock: ps $(ps_time)"
wait $tp
echo "tag returned after $(($(ms) - a)) ms (rc $?)"
wait $fp
berth system stop >/dev/null
rm -rf "$tmp"
