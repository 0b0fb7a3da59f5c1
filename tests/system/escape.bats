#!/usr/bin/env bats
# berth-escape: from inside a default container, every way out tried against berth, each
# asserting the denial and the error the container sees. Plus the security options that lift
# or add confinement (--privileged, seccomp=, no-new-privileges) doing what Docker's do.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
	# A static helper for the syscalls busybox has no applet for (add_key, io_uring...).
	gcc -static -O2 -o "$BATS_FILE_TMPDIR/escape-helper" "$BATS_TEST_DIRNAME/escape_helper.c"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# Run the helper in a default container (extra berth run flags before --).
helper() {
	berth run --rm -v "$BATS_FILE_TMPDIR/escape-helper:/h:ro" "$@"
}

@test "a default container runs under seccomp (filter mode, one filter), NoNewPrivs 0 as Docker" {
	run berth run --rm busybox grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = $'NoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1' ]
	# --init's PID 1 runs under the same (single) filter as its child
	run berth run --rm --init busybox sh -c 'grep -E "^Seccomp(_filters)?:" /proc/1/status /proc/self/status'
	[ "$output" = $'/proc/1/status:Seccomp:\t2\n/proc/1/status:Seccomp_filters:\t1\n/proc/self/status:Seccomp:\t2\n/proc/self/status:Seccomp_filters:\t1' ]
	# exec'd processes get the same filter
	id=$(berth run -d busybox sleep 60)
	run berth exec "$id" grep -E '^Seccomp:' /proc/self/status
	[ "$output" = $'Seccomp:\t2' ]
	run berth exec "$id" unshare -U true
	[ "$status" -ne 0 ]
	[[ "$output" == *"unshare(0x10000000): Operation not permitted"* ]]
	# exec --privileged adds capabilities, not a way around the container's filter (Docker)
	run berth exec --privileged "$id" sh -c 'exec 2>&1; grep -E "^(CapEff|Seccomp):" /proc/self/status; unshare -U true'
	[ "${lines[0]}" = "$(grep '^CapEff:' /proc/self/status)" ]
	[ "${lines[1]}" = $'Seccomp:\t2' ]
	[ "${lines[2]}" = "unshare: unshare(0x10000000): Operation not permitted" ]
}

@test "no new namespaces: user, mount, cgroup, net, pid, ipc, uts (unshare and clone)" {
	run berth run --rm busybox sh -c '
		for f in -U -m -n -i -u "-p -f" "-U -r -m"; do unshare $f true 2>&1; echo "rc=$?"; done'
	[ "$status" -eq 0 ]
	[[ "$output" != *"rc=0"* ]]
	[[ "$output" == *"unshare(0x10000000): Operation not permitted"* ]] # CLONE_NEWUSER
	[[ "$output" == *"unshare(0x20000): Operation not permitted"* ]]     # CLONE_NEWNS
	[[ "$output" == *"unshare(0x10020000): Operation not permitted"* ]]  # both
	[ "$(grep -c 'Operation not permitted' <<<"$output")" -eq 7 ]
	# busybox's unshare has no -C: the helper asks for a cgroup namespace
	run helper busybox sh -c '/h unshare:0x2000000; /h clone_newuser; /h clone3'
	[ "${lines[0]}" = "unshare:0x2000000: Operation not permitted" ]
	[ "${lines[1]}" = "clone_newuser: Operation not permitted" ]
	# clone3's flags cannot be inspected: ENOSYS, so that the C library falls back to clone
	[ "${lines[2]}" = "clone3: Function not implemented" ]
}

@test "no cgroup v1 hierarchy of its own: limits cannot be raised, a fork bomb stays bounded" {
	run berth run --rm --pids-limit 20 busybox sh -c '
		mkdir -p /tmp/cg
		mount -t cgroup -o pids cgroup /tmp/cg 2>&1; echo "mount rc=$?"
		unshare -U -r -m sh -c "mount -t cgroup -o pids cgroup /tmp/cg && echo max >/tmp/cg/pids.max" 2>&1
		echo "userns rc=$?"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"mount: permission denied (are you root?)"* ]]
	[[ "$output" == *"mount rc=1"* ]]
	[[ "$output" == *"unshare(0x10020000): Operation not permitted"* ]]
	[[ "$output" == *"userns rc=1"* ]]
	[[ "$output" != *"rc=0"* ]]
	# The way that worked before seccomp: own user and cgroup namespaces, a pids hierarchy
	# mounted there, pids.max raised to max.
	run helper --pids-limit 20 busybox /h cgroup_escape
	[ "$status" -eq 1 ]
	[ "$output" = "unshare: Operation not permitted" ]
	# A bounded fork bomb: 60 sleepers against --pids-limit 20; at most 20 tasks ever.
	run berth run --rm --pids-limit 20 busybox sh -c '
		(i=0; while [ $i -lt 60 ]; do sleep 3 & i=$((i+1)); done) 2>/dev/null
		set -- /proc/[0-9]*; echo $#'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" -le 20 ]
	[ "${lines[-1]}" -ge 10 ]
}

