#!/usr/bin/env bats
# Restart policies enforced by the agent (no, on-failure[:N], always, unless-stopped), Docker's
# backoff and its labels, the user's stops, agent restarts, and the re-adoption of a container
# started a second time.

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
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

events() { # events SINCE [FILTER-JSON]: the container events from SINCE until now
	curl -s --max-time 10 --unix-socket "$BERTH_RUN/agent.sock" -G \
		--data-urlencode "since=$1" --data-urlencode "until=$(($(date +%s) + 1))" \
		--data-urlencode "filters=${2:-{\"type\":[\"container\"]\}}" "http://x/v1.41/events"
}

agent_restart() {
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	berth system start >/dev/null
}

status() { berth inspect -f '{{.State.Status}} {{.RestartCount}}' "$1"; }

@test "restart, then kill -9 of the agent: the container is re-adopted running (10 times)" {
	berth run -d --name twice busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	for i in $(seq 10); do
		berth restart twice >/dev/null
		pid=$(berth inspect -f '{{.State.Pid}}' twice)
		agent_restart
		run berth ps -a --format '{{.Names}} {{.Status}}'
		echo "round $i: $output"
		[[ "$output" == "twice Up "* ]]
		[ "$(berth inspect -f '{{.State.Pid}}' twice)" = "$pid" ]
		kill -0 "$pid"
	done
}

@test "stop + start, then kill -9 of the agent: running" {
	berth run -d --name ss busybox sleep 600
	for i in 1 2 3; do
		berth stop -t 0 ss >/dev/null
		berth start ss >/dev/null
		agent_restart
		run berth ps --format '{{.Names}} {{.Status}}'
		[[ "$output" == "ss Up "* ]]
	done
}

@test "--restart always: the container killed from the host comes back, same id, name, address, log" {
	id=$(berth run -d --restart always --name alw busybox sh -c 'echo started; exec sleep 600')
	sleep 1.1 # the events below start at the next second
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' alw)
	pid=$(berth inspect -f '{{.State.Pid}}' alw)
	since=$(date +%s)
	kill -9 "$pid"
	wait_for 10 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' alw)\" = 'running 1' ]"
	[ "$(berth inspect -f '{{.Id}} {{.Name}}' alw)" = "$id /alw" ]
	[ "$(berth inspect -f '{{.NetworkSettings.IPAddress}}' alw)" = "$ip" ]
	[ "$(berth inspect -f '{{.State.Pid}}' alw)" != "$pid" ]
	wait_for 5 sh -c "[ \$(berth logs alw | grep -c started) -eq 2 ]"
	# Docker's sequence for a policy restart: die, then start (no "restart" event)
	run events "$since" '{"type":["container"],"container":["alw"]}'
	actions=$(grep -o '"Action":"[a-z_: ]*"' <<<"$output" | cut -d'"' -f4 | tr '\n' ' ')
	echo "$actions"
	[ "$actions" = "die start " ] # (the run's create and start came before since)
	[[ "$output" == *'"exitCode":"137"'* ]]
}

@test "backoff: a container exiting at once restarts after 0.1, 0.2, 0.4, 0.8 s" {
	since=$(date +%s)
	berth run -d --restart always --name crashy busybox sh -c 'exit 3'
	wait_for 10 sh -c "[ \$(berth inspect -f '{{.RestartCount}}' crashy) -ge 5 ]"
	berth stop crashy
	run events "$since" '{"type":["container"],"event":["start","die"],"container":["crashy"]}'
	python3 - "$output" <<'EOF'
import json, sys
ev = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
starts = [e["timeNano"] for e in ev if e["Action"] == "start"]
dies = [e["timeNano"] for e in ev if e["Action"] == "die"]
gaps = [(b - a) / 1e9 for a, b in zip(starts, starts[1:])]
lat = [(s - d) / 1e9 for d, s in zip(dies, starts[1:])]
print("gaps between starts", ["%.3f" % g for g in gaps])
print("die to start", ["%.3f" % g for g in lat])
want = [0.1, 0.2, 0.4, 0.8]
assert len(gaps) >= 4, gaps
# events are stamped when published, so a gap may come out a hair under its backoff
for g, w in zip(gaps, want):
    assert w - 0.01 <= g <= w + 0.15, (g, w)
# the agent's own part: die to start minus the backoff, well under 50 ms
for l, w in zip(lat, want):
    assert l - w < 0.05, (l, w)
EOF
}

@test "backoff labels: berth.restart.backoff-min and multiplier" {
	since=$(date +%s)
	berth run -d --restart always --name lab --label berth.restart.backoff-min=300ms \
		--label berth.restart.backoff-multiplier=1 busybox sh -c 'exit 3'
	wait_for 10 sh -c "[ \$(berth inspect -f '{{.RestartCount}}' lab) -ge 3 ]"
	berth stop lab
	run events "$since" '{"type":["container"],"event":["start"],"container":["lab"]}'
	python3 - "$output" <<'EOF'
import json, sys
starts = [json.loads(l)["timeNano"] for l in sys.argv[1].splitlines() if l.strip()]
gaps = [(b - a) / 1e9 for a, b in zip(starts, starts[1:])]
print(gaps)
assert len(gaps) >= 2
# events are stamped when published, so a gap may come out a hair under its backoff
for g in gaps[:2]:
    assert 0.29 <= g <= 0.45, g
EOF
}

