#!/usr/bin/env bats
# Compose `cpuset`: the loader's checks, `compose config`, and the scheduler spreading replicas
# over the pool (one CPU each with cpus: 0.5), least-loaded first, and still so after a kill -9
# and restart of the scheduler (the load is rebuilt from the berth.cpuset labels).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/pin"
	cd "$BATS_TEST_TMPDIR/pin"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth compose -p pin down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# write_compose CPUSET [EXTRA LINE]: service web, 4 replicas
write_compose() {
	cat >compose.yaml <<EOF
services:
  web:
    image: busybox
    command: sleep 1000
    init: true
    cpuset: "$1"
    ${2:-cpus: 0.5}
    deploy:
      replicas: 4
EOF
}

# The Cpus_allowed_list of replica N's init, read on the host.
allowed() {
	local pid
	pid=$(berth inspect -f '{{.State.Pid}}' "pin-web-$1") || return 1
	sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$pid/status"
}

# "N=CPUS ..." for replicas 1..$1, from the host's view of each init
pins() {
	local n out=""
	for n in $(seq "$1"); do out="$out$n=$(allowed "$n") "; done
	echo "$out"
}

status_pins() {
	curl -s "http://127.0.0.1:7878/services/web?project=pin" |
		jq -r '[.containers[] | "\(.number)=\(.cpuset)"] | sort | join(" ")'
}

status_pins_are() {
	[ "$(status_pins)" = "$1" ]
}

@test "compose config prints cpuset in the kernel's form; a bad list names the service" {
	write_compose "1,0"
	run berth compose config
	[ "$status" -eq 0 ]
	[[ "$output" == *"cpuset: 0-1"* ]]
	write_compose "0-"
	run berth compose config
	[ "$status" -ne 0 ]
	[[ "$output" == *"services.web.cpuset: invalid CPU list \"0-\""* ]]
	run berth compose up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"services.web.cpuset: invalid CPU list"* ]]
	[ -z "$(berth ps -qa)" ]
}

@test "replicas spread over the pool, least loaded first, and again after a kill -9 of the scheduler" {
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
	write_compose 0-1
	run berth compose up -d
	[ "$status" -eq 0 ]
	[ "$(pins 4)" = "1=0 2=1 3=0 4=1 " ]
	[ "$(status_pins)" = "1=0 2=1 3=0 4=1" ]
	run berth inspect -f '{{.HostConfig.CpusetCpus}} {{index .Config.Labels "berth.cpuset"}}' pin-web-2
	[ "$output" = "1 1" ]

	# down to 3: CPU 1 holds one replica, CPU 0 two
	berth compose scale web=3 >/dev/null 2>&1
	[ -z "$(berth ps -qa --filter name=pin-web-4)" ]
	kill9_wait "$(cat "$BERTH_RUN/scheduler.pid")"
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 10 curl -sf http://127.0.0.1:7878/healthz >/dev/null
	# a scheduler that lost the load would pick CPU 0 again
	berth compose scale web=5 >/dev/null 2>&1
	[ "$(pins 5)" = "1=0 2=1 3=0 4=1 5=0 " ]
	wait_for 10 status_pins_are "1=0 2=1 3=0 4=1 5=0"
}

@test "without a CPU count every replica gets the whole pool" {
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
	write_compose 1 "labels: {x: y}"
	berth compose up -d >/dev/null 2>&1
	[ "$(pins 4)" = "1=1 2=1 3=1 4=1 " ]
	write_compose 0-1 "labels: {x: z}"
	berth compose up -d >/dev/null 2>&1
	wait_for 30 status_pins_are "1=0-1 2=0-1 3=0-1 4=0-1"
	[ "$(pins 4)" = "1=0-1 2=0-1 3=0-1 4=0-1 " ]
}
