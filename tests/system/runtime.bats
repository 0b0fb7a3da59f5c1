#!/usr/bin/env bats
# What a container is, seen from inside and from the host: namespaces, filesystem, limits,
# capabilities, --init, the json-file log, and the shim outliving the agent.

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

# The shim of a container is its init's parent (pooled shims adopt the init as subreaper).
# Counting processes named berth-shim is not enough: a pool shim being spawned carries that
# name for a moment before it calls itself berth-pool.
container_shim() {
	local pid
	pid=$(berth inspect -f '{{.State.Pid}}' "$1")
	[ -n "$pid" ] && [ "$pid" != 0 ] && ps -o ppid= -p "$pid" | tr -d ' '
}

@test "the container's view: hostname, /etc files, PID 1, only loopback, /dev" {
	run berth run --rm --hostname box1 busybox sh -c \
		'hostname; cat /etc/hostname; grep -c localhost /etc/hosts; echo $$; ip -o link | cut -d: -f2; ls /dev'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = box1 ]
	[ "${lines[1]}" = box1 ]
	[ "${lines[2]}" = 2 ]
	[ "${lines[3]}" = 1 ]
	[ "${lines[4]}" = " lo" ]
	[[ "$output" == *$'null\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero'* ]]
	id=$(berth run -d busybox hostname)
	berth wait "$id" >/dev/null
	run berth logs "$id"
	[ "$output" = "${id:0:12}" ]
}

@test "masked and read-only paths, read-only /sys, Docker's capabilities" {
	run berth run --rm busybox sh -c \
		'wc -c </proc/timer_list; ls /sys/firmware | wc -l; touch /sys/x; echo 1 >/proc/sys/kernel/domainname; grep -E "^Cap(Eff|Bnd)" /proc/self/status'
	[[ "$output" == *$'0\n0\n'* ]]
	[[ "$output" == *"touch: /sys/x: Read-only file system"* ]]
	[[ "$output" == *"domainname: Read-only file system"* ]]
	[[ "$output" == *$'CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb'* ]]
	run berth run --rm --cap-add NET_ADMIN --cap-drop CHOWN busybox grep CapEff /proc/self/status
	[ "$output" = $'CapEff:\t00000000a80435fa' ]
	run berth run --rm -u nobody busybox sh -c 'id; grep CapEff /proc/self/status'
	[ "${lines[0]}" = "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" ]
	[ "${lines[1]}" = $'CapEff:\t0000000000000000' ]
}

@test "--read-only, -w is created, -e reaches the process" {
	run -1 berth run --rm --read-only -w /made/here -e FOO=bar busybox sh -c 'pwd; echo $FOO; touch /x'
	[ "${lines[0]}" = /made/here ]
	[ "${lines[1]}" = bar ]
	[[ "$output" == *"touch: /x: Read-only file system"* ]]
}

@test "127, 126: Docker's messages, the container left Exited with the code" {
	run -127 berth run --name nf busybox nosuchcmd
	[ "$status" -eq 127 ]
	[[ "$output" == *'exec: "nosuchcmd": executable file not found in $PATH'* ]]
	run berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' nf
	[ "$output" = "exited 127" ]
	run -126 berth run --rm busybox /etc
	[ "$status" -eq 126 ]
	[[ "$output" == *'exec: "/etc": is a directory'* ]]
	run -126 berth run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "--memory: the OOM killer gives 137 and OOMKilled" {
	run -137 berth run --name hog --memory 8m busybox sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived'
	[ "$status" -eq 137 ]
	[[ "$output" != *survived* ]]
	run berth inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' hog
	[ "$output" = "137 true" ]
	run berth ps -a --filter name=hog --format '{{.Status}}'
	[[ "$output" == "Exited (137) "* ]]
	run berth inspect hog
	[[ "$output" == *'"OOMKilled": true'* ]]
}

@test "--pids-limit stops forks" {
	run berth run --rm --pids-limit 4 busybox sh -c 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait'
	[[ "$output" == *"can't fork"* ]]
}

@test "--init: PID 1 forwards SIGTERM and reaps; without it stop needs SIGKILL" {
	run berth run --rm --init busybox sh -c '(sleep 0.1 &); sleep 0.4; ps -o stat | grep -c Z; ps -o pid,comm | grep -c "1 init"'
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 1 ]
	berth run -d --init --name inited busybox sleep 60 >/dev/null
	SECONDS=0
	berth stop -t 5 inited
	[ $SECONDS -lt 3 ]
	run berth inspect -f '{{.State.ExitCode}}' inited
	[ "$output" = 143 ]
	berth run -d --name plain busybox sleep 60 >/dev/null
	SECONDS=0
	berth stop -t 1 plain
	[ $SECONDS -ge 1 ]
	run berth inspect -f '{{.State.ExitCode}}' plain
	[ "$output" = 137 ]
}