@test "no keyring syscalls: add_key and keyctl" {
	run helper busybox sh -c '/h add_key; /h keyctl'
	[ "${lines[0]}" = "add_key: Operation not permitted" ]
	[ "${lines[1]}" = "keyctl: Operation not permitted" ]
}

@test "no io_uring, no personality flags beyond Docker's list" {
	run helper busybox sh -c '/h io_uring_setup; /h personality; linux32 uname -m'
	[ "${lines[0]}" = "io_uring_setup: Operation not permitted" ]
	[ "${lines[1]}" = "personality: Operation not permitted" ]
	# PER_LINUX32 is in Docker's list and stays allowed
	[ "${lines[2]}" = "i686" ]
}

@test "mknod of a block device works, opening it does not (device cgroup)" {
	run berth run --rm busybox sh -c 'exec 2>&1; mknod /tmp/sda b 8 0 && echo made; head -c1 /tmp/sda'
	[ "${lines[0]}" = made ]
	[[ "${lines[1]}" == "head: /tmp/sda: Operation not permitted" ]]
	run berth run --rm busybox sh -c 'mknod /tmp/mem c 1 1 && head -c1 /tmp/mem'
	[[ "$output" == "head: /tmp/mem: Operation not permitted" ]]
}

@test "no writes to /proc/sys, /proc/sysrq-trigger or /sys; masked /proc files are empty" {
	run berth run --rm busybox sh -c 'exec 2>&1
		echo 1 >/proc/sys/kernel/domainname
		echo h >/proc/sysrq-trigger
		echo 1 >/sys/kernel/profiling
		for f in interrupts kcore keys timer_list sched_debug latency_stats; do
			[ -e /proc/$f ] && echo "$f $(wc -c </proc/$f)"
		done
		echo "firmware $(ls -A /sys/firmware | wc -l)"' 2>&1
	[[ "$output" == *"/proc/sys/kernel/domainname: Read-only file system"* ]]
	# (kernels without CONFIG_MAGIC_SYSRQ have no sysrq-trigger)
	[ ! -e /proc/sysrq-trigger ] || [[ "$output" == *"/proc/sysrq-trigger: Read-only file system"* ]]
	[[ "$output" == *"/sys/kernel/profiling: Read-only file system"* ]]
	[[ "$output" == *"interrupts 0"* ]] # masked since Docker 28 (GHSA-6fw5-f8r9-fgfm)
	for f in kcore keys timer_list sched_debug latency_stats; do
		[ ! -e /proc/$f ] || [[ "$output" == *"$f 0"* ]]
	done
	[ "${lines[-1]}" = "firmware 0" ]
	# /proc/interrupts is masked by a bind of /dev/null, thermal_throttle (where the CPU has
	# it) by an empty read-only tmpfs
	run berth run --rm busybox sh -c 'grep -c " /proc/interrupts " /proc/mounts;
		for d in /sys/devices/system/cpu/cpu*/thermal_throttle; do
			[ -d "$d" ] && ls "$d" | wc -l; done; true'
	[ "${lines[0]}" = 1 ]
	[[ "$output" != *$'\n'[1-9]* ]]
}

@test "no overwrite of the runtime through /proc/PID/exe; no berth process in sight" {
	id=$(berth run -d busybox sleep 60)
	run berth exec "$id" sh -c 'echo x >/proc/self/exe; echo x >/proc/1/exe'
	[[ "$output" == *"/proc/self/exe: Text file busy"* ]]
	[[ "$output" == *"/proc/1/exe: Text file busy"* ]]
	run berth exec "$id" sh -c 'for p in /proc/[0-9]*; do readlink $p/exe; done | sort -u'
	[ "$output" = /bin/busybox ]
	run berth exec "$id" sh -c 'cat /proc/[0-9]*/cmdline | tr "\0" " "'
	[[ "$output" != *berth* ]]
}

