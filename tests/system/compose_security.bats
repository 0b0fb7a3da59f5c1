#!/usr/bin/env bats
# Compose's privileged, cap_add, cap_drop and security_opt: what the service's process sees
# (its /proc/1/status, read through exec), seccomp=FILE read relative to the compose file and
# kept by the scheduler across a restart, and bad values refused at `compose up` with nothing
# created.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/sec"
	cd "$BATS_TEST_TMPDIR/sec"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth compose -p sec down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# write_compose LINE...: service web (sleeping busybox under an init, which stops at once on
# SIGTERM), each LINE a key of it
write_compose() {
	{
		printf 'services:\n  web:\n    image: busybox\n    command: sleep 1000\n    init: true\n'
		for l in "$@"; do printf '    %s\n' "$l"; done
	} >compose.yaml
}

# status FIELD...: those lines of the service's PID 1 /proc status
status() {
	local re
	re=$(IFS='|'; echo "$*")
	berth exec sec-web-1 grep -E "^($re):" /proc/1/status
}

@test "privileged: true gives every capability, the host's devices and no seccomp" {
	write_compose "privileged: true"
	compose_up
	run status CapEff Seccomp
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(grep '^CapEff:' /proc/self/status)" ]
	[ "${lines[1]}" = $'Seccomp:\t0' ]
	run berth exec sec-web-1 ls -d /dev/kmsg /dev/loop-control
	[ "$status" -eq 0 ]
	[ "$output" = $'/dev/kmsg\n/dev/loop-control' ]
	run berth inspect -f '{{.HostConfig.Privileged}}' sec-web-1
	[ "$output" = true ]
}

@test "cap_drop: [ALL] with cap_add: [NET_BIND_SERVICE] leaves exactly that capability" {
	write_compose "cap_drop: [ALL]" "cap_add: [NET_BIND_SERVICE]"
	compose_up
	run status CapPrm CapEff CapBnd
	[ "$output" = $'CapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400' ]
	run berth inspect -f '{{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}}' sec-web-1
	[ "$output" = "[NET_BIND_SERVICE] [ALL]" ]
	# a default service keeps Docker's default set (CAP_NET_RAW among them)
	write_compose
	compose_up
	run status CapEff
	[ "$output" = $'CapEff:\t00000000a80425fb' ]
}

@test "security_opt no-new-privileges in Docker's spellings sets NoNewPrivs" {
	for opt in "no-new-privileges:true" "no-new-privileges" "no-new-privileges=true"; do
		write_compose "security_opt: [$opt]"
		compose_up
		run status NoNewPrivs
		[ "$output" = $'NoNewPrivs:\t1' ] || { echo "$opt: $output"; false; }
	done
	write_compose "security_opt: ['no-new-privileges:false']"
	compose_up
	run status NoNewPrivs
	[ "$output" = $'NoNewPrivs:\t0' ]
}

@test "security_opt seccomp=unconfined runs the service without a filter" {
	write_compose "security_opt: [seccomp=unconfined]"
	compose_up
	run status Seccomp
	[ "$output" = $'Seccomp:\t0' ]
	run berth exec sec-web-1 unshare -U true
	[ "$status" -eq 0 ]
}

@test "seccomp=./FILE is read beside the compose file, and the scheduler keeps it across a restart" {
	mkdir -p app profiles
	cat >profiles/deny.json <<'EOF2'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
}
EOF2
	write_compose "security_opt: [seccomp=./profiles/deny.json]"
	mv compose.yaml app/
	mv profiles app/
	# run from elsewhere: the path is the project directory's, not the shell's
	cd /
	run berth compose -p sec -f "$BATS_TEST_TMPDIR/sec/app/compose.yaml" up -d
	[ "$status" -eq 0 ]
	run berth exec sec-web-1 mkdir /tmp/x
	[ "$status" -ne 0 ]
	[ "$output" = "mkdir: can't create directory '/tmp/x': Operation not permitted" ]
	run berth exec sec-web-1 grep -E '^Seccomp:' /proc/1/status
	[ "$output" = $'Seccomp:\t2' ]
	# compose config prints the option as written, not the profile
	run berth compose -f "$BATS_TEST_TMPDIR/sec/app/compose.yaml" config
	[ "$status" -eq 0 ]
	[[ "$output" == *"    security_opt:"$'\n'"    - seccomp=./profiles/deny.json"$'\n'* ]]
	[[ "$output" != *SCMP_ACT* ]]
	# the profile file is gone and the scheduler restarted: a new replica still gets it
	rm -r "$BATS_TEST_TMPDIR/sec/app"
	kill9_wait "$(cat "$BERTH_RUN/scheduler.pid")"
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 10 curl -sf http://127.0.0.1:7878/healthz >/dev/null
	run berth compose -p sec scale web=2
	[ "$status" -eq 0 ]
	run berth exec sec-web-2 mkdir /tmp/x
	[ "$output" = "mkdir: can't create directory '/tmp/x': Operation not permitted" ]
}

@test "changing a security key recreates the replica on up" {
	write_compose "cap_drop: [NET_RAW]"
	compose_up
	id1=$(berth inspect -f '{{.Id}}' sec-web-1)
	compose_up
	[ "$(berth inspect -f '{{.Id}}' sec-web-1)" = "$id1" ]
	write_compose "cap_drop: [NET_RAW, CHOWN]"
	compose_up
	wait_for 30 sh -c "[ \"\$(berth inspect -f '{{.HostConfig.CapDrop}}' sec-web-1 2>/dev/null)\" = '[NET_RAW CHOWN]' ]"
	[ "$(berth inspect -f '{{.Id}}' sec-web-1)" != "$id1" ]
}

@test "bad values are refused at compose up with compose's message, nothing created" {
	write_compose "cap_add: [NOPE]"
	run berth compose -p sec up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"services.web.cap_add[0]: invalid CapAdd: unknown capability: \"CAP_NOPE\""* ]]
	write_compose "security_opt: [bogus]"
	run berth compose -p sec up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"services.web.security_opt[0]: Invalid security-opt: \"bogus\""* ]]
	write_compose "security_opt: [seccomp=./missing.json]"
	run berth compose -p sec up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"opening seccomp profile (./missing.json) failed: open $PWD/missing.json: no such file or directory"* ]]
	[ -z "$(berth ps -qa)" ]
	run berth network ls --format '{{.Name}}'
	[[ "$output" != *sec_default* ]]
	run berth compose -p sec ps -a
	[[ "$output" != *sec-web* ]]
}