@test "the json-file log holds every line with its stream; no cgroup is left after exit" {
	id=$(berth run -d busybox sh -c 'echo one; echo two >&2; printf tail')
	berth wait "$id" >/dev/null
	log="$BERTH_ROOT/containers/$id/$id-json.log"
	run cat "$log"
	[[ "${lines[0]}" =~ ^\{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"[0-9T:.-]+Z\"\}$ ]]
	[[ "$output" == *'{"log":"two\n","stream":"stderr","time":"'* ]]
	[[ "$output" == *'{"log":"tail","stream":"stdout","time":"'* ]]
	run cat "$BERTH_ROOT/containers/$id/exit.json"
	[[ "$output" == *'"exit_code":0'* ]]
	for c in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT"/"$id"; do
		[ ! -d "$c" ]
	done
}

@test "the shim is detached: killing the agent's process group spares the container" {
	berth run -d --name survivor busybox sh -c 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done' >/dev/null
	# (its pid file: pgrep -x berth-agent also finds a child it is spawning, before the exec)
	agent=$(cat "$BERTH_RUN/agent.pid")
	shim=$(container_shim survivor)
	[ -n "$shim" ]
	[ "$(ps -o comm= -p "$shim")" = berth-shim ]
	[ "$(ps -o sid= -p "$shim")" != "$(ps -o sid= -p "$agent")" ]
	[ "$(ps -o pgid= -p "$shim")" != "$(ps -o pgid= -p "$agent")" ]
	# the whole group the agent runs in, unless that is our own
	pgid=$(ps -o pgid= -p "$agent" | tr -d ' ')
	if [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
		kill -9 -- "-$pgid"
	else
		kill -9 "$agent"
	fi
	wait_for 10 pid_gone "$agent"
	sleep 0.5
	kill -0 "$shim"
	berth_start
	run berth inspect -f '{{.State.Status}}' survivor
	[ "$output" = running ]
	berth stop -t 0 survivor >/dev/null
	run berth logs survivor
	[ "${lines[0]}" = 0 ]
	[ "${#lines[@]}" -ge 5 ]
}

@test "an exit while the agent is down is not lost" {
	berth run -d --name quick busybox sh -c 'sleep 1; exit 9' >/dev/null
	shim=$(container_shim quick)
	[ -n "$shim" ]
	pid=$(berth inspect -f '{{.State.Pid}}' quick)
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	wait_for 10 pid_gone "$pid"
	berth_start
	wait_for 10 bash -c '[ "$(berth inspect -f "{{.State.Status}} {{.State.ExitCode}}" quick)" = "exited 9" ]'
	# the container's shim has gone once it recorded the exit
	wait_for 10 pid_gone "$shim"
}

@test "a killed shim: the container is reported dead, not left unaccounted" {
	berth run -d --name orphan busybox sleep 60 >/dev/null
	shim=$(container_shim orphan)
	[ "$(ps -o comm= -p "$shim")" = berth-shim ]
	kill -9 "$shim"
	wait_for 5 sh -c "berth inspect -f '{{.State.Status}}' orphan | grep -qx exited"
	run berth inspect -f '{{.State.ExitCode}}' orphan
	[ "$output" = 137 ]
	[ -z "$(pgrep -x sleep)" ]
}

@test "exec joins the container: namespaces, cwd, user, 127" {
	berth run -d --name ex --hostname exh busybox sleep 60 >/dev/null
	run berth exec -w /tmp -u nobody ex sh -c 'hostname; pwd; id -u; echo $$'
	[ "${lines[0]}" = exh ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 65534 ]
	[ "${lines[3]}" -gt 1 ]
	run -127 berth exec ex nosuch
	[ "$status" -eq 127 ]
}

@test "-it: the container's terminal has the client's size before the command runs" {
	command -v script >/dev/null || skip "util-linux script is not installed"
	for i in 1 2 3; do
		run in_pty "stty rows 37 cols 101; berth run -it --rm busybox stty size"
		[ "$output" = "37 101" ]
	done
	run in_pty "stty rows 20 cols 70; berth run -t --rm busybox sh -c 'stty size; tty'"
	[ "$output" = $'20 70\n/dev/pts/0' ]
}

@test "exec -it: a terminal of the client's size" {
	command -v script >/dev/null || skip "util-linux script is not installed"
	berth run -d --name tt busybox sleep 60 >/dev/null
	run in_pty "stty rows 33 cols 90; berth exec -it tt sh -c 'tty; stty size'"
	[ "$output" = $'/dev/pts/0\n33 90' ]
	run in_pty "stty rows 34 cols 91; berth exec -t tt stty size"
	[ "$output" = "34 91" ]
}

@test "HOSTNAME and the hostname are the short ID, or --hostname" {
	run berth run --name hn busybox sh -c 'echo $HOSTNAME; hostname; cat /etc/hostname'
	[ "$status" -eq 0 ]
	id=$(berth inspect -f '{{.Id}}' hn)
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}$ ]]
	[ "${lines[0]}" = "${id:0:12}" ]
	[ "${lines[1]}" = "${id:0:12}" ]
	[ "${lines[2]}" = "${id:0:12}" ]
	run berth inspect -f '{{.Config.Hostname}}' hn
	[ "$output" = "${id:0:12}" ]
	run berth run --rm --hostname web1 busybox sh -c 'echo $HOSTNAME; hostname'
	[ "$output" = $'web1\nweb1' ]
	run berth run --rm -e HOSTNAME=mine busybox sh -c 'echo $HOSTNAME'
	[ "$output" = mine ]
	# exec sees the container's environment, as docker exec does
	berth run -d --name hn2 busybox sleep 60 >/dev/null
	id=$(berth inspect -f '{{.Id}}' hn2)
	run berth exec -e X=1 hn2 sh -c 'echo $HOSTNAME $X $TERM'
	[ "$output" = "${id:0:12} 1" ]
	run berth exec -t hn2 sh -c 'echo $HOSTNAME $TERM'
	[ "$output" = "${id:0:12} xterm"$'\r' ]
}

@test "the shim stays small" {
	# the sanitizers' shadow memory and allocator make any process big
	! grep -qa __asan_init "$BERTH_BIN/berth-shim" || skip "sanitizer build"
	berth run -d --name small busybox sleep 60 >/dev/null
	shim=$(container_shim small)
	anon=$(awk '/^Pss_Anon:/ {print $2}' "/proc/$shim/smaps_rollup")
	echo "shim Pss_Anon ${anon} kB"
	[ "$anon" -lt 200 ]
}
