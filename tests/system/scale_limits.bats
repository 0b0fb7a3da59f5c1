#!/usr/bin/env bats
# Limits that keep a compose file from taking the host down (docs/limits.md): the replica limit
# per service (compose up from the file or --scale, compose scale, berth scale, and a saved
# project over it at the scheduler's start), a published port the host already uses (the
# service fails with the agent's message, backing off instead of spinning), and the daemons'
# accept path at a low fd limit (paused, not spinning and logging).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	berth compose -p lim down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# compose.yaml with one busybox service and the given extra lines under it.
service() {
	{
		echo "services:"
		echo "  web:"
		echo "    image: busybox"
		echo "    command: sleep 100000"
		echo "    network_mode: none"
		for l in "$@"; do echo "    $l"; done
	} >compose.yaml
}

# CPU ticks (user + system) the process $1 has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

@test "scale: 25000 in the file is refused with the limit, nothing is made" {
	service "scale: 25000"
	run -1 timeout 30 berth compose -p lim up -d
	[[ "$output" == *'service "web": scale 25000 is above the limit of 10000 replicas per service'* ]]
	[ -z "$(berth ps -qa)" ]
	[ ! -e "$BERTH_ROOT/scheduler/projects/lim.json" ]
	service "deploy:" "  replicas: 25000"
	run -1 timeout 30 berth compose -p lim up -d
	[[ "$output" == *'scale 25000 is above the limit of 10000 replicas'* ]]
	service
	run -1 timeout 30 berth compose -p lim up -d --scale web=10001
	[[ "$output" == *'scale 10001 is above the limit of 10000 replicas'* ]]
	[ -z "$(berth ps -qa)" ]
}

@test "compose scale and berth scale above the limit are refused; the service keeps its count" {
	service
	berth compose -p lim up -d >/dev/null
	[ "$(berth ps -q | wc -l)" = 1 ]
	run -1 berth compose -p lim scale web=25000
	[[ "$output" == *'service "web": scale 25000 is above the limit of 10000 replicas per service'* ]]
	run -1 berth scale -p lim web=20000
	[[ "$output" == *'scale 20000 is above the limit'* ]]
	sleep 1
	[ "$(berth ps -qa | wc -l)" = 1 ]
	[ "$(jq .replicas.web "$BERTH_ROOT/scheduler/projects/lim.json")" = 1 ]
}

@test "a saved project over the limit does not replay a storm at the scheduler's start" {
	service
	berth compose -p lim up -d >/dev/null
	berth system stop >/dev/null
	f="$BERTH_ROOT/scheduler/projects/lim.json"
	jq '.replicas.web = 25000' "$f" >"$f.new" && mv "$f.new" "$f"
	berth_start
	sleep 2
	# Left as it was: the one replica, no creates, and the reason shown.
	[ "$(berth ps -qa | wc -l)" = 1 ]
	run berth compose -p lim ps
	[[ "$output" == *'web: error: scale 25000 is outside 0-10000'* ]]
	grep -q 'scale 25000 is outside 0-10000' "$BERTH_RUN/scheduler.log"
	[ "$(jq .replicas.web "$f")" = 25000 ]
	# A count within the limit takes over.
	berth compose -p lim scale web=2
	wait_for 20 test "$(berth ps -q | wc -l)" = 2
	[ "$(jq .replicas.web "$f")" = 2 ]
}

@test "a published port the host holds fails the service with the message, backing off" {
	python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9555)); s.listen(); time.sleep(120)' &
	HOLDER=$!
	wait_for 10 bash -c 'ss -ltn | grep -q ":9555 "'
	service 'ports: ["9555:80"]'
	sed -i '/network_mode/d' compose.yaml
	# Today: a 409 taken for "exists already", retried ~580 times a second, up never returns.
	run -1 timeout 30 berth compose -p lim up -d
	[[ "$output" == *'0.0.0.0:9555'*'address already in use'* ]]
	run berth compose -p lim ps
	[[ "$output" == *'web: error: '*'0.0.0.0:9555'* ]]
	# No spin: over 3 s the scheduler uses little CPU and writes few lines (backoff 1, 2, 4 s).
	pid=$(cat "$BERTH_RUN/scheduler.pid")
	t0=$(ticks "$pid")
	l0=$(wc -l <"$BERTH_RUN/scheduler.log")
	sleep 3
	[ $(($(ticks "$pid") - t0)) -lt 50 ]
	[ $(($(wc -l <"$BERTH_RUN/scheduler.log") - l0)) -lt 10 ]
	[ -z "$(berth ps -qa)" ]
	# Once the port is free the backoff ends with the replica running (bounded: 64 s max).
	kill "$HOLDER"
	HOLDER=
	berth compose -p lim up -d
	[ "$(berth ps -q | wc -l)" = 1 ]
}