@test "no remount of a :ro bind read-write" {
	mkdir -p "$BATS_TEST_TMPDIR/ro"
	run berth run --rm -v "$BATS_TEST_TMPDIR/ro:/data:ro" busybox sh -c '
		mount -o remount,rw /data 2>&1; echo "rc=$?"; mount -o remount,bind,rw /data 2>&1
		touch /data/x'
	[[ "$output" == *"mount: permission denied (are you root?)"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"touch: /data/x: Read-only file system"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ro/x" ]
}

@test "a filter planted in the run dir's cache by another user is not obeyed" {
	berth run --rm busybox true
	f=$(ls "$BERTH_RUN"/seccomp-default-*.bpf)
	[ -f "$f" ]
	# one BPF instruction: return ALLOW
	printf '\x06\x00\x00\x00\x00\x00\xff\x7f' >"$f.planted"
	chown nobody "$f.planted"
	mv "$f.planted" "$f"
	# more starts than the pool holds: later shims read the cache after the plant
	for i in 1 2 3 4; do
		run berth run --rm busybox sh -c 'unshare -U true 2>&1 || echo denied'
		[[ "$output" == *denied ]]
	done
	[ "$(stat -c '%U %s' "$f")" != "nobody 8" ]
}

@test "capabilities widen the filter as Docker's profile says (includes.caps)" {
	run berth run --rm --cap-add SYS_ADMIN busybox sh -c \
		'grep "^Seccomp:" /proc/self/status; unshare -m true && echo unshared'
	[ "${lines[0]}" = $'Seccomp:\t2' ]
	[ "${lines[1]}" = unshared ]
	run helper --cap-add SYS_PTRACE busybox sh -c 'grep "^Seccomp:" /proc/self/status; /h keyctl'
	[ "${lines[1]}" = "keyctl: Operation not permitted" ]
}

@test "--security-opt seccomp=unconfined lifts the filter, seccomp=FILE replaces it" {
	run berth run --rm --security-opt seccomp=unconfined busybox sh -c \
		'exec 2>&1; grep "^Seccomp:" /proc/self/status; unshare -U true && echo userns'
	[ "${lines[0]}" = $'Seccomp:\t0' ]
	[ "${lines[1]}" = userns ]
	cat >"$BATS_TEST_TMPDIR/p.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
  ]
}
EOF
	run berth run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/p.json" busybox sh -c \
		'exec 2>&1; grep "^Seccomp:" /proc/self/status; mkdir /x; unshare -U true && echo userns'
	[ "${lines[0]}" = $'Seccomp:\t2' ]
	[ "${lines[1]}" = "mkdir: can't create directory '/x': Permission denied" ]
	[ "${lines[2]}" = userns ]
	# what the docker CLI sends (the profile's JSON) is what inspect shows
	id=$(berth create --security-opt seccomp="$BATS_TEST_TMPDIR/p.json" busybox)
	run berth inspect -f '{{json .HostConfig.SecurityOpt}}' "$id"
	[[ "$output" == '["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",'* ]]
}

@test "--security-opt systempaths=unconfined: no masked or read-only paths, the filter stays" {
	run berth run --rm --security-opt systempaths=unconfined busybox sh -c '
		grep -c -E " /proc/(sys|interrupts|kcore|timer_list) " /proc/mounts
		grep "^Seccomp:" /proc/self/status; wc -c </proc/interrupts'
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = $'Seccomp:\t2' ]
	[ "${lines[2]}" -gt 0 ]
	# as the docker CLI sends it: empty lists in HostConfig
	id=$(berth create --security-opt systempaths=unconfined busybox)
	run berth inspect -f '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}' "$id"
	[ "$output" = "[] []" ]
}

# POST /containers/create with a HostConfig the CLI cannot send; prints the new ID.
create_api() {
	curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H 'Content-Type: application/json' \
		-d "{\"Image\": \"busybox\", \"Cmd\": [\"true\"], \"HostConfig\": $1}" \
		http://x/v1.41/containers/create | sed -n 's/.*"Id": *"\([0-9a-f]*\)".*/\1/p'
}

@test "a mask or read-only remount that fails, fails the start" {
	# each start reports its error: an init that fails before reading the shim's go-ahead
	# used to lose it now and then (the start then looked fine and the container exited 125)
	for i in 1 2 3 4 5 6; do
		id=$(create_api '{"MaskedPaths": ["/etc/passwd/x"]}')
		[ -n "$id" ]
		run -125 berth start -a "$id"
		[[ "$output" == *"unable to start container process: mask /etc/passwd/x: not a directory"* ]]
		run berth inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$id"
		[ "$output" = "false 128" ]
		id=$(create_api '{"ReadonlyPaths": ["/etc/passwd/x"]}')
		run -125 berth start -a "$id"
		[[ "$output" == *"unable to start container process: bind /etc/passwd/x: not a directory"* ]]
	done
	# the same race with a failure berth always had: a bind onto a path under a file
	for i in $(seq 12); do
		id=$(berth create -v "$BATS_TEST_FILENAME:/etc/passwd/x" busybox true)
		run -125 berth start -a "$id"
		[[ "$output" == *"create mount point /etc/passwd/x: not a directory"* ]]
	done
	# a relative path is refused at create
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H 'Content-Type: application/json' \
		-d '{"Image": "busybox", "HostConfig": {"MaskedPaths": ["proc/kcore"]}}' \
		http://x/v1.41/containers/create
	[[ "$output" == *'MaskedPaths: \"proc/kcore\" is not an absolute path'* ]]
}

