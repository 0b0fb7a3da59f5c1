#!/usr/bin/env bats
# berth-netd's drain of a container's published-port backends, through its API with curl: two
# endpoints share a balanced port; each runs a busybox httpd with a slow CGI in its namespace.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

connections() {
	napi GET "/endpoints/$1" | sed -n 's/.*"Connections":\([0-9]*\).*/\1/p'
}

# httpd NAME ID: serves "hello from NAME" and cgi-bin/slow?SECONDS in ID's namespace.
httpd() {
	local dir="$BATS_FILE_TMPDIR/www-$1"
	mkdir -p "$dir/cgi-bin"
	echo "hello from $1" >"$dir/index.html"
	printf '#!/bin/sh\nsleep "${QUERY_STRING:-2}"\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "slow from %s"\n' \
		"$1" >"$dir/cgi-bin/slow"
	chmod +x "$dir/cgi-bin/slow"
	# nsenter execs httpd, so $! is httpd itself; no stdio may keep bats' output pipe open.
	nsenter --net="$BERTH_RUN/netns/$2" busybox httpd -f -p 8080 -h "$dir" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-$1.pid"
}

setup_file() {
	berth-netd >>"$BERTH_RUN/netd.log" 2>&1 &
	echo $! >"$BERTH_RUN/test-netd.pid"
	wait_for 10 curl -sf --unix-socket "$BERTH_RUN/netd.sock" http://x/_ping >/dev/null || {
		cat "$BERTH_RUN/netd.log" >&2
		return 1
	}
	local a b port='"Ports":[{"ContainerPort":8080,"HostPort":9000,"Service":"p/web"}]'
	a=$(cid a1) b=$(cid b2)
	napi POST /endpoints "{\"ContainerId\":\"$a\",\"Name\":\"p-web-1\",$port}" | grep -q '\[201\]'
	napi POST /endpoints "{\"ContainerId\":\"$b\",\"Name\":\"p-web-2\",$port}" | grep -q '\[201\]'
	httpd a "$a"
	httpd b "$b"
	wait_for 5 curl -sf -m 2 -o /dev/null http://10.88.0.2:8080/
	wait_for 5 curl -sf -m 2 -o /dev/null http://10.88.0.3:8080/
}

teardown_file() {
	local p
	for p in "$BERTH_RUN"/test-httpd-*.pid "$BERTH_RUN/test-netd.pid"; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	return 0
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/netd.log" >&3 2>/dev/null || true
}

@test "drain: no new connections at once, open ones finish, the reply comes when they closed" {
	a=$(cid a1) b=$(cid b2)
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Draining":false,"Connections":0'*"[200]" ]]
	# Two slow requests: the round-robin gives each backend one.
	curl -s -m 10 "http://127.0.0.1:9000/cgi-bin/slow?2" >"$BATS_TEST_TMPDIR/slow1" 2>&1 </dev/null &
	curl -s -m 10 "http://127.0.0.1:9000/cgi-bin/slow?2" >"$BATS_TEST_TMPDIR/slow2" 2>&1 </dev/null &
	# (both: the second curl may connect a moment after the first)
	wait_for 5 eval '[ "$(connections "$a")" = 1 ] && [ "$(connections "$b")" = 1 ]'

	t0=$(now_ms)
	napi POST "/endpoints/$a/drain" '{"TimeoutMs":10000}' >"$BATS_TEST_TMPDIR/drain" &
	drain_pid=$!
	# While a drains, new connections all go to b.
	sleep 0.2
	for i in 1 2 3 4; do
		run curl -s -m 2 http://127.0.0.1:9000/
		[ "$output" = "hello from b" ]
	done
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Draining":true,"Connections":1'* ]]
	wait "$drain_pid"
	t1=$(now_ms)
	[ "$(cat "$BATS_TEST_TMPDIR/drain")" = '{"Connections":0} [200]' ]
	# It waited for the slow request (started ~2 s before its end), not the timeout.
	echo "drain took $((t1 - t0)) ms" >&3
	[ $((t1 - t0)) -ge 500 ] && [ $((t1 - t0)) -lt 5000 ]
	wait
	# Both slow replies arrived whole.
	[ "$(sort "$BATS_TEST_TMPDIR/slow1" "$BATS_TEST_TMPDIR/slow2" | tr '\n' ' ')" = "slow from a slow from b " ]
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Draining":true,"Connections":0'* ]]
}

