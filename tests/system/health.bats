#!/usr/bin/env bats
# Health checks run by the agent: CMD (no shell), CMD-SHELL, NONE, timeouts, berth's CMD-HTTP
# and CMD-TCP probes from outside the container, State.Health in inspect, ps, health_status
# events, the restart of unhealthy services, and balanced ports leaving unhealthy replicas.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown_file() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

health() { berth inspect -f '{{.State.Health.Status}}' "$1"; }
hjson() { # NAME PYTHON-EXPR on h = State.Health
	berth inspect -f '{{json .State.Health}}' "$1" |
		python3 -c "import json,sys; h=json.load(sys.stdin); print($2)"
}
wait_health() { # NAME STATUS SECONDS
	wait_for "$3" sh -c "[ \"\$(berth inspect -f '{{.State.Health.Status}}' $1)\" = $2 ]"
}

events() { # events SINCE FILTER-JSON
	curl -s --max-time 10 --unix-socket "$BERTH_RUN/agent.sock" -G \
		--data-urlencode "since=$1" --data-urlencode "until=$(($(date +%s) + 1))" \
		--data-urlencode "filters=$2" "http://x/v1.41/events"
}

create_json() { # NAME JSON: POST /containers/create then start
	curl -sf --unix-socket "$BERTH_RUN/agent.sock" -H 'Content-Type: application/json' \
		-d "$2" "http://x/v1.41/containers/create?name=$1" >/dev/null &&
		berth start "$1" >/dev/null
}

@test "CMD-SHELL check that passes: starting, then healthy; ps, inspect's log, the event" {
	since=$(date +%s)
	berth run -d --name ok --health-cmd 'echo fine; true' --health-interval 200ms busybox sleep 600
	run berth ps --format '{{.Status}}'
	[[ "$output" == "Up "*" (health: starting)" ]]
	[ "$(health ok)" = starting ]
	wait_health ok healthy 5
	run berth ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == "ok Up "*" (healthy)" ]]
	run berth inspect -f '{{json .State.Health}}' ok
	echo "$output"
	[[ "$output" == '{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"'* ]]
	[[ "$output" == *'"ExitCode":0,"Output":"fine\n"}'* ]]
	# The log keeps the last 5 results: once the first has rotated out, there are 5.
	# (A probe is an exec: under load there are fewer than 1 s / 200 ms of them a second.)
	first=$(hjson ok 'h["Log"][0]["Start"]')
	wait_for 20 eval '[ "$(hjson ok "h[\"Log\"][0][\"Start\"]")" != "$first" ]'
	[ "$(hjson ok 'len(h["Log"])')" = 5 ]
	run events "$since" '{"type":["container"],"container":["ok"]}'
	[ "$(grep -c '"Action":"health_status: healthy"' <<<"$output")" -eq 1 ]
	[[ "$output" == *'"status":"health_status: healthy"'* ]]
}

@test "CMD check without a shell (exec of argv in the container's namespaces)" {
	create_json cmdok '{"Image":"busybox","Cmd":["sleep","600"],"Healthcheck":{"Test":["CMD","test","-d","/proc/1"],"Interval":200000000}}'
	wait_health cmdok healthy 5
	create_json cmdbad '{"Image":"busybox","Cmd":["sleep","600"],"Healthcheck":{"Test":["CMD","/no/such/check"],"Interval":200000000,"Retries":2}}'
	wait_health cmdbad unhealthy 5
	[ "$(hjson cmdbad 'h["Log"][0]["ExitCode"]')" = 127 ]
	[[ "$(hjson cmdbad 'h["Log"][0]["Output"]')" == *'exec: "/no/such/check": stat /no/such/check: no such file'* ]]
	run berth ps --format '{{.Names}} {{.Status}}' --filter name=cmdbad
	[[ "$output" == "cmdbad Up "*" (unhealthy)" ]]
	# without the label a plain container is only marked, as Docker does
	sleep 0.5
	[ "$(berth inspect -f '{{.RestartCount}} {{.State.Status}}' cmdbad)" = "0 running" ]
}