@test "bad security options are refused with Docker's messages, nothing is created" {
	run -125 berth run --rm --security-opt seccomp=/nonexistent.json busybox true
	[ "${lines[0]}" = "berth: opening seccomp profile (/nonexistent.json) failed: open /nonexistent.json: no such file or directory." ]
	echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$BATS_TEST_TMPDIR/bad.json"
	run -125 berth run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/bad.json" busybox true
	[[ "$output" == *'decoding seccomp profile failed: defaultAction: unknown action "SCMP_ACT_NOPE"'* ]]
	echo 'not json' >"$BATS_TEST_TMPDIR/bad.json"
	run -125 berth run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/bad.json" busybox true
	[[ "$output" == *"compacting json for seccomp profile ($BATS_TEST_TMPDIR/bad.json) failed"* ]]
	run -125 berth run --rm --security-opt nonsense busybox true
	[[ "$output" == *'invalid --security-opt 1: "nonsense"'* ]]
	run -125 berth run --rm --security-opt foo=bar busybox true
	[[ "$output" == *'invalid --security-opt 2: "foo=bar"'* ]]
	run -125 berth run --rm --security-opt no-new-privileges=maybe busybox true
	[[ "$output" == *'invalid --security-opt 2: "no-new-privileges=maybe"'* ]]
	run -125 berth run --rm --security-opt apparmor=docker-default busybox true
	[[ "$output" == *"berth does not support AppArmor (only apparmor=unconfined)"* ]]
	run -125 berth run --rm --security-opt label=type:svirt_t busybox true
	[[ "$output" == *"berth does not support SELinux labels (only label=disable)"* ]]
	run -125 berth run --cap-add FOO busybox true
	[[ "$output" == *'invalid CapAdd: unknown capability: "CAP_FOO"'* ]]
	run -125 berth create --cap-drop cap_nope busybox true
	[[ "$output" == *'invalid CapDrop: unknown capability: "CAP_NOPE"'* ]]
	run berth ps -qa
	[ -z "$output" ]
	# what berth does anyway is accepted
	run berth run --rm --security-opt apparmor=unconfined --security-opt label=disable \
		--security-opt seccomp=builtin busybox grep "^Seccomp:" /proc/self/status
	[ "$output" = $'Seccomp:\t2' ]
}

@test "--security-opt no-new-privileges: NoNewPrivs 1, a setuid binary gains nothing" {
	# the helper, setuid root, run as nobody: euid 0 without the option, 65534 with it
	script='cp /h /tmp/su && chmod 4755 /tmp/su && su -s /tmp/su nobody -c euid;
		grep "^NoNewPrivs:" /proc/self/status'
	run helper busybox sh -c "$script"
	[ "${lines[0]}" = "euid 0" ]
	[ "${lines[1]}" = $'NoNewPrivs:\t0' ]
	run helper --security-opt no-new-privileges busybox sh -c "$script"
	[ "${lines[0]}" = "euid 65534" ]
	[ "${lines[1]}" = $'NoNewPrivs:\t1' ]
	run helper --security-opt no-new-privileges=true busybox grep "^NoNewPrivs:" /proc/self/status
	[ "$output" = $'NoNewPrivs:\t1' ]
	id=$(berth run -d --security-opt no-new-privileges busybox sleep 60)
	run berth exec "$id" grep "^NoNewPrivs:" /proc/self/status
	[ "$output" = $'NoNewPrivs:\t1' ]
}

@test "--privileged: every capability, the host's devices, no masks, rw /sys, no seccomp" {
	host_caps=$(grep '^CapEff:' /proc/self/status)
	run berth run --rm --privileged busybox sh -c '
		grep -E "^(CapEff|Seccomp):" /proc/self/status
		grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1
		grep -c " /proc/sys " /proc/mounts
		echo "interrupts $(wc -c </proc/interrupts)"
		ls -d /dev/loop-control /dev/net/tun /dev/kmsg 2>&1'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$host_caps" ]
	[ "${lines[1]}" = $'Seccomp:\t0' ]
	[ "${lines[2]}" = rw ]
	[ "${lines[3]}" = 0 ]
	[ "${lines[4]}" != "interrupts 0" ]
	for d in /dev/loop-control /dev/net/tun /dev/kmsg; do
		[ ! -e "$d" ] || [[ "$output" == *$'\n'"$d"* ]]
	done
	# a host block device is there and opens
	dev=$(ls /dev/loop0 /dev/sda /dev/vda 2>/dev/null | head -n1)
	if [ -n "$dev" ]; then
		run berth run --rm --privileged busybox sh -c "head -c1 $dev >/dev/null && echo opened"
		[ "$output" = opened ]
	fi
	run berth inspect -f '{{.HostConfig.Privileged}}' "$(berth create --privileged busybox)"
	[ "$output" = true ]
}
