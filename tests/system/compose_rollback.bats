#!/usr/bin/env bats
# Rollbacks and failure tolerance of rolling updates: a new image under the same tag that fails
# is rolled back to the previous image ID (now untagged, kept by its containers), a second up
# of the same broken image is rolled back again instead of looping, and
# update_config.max_failure_ratio lets an update go on past a tolerated failure.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
	berth image import --change 'CMD ["sh","-c","mkdir -p /www; echo v$V >/www/index.html; exec httpd -f -p 8080 -h /www"]' \
		"$(busybox_tar)" app:good >/dev/null
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
	berth compose -p demo down -v >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

# compose.yaml: $1 = image, $2 = failure_action, $3 = replicas, $4 = max_failure_ratio,
# $5 = command (optional).
write_compose() {
	cat >compose.yaml <<EOF
services:
  web:
    image: $1
    ${5:+command: $5}
    environment:
      V: "1"
    init: true
    restart: always
    volumes: ["shared:/shared"]
    healthcheck:
      test: ["CMD-HTTP", "http://localhost:8080/"]
      interval: 300ms
      timeout: 2s
      retries: 2
    deploy:
      replicas: $3
      update_config:
        parallelism: 1
        failure_action: $2
        max_failure_ratio: $4
volumes:
  shared:
EOF
}

project_ids() {
	berth ps -q --no-trunc --filter label=com.docker.compose.project=demo
}

# The image ID of every replica of demo, one per line.
image_ids() {
	for id in $(project_ids); do berth inspect -f '{{.Image}}' "$id"; done
}

update_field() {
	curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r ".update.$1"
}

all_healthy() {
	[ "$(curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r '.health.healthy')" = "$1" ]
}

@test "an image-only change that fails is rolled back to the previous image ID, and stays so" {
	berth image tag app:good app:current
	good=$(berth image inspect -f '{{.Id}}' app:current)
	write_compose app:current rollback 2 0
	compose_up
	wait_for 45 all_healthy 2
	# The same tag now names an image that serves nothing: its health check fails.
	berth image import --change 'CMD ["sleep","600"]' "$(busybox_tar)" app:current >/dev/null
	bad=$(berth image inspect -f '{{.Id}}' app:current)
	[ "$bad" != "$good" ]
	run timeout 120 berth compose up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"update rolled back: container demo-web-1 "* ]]
	[ "$(update_field state)" = rolled_back ]
	[ "$(update_field image_id)" = "$good" ]
	[ "$(update_field pinned)" = true ]
	[ "$(image_ids | sort -u)" = "$good" ]
	[ "$(project_ids | wc -l)" -eq 2 ]
	wait_for 45 all_healthy 2
	# The previous image is untagged now, but its containers keep it from rm and prune.
	run berth image rm "$good"
	[ "$status" -ne 0 ]
	[[ "$output" == *"conflict"* ]]
	berth image prune -f >/dev/null
	berth image inspect "$good" >/dev/null
	# A scale-up while rolled back runs the previous image too, not the tag.
	berth compose scale web=3 >/dev/null
	wait_for 45 all_healthy 3
	[ "$(image_ids | sort -u)" = "$good" ]
	# A restarted scheduler keeps the pin.
	kill9_wait "$(cat "$BERTH_RUN/scheduler.pid")"
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 20 bash -c '[ "$(curl -s "http://127.0.0.1:7878/services/web?project=demo" | jq -r .update.pinned)" = true ]'
	sleep 1
	[ "$(image_ids | sort -u)" = "$good" ]
	[ "$(update_field state)" = rolled_back ]
}

@test "up again with the same broken image: tried once more, rolled back again, no loop" {
	berth image tag app:good app:current
	good=$(berth image inspect -f '{{.Id}}' app:current)
	write_compose app:current rollback 2 0
	compose_up
	wait_for 45 all_healthy 2
	berth image import --change 'CMD ["sleep","600"]' "$(busybox_tar)" app:current >/dev/null
	run timeout 120 berth compose up -d
	[ "$status" -ne 0 ]
	[ "$(update_field state)" = rolled_back ]
	wait_for 45 all_healthy 2
	run timeout 120 berth compose up -d
	[ "$status" -ne 0 ]
	# unhealthy, or already being restarted by the agent for it (exit code 143)
	[[ "$output" == *"update rolled back: container demo-web-1 "* ]]
	[ "$(update_field state)" = rolled_back ]
	[ "$(image_ids | sort -u)" = "$good" ]
	# It rests there: nothing is replaced until the next up.
	wait_for 45 all_healthy 2
	before=$(project_ids | sort)
	sleep 2
	[ "$(project_ids | sort)" = "$before" ]
	[ "$(update_field state)" = rolled_back ]
	# An image that works under the tag is an update again, and unpins the service.
	berth image import --change 'CMD ["sh","-c","mkdir -p /www; echo w$V >/www/index.html; exec httpd -f -p 8080 -h /www"]' \
		"$(busybox_tar)" app:current >/dev/null
	fixed=$(berth image inspect -f '{{.Id}}' app:current)
	run timeout 120 berth compose up -d
	[ "$status" -eq 0 ]
	[ "$(update_field state)" = completed ]
	[ "$(update_field pinned)" = null ]
	[ "$(image_ids | sort -u)" = "$fixed" ]
}

# The new config's first replica to start takes the lock on the shared volume and exits 1 (the
# restart policy brings it back; it then serves): one failed replica out of three.
ONE_FAILS='["sh","-c","mkdir /shared/lock 2>/dev/null && exit 1; mkdir -p /www; echo v$V >/www/index.html; exec httpd -f -p 8080 -h /www"]'

@test "max_failure_ratio 0.5: one failed replica of three is tolerated and the update completes" {
	write_compose app:good pause 3 0.5
	compose_up
	wait_for 45 all_healthy 3
	write_compose app:good pause 3 0.5 "$ONE_FAILS"
	run timeout 120 berth compose up -d
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(update_field state)" = completed ]
	[ "$(update_field max_failure_ratio)" = 0.5 ]
	# One replica did fail (it restarted), and the others were still updated.
	restarts=0
	for id in $(project_ids); do
		restarts=$((restarts + $(berth inspect -f '{{.RestartCount}}' "$id")))
		[[ "$(berth inspect -f '{{json .Config.Cmd}}' "$id")" == *shared/lock* ]]
	done
	[ "$restarts" -eq 1 ]
	wait_for 45 all_healthy 3
}

@test "max_failure_ratio 0 (the default): the same failure pauses the update" {
	write_compose app:good pause 3 0
	compose_up
	wait_for 45 all_healthy 3
	write_compose app:good pause 3 0 "$ONE_FAILS"
	run timeout 120 berth compose up -d
	[ "$status" -ne 0 ]
	[[ "$output" == *"update paused: container demo-web-1 "* ]]
	[[ "$output" == *"exit"* ]]
	[ "$(update_field state)" = paused ]
	[ "$(update_field batch)" = 1 ]
	[[ "$(berth inspect -f '{{json .Config.Cmd}}' demo-web-1)" == *shared/lock* ]]
	# Replicas 2 and 3 were not touched.
	for n in 2 3; do
		[[ "$(berth inspect -f '{{json .Config.Cmd}}' demo-web-$n)" != *shared/lock* ]]
	done
}