@test "restarting: ps shows Restarting (N), stop cancels and it stays stopped across an agent restart" {
	berth run -d --restart always --name slow --label berth.restart.backoff-min=30s busybox sh -c 'exit 4'
	wait_for 5 sh -c "[ \"\$(berth inspect -f '{{.State.Status}}' slow)\" = restarting ]"
	run berth ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == "slow Restarting (4) "*" ago" ]]
	run berth inspect -f '{{.State.Restarting}} {{.State.Running}} {{.RestartCount}}' slow
	[ "$output" = "true false 1" ]
	berth stop slow
	[ "$(status slow)" = "exited 1" ]
	agent_restart
	sleep 0.5
	[ "$(status slow)" = "exited 1" ]
}

@test "on-failure:2 stops after 2 retries; on-failure ignores exit 0; no stays down" {
	berth run -d --restart on-failure:2 --name of2 busybox sh -c 'echo run; exit 3'
	berth run -d --restart on-failure --name of0 busybox true
	berth run -d --restart no --name no1 busybox sh -c 'exit 3'
	wait_for 10 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' of2)\" = 'exited 2' ]"
	sleep 1
	[ "$(status of2)" = "exited 2" ]
	[ "$(berth logs of2 | grep -c run)" -eq 3 ]
	run berth ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" == *"of2 Exited (3) "* ]]
	[ "$(status of0)" = "exited 0" ]
	[ "$(status no1)" = "exited 0" ]
	[ "$(berth inspect -f '{{.State.ExitCode}}' no1)" = 3 ]
}

@test "berth stop of an always container: stays stopped, also across an agent restart; start resets the count" {
	berth run -d --restart always --name st busybox sleep 600
	kill -9 "$(berth inspect -f '{{.State.Pid}}' st)"
	wait_for 10 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' st)\" = 'running 1' ]"
	berth stop -t 1 st
	sleep 0.5
	[ "$(status st)" = "exited 1" ]
	agent_restart
	sleep 0.5
	[ "$(status st)" = "exited 1" ]
	berth kill st 2>/dev/null || true
	berth start st
	[ "$(status st)" = "running 0" ]
	# kill through the API is a user stop too
	berth kill st
	sleep 0.5
	[ "$(status st)" = "exited 0" ]
}

@test "unless-stopped restarts after a crash, not after a user stop; a reboot brings back always only" {
	berth run -d --restart unless-stopped --name us busybox sleep 600
	berth run -d --restart always --name al busybox sleep 600
	kill -9 "$(berth inspect -f '{{.State.Pid}}' us)"
	wait_for 10 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' us)\" = 'running 1' ]"
	berth stop -t 0 us al
	agent_restart
	sleep 0.5
	[ "$(status us)" = "exited 1" ]
	[ "$(status al)" = "exited 0" ]
	# A host reboot (another boot id) is Docker's daemon start: always comes back, even stopped.
	echo "some-other-boot" >"$BERTH_ROOT/boot_id"
	agent_restart
	wait_for 5 sh -c "[ \"\$(berth inspect -f '{{.State.Status}}' al)\" = running ]"
	[ "$(status us)" = "exited 1" ]
}

@test "an always container whose process died while the agent was down comes back" {
	berth run -d --restart always --name down busybox sleep 600
	pid=$(berth inspect -f '{{.State.Pid}}' down)
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	kill9_wait "$pid"
	berth system start >/dev/null
	wait_for 10 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' down)\" = 'running 1' ]"
}

@test "force removal of a restarting container; plain rm is refused" {
	berth run -d --restart always --name rr --label berth.restart.backoff-min=30s busybox true
	wait_for 5 sh -c "[ \"\$(berth inspect -f '{{.State.Status}}' rr)\" = restarting ]"
	run berth rm rr
	[ "$status" -ne 0 ]
	[[ "$output" == *"You cannot remove a restarting container"* ]]
	berth rm -f rr
	run berth inspect rr
	[ "$status" -ne 0 ]
}

@test "bad restart policies and backoff labels" {
	run berth run -d --restart sometimes busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid restart policy"* ]]
	run berth run -d --restart always:3 busybox true
	[ "$status" -eq 125 ]
	run berth create --label berth.restart.backoff-min=soon --restart always busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"berth.restart.backoff-min"* ]]
}

@test "berth restart: Docker's events, restart after start" {
	berth run -d --name ev busybox sleep 600
	sleep 1.1
	since=$(date +%s)
	berth restart -t 0 ev
	run events "$since" '{"type":["container"],"container":["ev"]}'
	actions=$(grep -o '"Action":"[a-z_: ]*"' <<<"$output" | cut -d'"' -f4 | tr '\n' ' ')
	echo "$actions"
	[ "$actions" = "kill die stop start restart " ]
}

@test "backoff-min 0: no backoff at all, a crash-looping container restarts at once every time" {
	since=$(date +%s)
	berth run -d --restart on-failure:20 --name zero --label berth.restart.backoff-min=0 \
		busybox sh -c 'exit 3'
	# With Docker's backoff 20 restarts would take minutes (0.1 s doubling to 1 min).
	wait_for 20 sh -c "[ \"\$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' zero)\" = 'exited 20' ]"
	run events "$since" '{"type":["container"],"event":["start","die"],"container":["zero"]}'
	python3 - "$output" <<'EOF'
import json, sys
ev = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
acts = [e["Action"] for e in ev]
assert acts == ["start", "die"] * 21, acts
t = [e["timeNano"] for e in ev]
lat = sorted((t[i + 1] - t[i]) / 1e9 for i in range(1, len(t) - 1, 2))
print("die to start", ["%.4f" % l for l in lat])
# bounds generous enough for a sanitizer build on a busy machine; the default first backoff
# alone is 0.1 s, and 20 of them doubling would be minutes
assert lat[len(lat) // 2] < 0.1, lat
assert (t[-1] - t[0]) / 1e9 < 10, (t[-1] - t[0]) / 1e9
EOF
}
