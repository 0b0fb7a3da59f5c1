#!/usr/bin/env bats
# The tutorial's container commands through the berth CLI: output shapes as docker prints them.

load helpers
bats_require_minimum_version 1.5.0

HEX64='^[0-9a-f]{64}$'

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

@test "run in the foreground prints the output and returns the exit code" {
	run berth run busybox echo hi
	[ "$status" -eq 0 ]
	[ "$output" = "hi" ]
	run berth run --rm busybox sh -c 'exit 7'
	[ "$status" -eq 7 ]
}

@test "run keeps stdout and stderr apart" {
	run --separate-stderr berth run --rm busybox sh -c 'echo to-stdout; echo to-stderr >&2'
	[ "$status" -eq 0 ]
	[ "$output" = "to-stdout" ]
	[ "$stderr" = "to-stderr" ]
}

@test "run -i passes stdin through" {
	run bash -c 'echo piped | berth run --rm -i busybox cat'
	[ "$status" -eq 0 ]
	[ "$output" = "piped" ]
}

@test "run --rm removes the container" {
	run berth run --rm --name gone busybox true
	[ "$status" -eq 0 ]
	run berth ps -a --format '{{.Names}}'
	[[ "$output" != *gone* ]]
}

@test "run -d prints the full ID and ps shows the container" {
	run berth run -d --name web busybox sleep 300
	[ "$status" -eq 0 ]
	[[ "$output" =~ $HEX64 ]]
	id=$output
	run berth ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]]
	[[ "${lines[1]}" =~ ^${id:0:12}\ +busybox\ +\"sleep\ 300\"\ +(Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +Up\ .*\ +web$ ]]
	# tabwriter: each column starts where its header starts
	hdr=${lines[0]}
	row=${lines[1]}
	prefix=${hdr%%IMAGE*}
	[ "${row:${#prefix}:7}" = "busybox" ]
	prefix=${hdr%%NAMES*}
	[ "${row:${#prefix}}" = "web" ]
}

@test "ps -a, container ls, -q and --no-trunc" {
	berth run --name done busybox true
	berth run -d --name up busybox sleep 300 >/dev/null
	run berth ps
	[ "${#lines[@]}" -eq 2 ]
	run berth ps -a
	[ "${#lines[@]}" -eq 3 ]
	[[ "$output" =~ Exited\ \(0\)\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +done ]]
	run berth container ls -a
	[ "${#lines[@]}" -eq 3 ]
	run berth container ps
	[ "${#lines[@]}" -eq 2 ]
	run berth ps -q
	[[ "$output" =~ ^[0-9a-f]{12}$ ]]
	run berth ps -aq
	[ "${#lines[@]}" -eq 2 ]
	run berth ps --no-trunc -q
	[[ "$output" =~ $HEX64 ]]
	run berth ps -n 1 --format '{{.Names}}'
	[ "$output" = "up" ]
	run berth ps -l --format '{{.Names}}'
	[ "$output" = "up" ]
}

@test "COMMAND is quoted and cut to 20 characters with an ellipsis" {
	berth run --name long busybox echo abcdefghijklmnopqrstuvwxyz >/dev/null
	run berth ps -a --format '{{.Command}}'
	[ "$output" = '"echo abcdefghijklmn…"' ]
	run berth ps -a --no-trunc --format '{{.Command}}'
	[ "$output" = '"echo abcdefghijklmnopqrstuvwxyz"' ]
}

@test "ps --format with labels, json and table" {
	berth run -d --name lab -l tier=front busybox sleep 300 >/dev/null
	run berth ps --format '{{.Names}} {{.Label "tier"}} {{.State}}'
	[ "$output" = "lab front running" ]
	run berth ps --format 'table {{.Names}}\t{{.State}}'
	[[ "${lines[0]}" =~ ^NAMES\ +STATE$ ]]
	[[ "${lines[1]}" =~ ^lab\ +running$ ]]
	run berth ps --format json
	[[ "$output" == '{"Command":"\"sleep 300\""'* ]]
	[[ "$output" == *'"Names":"lab"'* ]]
	run berth ps --format '{{json .Names}}'
	[ "$output" = '"lab"' ]
}

@test "ps --filter label, name, status, id" {
	berth run -d --name fa -l app=a busybox sleep 300 >/dev/null
	berth run -d --name fb -l app=b busybox sleep 300 >/dev/null
	run berth ps --filter label=app=a --format '{{.Names}}'
	[ "$output" = "fa" ]
	run berth ps --filter name=fb --format '{{.Names}}'
	[ "$output" = "fb" ]
	run berth ps -a --filter status=exited --format '{{.Names}}'
	[ "$output" = "" ]
	run berth ps --filter foo
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad format of filter"* ]]
}

@test "stop by name and by ID prefix prints the argument as typed" {
	id=$(berth run -d --name s1 --stop-timeout 1 busybox sleep 300)
	id2=$(berth run -d --name s2 --stop-timeout 1 busybox sleep 300)
	run berth stop -t 1 s1
	[ "$status" -eq 0 ]
	[ "$output" = "s1" ]
	run berth stop -t 1 "${id2:0:8}"
	[ "$status" -eq 0 ]
	[ "$output" = "${id2:0:8}" ]
	run berth ps -a --format '{{.Names}} {{.State}}'
	[[ "$output" == *"s1 exited"* ]]
	[[ "$output" == *"s2 exited"* ]]
}

@test "berth stop \$(berth ps -q) and berth rm \$(berth ps -qa)" {
	berth run -d busybox sleep 300 >/dev/null
	berth run -d busybox sleep 300 >/dev/null
	berth run busybox true
	run berth stop -t 1 $(berth ps -q)
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}$ ]]
	run berth rm $(berth ps -qa)
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "rm prints each argument; rm -f removes a running container" {
	berth run --name r1 busybox true
	berth run -d --name r2 busybox sleep 300 >/dev/null
	run berth rm r1
	[ "$status" -eq 0 ]
	[ "$output" = "r1" ]
	run berth rm -f r2
	[ "$status" -eq 0 ]
	[ "$output" = "r2" ]
	run berth ps -aq
	[ "$output" = "" ]
}

