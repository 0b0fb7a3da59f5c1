#!/usr/bin/env bats
# Faults: kill -9 of the agent in the middle of a burst of `run -d`, then a restart. Whatever
# the CLI reported started runs and is listed once; nothing is left without a container.
# (The OOM-killed container, Exited (137) and OOMKilled, is covered in runtime.bats.)

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
}

# The container IDs whose memory cgroup exists (one per live container).
cgroup_ids() {
	local d=/sys/fs/cgroup/memory/$BERTH_CGROUP_PARENT
	[ -e /sys/fs/cgroup/cgroup.controllers ] && d=/sys/fs/cgroup/$BERTH_CGROUP_PARENT # v2
	[ -d "$d" ] || return 0
	find "$d" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
}

@test "kill -9 of the agent during run -d of 20: the started run, once each, nothing orphaned" {
	ids=$BATS_TEST_TMPDIR/ids errs=$BATS_TEST_TMPDIR/errs
	: >"$ids"
	(
		for i in $(seq 20); do
			timeout 20 berth run -d busybox sleep 600 >>"$ids" 2>>"$errs"
		done
	) &
	loop=$!
	wait_for 30 sh -c "[ \$(grep -c . '$ids') -ge 4 ]"
	kill -9 "$(cat "$BERTH_RUN/agent.pid")"
	timeout 120 tail --pid="$loop" -f /dev/null
	echo "reported: $(grep -c . "$ids"); errors:"
	cat "$errs" || true
	[ "$(grep -c . "$ids")" -ge 4 ]
	[ "$(grep -c . "$ids")" -lt 20 ] # some runs met the dead agent
	run ! grep -vE '^[0-9a-f]{64}$' "$ids"

	berth system start >/dev/null
	running=$BATS_TEST_TMPDIR/running all=$BATS_TEST_TMPDIR/all
	berth ps -q --no-trunc | sort >"$running"
	berth ps -aq --no-trunc | sort >"$all"
	berth ps -a

	# every reported container runs and is listed
	while read -r id; do
		grep -qx "$id" "$running" || {
			echo "reported $id is not running"
			berth inspect -f '{{.State.Status}} {{.State.Error}}' "$id" || true
			false
		}
	done <"$ids"
	# none is listed twice
	[ -z "$(sort "$all" | uniq -d)" ]
	[ -z "$(berth ps -q | sort | uniq -d)" ]
	# one shim per running container, one cgroup per running container
	n=$(grep -c . "$running" || true)
	[ "$(pgrep -xc berth-shim || true)" -eq "$n" ]
	[ "$(pgrep -xc sleep || true)" -eq "$n" ]
	run cgroup_ids
	[ "$output" = "$(cat "$running")" ]
	# no shim socket and no container directory without a listed container
	for s in "$BERTH_RUN"/shims/*.sock; do
		[ -e "$s" ] || continue
		p=$(basename "$s" .sock)
		grep -q "^$p" "$running" || {
			echo "orphaned shim socket $s"
			false
		}
	done
	for d in "$BERTH_ROOT"/containers/*/; do
		[ -d "$d" ] || continue
		grep -qx "$(basename "$d")" "$all" || {
			echo "orphaned container directory $d"
			false
		}
	done
	# no overlay mount was left behind in the agent's namespace
	run ! grep -F "$BERTH_ROOT/containers" /proc/self/mountinfo

	# and they still work: stop and remove every one
	berth rm -f $(berth ps -aq) >/dev/null
	[ -z "$(berth ps -aq)" ]
	wait_for 10 sh -c '[ -z "$(pgrep -x berth-shim)" ]'
	run cgroup_ids
	[ -z "$output" ]
}

@test "a create the agent died in (no config.json yet) is cleaned up at restart" {
	berth run -d --name keep busybox sleep 600 >/dev/null
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	half=$(printf 'ab%.0s' $(seq 32))
	mkdir -p "$BERTH_ROOT/containers/$half/upper"
	berth system start >/dev/null
	[ ! -e "$BERTH_ROOT/containers/$half" ]
	run berth ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == "keep Up "* ]]
	grep -q "half-created" "$BERTH_RUN/agent.log"
	berth rm -f keep >/dev/null
}

# The agent refuses to run twice on one $BERTH_RUN by its pid file; an agent that died (a zombie
# not yet reaped, as right after a kill -9) does not count.
@test "a dead agent's pid file does not keep a new agent from starting" {
	local dir=$BATS_TEST_TMPDIR
	mkdir -p "$dir/run" "$dir/root"
	cp "$(command -v sleep)" "$dir/berth-agent"
	# A zombie named berth-agent: its parent does not reap it for 30 s.
	python3 -c '
import subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "0"])
print(p.pid, flush=True)
time.sleep(30)
' "$dir/berth-agent" >"$dir/run/agent.pid" 2>/dev/null </dev/null 3>&- &
	local parent=$!
	wait_for 10 bash -c "[ -s '$dir/run/agent.pid' ] && grep -q '^State:.*Z' /proc/\$(cat '$dir/run/agent.pid')/status"
	BERTH_RUN="$dir/run" BERTH_ROOT="$dir/root" berth-agent >"$dir/agent.log" 2>&1 </dev/null 3>&- &
	local agent=$!
	wait_for 10 curl -sf --unix-socket "$dir/run/agent.sock" http://x/_ping >/dev/null ||
		{ cat "$dir/agent.log"; false; }
	[ "$(cat "$dir/run/agent.pid")" = "$agent" ]
	kill "$agent" "$parent"
	wait "$agent"
}
