#!/usr/bin/env bats
# Run options that reach the container's process, mounts and cgroups: --shm-size, --ulimit,
# --tmpfs, --oom-score-adj, --cpu-shares, --memory-swap, --memory-reservation,
# --oom-kill-disable, and what this host's cgroups lack (--blkio-weight, --kernel-memory)
# discarded with Docker's warnings. Each is read back from inside the container or from the
# container's cgroup files.

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

v1() { [ ! -e /sys/fs/cgroup/cgroup.controllers ]; }

# cgroup_file CONTROLLER NAME FILE: a running container's cgroup file (v1 hierarchy).
cgroup_file() {
	local id
	id=$(berth inspect -f '{{.Id}}' "$2")
	cat "/sys/fs/cgroup/$1/$BERTH_CGROUP_PARENT/$id/$3"
}

@test "--shm-size sizes /dev/shm; Docker's 64 MiB by default, shown by inspect" {
	run berth run --rm --shm-size 128m busybox df -k /dev/shm
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == shm*131072* ]]
	run berth run --rm busybox df -k /dev/shm
	[[ "${lines[1]}" == shm*65536* ]]
	berth create --name s1 --shm-size 1g busybox true >/dev/null
	berth create --name s2 busybox true >/dev/null
	run berth inspect -f '{{.HostConfig.ShmSize}}' s1 s2
	[ "$output" = $'1073741824\n67108864' ]
	run berth run --rm --shm-size 12x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid size: '12x'"* ]]
}

@test "--ulimit sets the init's and every exec's limits" {
	run berth run --rm --ulimit nofile=1024:2048 --ulimit core=0 --ulimit nproc=500 busybox \
		sh -c 'grep -E "^Max (open files|core file size|processes) " /proc/self/limits'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Max core file size        0                    0                    bytes"* ]]
	[[ "$output" == *"Max processes             500                  500                  processes"* ]]
	[[ "$output" == *"Max open files            1024                 2048                 files"* ]]
	berth run -d --name ul --ulimit nofile=512:1024 busybox sleep 100 >/dev/null
	run berth exec ul sh -c 'ulimit -n; ulimit -Hn'
	[ "$output" = $'512\n1024' ]
	run berth inspect -f '{{json .HostConfig.Ulimits}}' ul
	[ "$output" = '[{"Name":"nofile","Hard":1024,"Soft":512}]' ] ||
		[ "$output" = '[{"Name":"nofile","Soft":512,"Hard":1024}]' ]
}

@test "--ulimit: Docker's parse errors, and a hard limit above the host's fails the start" {
	run berth run --rm --ulimit foo=1 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "foo=1" for "--ulimit" flag: invalid ulimit type: foo'* ]]
	run berth run --rm --ulimit nofile=2048:1024 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"* ]]
	run berth run --rm --ulimit nofile busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid ulimit argument: nofile"* ]]
	run berth run --rm --ulimit nofile=1:2:3 busybox true
	[[ "$output" == *"too many limit value arguments - 1:2:3"* ]]
	run berth run --rm --ulimit nofile=x busybox true
	[[ "$output" == *'strconv.ParseInt: parsing "x": invalid syntax'* ]]
	[ -z "$(berth ps -qa)" ]
	# root here lacks CAP_SYS_RESOURCE: no raising the hard limit past the host's
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "the host's nofile hard limit is unlimited"
	run berth run --rm --ulimit nofile=100:$((hard + 1000)) busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"error setting rlimit type 7: operation not permitted"* ]]
	[ -z "$(berth ps -qa)" ]
	# without --rm the container stays with the error (exit 128), as Docker's does
	run berth run --name nostart --ulimit nofile=100:$((hard + 1000)) busybox true
	[ "$status" -eq 125 ]
	run berth inspect -f '{{.State.ExitCode}} {{.State.Error}}' nostart
	[[ "$output" == "128 "*"error setting rlimit type 7: operation not permitted"* ]]
}

