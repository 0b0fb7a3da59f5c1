#!/usr/bin/env bats
# Bad input through the berth CLI: docker's messages and exit codes, and no state changed.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

@test "unknown flags: exit 125 and a pointer to --help" {
	run --separate-stderr berth run --foo busybox
	[ "$status" -eq 125 ]
	[ "$stderr" = $'unknown flag: --foo\nSee \'berth run --help\'.' ]
	run --separate-stderr berth run -dx busybox
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "unknown shorthand flag: 'x' in -dx" ]
	run --separate-stderr berth ps --bogus
	[ "$status" -eq 125 ]
	[ "${stderr_lines[1]}" = "See 'berth ps --help'." ]
	run --separate-stderr berth container ls --bogus
	[ "${stderr_lines[1]}" = "See 'berth container ls --help'." ]
	run --separate-stderr berth run --name
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "flag needs an argument: --name" ]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "flags after the image belong to the container" {
	run berth run --rm busybox echo -n --foo
	[ "$status" -eq 0 ]
	[ "$output" = "--foo" ]
}

@test "missing arguments and unknown commands" {
	run --separate-stderr berth stop
	[ "$status" -eq 1 ]
	[ "${stderr_lines[0]}" = '"berth stop" requires at least 1 argument.' ]
	run --separate-stderr berth frobnicate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"'frobnicate' is not a berth command"* ]]
	run berth run --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]"* ]]
}

@test "missing image: Unable to find image, the pull's error, exit 125" {
	# The sandbox has no route out: the pull from Docker Hub fails at once, as docker's does.
	run --separate-stderr berth run nosuchimage true
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "Unable to find image 'nosuchimage:latest' locally" ]
	[[ "${stderr_lines[1]}" == "berth: Error response from daemon: "*"registry-1.docker.io/v2/library/nosuchimage/manifests/latest"* ]]
	[ "${stderr_lines[2]}" = "See 'berth run --help'." ]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "name conflict: docker's text and exit 125" {
	id=$(berth run -d --name myweb1 busybox sleep 300)
	run --separate-stderr berth run -d --name myweb1 busybox sleep 300
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "berth: Error response from daemon: Conflict. The container name \"/myweb1\" is already in use by container \"$id\". You have to remove (or rename) that container to be able to reuse that name." ]
	[ "${stderr_lines[1]}" = "See 'berth run --help'." ]
	run berth ps -aq
	[ "${#lines[@]}" -eq 1 ]
}

@test "bad names are refused with exit 125" {
	run --separate-stderr berth run --name 'bad name!' busybox true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"* ]]
}

@test "command not found: exit 127, left Exited (127)" {
	run -127 --separate-stderr berth run --name nf busybox nosuchcmd
	[ "$status" -eq 127 ]
	[[ "$stderr" == "berth: Error response from daemon: "*'exec: "nosuchcmd": executable file not found in $PATH'* ]]
	run berth ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" =~ ^nf\ Exited\ \(127\) ]]
}

@test "command not executable: exit 126, left Exited (126)" {
	run --separate-stderr berth run --name nx busybox /etc
	[ "$status" -eq 126 ]
	[[ "$stderr" == "berth: Error response from daemon: "* ]]
	run berth ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" =~ ^nx\ Exited\ \(126\) ]]
	run --separate-stderr berth run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
}

@test "-it without a terminal" {
	run --separate-stderr berth run -it busybox sh </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = "the input device is not a TTY" ]
}

@test "ambiguous ID prefix" {
	# Make containers until two share a first hex digit.
	for i in $(seq 1 17); do berth create busybox true >/dev/null; done
	prefix=$(berth ps -aq | cut -c1 | sort | uniq -d | head -1)
	[ -n "$prefix" ]
	run --separate-stderr berth rm "$prefix"
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error response from daemon: multiple IDs found with provided prefix: $prefix" ]
}

@test "no such container; partial failures go on and exit 1" {
	berth run -d --name alive busybox sleep 300 >/dev/null
	run --separate-stderr berth stop -t 1 nosuch alive
	[ "$status" -eq 1 ]
	[ "$output" = "alive" ]
	[ "$stderr" = "Error response from daemon: No such container: nosuch" ]
	run --separate-stderr berth inspect nosuch
	[ "$status" -eq 1 ]
	[ "$output" = "[]" ]
	[ "$stderr" = "Error: No such object: nosuch" ]
	run --separate-stderr berth logs nosuch
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error response from daemon: No such container: nosuch" ]
}

@test "rm of a running container says to stop it first" {
	berth run -d --name busy busybox sleep 300 >/dev/null
	run --separate-stderr berth rm busy
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error response from daemon: "*"running container"*"Stop the container before attempting removal or force remove"* ]]
	run berth ps --format '{{.Names}}'
	[ "$output" = "busy" ]
}

@test "start of a removed container" {
	id=$(berth create --name tmp busybox true)
	berth rm tmp
	run --separate-stderr berth start "$id"
	[ "$status" -eq 1 ]
	[ "${stderr_lines[0]}" = "Error response from daemon: No such container: $id" ]
	[ "${stderr_lines[1]}" = "Error: failed to start containers: $id" ]
}

@test "bad -p, --restart and --memory values are client errors" {
	run --separate-stderr berth run -p abc busybox true
	[ "$status" -eq 125 ]
	[[ "$stderr" == "berth: invalid containerPort: abc."* ]]
	run --separate-stderr berth run --rm --restart always busybox true
	[ "$status" -eq 125 ]
	[[ "$stderr" == *"Conflicting options: --restart and --rm"* ]]
	run --separate-stderr berth run -m lots busybox true
	[ "$status" -eq 125 ]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "save to a terminal is refused" {
	if ! command -v script >/dev/null; then skip "no script(1)"; fi
	run script -qec "berth image save busybox" /dev/null
	[[ "$output" == *"cowardly refusing to save to a terminal. Use the -o flag or redirect"* ]]
}

@test "no agent: a clear message" {
	run --separate-stderr env BERTH_RUN=/nonexistent berth ps
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Cannot connect to the berth agent at unix:///nonexistent/agent.sock. Is the berth agent running?"* ]]
}
