#!/usr/bin/env bats
# scripts/quickstart.sh (the README's first command) without apt and without its own build:
# the container tutorial, then the echo service up with 3 healthy replicas answering
# "Hello Docker!!" on port 9000 and the status endpoint; a second run reuses what is there.

load helpers
bats_require_minimum_version 1.5.0

teardown_file() {
	berth compose -f "$BERTH_SRC/examples/echo/compose.yaml" down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
}

quickstart() {
	timeout 180 "$BERTH_SRC/scripts/quickstart.sh" --no-deps --no-build
}

check_output() {
	[[ "$output" == *'$ berth run --rm busybox echo Hello from a berth container'$'\n''Hello from a berth container'* ]]
	[[ "$output" == *'$ curl -s http://localhost:8000/'$'\n''Hello Docker!!'* ]]
	[[ "$output" == *'$ berth compose -f examples/echo/compose.yaml up -d'* ]]
	[[ "$output" == *'$ berth compose -f examples/echo/compose.yaml scale web=3'* ]]
	# the six curls of the published port, all answered
	local curls
	curls=$(sed -n '/^\$ for i in 1 2 3 4 5 6; do curl/,/^$/p' <<<"$output" | sed 1d | sed '/^$/d')
	[ "$(grep -c '^Hello Docker!!$' <<<"$curls")" -eq 6 ]
	[[ "$output" == *'$ curl -s http://127.0.0.1:7878/status | head'* ]]
	[[ "$output" == *'"echo"'* ]]
	[[ "$output" == *"http://127.0.0.1:7878/status"* ]]
	[[ "$output" != *"(no answer)"* ]]
	[[ "$output" != *"healthy yet"* ]]
}

@test "quickstart --no-deps --no-build: tutorial, then the echo service on 9000 with 3 replicas" {
	run quickstart
	[ "$status" -eq 0 ]
	[[ "$output" == *'$ berth system start'* ]]
	check_output
	# what it leaves running: 3 healthy replicas, the tutorial's container gone
	[ "$(berth ps --filter label=com.docker.compose.project=echo --format '{{.Status}}' | grep -c '(healthy)')" -eq 3 ]
	[ -z "$(berth ps -qa --filter name=quickstart-hello)" ]
	run curl -s http://127.0.0.1:7878/status
	[ "$(jq '.projects.echo.services.web.running' <<<"$output")" = 3 ]
	[ "$(curl -s http://127.0.0.1:9000/)" = "Hello Docker!!" ]
}

@test "a second run finds berth running and the service up, and ends the same way" {
	ids_before=$(berth ps -q --filter label=com.docker.compose.project=echo | sort)
	run quickstart
	[ "$status" -eq 0 ]
	[[ "$output" == *"berth is already running:"* ]]
	[[ "$output" != *'$ berth system start'* ]]
	[[ "$output" != *'$ berth image import'* ]]
	check_output
	# the same replicas: nothing recreated
	[ "$(berth ps -q --filter label=com.docker.compose.project=echo | sort)" = "$ids_before" ]
}

@test "quickstart: an unknown option is refused" {
	run "$BERTH_SRC/scripts/quickstart.sh" --bogus
	[ "$status" -eq 2 ]
	[ "$output" = "quickstart: unknown option: --bogus (try --help)" ]
}