@test "netd's own DNS port (53) published: fails with the message, no spin" {
	service 'ports: ["53:80"]'
	sed -i '/network_mode/d' compose.yaml
	run -1 timeout 30 berth compose -p lim up -d
	[[ "$output" == *':53'* ]]
	[[ "$output" == *'already in use'* || "$output" == *'port is already allocated'* ]]
	pid=$(cat "$BERTH_RUN/scheduler.pid")
	t0=$(ticks "$pid")
	sleep 2
	[ $(($(ticks "$pid") - t0)) -lt 40 ]
}

@test "at a low fd limit the agent pauses accepting: bounded log, answers after" {
	berth system stop >/dev/null
	(ulimit -n 64 && berth_start)
	l0=$(wc -l <"$BERTH_RUN/agent.log")
	# 150 connections against 64 fds for 2 s, then closed.
	python3 - "$BERTH_RUN/agent.sock" <<'PY'
import socket, sys, time
socks = []
for i in range(150):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(2)
for s in socks:
    s.close()
PY
	wait_for 10 berth ps
	grep -q 'cannot accept: Too many open files: pausing' "$BERTH_RUN/agent.log"
	# Today: libevent's "Error from accept() call" for every turn of the loop.
	[ $(($(wc -l <"$BERTH_RUN/agent.log") - l0)) -lt 20 ]
	run berth run --rm --network none busybox echo alive
	[ "$output" = alive ]
	berth system stop >/dev/null
	berth_start
}

@test "an idle API connection is closed after BERTH_HTTP_IDLE_TIMEOUT; a stream is not" {
	berth system stop >/dev/null
	BERTH_HTTP_IDLE_TIMEOUT=2 berth_start
	run python3 - "$BERTH_RUN/agent.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
t = time.time()
print("closed" if s.recv(1) == b"" else "data", round(time.time() - t))
PY
	[ "$output" = "closed 2" ]
	# The events stream and a long wait outlive it.
	run -124 timeout 4 curl -sN --unix-socket "$BERTH_RUN/agent.sock" http://d/events
	berth run -d --name idle-wait --network none busybox sleep 3 >/dev/null
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST http://d/containers/idle-wait/wait
	[[ "$output" == *'"StatusCode":0'* ]]
	berth system stop >/dev/null
	berth_start
}

# RSS of the daemon $1 (agent, netd, scheduler), in KB; 0 in a sanitizer build (its shadow
# memory and quarantine make any process big, and keep what was freed).
rss_kb() {
	grep -qa __asan_init "$BERTH_BIN/berth-agent" && { echo 0; return; }
	awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$BERTH_RUN/$1.pid")/status"
}

@test "-p 10000-60000: refused with the limit, the agent's memory stays bounded" {
	run -125 berth run -d --name many-ports -p 10000-60000:10000-60000 busybox sleep 100
	[[ "$output" == *'too many ports: 50001 exposed, 50001 published (a container may have at most 4096)'* ]]
	# Today: 130 MB kept by the agent after this create.
	[ "$(rss_kb agent)" -lt 20000 ]
	[ -z "$(berth ps -qa)" ]
}

@test "4096 published ports (the limit) work, and netd survives its descriptors passing 1024" {
	berth run -d --name max-ports -p 20000-24095:20000-24095 busybox sleep 100 >/dev/null
	[ "$(berth port max-ports | wc -l)" = 4096 ]
	[ "$(berth port max-ports 24095/tcp)" = 0.0.0.0:24095 ]
	# Today netd aborts here (libnftables' select() on a descriptor above FD_SETSIZE).
	berth run -d --name after-ports -p 24096:80 busybox sleep 100 >/dev/null
	kill -0 "$(cat "$BERTH_RUN/netd.pid")"
	[ "$(rss_kb agent)" -lt 40000 ]
	berth rm -f max-ports after-ports >/dev/null
}