@test "container prune -f lists what it deleted" {
	id1=$(berth create busybox true)
	berth run --name p2 busybox true
	berth run -d --name keep busybox sleep 300 >/dev/null
	run berth container prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[[ "$output" == *"$id1"* ]]
	[[ "${lines[-1]}" =~ ^Total\ reclaimed\ space:\ [0-9.]+[kMG]?B$ ]]
	run berth ps -a --format '{{.Names}}'
	[ "$output" = "keep" ]
}

@test "container prune asks first and stops on N" {
	berth run --name p3 busybox true
	run bash -c 'echo n | berth container prune'
	[ "$status" -eq 0 ]
	[[ "$output" == "WARNING! This will remove all stopped containers."* ]]
	[[ "$output" == *"Are you sure you want to continue? [y/N] "* ]]
	run berth ps -aq
	[ -n "$output" ]
	run bash -c 'echo y | berth container prune'
	[[ "$output" == *"Deleted Containers:"* ]]
}

@test "create then start, wait prints the exit code, restart and kill" {
	run berth create --name cs busybox sh -c 'exit 3'
	[[ "$output" =~ $HEX64 ]]
	run berth ps -a --format '{{.Status}}'
	[ "$output" = "Created" ]
	run berth start cs
	[ "$output" = "cs" ]
	run berth wait cs
	[ "$output" = "3" ]
	berth run -d --name kl busybox sleep 300 >/dev/null
	run berth kill kl
	[ "$output" = "kl" ]
	run berth wait kl
	[ "$output" = "137" ]
	run berth restart -t 1 kl
	[ "$output" = "kl" ]
	run berth ps --format '{{.Names}}'
	[ "$output" = "kl" ]
}

@test "start -a attaches and returns the exit code" {
	berth create --name sa busybox sh -c 'echo attached; exit 4' >/dev/null
	run berth start -a sa
	[ "$status" -eq 4 ]
	[ "$output" = "attached" ]
}

