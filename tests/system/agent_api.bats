#!/usr/bin/env bats
# The agent's Docker API with curl and a raw hijack client: status codes, shapes and errors.

load helpers
load agent_api_helpers
bats_require_minimum_version 1.5.0

setup_file() {
	agent_start
	import_busybox
}

teardown_file() {
	agent_cleanup
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/agent.log" >&3 2>/dev/null || true
}

@test "ping answers OK with Docker's headers" {
	run curl -si --unix-socket "$(agent_sock)" -I http://x/_ping
	[[ "$output" == *"HTTP/1.1 200 OK"* ]]
	[[ "$output" == *"Api-Version: 1.41"* ]]
	[[ "$output" == *"Ostype: linux"* ]]
	[[ "$output" == *"Docker-Experimental: false"* ]]
	[[ "$output" == *"Server: berth/"* ]]
	[[ "$output" == *"Cache-Control: no-cache, no-store, must-revalidate"* ]]
	run api GET /_ping
	[ "$output" = "OK [200]" ]
}

@test "version and info" {
	run api GET /version
	[[ "$output" == *'"ApiVersion":"1.41"'* ]]
	[[ "$output" == *'"MinAPIVersion":"1.24"'* ]]
	[[ "$output" == *'"Os":"linux"'* ]]
	[[ "$output" == *"[200]" ]]
	run api GET /info
	[[ "$output" == *'"Driver":"overlay2"'* ]]
	[[ "$output" == *"\"DockerRootDir\":\"$BERTH_ROOT\""* ]]
	[[ "$output" == *'"Images":1'* ]]
}

