#!/usr/bin/env bats
# berth-netd's unhealthy marks (POST /endpoints/{id}/health) on a balanced port: saved in
# state.json, so a netd killed with -9 (or stopped) and restarted keeps the unhealthy backend
# out of the rotation until it is marked healthy again.

load helpers
load netd_helpers
bats_require_minimum_version 1.5.0

httpd() {
	local dir="$BATS_FILE_TMPDIR/www-$1"
	mkdir -p "$dir"
	echo "hello from $1" >"$dir/index.html"
	nsenter --net="$BERTH_RUN/netns/$2" busybox httpd -f -p 8080 -h "$dir" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$BERTH_RUN/test-httpd-$1.pid"
}

# The answers of 6 requests to the balanced port, sorted and counted.
answers() {
	local i
	for i in 1 2 3 4 5 6; do
		curl -s -m 2 http://127.0.0.1:9000/
	done | sort | uniq -c | awk '{print $2, $3, $4 ":" $1}' | tr '\n' ' '
}

setup_file() {
	netd_start
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

@test "an unhealthy mark is saved and survives kill -9 and a restart" {
	a=$(cid a1)
	[ "$(answers)" = "hello from a:3 hello from b:3 " ]
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Healthy":true'* ]]
	run napi POST "/endpoints/$a/health" '{"Healthy":false}'
	[ "$output" = " [204]" ]
	[ "$(answers)" = "hello from b:6 " ]
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Healthy":false'* ]]
	grep -q '"Healthy": *false' "$BERTH_ROOT/netd/state.json"

	netd_kill KILL
	netd_start
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Healthy":false'* ]]
	[ "$(answers)" = "hello from b:6 " ]

	netd_kill TERM
	netd_start
	[ "$(answers)" = "hello from b:6 " ]
	run napi POST "/endpoints/$a/health" '{"Healthy":true}'
	[ "$output" = " [204]" ]
	[ "$(answers)" = "hello from a:3 hello from b:3 " ]
	netd_kill KILL
	netd_start
	run napi GET "/endpoints/$a"
	[[ "$output" == *'"Healthy":true'* ]]
	[ "$(answers)" = "hello from a:3 hello from b:3 " ]
}

@test "health: bad input and unknown endpoints" {
	run napi POST "/endpoints/$(cid a1)/health" '{"Healthy":"no"}'
	[[ "$output" == *"Healthy must be true or false"*"[400]" ]]
	run napi POST "/endpoints/$(cid ff)/health" '{"Healthy":false}'
	[[ "$output" == *"[404]" ]]
	! grep -q '"Healthy": *false' "$BERTH_ROOT/netd/state.json"
}
