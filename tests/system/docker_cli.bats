#!/usr/bin/env bats
# The real docker CLIs pointed at berth's agent socket: the same checks with the 28.x client
# (/usr/local/bin/docker) and Debian's 20.10 (/usr/bin/docker, docker.io), each skipped with
# a message when that client is not installed.

load helpers
load agent_api_helpers
bats_require_minimum_version 1.5.0

DOCKER_28=${BERTH_DOCKER_28:-/usr/local/bin/docker}
DOCKER_20=${BERTH_DOCKER_20:-/usr/bin/docker}

setup_file() {
	export DOCKER_CONFIG="$BATS_FILE_TMPDIR/docker-config"
	agent_start
	import_busybox
}

teardown_file() {
	agent_cleanup
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || cat "$BERTH_RUN/agent.log" >&3
	[ -n "${DOCKER:-}" ] && d rm -f $(d ps -aq) >/dev/null 2>&1
	true
}

# use_client 28|20: the client the test's d() runs, or skip when it is absent.
use_client() {
	local bin want=$1
	[ "$want" = 28 ] && bin=$DOCKER_28 || bin=$DOCKER_20
	[ -x "$bin" ] || skip "docker CLI $want.x not installed at $bin (scripts/install-deps.sh --test)"
	"$bin" --version | grep -q "version $want\." ||
		skip "$bin is not docker $want.x: $("$bin" --version)"
	DOCKER=$bin
}

d() {
	timeout 60 "$DOCKER" -H "unix://$BERTH_RUN/agent.sock" "$@"
}

# docker version and images
check_version_images() {
	run d version --format '{{.Server.APIVersion}} {{.Server.Os}}'
	[ "$status" -eq 0 ]
	[ "$output" = "1.41 linux" ]
	run d images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "REPOSITORY   TAG       IMAGE ID       CREATED"* ]]
	[[ "${lines[1]}" == "busybox      latest    "* ]]
}

