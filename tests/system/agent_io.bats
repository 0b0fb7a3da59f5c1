#!/usr/bin/env bats
# The agent's loop never waits on long I/O: images.lock held by another process, a large log
# being read, a large archive being loaded. Bounds are generous (ASan builds) but well below
# what the blocking took: the lock is held for 4 s, reading the 100 MB log at once took 2.4 s
# (release build) and the old load held the whole archive in the agent's memory.

load helpers

setup_file() {
	berth_start
	berth_import_busybox
}

teardown_file() {
	berth_stop
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs
}

# The slowest of three `berth ps`, in ms.
ps_max_ms() {
	local max=0 t
	for _ in 1 2 3; do
		t=$(now_ms)
		berth ps >/dev/null || return 1
		t=$(($(now_ms) - t))
		[ $t -gt $max ] && max=$t
	done
	echo $max
}

agent_pid() { cat "$BERTH_RUN/agent.pid"; }

@test "berth ps answers while berth tag waits for images.lock that another process holds" {
	flock "$BERTH_ROOT/images.lock" sleep 4 >/dev/null 2>&1 &
	local fp=$! start
	sleep 0.3
	start=$(now_ms)
	berth tag busybox:latest busybox:waited >"$BATS_TEST_TMPDIR/tag.out" 2>&1 &
	local tp=$!
	sleep 0.3
	local t
	t=$(ps_max_ms)
	echo "ps took up to $t ms while the tag waited"
	[ "$t" -lt 1500 ]
	# the tag has not happened yet: it waits for the lock, it was not refused
	run berth images --format '{{.Repository}}:{{.Tag}}' busybox
	[ "$status" -eq 0 ]
	[[ "$output" != *waited* ]]
	wait $tp
	local elapsed=$(($(now_ms) - start))
	echo "tag returned after $elapsed ms: $(cat "$BATS_TEST_TMPDIR/tag.out")"
	[ "$elapsed" -ge 3000 ]
	wait $fp
	run berth images --format '{{.Repository}}:{{.Tag}}' busybox
	[[ "$output" == *busybox:waited* ]]
	# rmi waits the same way and then works
	flock "$BERTH_ROOT/images.lock" sleep 2 >/dev/null 2>&1 &
	fp=$!
	sleep 0.3
	run berth rmi busybox:waited
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: busybox:waited" ]
	wait $fp
}

@test "an import waits for images.lock in its worker while the agent answers" {
	flock "$BERTH_ROOT/images.lock" sleep 4 >/dev/null 2>&1 &
	local fp=$!
	sleep 0.3
	berth image import "$(busybox_tar)" locked:1 >"$BATS_TEST_TMPDIR/imp.out" 2>&1 &
	local ip=$!
	sleep 0.5
	local t
	t=$(ps_max_ms)
	echo "ps took up to $t ms during the import"
	[ "$t" -lt 1500 ]
	run berth images --format '{{.Repository}}:{{.Tag}}'
	[ "$status" -eq 0 ]
	[[ "$output" != *locked:1* ]]
	# a failed import ends (and its leftovers are looked at) without waiting for the lock
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/junk.tar"
	t=$(now_ms)
	run berth image import "$BATS_TEST_TMPDIR/junk.tar" junk:1
	t=$(($(now_ms) - t))
	echo "the junk import failed after $t ms: $output"
	[ "$status" -eq 1 ]
	[ "$t" -lt 1500 ]
	t=$(ps_max_ms)
	[ "$t" -lt 1500 ]
	wait $ip
	cat "$BATS_TEST_TMPDIR/imp.out"
	[[ "$(cat "$BATS_TEST_TMPDIR/imp.out")" =~ ^sha256:[0-9a-f]{64}$ ]]
	wait $fp
	run berth images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *locked:1* ]]
}

