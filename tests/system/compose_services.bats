#!/usr/bin/env bats
# berth compose stop|start|restart SERVICE (a stopped service stays stopped across a kill -9 of
# the scheduler and reconcile passes), -t, unknown services, compose logs --no-log-prefix,
# --tail, -t and SERVICE, and an attached compose up that returns when its containers exit
# (--abort-on-container-exit, --exit-code-from).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/demo"
	cd "$BATS_TEST_TMPDIR/demo"
	# web ignores SIGTERM (sleep is PID 1 without init), so a stop waits for -t.
	cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
    command: sh -c 'echo db ready; exec sleep 100000'
    init: true
    restart: always
  web:
    image: busybox
    command: sleep 100000
    restart: always
    depends_on: [db]
    deploy:
      replicas: 2
EOF
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	# stop -t 0 first: web ignores SIGTERM, down would wait 10 s for it.
	berth compose -p demo stop -t 0 >/dev/null 2>&1 || true
	berth compose -p demo down >/dev/null 2>&1 || true
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

state() {
	berth inspect -f '{{.State.Status}}' "$1"
}

states() {
	local out="" c
	for c in demo-db-1 demo-web-1 demo-web-2; do
		out+="$(state $c) "
	done
	echo "$out"
}

ids() {
	berth inspect -f '{{.Id}}' demo-web-1 demo-web-2 | tr '\n' ' '
}

# kill -9 of the scheduler; a new one resumes from the state files.
restart_scheduler() {
	local pid
	pid=$(cat "$BERTH_RUN/scheduler.pid")
	kill9_wait "$pid"
	berth-scheduler >>"$BERTH_RUN/scheduler.log" 2>&1 3>&- &
	wait_for 10 bash -c '[ "$(cat "$BERTH_RUN/scheduler.pid")" != '"$pid"' ] && curl -sf 127.0.0.1:7878/healthz'
}

