#!/usr/bin/env bats
# The agent writes its state files off its loop (container_save.c): kill -9 of the agent with
# writes still queued loses nothing a client was told. The writer waits 150 ms before each
# write here (BERTH_TEST_STATE_WRITE_DELAY_MS) so that a kill falls in that window.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export BERTH_TEST_STATE_WRITE_DELAY_MS=150
	berth_start
	berth_import_busybox
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
}

restart_agent() {
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	berth system start >/dev/null
}

@test "kill -9 of the agent during a burst of 40 creates: every acknowledged container comes back" {
	ids=$BATS_TEST_TMPDIR/ids
	: >"$ids"
	for i in $(seq 40); do
		(timeout 30 berth create --name "burst$i" busybox sleep 600 >>"$ids" 2>/dev/null) &
	done
	wait_for 30 sh -c "[ \$(grep -c . '$ids') -ge 10 ]"
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	wait
	acked=$(grep -c . "$ids")
	echo "acknowledged: $acked"
	[ "$acked" -ge 10 ]
	run ! grep -vE '^[0-9a-f]{64}$' "$ids"
	berth system start >/dev/null
	all=$BATS_TEST_TMPDIR/all
	berth ps -aq --no-trunc | sort >"$all"
	while read -r id; do
		grep -qx "$id" "$all" || {
			echo "acknowledged $id is gone after the restart"
			false
		}
		[ "$(berth inspect -f '{{.State.Status}}' "$id")" = created ]
	done <"$ids"
	# what exists is whole: each listed container can be inspected and started
	for id in $(head -3 "$all"); do
		berth start "$id" >/dev/null
		[ "$(berth inspect -f '{{.State.Status}}' "$id")" = running ]
	done
	berth rm -f $(berth ps -aq) >/dev/null
}

@test "kill -9 of the agent right after run -d (its state not yet on disk): running after restart" {
	id=$(berth run -d busybox sleep 600)
	restart_agent
	run berth inspect -f '{{.State.Status}} {{.State.Pid}}' "$id"
	echo "$output"
	[[ "$output" == "running "[1-9]* ]]
	grep -q "ran after its last saved state" "$BERTH_RUN/agent.log"
	# and it is the same process, still under the agent's control
	berth stop -t 1 "$id" >/dev/null
	[ "$(berth inspect -f '{{.State.Status}}' "$id")" = exited ]
	berth rm "$id" >/dev/null
}

@test "kill -9 of the agent right after a run -d whose process exited: its exit is taken" {
	id=$(berth run -d busybox sh -c 'exit 3')
	wait_for 10 sh -c "[ -e '$BERTH_ROOT/containers/$id/exit.json' ]"
	restart_agent
	run berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
	echo "$output"
	[ "$output" = "exited 3" ]
	berth rm "$id" >/dev/null
}

@test "kill -9 of the agent right after stop of a --restart always container: it stays stopped" {
	id=$(berth run -d --restart always busybox sleep 600)
	berth stop -t 1 "$id" >/dev/null
	restart_agent
	sleep 1
	run berth inspect -f '{{.State.Status}} {{.RestartCount}}' "$id"
	echo "$output"
	[ "$output" = "exited 0" ]
	berth rm "$id" >/dev/null
}