# A stopped container whose json-file log is ~100 MB: 1.2 M lines, one in 7 on stderr,
# one second of log time per 1000 lines from 2026-01-01T00:00:00Z.
make_big_log() {
	berth run --name biglog busybox true
	local log
	log=$(berth inspect --format '{{.LogPath}}' biglog)
	[ -n "$log" ]
	awk 'BEGIN {
		for (i = 0; i < 1200000; i++) {
			s = int(i / 1000)
			printf "{\"log\":\"line %07d abcdefghijklmnopqrstuvwxyz\\n\",\"stream\":\"%s\",\"time\":\"2026-01-01T%02d:%02d:%02d.%03d000000Z\"}\n",
				i, (i % 7 == 0) ? "stderr" : "stdout", int(s / 3600), int(s / 60) % 60, s % 60, i % 1000
		}
	}' >"$log"
	echo "$log"
}

@test "berth ps answers while a 100 MB log streams, and logs output is unchanged" {
	local log
	log=$(make_big_log)
	ls -l "$log"
	local t0 lp t
	t0=$(now_ms)
	berth logs biglog >"$BATS_TEST_TMPDIR/all.out" 2>"$BATS_TEST_TMPDIR/all.err" &
	lp=$!
	sleep 0.2
	t=$(ps_max_ms)
	echo "ps took up to $t ms while logs streamed"
	wait $lp
	echo "logs took $(($(now_ms) - t0)) ms"
	[ "$t" -lt 1500 ]
	# every line, each on its stream, in order
	[ "$(wc -l <"$BATS_TEST_TMPDIR/all.out")" -eq 1028571 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/all.err")" -eq 171429 ]
	[ "$(head -n1 "$BATS_TEST_TMPDIR/all.out")" = "line 0000001 abcdefghijklmnopqrstuvwxyz" ]
	[ "$(tail -n1 "$BATS_TEST_TMPDIR/all.out")" = "line 1199999 abcdefghijklmnopqrstuvwxyz" ]
	[ "$(tail -n1 "$BATS_TEST_TMPDIR/all.err")" = "line 1199996 abcdefghijklmnopqrstuvwxyz" ]
	want=$(awk '{ sub(/^\{"log":"/, ""); sub(/\\n",.*/, ""); if (NR % 7 != 1) print }' "$log" | md5sum)
	[ "$(md5sum <"$BATS_TEST_TMPDIR/all.out")" = "$want" ]

	run berth logs --tail 3 biglog
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'line 1199997 abcdefghijklmnopqrstuvwxyz\nline 1199998 abcdefghijklmnopqrstuvwxyz\nline 1199999 abcdefghijklmnopqrstuvwxyz')" ]
	run berth logs -t --tail 2 biglog
	[ "${lines[0]}" = "2026-01-01T00:19:59.998000000Z line 1199998 abcdefghijklmnopqrstuvwxyz" ]
	[ "${lines[1]}" = "2026-01-01T00:19:59.999000000Z line 1199999 abcdefghijklmnopqrstuvwxyz" ]
	# since and until: the 1000 lines of one second
	berth logs --since 2026-01-01T00:10:00Z --until 2026-01-01T00:10:00.9995Z biglog \
		>"$BATS_TEST_TMPDIR/sec.out" 2>"$BATS_TEST_TMPDIR/sec.err"
	[ $(($(wc -l <"$BATS_TEST_TMPDIR/sec.out") + $(wc -l <"$BATS_TEST_TMPDIR/sec.err"))) -eq 1000 ]
	[ "$(head -n1 "$BATS_TEST_TMPDIR/sec.out")" = "line 0600000 abcdefghijklmnopqrstuvwxyz" ]
	[ "$(head -n1 "$BATS_TEST_TMPDIR/sec.err")" = "line 0600005 abcdefghijklmnopqrstuvwxyz" ]
	# the agent did not read the log into memory
	local hwm
	hwm=$(awk '/^VmHWM/ {print $2}' /proc/"$(agent_pid)"/status)
	echo "agent VmHWM $hwm kB"
	berth rm biglog >/dev/null
}