@test "create: 201, then the list and inspect shapes" {
	run api_json '/containers/create?name=shape' \
		'{"Image":"busybox","Cmd":["sh","-c","echo hi"],"Labels":{"tier":"web"}}'
	[[ "$output" == '{"Id":"'*'","Warnings":[]} [201]' ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	[ ${#id} -eq 64 ]
	run api GET '/containers/json?all=1'
	[[ "$output" == *'"Names":["/shape"]'* ]]
	[[ "$output" == *'"Image":"busybox"'* ]]
	[[ "$output" == *'"Command":"sh -c echo hi"'* ]]
	[[ "$output" == *'"State":"created","Status":"Created"'* ]]
	[[ "$output" == *'"Labels":{"tier":"web"}'* ]]
	run api GET '/containers/json'
	[[ "$output" != *'/shape'* ]]
	run api GET "/containers/${id:0:12}/json"
	[[ "$output" == *'"Name":"/shape"'* ]]
	[[ "$output" == *'"Status":"created"'* ]]
	[[ "$output" == *'"Path":"sh","Args":["-c","echo hi"]'* ]]
	[[ "$output" == *'"Hostname":"'${id:0:12}'"'* ]]
	run api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22tier%3Dweb%22%5D%7D'
	[[ "$output" == *'/shape'* ]]
	run api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22tier%3Ddb%22%5D%7D'
	[ "$output" = "[] [200]" ]
	run api DELETE /containers/shape
	[ "$output" = " [204]" ]
}

@test "errors: bad name, conflict, missing image, no command, no such container" {
	run api_json '/containers/create?name=-bad' '{"Image":"busybox","Cmd":["true"]}'
	[ "$output" = '{"message":"Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"} [400]' ]
	run api_json '/containers/create?name=taken' '{"Image":"busybox","Cmd":["true"]}'
	id=$(json_get "${output% \[*}" 'j["Id"]')
	run api_json '/containers/create?name=taken' '{"Image":"busybox","Cmd":["true"]}'
	[ "$output" = "{\"message\":\"Conflict. The container name \\\"/taken\\\" is already in use by container \\\"$id\\\". You have to remove (or rename) that container to be able to reuse that name.\"} [409]" ]
	run api_json '/containers/create' '{"Image":"nosuchimage","Cmd":["true"]}'
	[ "$output" = '{"message":"No such image: nosuchimage:latest"} [404]' ]
	run api_json '/containers/create' '{"Image":"busybox","Entrypoint":[""]}'
	[ "$output" = '{"message":"No command specified"} [400]' ]
	run api GET /containers/nosuch/json
	[ "$output" = '{"message":"No such container: nosuch"} [404]' ]
	run api POST /containers/nosuch/start
	[ "$output" = '{"message":"No such container: nosuch"} [404]' ]
	run api DELETE /containers/taken
	[ "$output" = " [204]" ]
}

@test "ambiguous ID prefix is a 400" {
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do
		api_json "/containers/create?name=amb$i" '{"Image":"busybox","Cmd":["true"]}' >/dev/null
	done
	# 18 random IDs over 16 first hex digits: two share one.
	prefix=$(api GET '/containers/json?all=1' | python3 -c '
import json,sys,collections
ids=[c["Id"] for c in json.loads(sys.stdin.read().rsplit(" [",1)[0])]
print(collections.Counter(i[0] for i in ids).most_common(1)[0][0])')
	run api GET "/containers/$prefix/json"
	[ "$output" = "{\"message\":\"multiple IDs found with provided prefix: $prefix\"} [400]" ]
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18; do
		api DELETE "/containers/amb$i" >/dev/null
	done
}

@test "attach, start, wait and logs of a container that exits 3" {
	api_json '/containers/create?name=exit3' \
		'{"Image":"busybox","Cmd":["sh","-c","echo to-stdout; echo to-stderr >&2; exit 3"]}'
	run --separate-stderr hijack '/containers/exit3/attach?stream=1&stdout=1&stderr=1' --start exit3 --halfclose
	[ "$status" -eq 0 ]
	[ "$output" = "to-stdout" ]
	[[ "$stderr" == *"STATUS HTTP/1.1 101 UPGRADED"* ]]
	[[ "$stderr" == *"to-stderr"* ]]
	run api POST /containers/exit3/wait
	[ "$output" = '{"Error":null,"StatusCode":3} [200]' ]
	run api GET /containers/exit3/json
	[[ "$output" == *'"Status":"exited"'* ]]
	[[ "$output" == *'"ExitCode":3'* ]]
	# logs: multiplexed frames, stdout only
	run bash -c "curl -s --unix-socket '$(agent_sock)' 'http://x/v1.41/containers/exit3/logs?stdout=1' |
		python3 -c 'import sys; print(repr(sys.stdin.buffer.read()))'"
	[ "$output" = "b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\nto-stdout\\n'" ]
	run api GET '/containers/exit3/logs?stdout=1&stderr=1&tail=1'
	[[ "$output" == *"to-stderr"* ]]
	[[ "$output" != *"to-stdout"* ]]
	run api GET '/containers/exit3/logs'
	[[ "$output" == *"[400]" ]]
	run api GET '/containers/json?all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D'
	[[ "$output" == *'"Status":"Exited (3) '* ]]
}

# Docker's client half-closes its side when it has no more input, which can come after the
# process has exited while output is still queued for it: the stream must end only once that
# output is written. (docker exec once printed nothing, exit code right, under load.)
@test "exec and attach: a half-close after the exit does not cut the queued output" {
	local big='yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 3000000; exit 3'
	api_json '/containers/create?name=late' "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"$big\"]}" >/dev/null
	run bash -c "python3 '$BERTH_SRC/tests/system/hijack.py' '$(agent_sock)' \
		'/containers/late/attach?stream=1&stdout=1' --start late --halfclose-after 1 2>/dev/null | wc -c"
	echo "attach: $output"
	[ "$output" = 3000000 ]
	api_json '/containers/create?name=xsleep' '{"Image":"busybox","Cmd":["sleep","100"]}' >/dev/null
	api POST /containers/xsleep/start >/dev/null
	run api_json /containers/xsleep/exec \
		"{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"sh\",\"-c\",\"$big\"]}"
	[[ "$output" == *"[201]" ]]
	local exec_id
	exec_id=$(echo "${output% \[*}" | jq -r .Id)
	run bash -c "python3 '$BERTH_SRC/tests/system/hijack.py' '$(agent_sock)' \
		'/exec/$exec_id/start' --body '{}' --halfclose-after 1 2>/dev/null | wc -c"
	echo "exec: $output"
	[ "$output" = 3000000 ]
	run api GET "/exec/$exec_id/json"
	[[ "$output" == *'"ExitCode":3'* ]]
	api DELETE '/containers/xsleep?force=1' >/dev/null
	api DELETE '/containers/late?force=1' >/dev/null
}

@test "wait before start (next-exit), stop with timeout, 304s, kill 409" {
	api_json '/containers/create?name=sleeper' '{"Image":"busybox","Cmd":["sleep","100"]}'
	api POST '/containers/sleeper/wait?condition=next-exit' >"$BATS_TEST_TMPDIR/wait" &
	run api POST /containers/sleeper/start
	[ "$output" = " [204]" ]
	run api POST /containers/sleeper/start
	[ "$output" = " [304]" ]
	run api GET /containers/json
	[[ "$output" == *'"State":"running","Status":"Up '* ]]
	run api DELETE /containers/sleeper
	[[ "$output" == '{"message":"You cannot remove a running container '*'. Stop the container before attempting removal or force remove"} [409]' ]]
	# sleep as PID 1 ignores SIGTERM: SIGKILL after t=1
	SECONDS=0
	run api POST '/containers/sleeper/stop?t=1'
	[ "$output" = " [204]" ]
	[ $SECONDS -le 4 ]
	wait
	[ "$(cat "$BATS_TEST_TMPDIR/wait")" = '{"Error":null,"StatusCode":137} [200]' ]
	run api POST /containers/sleeper/stop
	[ "$output" = " [304]" ]
	run api POST /containers/sleeper/kill
	[[ "$output" == *"is not running\"} [409]" ]]
	run api DELETE /containers/sleeper
	[ "$output" = " [204]" ]
}

@test "kill with a signal, rm -f of a running container" {
	api_json '/containers/create?name=killme' '{"Image":"busybox","Cmd":["sleep","100"]}'
	api POST /containers/killme/start
	run api POST '/containers/killme/kill?signal=NOPE'
	[ "$output" = '{"message":"Invalid signal: NOPE"} [400]' ]
	run api POST '/containers/killme/kill?signal=SIGKILL'
	[ "$output" = " [204]" ]
	run api POST /containers/killme/wait
	[[ "$output" == *'"StatusCode":137'* ]]
	api POST /containers/killme/start
	run api DELETE '/containers/killme?force=1'
	[ "$output" = " [204]" ]
	run api GET /containers/killme/json
	[[ "$output" == *"[404]" ]]
}

@test "a command that does not exist: 400, Exited (127)" {
	api_json '/containers/create?name=nocmd' '{"Image":"busybox","Cmd":["nosuchcmd"]}'
	run api POST /containers/nocmd/start
	[[ "$output" == *'executable file not found in $PATH'*'[400]' ]]
	run api GET /containers/nocmd/json
	[[ "$output" == *'"Status":"exited"'* ]]
	[[ "$output" == *'"ExitCode":127'* ]]
	run api GET '/containers/json?all=1'
	[[ "$output" == *'"Status":"Exited (127) '* ]]
	api DELETE /containers/nocmd
}

@test "AutoRemove: wait?condition=removed answers once the container is gone" {
	run api_json '/containers/create' '{"Image":"busybox","Cmd":["echo","bye"],"HostConfig":{"AutoRemove":true}}'
	id=$(json_get "${output% \[*}" 'j["Id"]')
	api POST "/containers/$id/wait?condition=removed" >"$BATS_TEST_TMPDIR/wait" &
	run --separate-stderr hijack "/containers/$id/attach?stream=1&stdout=1&stderr=1" --start "$id" --halfclose
	[ "$output" = "bye" ]
	wait
	[ "$(cat "$BATS_TEST_TMPDIR/wait")" = '{"Error":null,"StatusCode":0} [200]' ]
	run api GET "/containers/$id/json"
	[[ "$output" == *"[404]" ]]
	[ ! -d "$BERTH_ROOT/containers/$id" ]
}

@test "prune removes only stopped containers" {
	api_json '/containers/create?name=p1' '{"Image":"busybox","Cmd":["true"]}'
	api_json '/containers/create?name=p2' '{"Image":"busybox","Cmd":["sleep","100"]}'
	api POST /containers/p2/start
	run api POST /containers/prune
	[[ "$output" == '{"ContainersDeleted":["'*'"],"SpaceReclaimed":'*'} [200]' ]]
	run api GET /containers/p1/json
	[[ "$output" == *"[404]" ]]
	run api GET /containers/p2/json
	[[ "$output" == *'"Running":true'* ]]
	api DELETE '/containers/p2?force=1'
}

@test "volumes: a named volume survives its container, a bind mount is read-only" {
	mkdir -p "$BATS_TEST_TMPDIR/bind"
	echo from-host >"$BATS_TEST_TMPDIR/bind/f"
	api_json '/containers/create?name=vol1' "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"echo kept >/data/x; cat /mnt/f; echo no >/mnt/g || echo ro-ok\"],\"HostConfig\":{\"Binds\":[\"myvol:/data\",\"$BATS_TEST_TMPDIR/bind:/mnt:ro\"]}}"
	run --separate-stderr hijack '/containers/vol1/attach?stream=1&stdout=1&stderr=1' --start vol1 --halfclose
	[[ "$output" == *"from-host"* ]]
	[[ "$output" == *"ro-ok"* ]]
	[ "$(cat "$BERTH_ROOT/volumes/myvol/_data/x")" = kept ]
	run api GET /containers/vol1/json
	[[ "$output" == *'"Type":"volume","Name":"myvol"'* ]]
	api DELETE /containers/vol1
	[ -f "$BERTH_ROOT/volumes/myvol/_data/x" ]
	run api_json '/containers/create' '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["relative/path:/x"]}}'
	[[ "$output" == *"[400]" ]]
}

@test "events: create and destroy, with since and until" {
	start=$(date +%s)
	api_json '/containers/create?name=ev1' '{"Image":"busybox","Cmd":["true"]}'
	api DELETE /containers/ev1
	run api GET "/events?since=$start&until=$(($(date +%s) + 1))&filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
	[[ "$output" == *'"Action":"create"'*'"name":"ev1"'* ]]
	[[ "$output" == *'"status":"destroy"'* ]]
	[[ "$output" == *'"scope":"local"'* ]]
	[[ "$output" == *"[200]" ]]
}

@test "kill -9 of the agent: running containers are re-adopted, exits are not lost" {
	api_json '/containers/create?name=survivor' '{"Image":"busybox","Cmd":["sleep","100"]}'
	api POST /containers/survivor/start
	api_json '/containers/create?name=shortlived' '{"Image":"busybox","Cmd":["sh","-c","sleep 1; exit 5"]}'
	api POST /containers/shortlived/start
	run api_json '/containers/create' '{"Image":"busybox","Cmd":["sh","-c","sleep 1"],"HostConfig":{"AutoRemove":true}}'
	rmid=$(json_get "${output% \[*}" 'j["Id"]')
	api POST "/containers/$rmid/start"
	pid=$(api GET /containers/survivor/json | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().rsplit(" [",1)[0])["State"]["Pid"])')
	agent_kill KILL
	sleep 2
	agent_start
	run api GET /containers/json
	[ "$(grep -o '/survivor' <<<"$output" | wc -l)" -eq 1 ]
	run api GET /containers/survivor/json
	[[ "$output" == *"\"Running\":true"*"\"Pid\":$pid"* ]]
	run api GET /containers/shortlived/json
	[[ "$output" == *'"Status":"exited"'*'"ExitCode":5'* ]]
	run api GET "/containers/$rmid/json"
	[[ "$output" == *"[404]" ]]
	run api POST '/containers/survivor/stop?t=0'
	[ "$output" = " [204]" ]
}
