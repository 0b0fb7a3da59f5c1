#!/usr/bin/env bats
# --cpuset-cpus and --cpuset-mems of one container: the CPUs its processes may run on, what
# inspect shows, Docker's errors for bad lists, and the same through the real docker CLI.

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

# The host's CPUs as the agent sees them (the root cpuset), e.g. "0-1".
host_cpus() {
	cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null ||
		cat /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null || cat /sys/devices/system/cpu/online
}

@test "run --cpuset-cpus pins the container's processes, and inspect shows it" {
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
	run berth run --rm --cpuset-cpus 1 --cpuset-mems 0 busybox \
		sh -c 'grep Cpus_allowed_list /proc/self/status; sh -c "grep Mems_allowed_list /proc/self/status"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = $'Cpus_allowed_list:\t1' ]
	[ "${lines[1]}" = $'Mems_allowed_list:\t0' ]

	berth create --name pinned --cpuset-cpus 0 busybox sleep 100 >/dev/null
	run berth inspect -f '{{.HostConfig.CpusetCpus}}|{{.HostConfig.CpusetMems}}' pinned
	[ "$output" = "0|" ]
	# applied at every start, restarts included
	berth start pinned
	pid=$(berth inspect -f '{{.State.Pid}}' pinned)
	grep -q $'^Cpus_allowed_list:\t0$' /proc/$pid/status
	berth restart -t 0 pinned >/dev/null
	pid2=$(berth inspect -f '{{.State.Pid}}' pinned)
	[ "$pid2" != "$pid" ]
	grep -q $'^Cpus_allowed_list:\t0$' /proc/$pid2/status
	# without the flag: both empty, and every CPU allowed
	run berth run --rm busybox grep Cpus_allowed_list /proc/self/status
	[ "$output" = "Cpus_allowed_list:	$(host_cpus)" ]
	berth create --name plain busybox true >/dev/null
	run berth inspect -f '{{json .HostConfig.CpusetCpus}} {{json .HostConfig.CpusetMems}}' plain
	[ "$output" = '"" ""' ]
}

@test "a malformed list or CPUs the host lacks are Docker's 400 errors, exit 125" {
	run berth run --rm --cpuset-cpus 1- busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Error response from daemon: Invalid value 1- for cpuset cpus"* ]]
	run berth create --cpuset-cpus a,b busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Invalid value a,b for cpuset cpus"* ]]
	run berth run --rm --cpuset-cpus 5 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Error response from daemon: Requested CPUs are not available - requested 5, available: $(host_cpus)"* ]]
	run berth run --rm --cpuset-mems 0-7 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Requested memory nodes are not available - requested 0-7, available: "* ]]
	run berth run --rm --cpuset-mems 2-1 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Invalid value 2-1 for cpuset mems"* ]]
	# nothing was created
	[ -z "$(berth ps -qa)" ]
}

@test "docker run --cpuset-cpus against the agent" {
	docker=/usr/local/bin/docker
	[ -x "$docker" ] || skip "no docker CLI at $docker"
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
	export DOCKER_CONFIG="$BATS_TEST_TMPDIR/docker-config"
	run timeout 60 "$docker" -H "unix://$BERTH_RUN/agent.sock" run --rm --cpuset-cpus 1 \
		busybox grep Cpus_allowed_list /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = $'Cpus_allowed_list:\t1' ]
	run timeout 60 "$docker" -H "unix://$BERTH_RUN/agent.sock" run --rm --cpuset-cpus 9 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Requested CPUs are not available - requested 9, available: $(host_cpus)"* ]]
}