@test "a failing CMD-SHELL check: unhealthy within interval x retries, FailingStreak, exit 1 output" {
	since=$(date +%s)
	berth run -d --name bad --health-cmd 'echo nope >&2; exit 1' --health-interval 200ms \
		--health-retries 3 busybox sleep 600
	start=$(date +%s%N)
	wait_health bad unhealthy 5
	took=$((($(date +%s%N) - start) / 1000000))
	echo "unhealthy after $took ms"
	# 3 x 200 ms plus the probes themselves (~700 ms under ASan and ctest -j2): far from the
	# 30 s default interval, with room for a loaded 2-core machine
	[ "$took" -lt 2000 ]
	[ "$(hjson bad 'h["FailingStreak"] >= 3')" = True ]
	[ "$(hjson bad 'repr((h["Log"][-1]["ExitCode"], h["Log"][-1]["Output"]))')" = "(1, 'nope\\n')" ]
	run events "$since" '{"type":["container"],"container":["bad"]}'
	[[ "$output" == *'"Action":"health_status: unhealthy"'* ]]
}

@test "an unhealthy container with berth.health.restart=true is restarted, with the backoff" {
	since=$(date +%s)
	# healthy for the first second of each run, then failing (the marker stays in its
	# writable layer: the command removes it at each start)
	berth run -d --name rs --stop-timeout 1 --label berth.health.restart=true --health-cmd 'test ! -e /tmp/sick' \
		--health-interval 200ms --health-retries 2 busybox sh -c 'rm -f /tmp/sick; sleep 1; touch /tmp/sick; exec sleep 600'
	wait_for 10 sh -c "[ \$(berth inspect -f '{{.RestartCount}}' rs) -ge 1 ]"
	wait_health rs healthy 5
	[ "$(berth inspect -f '{{.State.Status}}' rs)" = running ]
	run events "$since" '{"type":["container"],"container":["rs"]}'
	actions=$(grep -o '"Action":"[a-z_: ]*"' <<<"$output" | cut -d'"' -f4 | tr '\n' ',')
	echo "$actions"
	[[ "$actions" == *"health_status: healthy,health_status: unhealthy,kill,die,start,health_status: healthy"* ]]
	# berth.health.restart=false keeps Docker's behaviour, even for a compose service
	berth run -d --name keep --label berth.health.restart=false --label com.docker.compose.project=p \
		--health-cmd 'exit 1' --health-interval 200ms --health-retries 1 busybox sleep 600
	wait_health keep unhealthy 5
	sleep 0.5
	[ "$(berth inspect -f '{{.RestartCount}} {{.State.Status}}' keep)" = "0 running" ]
}

@test "a compose service's unhealthy replica is restarted by default" {
	berth run -d --name svc-1 --stop-timeout 1 --label com.docker.compose.project=p --label com.docker.compose.service=svc \
		--health-cmd 'exit 1' --health-interval 200ms --health-retries 1 busybox sleep 600
	wait_for 10 sh -c "[ \$(berth inspect -f '{{.RestartCount}}' svc-1) -ge 1 ]"
}

@test "a check that times out is killed and counted as a failure" {
	# The next check starts an interval (2 s) after the last one ended, so right after the
	# first timeout no check may be running: a leftover 'sleep 100' is one that was not killed.
	berth run -d --name slow --health-cmd 'sleep 100' --health-interval 2s --health-timeout 300ms \
		--health-retries 1 busybox sleep 600
	wait_health slow unhealthy 8
	[ "$(hjson slow 'h["Log"][-1]["ExitCode"], h["Log"][-1]["Output"]')" = "-1 Health check exceeded timeout (300ms)" ]
	# the check's processes were killed: only the container's sleep is left in it
	sleep 0.3
	pid=$(berth inspect -f '{{.State.Pid}}' slow)
	run sh -c "ps -eo pid,ppid,args | grep 'sleep 100' | grep -v grep"
	[ -z "$output" ]
}

@test "CMD-HTTP and CMD-TCP probes from the agent, without exec" {
	berth run -d --name web --health-cmd 'CMD-HTTP http://localhost:8080/index.html' \
		--health-interval 200ms busybox sh -c 'mkdir /www; echo hi >/www/index.html; exec httpd -f -p 8080 -h /www'
	berth run -d --name tcp --health-cmd 'CMD-TCP 8080' --health-interval 200ms \
		busybox sh -c 'exec nc -ll -p 8080 -e true'
	berth run -d --name http404 --health-cmd 'CMD-HTTP http://:8080/missing' --health-interval 200ms \
		--health-retries 1 busybox sh -c 'mkdir /www; exec httpd -f -p 8080 -h /www'
	berth run -d --name closed --health-cmd 'CMD-TCP 9' --health-interval 200ms \
		--health-retries 1 busybox sleep 600
	wait_health web healthy 5
	wait_health tcp healthy 5
	wait_health http404 unhealthy 5
	wait_health closed unhealthy 5
	run berth inspect -f '{{json .Config.Healthcheck.Test}}' web
	[ "$output" = '["CMD-HTTP","http://localhost:8080/index.html"]' ]
	[ "$(hjson web 'h["Log"][-1]["Output"]')" = "HTTP/1.1 200 OK" ]
	[[ "$(hjson http404 'h["Log"][-1]["Output"]')" == "HTTP/1.1 404"* ]]
	[[ "$(hjson closed 'h["Log"][-1]["Output"]')" == *"Connection refused"* ]]
	# no exec happened: no berth-shim exec helper was ever a child of the agent for these
	run sh -c "ps -eo args | grep -c '[b]erth-shim exec'"
	[ "$output" = 0 ]
}