# docker run --rm prints the output, returns the code and leaves nothing
check_run_rm() {
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

# docker run -d, ps, logs, inspect, stop, rm
check_run_d_lifecycle() {
	run d run -d --name web busybox sh -c 'echo started; exec sleep 100'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	id=$output
	run d ps
	[[ "${lines[0]}" == "CONTAINER ID   IMAGE     COMMAND                  CREATED"* ]]
	[[ "${lines[1]}" == "${id:0:12}   busybox   \"sh -c echo started;…\"   "*"Up "*" web" ]]
	wait_for 5 sh -c "$DOCKER -H unix://$BERTH_RUN/agent.sock logs web | grep -q started"
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

# docker run: name conflict and missing command are exit 125 and 127
check_errors() {
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

# docker ps filters and docker info
check_ps_filters_info() {
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

# docker exec: output, exit code, stdin, not found
check_exec() {
	d run -d --name ex busybox sleep 100
	run d exec ex sh -c 'echo in-exec; exit 4'
	echo "exec: status $status, output [$output]"
	[ "$status" -eq 4 ]
	[ "$output" = "in-exec" ]
	run bash -c "echo piped | $DOCKER -H unix://$BERTH_RUN/agent.sock exec -i ex cat"
	[ "$output" = "piped" ]
	run -127 d exec ex nosuch
	[[ "$output" == *'exec: "nosuch": executable file not found in $PATH'* ]]
	d rm -f ex
	run d exec ex true
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: ex"* ]]
}
# A terminal: tty(1) in run -t and exec -t; the size is right once the client has sent it
# (28.x sends it with create as ConsoleSize, 20.10 resizes after start, so wait a little).
check_tty() {
	command -v script >/dev/null || skip "util-linux script is not installed"
	run in_pty "stty rows 27 cols 88; $DOCKER -H unix://$BERTH_RUN/agent.sock run -it --rm busybox sh -c 'tty; sleep 0.5; stty size'"
	[ "$output" = $'/dev/pts/0\n27 88' ]
	d run -d --name tt busybox sleep 100
	run in_pty "stty rows 29 cols 89; $DOCKER -H unix://$BERTH_RUN/agent.sock exec -it tt sh -c 'tty; sleep 0.5; stty size'"
	[ "$output" = $'/dev/pts/0\n29 89' ]
	d rm -f tt
}

@test "docker 28.x: version and images" {
	use_client 28
	check_version_images
}

@test "docker 28.x: run --rm prints the output, returns the code and leaves nothing" {
	use_client 28
	check_run_rm
}

@test "docker 28.x: run -d, ps, logs, inspect, stop, rm" {
	use_client 28
	check_run_d_lifecycle
}

@test "docker 28.x: run: name conflict and missing command are exit 125 and 127" {
	use_client 28
	check_errors
}

@test "docker 28.x: ps filters and docker info" {
	use_client 28
	check_ps_filters_info
}

@test "docker 28.x: exec: output, exit code, stdin, not found" {
	use_client 28
	check_exec
}

@test "docker 20.10: version and images" {
	use_client 20
	check_version_images
}

@test "docker 20.10: run --rm prints the output, returns the code and leaves nothing" {
	use_client 20
	check_run_rm
}

@test "docker 20.10: run -d, ps, logs, inspect, stop, rm" {
	use_client 20
	check_run_d_lifecycle
}

@test "docker 20.10: run: name conflict and missing command are exit 125 and 127" {
	use_client 20
	check_errors
}

@test "docker 20.10: ps filters and docker info" {
	use_client 20
	check_ps_filters_info
}

@test "docker 20.10: exec: output, exit code, stdin, not found" {
	use_client 20
	check_exec
}

@test "docker 28.x: run -it and exec -it get a terminal of the client's size" {
	use_client 28
	check_tty
}

@test "docker 20.10: run -it and exec -it get a terminal of the client's size" {
	use_client 20
	check_tty
}

# Published ports through the docker CLI: run -p as it sends it, then docker port and ps.
check_ports() {
	run d run -d -p 8080 --name dweb busybox httpd -f -p 8080
	[ "$status" -eq 0 ]
	run d port dweb
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^8080/tcp\ -\>\ 0\.0\.0\.0:([0-9]+)$ ]]
	local port=${BASH_REMATCH[1]}
	[ "$port" -ge 32768 ] && [ "$port" -le 60999 ]
	run d ps --format '{{.Names}} {{.Ports}}'
	[ "$output" = "dweb 0.0.0.0:$port->8080/tcp" ]
	run d run -d -p "$port:8080" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Bind for 0.0.0.0:$port failed: port is already allocated"* ]]
	run d network ls --format '{{.Name}} {{.Driver}}'
	[[ "$output" == *"bridge bridge"* ]]
	d rm -f dweb >/dev/null
}

@test "docker 28.x: run -p, docker port, ps PORTS, network ls" {
	use_client 28
	check_ports
}

# Security options through the docker CLI: it sends seccomp=FILE as the profile's JSON
check_security() {
	run d run --rm busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	[ "$output" = $'NoNewPrivs:\t0\nSeccomp:\t2' ]
	printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' \
		>"$BATS_TEST_TMPDIR/p.json"
	run d run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/p.json" busybox sh -c \
		'exec 2>&1; grep ^Seccomp: /proc/self/status; mkdir /x'
	[ "${lines[0]}" = $'Seccomp:\t2' ]
	[ "${lines[1]}" = "mkdir: can't create directory '/x': Operation not permitted" ]
	run d run --rm --security-opt seccomp=unconfined --security-opt no-new-privileges \
		busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	[ "$output" = $'NoNewPrivs:\t1\nSeccomp:\t0' ]
	run d run --rm --privileged busybox grep -E '^(CapEff|Seccomp):' /proc/self/status
	echo "privileged: $output (want $(grep '^CapEff:' /proc/self/status))"
	[ "$output" = "$(grep '^CapEff:' /proc/self/status)"$'\nSeccomp:\t0' ]
	run -125 d run --rm --security-opt seccomp=/nonexistent.json busybox true
	[[ "$output" == *"opening seccomp profile (/nonexistent.json) failed: open /nonexistent.json: no such file or directory"* ]]
	run d run --rm --security-opt systempaths=unconfined busybox grep -c " /proc/sys " /proc/mounts
	[ "$output" = 0 ]
	run -125 d run --rm --security-opt apparmor=docker-default busybox true
	[[ "$output" == *"berth does not support AppArmor"* ]]
}

@test "docker 28.x: seccomp profiles, no-new-privileges, --privileged" {
	use_client 28
	check_security
}

@test "docker 20.10: seccomp profiles, no-new-privileges, --privileged" {
	use_client 20
	check_security
}

# --shm-size, --ulimit (init and exec), --tmpfs, --oom-score-adj as the docker CLI sends them,
# and the create's warnings printed by the client.
check_run_options() {
	run d run --rm --shm-size 96m busybox df -k /dev/shm
	[[ "${lines[1]}" == shm*98304* ]]
	run d run --rm --ulimit nofile=1024:2048 busybox sh -c 'ulimit -n; ulimit -Hn'
	[ "$output" = $'1024\n2048' ]
	d run -d --name ro --ulimit nproc=300:400 --oom-score-adj 200 busybox sleep 100
	run d exec ro sh -c 'ulimit -u; ulimit -Hu; cat /proc/self/oom_score_adj'
	[ "$output" = $'300\n400\n200' ]
	d rm -f ro
	run d run --rm --tmpfs /run:size=8m busybox grep " /run " /proc/mounts
	[ "$output" = "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k 0 0" ]
	run -125 d run --rm --tmpfs /run:foo busybox true
	[[ "$output" == *'invalid tmpfs option ["foo"]'* ]]
	if [ ! -e /sys/fs/cgroup/blkio/blkio.weight ] && [ ! -e /sys/fs/cgroup/blkio/blkio.bfq.weight ] &&
		[ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
		run --separate-stderr d create --blkio-weight 300 busybox true
		[ "$status" -eq 0 ]
		[[ "$stderr" == *"WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."* ]]
	fi
}

@test "docker 28.x: --shm-size, --ulimit, --tmpfs, --oom-score-adj, create warnings" {
	use_client 28
	check_run_options
}

@test "docker 20.10: --shm-size, --ulimit, --tmpfs, --oom-score-adj, create warnings" {
	use_client 20
	check_run_options
}