@test "logs, logs --tail and logs -t" {
	berth run --name lg busybox sh -c 'echo one; echo two; echo three >&2'
	run --separate-stderr berth logs lg
	[ "$output" = $'one\ntwo' ]
	[ "$stderr" = "three" ]
	run berth logs --tail 1 lg
	[ "$output" = "three" ]
	run berth logs -t lg
	[[ "${lines[0]}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ one$ ]]
}

@test "logs -f follows until the container exits" {
	berth run -d --name lf busybox sh -c 'echo a; sleep 1; echo b' >/dev/null
	run timeout 10 berth logs -f lf
	[ "$status" -eq 0 ]
	[ "$output" = $'a\nb' ]
}

@test "exec runs in the container and returns its exit code" {
	berth run -d --name ex busybox sleep 300 >/dev/null
	run berth exec ex sh -c 'echo $HOSTNAME-in; exit 5'
	[ "$status" -eq 5 ]
	[[ "$output" == *-in ]]
	run berth exec -e FOO=bar -w /tmp ex sh -c 'echo $FOO $(pwd)'
	[ "$output" = "bar /tmp" ]
	run bash -c 'echo in | berth exec -i ex cat'
	[ "$output" = "in" ]
	run berth exec -d ex true
	[ "$status" -eq 0 ]
}

@test "inspect prints a JSON array; -f walks paths" {
	berth run -d --name in -e A=1 busybox sleep 300 >/dev/null
	run berth inspect in
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "[" ]
	[ "${lines[1]}" = "    {" ]
	[[ "${lines[2]}" =~ ^\ \ \ \ \ \ \ \ \"Id\":\ \"[0-9a-f]{64}\",$ ]]
	[ "${lines[-1]}" = "]" ]
	run berth inspect -f '{{.State.Status}} {{.Name}}' in
	[ "$output" = "running /in" ]
	run berth container inspect --format '{{json .Config.Cmd}}' in
	[ "$output" = '["sleep","300"]' ]
	run berth inspect -f '{{.Id}}' busybox
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run berth inspect --type image -f '{{.Config.Cmd}}' busybox
	[ "$output" = "[sh]" ]
}

@test "run flags reach the container: -e, -w, -u, --hostname, --entrypoint, labels" {
	run berth run --rm -e FOO=bar -w /tmp -u 1000 --hostname hal busybox sh -c 'echo $FOO $(pwd) $(id -u) $(hostname)'
	[ "$output" = "bar /tmp 1000 hal" ]
	run berth run --rm --entrypoint echo busybox from-entrypoint
	[ "$output" = "from-entrypoint" ]
	id=$(berth create -l a=b --label c=d busybox true)
	run berth inspect -f '{{.Config.Labels.a}}{{.Config.Labels.c}}' "$id"
	[ "$output" = "bd" ]
}

@test "images, image ls, tag, rmi and inspect" {
	run berth images
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	[[ "${lines[1]}" =~ ^busybox\ +latest\ +[0-9a-f]{12}\ +.*ago\ +[0-9.]+[kM]B$ ]]
	run berth tag busybox mybox:v1
	[ "$status" -eq 0 ]
	run berth image ls --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"mybox:v1"* ]]
	run berth rmi mybox:v1
	[ "$output" = "Untagged: mybox:v1" ]
	run berth images -q
	[[ "$output" =~ ^[0-9a-f]{12}$ ]]
}

@test "image save and load round-trip" {
	run berth image save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	[ "$status" -eq 0 ]
	[ -s "$BATS_TEST_TMPDIR/bb.tar" ]
	run berth image load -i "$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	run bash -c "berth image save busybox | tar -t | head -1"
	[ -n "$output" ]
}

@test "version, info and system status" {
	run berth version
	[ "$status" -eq 0 ]
	[[ "$output" == *"Server:"* ]]
	[[ "$output" == *"API version:      1.41"* ]]
	run berth info
	[[ "$output" == *"Containers:"* ]]
	run berth system status
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == berth-agent*running* ]]
	run berth --version
	[[ "$output" == "Berth version "* ]]
}

@test "-H and BERTH_HOST pick the socket" {
	run berth -H "unix://$BERTH_RUN/agent.sock" ps -q
	[ "$status" -eq 0 ]
	run env BERTH_HOST="unix://$BERTH_RUN/agent.sock" berth ps -q
	[ "$status" -eq 0 ]
	run berth -H unix:///nonexistent.sock ps
	[ "$status" -eq 1 ]
	[[ "$output" == "Cannot connect to the berth agent at unix:///nonexistent.sock"* ]]
}

@test "system stop leaves containers running; system start is idempotent and re-adopts them" {
	berth run -d --name survivor busybox sleep 300 >/dev/null
	run berth system start
	[ "$status" -eq 0 ]
	run berth system stop
	[ "$status" -eq 0 ]
	run berth system status
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == berth-agent*stopped* ]]
	pgrep -f "sleep 300" >/dev/null
	run berth system start
	[ "$status" -eq 0 ]
	run berth ps --format '{{.Names}} {{.State}}'
	[ "$output" = "survivor running" ]
}