@test "stop web: db keeps running; web stays exited across a kill -9 of the scheduler; start web brings the same containers back" {
	compose_up
	local before
	before=$(ids)
	run timeout 20 berth compose stop -t 1 web
	[ "$status" -eq 0 ]
	[ "$output" = " Container demo-web-1  Stopped
 Container demo-web-2  Stopped" ]
	[ "$(states)" = "running exited exited " ]
	run curl -s 127.0.0.1:7878/status
	[ "$(echo "$output" | jq -c '.projects.demo.services.web | [.stopped, .desired, .running, [.containers[].state]]')" = '[true,0,0,["exited","exited"]]' ]
	[ "$(echo "$output" | jq -c '.projects.demo.services.db | [.stopped, .desired, .running]')" = '[null,1,1]' ]
	[ "$(jq -c .stopped_services "$BERTH_ROOT/scheduler/projects/demo.json")" = '["web"]' ]

	restart_scheduler
	# A pass of the project (an up of db) and the agent's events must not start web.
	run -0 berth compose up -d db
	sleep 1
	[ "$(states)" = "running exited exited " ]
	# The restarted scheduler read the flag from its state file.
	[ "$(curl -s 127.0.0.1:7878/status | jq -c '.projects.demo.services.web | [.stopped, .desired]')" = '[true,0]' ]
	run berth compose ps -a
	[[ "$output" =~ demo-web-1\ .*Exited\ \(137\) ]]
	[[ "$output" =~ demo-db-1\ .*Up\  ]]

	run berth compose start web
	[ "$status" -eq 0 ]
	[ "$output" = " Container demo-web-1  Started
 Container demo-web-2  Started" ]
	[ "$(states)" = "running running running " ]
	[ "$(ids)" = "$before" ]
	[ "$(jq -c .stopped_services "$BERTH_ROOT/scheduler/projects/demo.json")" = '[]' ]
}

@test "a replica of a stopped service removed by hand is not recreated until compose up of the service" {
	compose_up
	local web1
	web1=$(berth inspect -f '{{.Id}}' demo-web-1)
	berth compose stop -t 0 web 2>/dev/null
	berth rm demo-web-2 >/dev/null
	# the destroy event starts a pass; so do a kill -9 of the scheduler and an up of db.
	restart_scheduler
	run -0 berth compose up -d db
	sleep 1
	[ "$(berth ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" = "demo-db-1 demo-web-1 " ]
	[ "$(state demo-web-1)" = exited ]
	# up of the service clears its stopped flag, as compose's does.
	run berth compose up -d web
	[ "$status" -eq 0 ]
	[ "$(states)" = "running running running " ]
	[ "$(berth inspect -f '{{.Id}}' demo-web-1)" = "$web1" ]
	[ "$(jq -c .stopped_services "$BERTH_ROOT/scheduler/projects/demo.json")" = '[]' ]
}

@test "restart web changes the StartedAt of web only; -t bounds the stop; project-wide stop and start still work" {
	compose_up
	local db web1 web2
	db=$(berth inspect -f '{{.State.StartedAt}}' demo-db-1)
	web1=$(berth inspect -f '{{.State.StartedAt}}' demo-web-1)
	web2=$(berth inspect -f '{{.State.StartedAt}}' demo-web-2)
	local t0=$SECONDS
	run timeout 20 berth compose restart -t 1 web
	[ "$status" -eq 0 ]
	[ $((SECONDS - t0)) -lt 6 ] # web ignores SIGTERM: the default would wait 10 s
	[ "$(states)" = "running running running " ]
	[ "$(berth inspect -f '{{.State.StartedAt}}' demo-db-1)" = "$db" ]
	[ "$(berth inspect -f '{{.State.StartedAt}}' demo-web-1)" != "$web1" ]
	[ "$(berth inspect -f '{{.State.StartedAt}}' demo-web-2)" != "$web2" ]

	run timeout 20 berth compose stop -t 0
	[ "$status" -eq 0 ]
	[ "$(states)" = "exited exited exited " ]
	[ "$(curl -s 127.0.0.1:7878/status | jq .projects.demo.stopped)" = true ]
	run berth compose start
	[ "$status" -eq 0 ]
	[ "$(states)" = "running running running " ]
	[ "$(curl -s 127.0.0.1:7878/status | jq .projects.demo.stopped)" = false ]
}

@test "an unknown service: compose's error and exit 1, nothing changed" {
	compose_up
	local verb
	for verb in stop start restart logs; do
		run berth compose $verb nope
		[ "$status" -eq 1 ]
		[ "$output" = "no such service: nope" ]
	done
	run berth compose stop web nope
	[ "$status" -eq 1 ]
	[ "$output" = "no such service: nope" ]
	[ "$(states)" = "running running running " ]
	# The scheduler's API says the same.
	run curl -s -X POST --unix-socket "$BERTH_RUN/scheduler.sock" -w '\n%{http_code}' \
		-d '{"services": ["nope"]}' http://berth/projects/demo/stop
	[ "${lines[0]}" = '{"message":"no such service: nope"}' ]
	[ "${lines[1]}" = 404 ]
	run curl -s -X POST --unix-socket "$BERTH_RUN/scheduler.sock" -w '\n%{http_code}' \
		-d '{"services": "web"}' http://berth/projects/demo/stop
	[ "${lines[1]}" = 400 ]
	run berth compose stop -t -3 web
	[ "$status" -eq 1 ]
	[ "$(states)" = "running running running " ]
}

@test "compose logs: --no-log-prefix, --tail, -t and SERVICE" {
	cat >compose.yaml <<'EOF'
services:
  say:
    image: busybox
    command: sh -c 'echo one; echo two; echo three'
  other:
    image: busybox
    command: echo other line
EOF
	compose_up
	wait_for 10 bash -c '[ "$(berth inspect -f "{{.State.Status}}" demo-say-1 demo-other-1)" = "exited
exited" ]'
	run berth compose logs --no-log-prefix say
	[ "$status" -eq 0 ]
	[ "$output" = "one
two
three" ]
	run berth compose logs say
	[ "$output" = "say-1  | one
say-1  | two
say-1  | three" ]
	run berth compose logs --tail 1 say
	[ "$output" = "say-1  | three" ]
	run berth compose logs -n 2 --no-log-prefix say
	[ "$output" = "two
three" ]
	run berth compose logs -t --tail 1 say
	[[ "$output" =~ ^say-1\ \ \|\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ three$ ]]
	run berth compose logs --no-log-prefix
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "one other line three two " ]
	run berth compose logs --tail x
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid value "x" for --tail'* ]]
}

@test "compose up without -d returns when every container has exited and prints the exit lines" {
	cat >compose.yaml <<'EOF'
services:
  a:
    image: busybox
    command: sh -c 'echo hello a; sleep 0.3; echo bye a'
  b:
    image: busybox
    command: sh -c 'echo hello b; sleep 0.6; exit 3'
EOF
	run -0 timeout 30 berth compose up
	[[ "$output" == *"a-1  | hello a"* ]]
	[[ "$output" == *"b-1  | hello b"* ]]
	[[ "$output" == *"a-1  | bye a
a-1 exited with code 0"* ]]
	[[ "$output" == *"b-1 exited with code 3"* ]]
	[ "$(echo "$output" | tail -1)" = "b-1 exited with code 3" ]
	# A second up shows this run's output only, and --no-log-prefix drops the prefix.
	run -0 timeout 30 berth compose up --no-log-prefix a
	[ "$(echo "$output" | grep -v '^ Container')" = "hello a
bye a
a-1 exited with code 0" ]
}

@test "compose up --abort-on-container-exit stops the rest at the first exit; --exit-code-from" {
	cat >compose.yaml <<'EOF'
services:
  a:
    image: busybox
    command: sh -c 'echo hello a; sleep 0.3; exit 4'
  b:
    image: busybox
    init: true
    restart: always
    command: sh -c 'echo hello b; exec sleep 100000'
EOF
	run -4 timeout 30 berth compose up --abort-on-container-exit
	[[ "$output" == *"a-1 exited with code 4
Aborting on container exit..."* ]]
	[[ "$output" == *" Container demo-b-1  Stopped"* ]]
	[ "$(state demo-b-1)" = exited ]
	# b was stopped by the abort (SIGTERM: 143): its code is the one returned.
	run -143 timeout 30 berth compose up --exit-code-from b
	[[ "$output" == *"Aborting on container exit..."* ]]
	[ "$(state demo-b-1)" = exited ]
	run -1 berth compose up -d --abort-on-container-exit
	[ "$output" = "--abort-on-container-exit and --detach are incompatible options" ]
	run -1 berth compose up --exit-code-from nope
	[ "$output" = "no such service: nope" ]
}