@test "a drain without connections replies at once; health does not undo it; DELETE does" {
	a=$(cid a1) b=$(cid b2)
	t0=$(now_ms)
	run napi POST "/endpoints/$a/drain" '{"TimeoutMs":10000}'
	t1=$(now_ms)
	[ "$output" = '{"Connections":0} [200]' ]
	echo "idle drain took $((t1 - t0)) ms (curl included)" >&3
	[ $((t1 - t0)) -lt 1000 ]
	run napi POST "/endpoints/$a/drain"
	[ "$output" = '{"Connections":0} [200]' ]
	run napi POST "/endpoints/$a/health" '{"Healthy":true}'
	[ "$output" = " [204]" ]
	for i in 1 2 3; do
		run curl -s -m 2 http://127.0.0.1:9000/
		[ "$output" = "hello from b" ]
	done
	run napi DELETE "/endpoints/$a/drain"
	[ "$output" = " [204]" ]
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Draining":false'* ]]
	seen=
	for i in 1 2 3 4; do
		seen="$seen $(curl -s -m 2 http://127.0.0.1:9000/)"
	done
	[[ "$seen" == *"hello from a"* ]] && [[ "$seen" == *"hello from b"* ]]
}

@test "a drain times out with the connections still open; removing the endpoint ends the wait" {
	a=$(cid a1) b=$(cid b2)
	run napi POST "/endpoints/$b/drain"
	[ "$output" = '{"Connections":0} [200]' ]
	curl -s -m 10 "http://127.0.0.1:9000/cgi-bin/slow?4" >"$BATS_TEST_TMPDIR/slow" 2>&1 </dev/null &
	wait_for 5 sh -c "[ \"\$(curl -s --unix-socket $BERTH_RUN/netd.sock http://x/endpoints/$a | grep -o '\"Connections\":1')\" ]"
	t0=$(now_ms)
	run napi POST "/endpoints/$a/drain" '{"TimeoutMs":300}'
	t1=$(now_ms)
	[ "$output" = '{"Connections":1} [200]' ]
	[ $((t1 - t0)) -ge 250 ] && [ $((t1 - t0)) -lt 2000 ]
	napi POST "/endpoints/$a/drain" '{"TimeoutMs":20000}' >"$BATS_TEST_TMPDIR/drain" &
	drain_pid=$!
	sleep 0.2
	run napi DELETE "/endpoints/$a"
	[ "$output" = " [204]" ]
	wait "$drain_pid"
	[ "$(cat "$BATS_TEST_TMPDIR/drain")" = '{"Connections":0} [200]' ]
	# The removed container's connection was cut: the slow reply never came.
	wait
	[ "$(cat "$BATS_TEST_TMPDIR/slow")" = "" ]
	run napi GET /stats
	[[ "$output" == *'"TcpConnections":0'* ]]
}

@test "drain: bad input and unknown endpoints" {
	b=$(cid b2) e=$(cid e5)
	run napi POST "/endpoints/$b/drain" '{"TimeoutMs":-1}'
	[ "$output" = '{"message":"TimeoutMs must be an integer from 0 to 3600000"} [400]' ]
	run napi POST "/endpoints/$b/drain" '{"TimeoutMs":"1s"}'
	[ "$output" = '{"message":"TimeoutMs must be an integer from 0 to 3600000"} [400]' ]
	run napi POST "/endpoints/$b/drain" '[1]'
	[ "$output" = '{"message":"the request body must be a JSON object"} [400]' ]
	run napi POST "/endpoints/$e/drain"
	[ "$output" = "{\"message\":\"no endpoint for container $e\"} [404]" ]
	run napi DELETE "/endpoints/$e/drain"
	[ "$output" = "{\"message\":\"no endpoint for container $e\"} [404]" ]
	# An endpoint without published ports has nothing to drain.
	run napi POST /endpoints "{\"ContainerId\":\"$e\",\"Name\":\"plain\"}"
	[[ "$output" == *"[201]" ]]
	run napi POST "/endpoints/$e/drain" '{"TimeoutMs":5000}'
	[ "$output" = '{"Connections":0} [200]' ]
	# netd still serves.
	run napi GET /_ping
	[ "$output" = "OK [200]" ]
}
