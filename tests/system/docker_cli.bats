#!/usr/bin/env bats
# The real docker CLI (28.x) pointed at berth's agent socket.

load helpers
load agent_api_helpers
bats_require_minimum_version 1.5.0

setup_file() {
	command -v docker >/dev/null || skip "no docker CLI"
	export DOCKER_CONFIG="$BATS_FILE_TMPDIR/docker-config"
	agent_start
	import_busybox
}

teardown_file() {
	agent_cleanup
}

d() {
	timeout 60 docker -H "unix://$BERTH_RUN/agent.sock" "$@"
}

@test "docker version and images" {
	run d version --format '{{.Server.APIVersion}} {{.Server.Os}}'
	[ "$status" -eq 0 ]
	[ "$output" = "1.41 linux" ]
	run d images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "REPOSITORY   TAG       IMAGE ID       CREATED"* ]]
	[[ "${lines[1]}" == "busybox      latest    "* ]]
}

@test "docker run --rm prints the output, returns the code and leaves nothing" {
	run d run --rm busybox echo hi
	[ "$status" -eq 0 ]
	[ "$output" = "hi" ]
	run d run --rm busybox sh -c 'echo out; echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	run d ps -aq
	[ "$output" = "" ]
}

@test "docker run -d, ps, logs, inspect, stop, rm" {
	run d run -d --name web busybox sh -c 'echo started; exec sleep 100'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	run d ps
	[[ "${lines[0]}" == "CONTAINER ID   IMAGE     COMMAND                  CREATED"* ]]
	[[ "${lines[1]}" == "${id:0:12}   busybox   \"sh -c echo started;…\"   "*"Up "*" web" ]]
	wait_for 5 sh -c "docker -H unix://$BERTH_RUN/agent.sock logs web | grep -q started"
	run d logs web
	[ "$output" = "started" ]
	run d inspect -f '{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Image}}' web
	[ "$output" = "running true /web busybox" ]
	run d stop -t 1 "${id:0:6}"
	[ "$status" -eq 0 ]
	[ "$output" = "${id:0:6}" ]
	run d ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" == "web Exited (137) "* ]]
	run d rm web
	[ "$output" = "web" ]
	run d ps -a -q
	[ "$output" = "" ]
}

@test "docker run: name conflict and missing command are exit 125 and 127" {
	d run -d --name dup busybox sleep 100
	run d run -d --name dup busybox sleep 100
	[ "$status" -eq 125 ]
	[[ "$output" == *'Error response from daemon: Conflict. The container name "/dup" is already in use by container "'* ]]
	run d rm dup
	[ "$status" -ne 0 ]
	[[ "$output" == *"You cannot remove a running container"* ]]
	run d rm -f dup
	[ "$status" -eq 0 ]
	run -127 d run busybox nosuchcmd
	[ "$status" -eq 127 ]
	[[ "$output" == *'exec: "nosuchcmd": executable file not found in $PATH'* ]]
	run d ps -a --format '{{.Status}}'
	[[ "$output" == "Exited (127) "* ]]
	run d container prune -f
	[[ "$output" == "Deleted Containers:"* ]]
	run d inspect nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such object: nosuch"* ]]
}

@test "docker ps filters and docker info" {
	d run -d --name lab --label tier=web busybox sleep 100
	d create --name idle busybox true
	run d ps -a --filter label=tier=web --format '{{.Names}}'
	[ "$output" = "lab" ]
	run d ps -a --filter status=created --format '{{.Names}}'
	[ "$output" = "idle" ]
	run d info --format '{{.Containers}} {{.ContainersRunning}} {{.Driver}}'
	[ "$output" = "2 1 overlay2" ]
	d rm -f lab idle
}

@test "docker exec: output, exit code, stdin, not found" {
	d run -d --name ex busybox sleep 100
	run d exec ex sh -c 'echo in-exec; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = "in-exec" ]
	run bash -c "echo piped | docker -H unix://$BERTH_RUN/agent.sock exec -i ex cat"
	[ "$output" = "piped" ]
	run -127 d exec ex nosuch
	[[ "$output" == *'exec: "nosuch": executable file not found in $PATH'* ]]
	d rm -f ex
	run d exec ex true
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: ex"* ]]
}
