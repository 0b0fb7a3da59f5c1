#!/usr/bin/env bats
# Input validation at the edges (issue 8): numeric ranges and JSON types of a create body,
# reserved and overlapping network subnets, volume names, NUL and slashes in decoded path
# parameters, env file sizes. Each test is an attack that got through before.

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

# create HOSTCONFIG_JSON: POST a create body for busybox with that HostConfig.
create_with() {
	api_json /containers/create "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":$1}"
}

# No container may be left behind by a refused create.
no_containers() {
	run api GET '/containers/json?all=1'
	[ "$output" = "[] [200]" ]
}

@test "create: CpuQuota at INT64_MAX with CpuPeriod 1 is refused, the agent lives" {
	run create_with '{"CpuQuota":9223372036854775807,"CpuPeriod":1}'
	[ "$output" = '{"message":"CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)"} [400]' ]
	run create_with '{"CpuPeriod":1000001}'
	[[ "$output" == *'CPU cfs period can not be less than 1ms'*'[400]' ]]
	run create_with '{"CpuQuota":999}'
	[ "$output" = '{"message":"CPU cfs quota can not be less than 1ms (i.e. 1000)"} [400]' ]
	run create_with '{"NanoCpus":1000000000,"CpuQuota":50000}'
	[[ "$output" == *'Conflicting options: Nano CPUs and CPU Quota cannot both be set'*'[400]' ]]
	run create_with '{"NanoCpus":1000000000,"CpuPeriod":50000}'
	[[ "$output" == *'Conflicting options: Nano CPUs and CPU Period cannot both be set'*'[400]' ]]
	n=$(nproc)
	run create_with '{"NanoCpus":9223372036854775807}'
	[ "$output" = "{\"message\":\"Range of CPUs is from 0.01 to $n.00, as there are only $n CPUs available\"} [400]" ]
	run create_with '{"NanoCpus":-1}'
	[[ "$output" == *'Range of CPUs is from 0.01'*'[400]' ]]
	no_containers
	run api GET /_ping
	[ "$output" = "OK [200]" ]
}

# cpu_quota ID: the container's CFS quota in microseconds per 100 ms ("max" on v2 is -1).
cpu_quota() {
	local v1=/sys/fs/cgroup/cpu/$BERTH_CGROUP_PARENT/$1/cpu.cfs_quota_us
	if [ -e "$v1" ]; then
		cat "$v1"
	else
		read -r q _ <"/sys/fs/cgroup/$BERTH_CGROUP_PARENT/$1/cpu.max"
		[ "$q" = max ] && echo -1 || echo "$q"
	fi
}