@test "NONE and --no-healthcheck: no health state" {
	create_json none '{"Image":"busybox","Cmd":["sleep","600"],"Healthcheck":{"Test":["NONE"]}}'
	berth run -d --name nohc --no-healthcheck busybox sleep 600
	run berth inspect -f '{{json .State.Health}}' none
	[ "$output" = null ]
	run berth ps --format '{{.Status}}' --filter name=nohc
	[[ "$output" == "Up "* ]]
	[[ "$output" != *"health"* ]]
}

@test "health survives an agent restart; a new start begins at starting" {
	berth run -d --name surv --health-cmd true --health-interval 200ms busybox sleep 600
	wait_health surv healthy 5
	kill9_wait "$(cat "$BERTH_RUN/agent.pid")"
	berth system start >/dev/null
	[ "$(health surv)" = healthy ]
	run berth ps --format '{{.Status}}' --filter name=surv
	[[ "$output" == *"(healthy)" ]]
	berth restart -t 0 surv
	[ "$(health surv)" = starting ]
	wait_health surv healthy 5
}

@test "bad healthchecks are refused at create" {
	run create_json b1 '{"Image":"busybox","Healthcheck":{"Test":["CMD-WHAT","x"]}}'
	[ "$status" -ne 0 ]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Healthcheck":{"Test":["CMD-HTTP","ftp://x"]}}' http://x/v1.41/containers/create
	[[ "$output" == *"CMD-HTTP wants an http:// URL"* ]]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Healthcheck":{"Test":["CMD-TCP","99999"]}}' http://x/v1.41/containers/create
	[[ "$output" == *"CMD-TCP wants PORT"* ]]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":5}}' http://x/v1.41/containers/create
	[[ "$output" == *"Interval in Healthcheck cannot be less than 1ms"* ]]
	run berth run -d --health-cmd true --health-interval soon busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid duration"* ]]
}

@test "replicas of a compose service share a published port; an unhealthy one gets no traffic" {
	for n in 1 2; do
		berth run -d --name bal-$n -p 9000:8080 --label com.docker.compose.project=bp \
			--label com.docker.compose.service=web --label berth.health.restart=false \
			--health-cmd 'test ! -e /www/sick' --health-interval 200ms --health-retries 1 \
			busybox sh -c "mkdir /www; echo replica-$n >/www/index.html; exec httpd -f -p 8080 -h /www"
	done
	wait_health bal-1 healthy 5
	wait_health bal-2 healthy 5
	: >"$BATS_TEST_TMPDIR/seen"
	for i in $(seq 10); do curl -s --max-time 2 http://127.0.0.1:9000/ >>"$BATS_TEST_TMPDIR/seen"; done
	sort "$BATS_TEST_TMPDIR/seen" | uniq -c
	grep -q replica-1 "$BATS_TEST_TMPDIR/seen"
	grep -q replica-2 "$BATS_TEST_TMPDIR/seen"
	berth exec bal-2 touch /www/sick
	wait_health bal-2 unhealthy 5
	sleep 0.2
	: >"$BATS_TEST_TMPDIR/seen"
	for i in $(seq 10); do curl -s --max-time 2 http://127.0.0.1:9000/ >>"$BATS_TEST_TMPDIR/seen"; done
	sort "$BATS_TEST_TMPDIR/seen" | uniq -c
	[ "$(grep -c replica-1 "$BATS_TEST_TMPDIR/seen")" -eq 10 ]
	# healthy again: back in the rotation
	berth exec bal-2 rm /www/sick
	wait_health bal-2 healthy 5
	sleep 0.2
	: >"$BATS_TEST_TMPDIR/seen"
	for i in $(seq 10); do curl -s --max-time 2 http://127.0.0.1:9000/ >>"$BATS_TEST_TMPDIR/seen"; done
	grep -q replica-2 "$BATS_TEST_TMPDIR/seen"
}