@test "--tmpfs mounts a tmpfs with Docker's options, writable under --read-only" {
	run berth run --rm --read-only --tmpfs /run:size=64m,mode=1777 --tmpfs /scratch busybox \
		sh -c 'grep -E " /(run|scratch) " /proc/mounts; stat -c %a /run; echo x > /run/f && cat /run/f'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0" ]
	[[ "${lines[1]}" == "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime"* ]]
	[ "${lines[2]}" = 1777 ]
	[ "${lines[3]}" = x ]
	# exec overrides noexec; mode and uid as given
	run berth run --rm --tmpfs /t:exec,mode=700,uid=1000 busybox \
		sh -c 'grep " /t " /proc/mounts; stat -c "%a %u" /t'
	[[ "${lines[0]}" == "tmpfs /t tmpfs rw,nosuid,nodev,relatime,mode=700,uid=1000"* ]]
	[ "${lines[1]}" = "700 1000" ]
	# under a bind or over one: parents first, as Docker sorts mounts
	mkdir -p "$BATS_TEST_TMPDIR/data"
	run berth run --rm -v "$BATS_TEST_TMPDIR/data:/data" --tmpfs /data/tmp busybox \
		sh -c 'grep -c " /data/tmp tmpfs " /proc/mounts'
	[ "$output" = 1 ]
}