@test "create: a quota in range but past the host's CPUs is no limit, not an overflow" {
	run api_json /containers/create '{"Image":"busybox","Cmd":["sleep","30"],"HostConfig":{"CpuQuota":20000000000,"CpuPeriod":1000}}'
	[[ "$output" == *'"Id"'*'[201]' ]]
	big=$(json_get "${output% \[*}" 'j["Id"]')
	run api GET "/containers/$big/json"
	[ "$(json_get "${output% \[*}" 'j["HostConfig"]["CpuQuota"]')" = 20000000000 ]
	run api_json /containers/create '{"Image":"busybox","Cmd":["sleep","30"],"HostConfig":{"CpuQuota":50000,"CpuPeriod":100000}}'
	half=$(json_get "${output% \[*}" 'j["Id"]')
	for id in "$big" "$half"; do
		run api POST "/containers/$id/start"
		[ "$output" = " [204]" ]
	done
	[ "$(cpu_quota "$big")" = -1 ]
	[ "$(cpu_quota "$half")" = 50000 ]
	api DELETE "/containers/$big?force=1" >/dev/null
	api DELETE "/containers/$half?force=1" >/dev/null
	# a pids limit past the kernel's PID_MAX_LIMIT is no limit, not a failed start
	run api_json /containers/create '{"Image":"busybox","Cmd":["sleep","30"],"HostConfig":{"PidsLimit":9223372036854775807}}'
	id=$(json_get "${output% \[*}" 'j["Id"]')
	run api POST "/containers/$id/start"
	[ "$output" = " [204]" ]
	api DELETE "/containers/$id?force=1" >/dev/null
}

@test "create: memory, swap, reservation, blkio, oom, shm, ulimits, restart, stop timeout" {
	run create_with '{"Memory":1024}'
	[ "$output" = '{"message":"Minimum memory limit allowed is 6MB"} [400]' ]
	run create_with '{"Memory":-5}'
	[ "$output" = '{"message":"Minimum memory limit allowed is 6MB"} [400]' ]
	run create_with '{"Memory":67108864,"MemorySwap":1048576}'
	[[ "$output" == *'Minimum memoryswap limit should be larger than memory limit, see usage'*'[400]' ]]
	run create_with '{"MemorySwap":67108864}'
	[[ "$output" == *'You should always set the Memory limit when using Memoryswap limit, see usage'*'[400]' ]]
	run create_with '{"MemoryReservation":1024}'
	[[ "$output" == *'Minimum memory reservation allowed is 6MB'*'[400]' ]]
	run create_with '{"Memory":67108864,"MemoryReservation":134217728}'
	[[ "$output" == *'Minimum memory limit can not be less than memory reservation limit, see usage'*'[400]' ]]
	run create_with '{"MemorySwappiness":101}'
	[[ "$output" == *'Invalid value: 101, valid memory swappiness range is 0-100'*'[400]' ]]
	run create_with '{"KernelMemory":1}'
	[[ "$output" == *'Minimum kernel memory limit allowed is 4MB'*'[400]' ]]
	run create_with '{"BlkioWeight":5}'
	[ "$output" = '{"message":"Range of blkio weight is from 10 to 1000"} [400]' ]
	run create_with '{"OomScoreAdj":1001}'
	[ "$output" = '{"message":"Invalid value 1001, range for oom score adj is [-1000, 1000]"} [400]' ]
	run create_with '{"ShmSize":-1}'
	[ "$output" = '{"message":"SHM size can not be less than 0"} [400]' ]
	run create_with '{"Ulimits":[{"Name":"nofile","Soft":100,"Hard":10}]}'
	[ "$output" = '{"message":"ulimit soft limit must be less than or equal to hard limit: 100 > 10"} [400]' ]
	run create_with '{"Ulimits":[{"Name":"bogus","Soft":1,"Hard":1}]}'
	[ "$output" = '{"message":"invalid ulimit type: bogus"} [400]' ]
	run create_with '{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}'
	[ "$output" = '{"message":"maximum retry count cannot be negative"} [400]' ]
	run create_with '{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}'
	[ "$output" = "{\"message\":\"maximum retry count cannot be used with restart policy 'always'\"} [400]" ]
	run api_json /containers/create '{"Image":"busybox","StopTimeout":9223372036854775807}'
	[[ "$output" == *'invalid StopTimeout 9223372036854775807'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":9223372036854775807}}'
	[ "$output" = '{"message":"Interval in Healthcheck cannot be more than 8760h0m0s"} [400]' ]
	no_containers
}

@test "create: CpuShares is clamped into the kernel's range, as Docker does" {
	run create_with '{"CpuShares":9999999}'
	[[ "$output" == *'[201]' ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	run api GET "/containers/$id/json"
	[ "$(json_get "${output% \[*}" 'j["HostConfig"]["CpuShares"]')" = 262144 ]
	api DELETE "/containers/$id?force=1" >/dev/null
}

@test "create: wrongly typed fields are refused with Go's decode message" {
	run create_with '{"Memory":"64m"}'
	[ "$output" = '{"message":"json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"} [400]' ]
	run create_with '{"BlkioWeight":70000}'
	[ "$output" = '{"message":"json: cannot unmarshal number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"} [400]' ]
	run create_with '{"Privileged":"yes"}'
	[[ "$output" == *'cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool'*'[400]' ]]
	run create_with '{"PidsLimit":1.5}'
	[[ "$output" == *'cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.PidsLimit of type int64'*'[400]' ]]
	run create_with '{"Ulimits":[{"Name":"nofile","Soft":"1","Hard":2}]}'
	[[ "$output" == *'cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64'*'[400]' ]]
	run create_with '{"RestartPolicy":{"Name":"no","MaximumRetryCount":"3"}}'
	[[ "$output" == *'Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int'*'[400]' ]]
	run create_with '"bridge"'
	[[ "$output" == *'cannot unmarshal string into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Env":["A=1",2]}'
	[[ "$output" == *'cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Cmd":5}'
	[[ "$output" == *'cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Labels":{"a":1}}'
	[[ "$output" == *'ContainerConfigWrapper.Labels of type string'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Healthcheck":{"Interval":"1s"}}'
	[[ "$output" == *'Go struct field HealthConfig.Healthcheck.Interval of type time.Duration'*'[400]' ]]
	run api_json /containers/create '{"Image":"busybox","Tty":1}'
	[[ "$output" == *'ContainerConfigWrapper.Tty of type bool'*'[400]' ]]
	# null leaves a field unset, as in Go; a string Cmd is a one-element StrSlice
	run api_json /containers/create '{"Image":"busybox","Cmd":"true","HostConfig":{"Memory":null,"PidsLimit":null}}'
	[[ "$output" == *'[201]' ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	api DELETE "/containers/$id?force=1" >/dev/null
	no_containers
}

@test "CLI: the daemon's range message with exit 125" {
	run berth run --rm -m 1k busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'Minimum memory limit allowed is 6MB'* ]]
	run berth create --cpus 1000 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'Range of CPUs is from 0.01 to'*'CPUs available'* ]]
	run berth create --cpus inf busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "inf" for "--cpus" flag'* ]]
	run berth create --cpus 1e300 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'for "--cpus" flag'* ]]
	run berth create --ulimit nofile=100:10 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'ulimit soft limit must be less than or equal to hard limit: 100 > 10'* ]]
	run berth create --shm-size 1e30 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid size: '1e30'"* ]]
	no_containers
}

@test "API: %00 and %2F in a path parameter or %00 in a query value are refused, not cut" {
	run api_json '/containers/create?name=victim' '{"Image":"busybox","Cmd":["true"]}'
	[[ "$output" == *'[201]' ]]
	# before: "victim%00anything" was cut to "victim" and removed it
	run api DELETE '/containers/victim%00anything?force=1'
	[ "$output" = '{"message":"invalid path parameter: %00 and %2F are not allowed in a name or id"} [400]' ]
	run api GET '/containers/victim%2F..%2Fx/json'
	[[ "$output" == *'[400]' ]]
	run api GET '/containers/victim/json'
	[[ "$output" == *'"Name":"/victim"'*'[200]' ]]
	run api POST '/containers/create?name=victim%00x' -H 'Content-Type: application/json' -d '{"Image":"busybox"}'
	[ "$output" = '{"message":"invalid query string"} [400]' ]
	run api GET '/volumes/etc%00x'
	[[ "$output" == *'[400]' ]]
	api DELETE '/containers/victim?force=1' >/dev/null
	no_containers
}

@test "volumes: /etc and 300-character names are refused with 400, nothing is made" {
	run api_json /volumes/create '{"Name":"/etc"}'
	[ "$output" = '{"message":"create /etc: \"/etc\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"} [400]' ]
	long=$(printf 'v%.0s' {1..300})
	run api_json /volumes/create "{\"Name\":\"$long\"}"
	[[ "$output" == *'volume name is too long (300 characters), at most 255 are allowed'*'[400]' ]]
	run api_json /volumes/create "{\"Name\":\"${long:0:255}\"}"
	[[ "$output" == *'[201]' ]]
	api DELETE "/volumes/${long:0:255}" >/dev/null
	# the same through -v NAME:/target at create
	run create_with "{\"Binds\":[\"$long:/data\"]}"
	[[ "$output" == *'volume name is too long'*'[400]' ]]
	run berth volume create /etc
	[ "$status" -eq 1 ]
	[[ "$output" == *'includes invalid characters for a local volume name'* ]]
	run berth run --rm -v "$long:/data" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'volume name is too long'* ]]
	[ -z "$(ls "$BERTH_ROOT/volumes" 2>/dev/null)" ]
	no_containers
}

# berth with its address space bounded, so that a regression fails instead of eating the host
# (not under ASan, whose shadow memory needs terabytes of address space).
bounded() {
	(
		ldd "$(command -v berth)" | grep -q libasan || ulimit -v 1000000
		timeout 20 "$@"
	)
}

@test "env files: /dev/zero and files over 1 MiB are refused with a clear error" {
	cd "$BATS_TEST_TMPDIR"
	printf 'services:\n  web:\n    image: busybox\n    env_file: /dev/zero\n' >zero.yml
	run bounded berth compose -f zero.yml config
	[ "$status" -eq 1 ]
	[ "$output" = "$PWD/zero.yml:4:15: services.web.env_file: env file /dev/zero is not a regular file" ]
	head -c 1048577 /dev/zero | tr '\0' 'a' >big.env
	printf 'services:\n  web:\n    image: busybox\n    env_file: [big.env]\n' >big.yml
	run bounded berth compose -f big.yml config
	[ "$status" -eq 1 ]
	[[ "$output" == *"services.web.env_file[0]: env file $PWD/big.env is larger than 1048576 bytes" ]]
	# exactly 1 MiB is fine
	{ printf 'A='; head -c $((1048576 - 3)) /dev/zero | tr '\0' 'a'; echo; } >ok.env
	printf 'services:\n  web:\n    image: busybox\n    env_file: ok.env\n' >ok.yml
	run bounded berth compose -f ok.yml config
	[ "$status" -eq 0 ]
	# a compose file itself is bounded too
	run bounded berth compose -f /dev/zero config
	[ "$status" -eq 1 ]
	[[ "$output" == *"/dev/zero is larger than 8388608 bytes" ]]
	run bounded berth run --rm --env-file /dev/zero busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"env file /dev/zero is not a regular file"* ]]
	run bounded berth run --rm --env-file big.env busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"env file big.env is larger than 1048576 bytes"* ]]
	printf '# comment\n  X=1\nY=two words\r\n\nZ\n' >small.env
	run bounded berth run --rm --env-file small.env -e Z=3 busybox sh -c 'echo "$X|$Y|$Z"'
	[ "$status" -eq 0 ]
	[ "$output" = "1|two words|3" ]
}

@test "networks: loopback, link-local, multicast, reserved, host routes and tiny prefixes are refused" {
	local bad
	for bad in 127.0.0.0/8 127.1.0.0/16 0.0.0.0/8 169.254.0.0/16 224.0.0.0/8 240.0.0.0/8 255.255.255.0/24 120.0.0.0/5; do
		run api_json /networks/create "{\"Name\":\"bad\",\"IPAM\":{\"Config\":[{\"Subnet\":\"$bad\"}]}}"
		[[ "$output" == *'[400]' ]]
		[[ "$output" == *"invalid subnet"* ]]
	done
	run api_json /networks/create '{"Name":"lo","IPAM":{"Config":[{"Subnet":"127.0.0.0/8"}]}}'
	[ "$output" = '{"message":"invalid subnet 127.0.0.0/8: it overlaps 127.0.0.0/8, the loopback range, which a network cannot use"} [400]' ]
	run api_json /networks/create '{"Name":"big","IPAM":{"Config":[{"Subnet":"64.0.0.0/2"}]}}'
	[[ "$output" == *'the prefix length must be 8 to 30'*'[400]' ]]
	run api_json /networks/create '{"Name":"one","IPAM":{"Config":[{"Subnet":"10.5.0.0/31"}]}}'
	[[ "$output" == *'the prefix length must be 8 to 30'*'[400]' ]]
	# a route of the host's (here: of the sandbox's namespace)
	ip link add vdummy0 type veth peer name vdummy1
	ip addr add 192.168.77.1/24 dev vdummy0
	ip link set vdummy0 up
	run api_json /networks/create '{"Name":"lan","IPAM":{"Config":[{"Subnet":"192.168.0.0/16"}]}}'
	[ "$output" = '{"message":"Pool overlaps with other one on this address space: 192.168.0.0/16 overlaps the host'"'"'s route to 192.168.77.0/24 on vdummy0"} [400]' ]
	# and a berth network's
	run api_json /networks/create '{"Name":"n1","IPAM":{"Config":[{"Subnet":"10.200.0.0/16"}]}}'
	[[ "$output" == *'[201]' ]]
	run api_json /networks/create '{"Name":"n2","IPAM":{"Config":[{"Subnet":"10.200.5.0/24"}]}}'
	[ "$output" = '{"message":"Pool overlaps with other one on this address space"} [400]' ]
	# what berth would ignore is refused
	run api_json /networks/create '{"Name":"n3","IPAM":{"Config":[{"Subnet":"10.201.0.0/16"},{"Subnet":"10.202.0.0/16"}]}}'
	[[ "$output" == *'berth networks take one IPv4 subnet: IPAM.Config has 2 entries'*'[400]' ]]
	run api_json /networks/create '{"Name":"n3","IPAM":{"Config":[{"Subnet":"10.201.0.0/16","IPRange":"10.201.1.0/24"}]}}'
	[[ "$output" == *'IPAM IPRange is not supported by berth'*'[400]' ]]
	run api_json /networks/create '{"Name":"n3","IPAM":{"Config":[{"Subnet":5}]}}'
	[[ "$output" == *'IPAM.Config Subnet must be a string'*'[400]' ]]
	run berth network create --subnet 127.0.0.0/8 lo2
	[ "$status" -eq 1 ]
	[[ "$output" == *'the loopback range'* ]]
	# nothing half-made: only the predefined networks and n1
	run api GET /networks
	[ "$(json_get "${output% \[*}" '",".join(sorted(n["Name"] for n in j))')" = "bridge,host,n1,none" ]
	# host loopback still works
	ip addr show lo | grep -q 'inet 127.0.0.1/8'
	api DELETE /networks/n1 >/dev/null
	ip link del vdummy0
}

@test "API: numbers in query strings are parsed whole and in range" {
	run api_json '/containers/create?name=qq' '{"Image":"busybox","Cmd":["sleep","30"]}'
	[[ "$output" == *'[201]' ]]
	run api POST '/containers/qq/start'
	[ "$output" = " [204]" ]
	# atoi made "99999999999" a wrapped timeout and "abc" an immediate SIGKILL
	run api POST '/containers/qq/stop?t=99999999999'
	[ "$output" = '{"message":"invalid value for t: 99999999999 is not in [-1, 2147483647]"} [400]' ]
	run api POST '/containers/qq/stop?t=abc'
	[ "$output" = '{"message":"strconv.Atoi: parsing \"abc\": invalid syntax"} [400]' ]
	run api POST '/containers/qq/restart?t=99999999999999999999'
	[ "$output" = '{"message":"strconv.Atoi: parsing \"99999999999999999999\": value out of range"} [400]' ]
	run api POST '/containers/qq/resize?h=70000&w=80'
	[[ "$output" == *'invalid value for h: 70000'*'[400]' ]]
	run api GET '/containers/json?limit=x'
	[[ "$output" == *'invalid syntax'*'[400]' ]]
	run api GET '/containers/qq/json'
	[ "$(json_get "${output% \[*}" 'j["State"]["Status"]')" = running ]
	run api POST '/containers/qq/stop?t=0'
	[ "$output" = " [204]" ]
	api DELETE '/containers/qq?force=1' >/dev/null
	no_containers
}
