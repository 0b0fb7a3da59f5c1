#!/usr/bin/env bats
# Rolling updates of compose services (deploy.update_config): stop-first batches after a config
# change and after a new image under the same tag, start-first with a client that never sees
# a failed request (draining: compose_drain.bats), and failure_action rollback when the new image's health check fails.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
	# app:good serves /www/index.html; app:bad runs nothing on 8080, so its health check fails.
	berth image import --change 'CMD ["sh","-c","mkdir -p /www; echo v$V >/www/index.html; exec httpd -f -p 8080 -h /www"]' \
		"$(busybox_tar)" app:good >/dev/null
	berth image import --change 'CMD ["sleep","600"]' "$(busybox_tar)" app:bad >/dev/null
}

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/demo"
	cd "$BATS_TEST_TMPDIR/demo"
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		berth_dump_logs >&3
		curl -s http://127.0.0.1:7878/status | jq -c . >&3
		berth ps -a >&3
	fi
	berth compose -p demo down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# compose.yaml for: $1 = image, $2 = V, $3 = order, $4 = failure_action, $5 = replicas
write_compose() {
	cat >compose.yaml <<EOF
services:
  web:
    image: $1
    environment:
      V: "$2"
    init: true
    restart: always
    ports: ["9000:8080"]
    healthcheck:
      # berth's own probe from outside (no exec): busybox-static's wget can crash in
      # namespaces without NSS files, which left replicas unhealthy at random
      test: ["CMD-HTTP", "http://localhost:8080/"]
      interval: 300ms
      timeout: 2s
      retries: 2
    deploy:
      replicas: ${5:-3}
      update_config:
        parallelism: 1
        order: $3
        failure_action: $4
EOF
}

ids() {
	berth ps -q --no-trunc --filter label=com.docker.compose.project=demo | sort | tr '\n' ' '
}

names() {
	berth ps -a --format '{{.Names}}' --filter label=com.docker.compose.project=demo | sort -V | tr '\n' ' '
}

update_field() {
	curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r ".update.$1"
}

all_healthy() {
	[ "$(curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r '.health.healthy')" = "$1" ]
}

@test "stop-first: a config change replaces the replicas one at a time, under the same names" {
	write_compose app:good 1 stop-first pause
	compose_up
	wait_for 45 all_healthy 3
	before=$(ids)
	write_compose app:good 2 stop-first pause
	# Count the containers while the update runs: stop-first never has more than 3.
	(for i in $(seq 1 400); do berth ps -qa --filter label=com.docker.compose.project=demo | wc -l; sleep 0.02; done >"$BATS_TEST_TMPDIR/counts") &
	counter=$!
	run berth compose up -d
	kill $counter 2>/dev/null || true
	wait $counter 2>/dev/null || true
	[ "$status" -eq 0 ]
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 " ]
	[ "$(sort -n "$BATS_TEST_TMPDIR/counts" | tail -1)" -le 3 ]
	after=$(ids)
	for id in $before; do [[ "$after" != *"$id"* ]]; done
	for n in 1 2 3; do
		run berth exec demo-web-$n cat /www/index.html
		[ "$output" = v2 ]
	done
	[ "$(update_field state)" = completed ]
	[ "$(update_field batch)/$(update_field batches)" = 3/3 ]
	# Nothing changed: nothing is replaced.
	after2=$(ids)
	compose_up
	[ "$(ids)" = "$after2" ]
}

@test "a new image under the same tag is an update too" {
	berth image tag app:good app:current
	write_compose app:current 1 stop-first pause 2
	compose_up
	wait_for 45 all_healthy 2
	before=$(ids)
	berth image import --change 'CMD ["sh","-c","mkdir -p /www; echo new$V >/www/index.html; exec httpd -f -p 8080 -h /www"]' \
		"$(busybox_tar)" app:current >/dev/null
	run berth compose up -d
	[ "$status" -eq 0 ]
	for id in $before; do [[ "$(ids)" != *"$id"* ]]; done
	run curl -s --max-time 2 http://127.0.0.1:9000/
	[ "$output" = new1 ]
	# The tag moves again without an up: a scale-up runs the newest image, and nothing is
	# replaced (only an up resolves the tag again).
	berth image import --change 'CMD ["sh","-c","mkdir -p /www; echo newer$V >/www/index.html; exec httpd -f -p 8080 -h /www"]' \
		"$(busybox_tar)" app:current >/dev/null
	kept=$(ids)
	run berth compose scale web=3
	[ "$status" -eq 0 ]
	sleep 1
	for id in $kept; do [[ "$(ids)" == *"$id"* ]]; done
	[ "$(berth ps -q --filter label=com.docker.compose.project=demo | wc -l)" -eq 3 ]
	[ "$(update_field state)" = completed ]
}