@test "--tmpfs: a bad option or target is refused at create and leaves nothing" {
	run berth run --rm --tmpfs /run:foo=bar busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid tmpfs option ["foo" "bar"]'* ]]
	run berth create --tmpfs /run:size=lots busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid tmpfs option ["size" "lots"]'* ]]
	run berth create --tmpfs /run:bind busybox true
	[[ "$output" == *'invalid tmpfs option ["bind"]'* ]]
	run berth create --tmpfs run busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mount path: 'run' mount path must be absolute"* ]]
	run berth create --tmpfs / busybox true
	[[ "$output" == *"invalid specification: destination can't be '/'"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/d"
	run berth create -v "$BATS_TEST_TMPDIR/d:/data/" --tmpfs /data busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Duplicate mount point: /data"* ]]
	[ -z "$(berth ps -qa)" ]
}

@test "--tmpfs through a symlink the container made stays inside its root" {
	outside="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$outside"
	berth create --name sl --tmpfs /link busybox cat /proc/mounts >/dev/null
	berth start sl >/dev/null
	berth wait sl >/dev/null
	# the container's /link now points at a host path: resolved inside the root, not on the host
	id=$(berth inspect -f '{{.Id}}' sl)
	up="$BERTH_ROOT/containers/$id/upper"
	rm -rf "$up/link"
	ln -s "$outside" "$up/link"
	run berth start -a sl
	[[ "$output" == *"tmpfs $outside tmpfs rw,nosuid,nodev,noexec,relatime"* ]]
	! mountpoint -q "$outside"
	[ -d "$up$outside" ]
}

@test "--oom-score-adj is the init's and every exec's" {
	run berth run --rm --oom-score-adj 500 busybox cat /proc/self/oom_score_adj
	[ "$output" = 500 ]
	berth run -d --name oom --oom-score-adj 321 busybox sleep 100 >/dev/null
	run berth exec oom cat /proc/self/oom_score_adj
	[ "$output" = 321 ]
	run berth run --rm --oom-score-adj 1001 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Invalid value 1001, range for oom score adj is [-1000, 1000]"* ]]
}

@test "--cpu-shares, --memory-swap, --memory-reservation, --memory-swappiness, --oom-kill-disable reach the cgroup" {
	v1 || skip "cgroup v1 host"
	berth run -d --name cg --cpu-shares 512 -m 64m --memory-swap 128m --memory-reservation 32m \
		--oom-kill-disable busybox sleep 100 >/dev/null
	[ "$(cgroup_file cpu cg cpu.shares)" = 512 ]
	[ "$(cgroup_file memory cg memory.limit_in_bytes)" = 67108864 ]
	[ "$(cgroup_file memory cg memory.soft_limit_in_bytes)" = 33554432 ]
	if [ -e /sys/fs/cgroup/memory/memory.swappiness ]; then
		berth run -d --name sw --memory-swappiness 7 busybox sleep 100 >/dev/null
		[ "$(cgroup_file memory sw memory.swappiness)" = 7 ]
	fi
	run berth run --rm --memory-swappiness 101 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid value: 101. Valid memory swappiness range is 0-100"* ]]
	grep -qx "oom_kill_disable 1" <(cgroup_file memory cg memory.oom_control)
	run berth inspect -f '{{.HostConfig.CpuShares}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.OomKillDisable}}' cg
	[ "$output" = "512 134217728 33554432 true" ]
	if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
		[ "$(cgroup_file memory cg memory.memsw.limit_in_bytes)" = 134217728 ]
		# without --memory-swap: as much swap as memory (Docker's default)
		berth run -d --name cg2 -m 64m busybox sleep 100 >/dev/null
		[ "$(cgroup_file memory cg2 memory.memsw.limit_in_bytes)" = 134217728 ]
		run berth inspect -f '{{.HostConfig.MemorySwap}}' cg2
		[ "$output" = 134217728 ]
	fi
	run berth run --rm -m 64m --memory-swap 32m busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Minimum memoryswap limit should be larger than memory limit"* ]]
}

@test "--oom-kill-disable without a memory limit warns as Docker does" {
	v1 || skip "cgroup v1 host"
	run --separate-stderr berth create --name nolimit --oom-kill-disable busybox true
	[ "$status" -eq 0 ]
	[ "$stderr" = "WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources." ]
}

@test "what the host's cgroups lack is discarded with Docker's warning" {
	if [ -e /sys/fs/cgroup/blkio/blkio.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ]; then
		berth run -d --name bw --blkio-weight 300 busybox sleep 100 >/dev/null
		w=$(cgroup_file blkio bw blkio.weight 2>/dev/null || cgroup_file blkio bw blkio.bfq.weight)
		[[ "$w" == *300* ]]
	else
		run --separate-stderr berth create --name bw --blkio-weight 300 busybox true
		[ "$status" -eq 0 ]
		[ "$stderr" = "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded." ]
		run berth inspect -f '{{.HostConfig.BlkioWeight}}' bw
		[ "$output" = 0 ]
	fi
	run berth run --rm --blkio-weight 5 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Range of blkio weight is from 10 to 1000"* ]]
	[ "$(uname -r | cut -d. -f1)" -ge 6 ] || skip "kernel memory is applied before 6.x"
	run --separate-stderr berth run --rm --kernel-memory 64m busybox echo ran
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
	[ "$stderr" = "WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded." ]
}

@test "compose: shm_size, ulimits, tmpfs, oom_score_adj, cpu_shares, mem_limit/memswap_limit, mem_reservation reach the replica" {
	mkdir -p "$BATS_TEST_TMPDIR/ro"
	cd "$BATS_TEST_TMPDIR/ro"
	cat >compose.yaml <<'YAML'
services:
  app:
    image: busybox
    command: sleep 100000
    init: true
    shm_size: 96m
    ulimits:
      nofile: {soft: 1000, hard: 2000}
      nproc: 400
    tmpfs: ['/run:size=8m']
    oom_score_adj: 250
    cpu_shares: 256
    mem_limit: 64m
    memswap_limit: 96m
    mem_reservation: 16m
YAML
	compose_up
	run berth exec ro-app-1 sh -c 'df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn; ulimit -u; grep " /run " /proc/mounts; cat /proc/self/oom_score_adj'
	[[ "${lines[0]}" == shm*98304* ]]
	[ "${lines[1]}" = 1000 ]
	[ "${lines[2]}" = 2000 ]
	[ "${lines[3]}" = 400 ]
	[ "${lines[4]}" = "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k 0 0" ]
	[ "${lines[5]}" = 250 ]
	run berth inspect -f '{{.HostConfig.CpuShares}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}}' ro-app-1
	[ "$output" = "256 67108864 100663296 16777216" ]
	if v1; then
		[ "$(cgroup_file cpu ro-app-1 cpu.shares)" = 256 ]
		[ "$(cgroup_file memory ro-app-1 memory.soft_limit_in_bytes)" = 16777216 ]
	fi
	berth compose down -t 0 >/dev/null 2>&1
}