@test "logs --follow sends the file, then live lines, in order, until the container exits" {
	berth run -d --name fol busybox sh -c 'for i in 0 1 2 3 4; do echo pre$i; done; sleep 1.5; echo post; echo err >&2; sleep 0.5' >/dev/null
	wait_for 10 sh -c 'berth logs fol | grep -q pre4'
	run timeout 20 berth logs -f fol
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'pre0\npre1\npre2\npre3\npre4\npost\nerr')" ]
	run timeout 20 berth logs --tail 1 -f fol
	[ "$output" = "err" ]
	berth rm fol >/dev/null
}

@test "agent RSS stays small while a 100 MB archive loads from a file" {
	mkdir -p "$BATS_TEST_TMPDIR/rootfs"
	head -c 100000000 /dev/urandom >"$BATS_TEST_TMPDIR/rootfs/blob"
	tar -C "$BATS_TEST_TMPDIR/rootfs" -cf "$BATS_TEST_TMPDIR/big-rootfs.tar" .
	rm -rf "$BATS_TEST_TMPDIR/rootfs"
	berth image import "$BATS_TEST_TMPDIR/big-rootfs.tar" big:1 >/dev/null
	rm -f "$BATS_TEST_TMPDIR/big-rootfs.tar"
	berth image save -o "$BATS_TEST_TMPDIR/big.tar" big:1
	berth rmi big:1 >/dev/null
	local pid before peak=0 v
	pid=$(agent_pid)
	before=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)
	berth image load -i "$BATS_TEST_TMPDIR/big.tar" >"$BATS_TEST_TMPDIR/load.out" 2>&1 &
	local lp=$!
	while kill -0 $lp 2>/dev/null; do
		v=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)
		[ "$v" -gt "$peak" ] && peak=$v
		sleep 0.02
	done
	wait $lp
	cat "$BATS_TEST_TMPDIR/load.out"
	[ "$(cat "$BATS_TEST_TMPDIR/load.out")" = "Loaded image: big:1" ]
	echo "agent VmRSS before $before kB, peak $peak kB during the load"
	[ $((peak - before)) -lt 30000 ]
	# stdin redirected from the file goes by path too
	berth rmi big:1 >/dev/null
	run berth image load <"$BATS_TEST_TMPDIR/big.tar"
	[ "$output" = "Loaded image: big:1" ]
	berth rmi big:1 >/dev/null
}

@test "a body above --max-body-size is refused with a clear error; files still load" {
	berth_stop
	BERTH_MAX_BODY_SIZE=1m berth_start
	run sh -c "cat '$(busybox_tar)' | berth image import - piped:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the archive is larger than the agent takes in a request body"* ]]
	run berth image import "$(busybox_tar)" viafile:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	# a small body still goes through
	berth image save -o "$BATS_TEST_TMPDIR/small.tar" viafile:1
	head -c 1000 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	run sh -c "cat '$BATS_TEST_TMPDIR/junk' | berth image load"
	[ "$status" -eq 1 ]
	[[ "$output" != *"larger than"* ]]
	# paths the worker must not open
	run curl -sS --unix-socket "$BERTH_RUN/agent.sock" -X POST "http://x/images/load?fromSrc=/etc"
	[ "$output" = '{"message":"/etc is not a regular file"}' ]
	run curl -sS --unix-socket "$BERTH_RUN/agent.sock" -X POST "http://x/images/load?fromSrc=etc/passwd"
	[[ "$output" == *"fromSrc must be - (the request body) or the absolute path"* ]]
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	run timeout 10 curl -sS --unix-socket "$BERTH_RUN/agent.sock" -X POST \
		"http://x/images/create?fromSrc=$BATS_TEST_TMPDIR/fifo"
	[[ "$output" == *"fifo is not a regular file"* ]]
	run berth ps
	[ "$status" -eq 0 ]
}