@test "start-first: a client looping on the published port is served throughout" {
	write_compose app:good 1 start-first pause
	compose_up
	wait_for 45 all_healthy 3
	write_compose app:good 2 start-first pause
	: >"$BATS_TEST_TMPDIR/answers"
	(for i in $(seq 1 3000); do
		curl -s --max-time 2 http://127.0.0.1:9000/ || echo FAIL
		[ -e "$BATS_TEST_TMPDIR/stop" ] && break
	done >>"$BATS_TEST_TMPDIR/answers" 2>&1) &
	loop=$!
	sleep 0.3
	run timeout 60 berth compose up -d
	sleep 0.3
	touch "$BATS_TEST_TMPDIR/stop"
	wait $loop || true
	[ "$status" -eq 0 ]
	answers=$(sort "$BATS_TEST_TMPDIR/answers" | uniq -c)
	echo "$answers"
	# There is always a healthy replica, and a request already routed to an old replica
	# finishes before that replica stops (netd drains it first): not one request fails.
	fails=$(grep -c FAIL "$BATS_TEST_TMPDIR/answers" || true)
	[ "$fails" -eq 0 ]
	[[ "$answers" == *v1* ]]
	[ "$(tail -1 "$BATS_TEST_TMPDIR/answers")" = v2 ]
	[ "$(berth ps -q --filter label=com.docker.compose.project=demo | wc -l)" -eq 3 ]
	[ "$(update_field state)" = completed ]
	[ "$(update_field order)" = start-first ]
	# New replicas take free numbers; the old ones go once their successors are healthy.
	[ "$(names | wc -w)" -eq 3 ]
}

@test "failure_action rollback: an image whose health check fails is rolled back" {
	write_compose app:good 1 stop-first rollback 2
	compose_up
	wait_for 45 all_healthy 2
	write_compose app:bad 1 stop-first rollback 2
	run timeout 90 berth compose up -d
	[ "$status" -ne 0 ]
	# unhealthy, or already being restarted by the agent for it (exit code 143): the agent
	# restarts an unhealthy replica at once, so the scheduler may see either first
	[[ "$output" == *"update rolled back: container demo-web-1 is unhealthy"* ||
		"$output" == *"update rolled back: container demo-web-1 is restarting (exit code 143)"* ]]
	[ "$(update_field state)" = rolled_back ]
	[ "$(names)" = "demo-web-1 demo-web-2 " ]
	run berth ps --format '{{.Image}}' --filter label=com.docker.compose.project=demo
	[ "$output" = "app:good
app:good" ]
	wait_for 45 all_healthy 2
	run curl -s --max-time 2 http://127.0.0.1:9000/
	[ "$output" = v1 ]
	# The project keeps the previous config: a restart of the scheduler does not re-apply it.
	run curl -s --unix-socket "$BERTH_RUN/scheduler.sock" http://x/projects/demo
	[ "$(echo "$output" | jq -r .services.web.image)" = app:good ]
}

@test "failure_action pause: the update stops at the failing batch, with the reason in the status" {
	write_compose app:good 1 stop-first pause 3
	compose_up
	wait_for 45 all_healthy 3
	write_compose app:bad 1 stop-first pause 3
	run timeout 90 berth compose up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"update paused: container demo-web-1 "* ]]
	[ "$(update_field state)" = paused ]
	[[ "$(update_field reason)" == *"demo-web-1 "* ]]
	run berth ps --format '{{.Names}} {{.Image}}' --filter label=com.docker.compose.project=demo
	[[ "$output" == *"demo-web-2 app:good"* ]]
	[[ "$output" == *"demo-web-3 app:good"* ]]
}

@test "kill -9 of the scheduler mid-update: the restarted one rolls forward, no duplicate replicas" {
	write_compose app:good 1 stop-first pause 4
	sed -i 's/parallelism: 1/parallelism: 1\n        delay: 700ms/' compose.yaml
	compose_up
	wait_for 45 all_healthy 4
	old=$(ids)
	sed -i 's/V: "1"/V: "2"/' compose.yaml
	berth compose up -d >/dev/null 2>&1 &
	up=$!
	wait_for 20 bash -c '[ "$(curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r .update.batch)" -ge 2 ]'
	kill9_wait "$(cat "$BERTH_RUN/scheduler.pid")"
	wait $up || true
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 30 bash -c '[ "$(curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r .update.state)" = completed ]'
	[ "$(names)" = "demo-web-1 demo-web-2 demo-web-3 demo-web-4 " ]
	for id in $old; do [[ "$(ids)" != *"$id"* ]]; done
	for n in 1 2 3 4; do
		run berth exec demo-web-$n cat /www/index.html
		[ "$output" = v2 ]
	done
}
