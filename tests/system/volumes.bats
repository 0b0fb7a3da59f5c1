#!/usr/bin/env bats
# Named volumes: the agent's /volumes API in Docker's shapes (list, filters, create, inspect,
# remove, in-use conflicts, prune), the berth volume verbs, and the docker CLI against it.

load helpers
load agent_api_helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	berth volume prune -f >/dev/null 2>&1 || true
}

@test "API: create, inspect, list with filters, remove" {
	run api_json /volumes/create '{"Name":"v1","Labels":{"tier":"db","x":"1"}}'
	[[ "$output" == *'"Name": "v1"'* || "$output" == *'"Name":"v1"'* ]]
	[[ "$output" == *"[201]" ]]
	run api GET /volumes/v1
	[[ "$output" == *"[200]" ]]
	body=${output% \[*}
	[ "$(jq -r .Driver <<<"$body")" = local ]
	[ "$(jq -r .Scope <<<"$body")" = local ]
	[ "$(jq -r .Labels.tier <<<"$body")" = db ]
	[ "$(jq -r .Mountpoint <<<"$body")" = "$BERTH_ROOT/volumes/v1/_data" ]
	[[ "$(jq -r .CreatedAt <<<"$body")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[ -d "$BERTH_ROOT/volumes/v1/_data" ]
	# creating it again returns the existing one, labels unchanged
	run api_json /volumes/create '{"Name":"v1"}'
	[[ "$output" == *"[201]" ]]
	[ "$(jq -r .Labels.tier <<<"${output% \[*}")" = db ]
	api_json /volumes/create '{"Name":"v2"}' >/dev/null
	run api GET /volumes
	[ "$(jq -r '[.Volumes[].Name] | join(",")' <<<"${output% \[*}")" = "v1,v2" ]
	run api GET '/volumes?filters=%7B%22label%22%3A%5B%22tier%3Ddb%22%5D%7D'
	[ "$(jq -r '[.Volumes[].Name] | join(",")' <<<"${output% \[*}")" = "v1" ]
	run api GET '/volumes?filters=%7B%22name%22%3A%7B%22v2%22%3Atrue%7D%7D'
	[ "$(jq -r '[.Volumes[].Name] | join(",")' <<<"${output% \[*}")" = "v2" ]
	run api DELETE /volumes/v2
	[ "$output" = " [204]" ]
	run api GET /volumes/v2
	[[ "$output" == *'get v2: no such volume'*"[404]" ]]
	run api DELETE /volumes/v2
	[[ "$output" == *"[404]" ]]
	run api DELETE '/volumes/v2?force=1'
	[ "$output" = " [204]" ]
	# a volume without a name gets a random one
	run api_json /volumes/create '{}'
	[[ "$(jq -r .Name <<<"${output% \[*}")" =~ ^[0-9a-f]{64}$ ]]
}

@test "API: bad input" {
	run api_json /volumes/create '{"Name":"a/b"}'
	[[ "$output" == *'includes invalid characters for a local volume name'*"[400]" ]]
	# Docker's pattern wants two characters at least
	run api_json /volumes/create '{"Name":"x"}'
	[[ "$output" == *'includes invalid characters'*"[400]" ]]
	run api_json /volumes/create '{"Name":"xx","Driver":"nfs"}'
	[[ "$output" == *'plugin \"nfs\" not found'*"[404]" ]]
	run api_json /volumes/create '{"Name":5}'
	[[ "$output" == *"[400]" ]]
	run api_json /volumes/create '{"Name":"xx","DriverOpts":{"type":"tmpfs"}}'
	[[ "$output" == *'invalid option'*"[400]" ]]
	run api GET '/volumes?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D'
	[[ "$output" == *"invalid filter 'bogus'"*"[400]" ]]
	run api GET '/volumes?filters=notjson'
	[[ "$output" == *"[400]" ]]
	run api GET /volumes/nope
	[[ "$output" == *"[404]" ]]
	[ ! -e "$BERTH_ROOT/volumes/xx" ]
}

@test "a volume in use: 409 with the container ids, also with force; dangling filter; prune keeps it" {
	berth volume create data >/dev/null
	id=$(berth create -v data:/data busybox true)
	run api DELETE /volumes/data
	[ "$output" = "{\"message\":\"remove data: volume is in use - [$id]\"} [409]" ] ||
		[[ "$output" == *"remove data: volume is in use - [$id]"*"[409]" ]]
	run api DELETE '/volumes/data?force=1'
	[[ "$output" == *"volume is in use"*"[409]" ]]
	berth volume create spare >/dev/null
	run berth volume ls -q --filter dangling=true
	[ "$output" = spare ]
	run berth volume ls -q --filter dangling=false
	[ "$output" = data ]
	run berth volume prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = spare ]
	[[ "$output" == *"Total reclaimed space: "* ]]
	run berth volume rm data
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: remove data: volume is in use - [$id]" ]
	berth rm "$id" >/dev/null
	run berth volume rm data
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	[ ! -e "$BERTH_ROOT/volumes/data" ]
}

@test "berth volume: create, ls, inspect, rm, prune with a label filter" {
	run berth volume create --label a=b v1
	[ "$output" = v1 ]
	run berth volume create --name v2
	[ "$output" = v2 ]
	run berth volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[ "${lines[1]}" = "local     v1" ]
	[ "${lines[2]}" = "local     v2" ]
	run berth volume inspect --format '{{.Name}} {{.Driver}} {{.Labels.a}}' v1
	[ "$output" = "v1 local b" ]
	run berth volume inspect v1
	[ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$BERTH_ROOT/volumes/v1/_data" ]
	run --separate-stderr berth volume inspect nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: No such volume: nope" ]
	run berth volume create --name a v2
	[ "$status" -eq 1 ]
	run berth volume prune -f --filter label=a=b
	[ "${lines[1]}" = v1 ]
	run berth volume ls -q
	[ "$output" = v2 ]
	run --separate-stderr berth volume rm v2 nope
	[ "$status" -eq 1 ]
	[ "$output" = v2 ]
	[ "$stderr" = "Error response from daemon: get nope: no such volume" ]
}

@test "a named volume keeps data across containers; -v creates it with metadata" {
	berth run --rm -v keep:/d busybox sh -c 'echo persisted >/d/f'
	run berth run --rm -v keep:/d busybox cat /d/f
	[ "$output" = persisted ]
	run berth volume inspect --format '{{.Name}} {{.Driver}}' keep
	[ "$output" = "keep local" ]
}

@test "the docker CLI: volume create, ls, inspect, rm" {
	command -v docker >/dev/null || skip "no docker CLI"
	export DOCKER_HOST="unix://$BERTH_RUN/agent.sock"
	run docker volume create --label k=v dv
	[ "$output" = dv ]
	run docker volume ls
	[ "${lines[1]}" = "local     dv" ]
	run docker volume inspect --format '{{.Labels.k}} {{.Mountpoint}}' dv
	[ "$output" = "v $BERTH_ROOT/volumes/dv/_data" ]
	run docker volume rm dv
	[ "$output" = dv ]
	run docker volume ls -q
	[ "$output" = "" ]
}
