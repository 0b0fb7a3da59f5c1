#!/usr/bin/env bats
# Create fields berth type-checks but does not act on (issue 8): each set value is refused with
# 400 and a message naming the field (and the docker flag), nothing is created; the defaults
# the docker CLI and docker-compose send on every create pass; the clients' flags exit 125.

load helpers
load agent_api_helpers
bats_require_minimum_version 1.5.0

DOCKER_28=${BERTH_DOCKER_28:-/usr/local/bin/docker}
DOCKER_20=${BERTH_DOCKER_20:-/usr/bin/docker}

setup_file() {
	export DOCKER_CONFIG="$BATS_FILE_TMPDIR/docker-config"
	agent_start
	import_busybox
}

teardown_file() {
	agent_cleanup
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$BERTH_RUN/agent.log" >&3 2>/dev/null || true
}

# create HOSTCONFIG_JSON [CONFIG_FIELDS]: POST a create body for busybox.
create_with() {
	api_json /containers/create "{\"Image\":\"busybox\",\"Cmd\":[\"true\"]${2:+,$2},\"HostConfig\":$1}"
}

no_containers() {
	run api GET '/containers/json?all=1'
	[ "$output" = "[] [200]" ]
}

# refused FIELD FLAG VALUE: HostConfig.FIELD=VALUE answers 400 naming the flag and the field.
refused() {
	run create_with "{\"$1\":$3}"
	[ "$output" = "{\"message\":\"$2 is not supported by berth yet (HostConfig.$1)\"} [400]" ] || {
		echo "$1: $output" >&2
		return 1
	}
}

@test "create: every HostConfig field berth does not act on is refused, nothing is created" {
	refused Sysctls --sysctl '{"net.ipv4.ip_forward":"1"}'
	refused Devices --device '[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]'
	refused DeviceCgroupRules --device-cgroup-rule '["c 1:3 rwm"]'
	refused DeviceRequests --gpus '[{"Count":-1,"Capabilities":[["gpu"]]}]'
	refused BlkioWeightDevice --blkio-weight-device '[{"Path":"/dev/sda","Weight":100}]'
	refused BlkioDeviceReadBps --device-read-bps '[{"Path":"/dev/sda","Rate":1024}]'
	refused BlkioDeviceWriteBps --device-write-bps '[{"Path":"/dev/sda","Rate":1024}]'
	refused BlkioDeviceReadIOps --device-read-iops '[{"Path":"/dev/sda","Rate":10}]'
	refused BlkioDeviceWriteIOps --device-write-iops '[{"Path":"/dev/sda","Rate":10}]'
	refused CpuRealtimePeriod --cpu-rt-period 1000000
	refused CpuRealtimeRuntime --cpu-rt-runtime 950000
	refused CpuCount --cpu-count 2
	refused CpuPercent --cpu-percent 50
	refused IOMaximumIOps --io-maxiops 100
	refused IOMaximumBandwidth --io-maxbandwidth 1048576
	refused GroupAdd --group-add '["audio"]'
	refused DnsSearch --dns-search '["example.org"]'
	refused DnsOptions --dns-option '["ndots:2"]'
	refused IpcMode --ipc '"host"'
	refused PidMode --pid '"host"'
	refused UTSMode --uts '"host"'
	refused UsernsMode --userns '"private"'
	refused CgroupnsMode --cgroupns '"host"'
	refused CgroupParent --cgroup-parent '"/elsewhere"'
	refused VolumeDriver --volume-driver '"nfs"'
	refused VolumesFrom --volumes-from '["other"]'
	refused Links --link '["other:alias"]'
	refused Runtime --runtime '"crun"'
	refused Isolation --isolation '"hyperv"'
	refused Annotations --annotation '{"a":"b"}'
	refused StorageOpt --storage-opt '{"size":"10G"}'
	run create_with '{"Cgroup":"container:x"}'
	[ "$output" = '{"message":"berth does not support HostConfig.Cgroup yet"} [400]' ]
	run create_with '{"KernelMemoryTCP":1048576}'
	[ "$output" = '{"message":"berth does not support HostConfig.KernelMemoryTCP yet"} [400]' ]
	run create_with '{}' '"Domainname":"example.org"'
	[ "$output" = '{"message":"--domainname is not supported by berth yet (Domainname)"} [400]' ]
	run create_with '{}' '"MacAddress":"02:42:ac:11:00:09"'
	[ "$output" = '{"message":"--mac-address is not supported by berth yet (MacAddress)"} [400]' ]
	run create_with '{}' '"NetworkDisabled":true'
	[ "$output" = '{"message":"berth does not support NetworkDisabled yet"} [400]' ]
	# a log driver berth has not: Docker's message (berth has json-file and none)
	run create_with '{"LogConfig":{"Type":"syslog","Config":{}}}'
	[ "$output" = "{\"message\":\"logger: no log driver named 'syslog' is registered\"} [400]" ]
	no_containers
}

@test "create: the defaults docker 20.10 and docker-compose send, and what berth does anyway, pass" {
	# the HostConfig of a plain `docker run` (20.10), with docker-py's empty lists
	run create_with '{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":[],"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"ConsoleSize":[0,0],"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"KernelMemory":0,"KernelMemoryTCP":0,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":false,"PidsLimit":null,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null,"Sysctls":{},"StorageOpt":null,"Annotations":null,"Runtime":""}' \
		'"Hostname":"","Domainname":"","MacAddress":"","NetworkDisabled":false'
	[[ "$output" == '{"Id":"'*'[201]' ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	api DELETE "/containers/$id?force=1" >/dev/null
	run create_with '{"IpcMode":"shareable","CgroupnsMode":"private","UsernsMode":"host","Isolation":"default","Runtime":"runc","LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}}}'
	[[ "$output" == '{"Id":"'*'[201]' ]]
	id=$(json_get "${output% \[*}" 'j["Id"]')
	api DELETE "/containers/$id?force=1" >/dev/null
	no_containers
}

@test "berth CLI: --log-driver berth has not is the daemon's message with exit 125; no --sysctl" {
	run berth run --rm --log-driver syslog busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"logger: no log driver named 'syslog' is registered"* ]]
	run --separate-stderr berth run --rm --sysctl net.ipv4.ip_forward=1 busybox true
	[ "$status" -eq 125 ]
	[ "${stderr_lines[0]}" = "unknown flag: --sysctl" ]
	no_containers
}

# docker_refused VERSION: the docker CLI's flags for refused fields exit 125 with berth's message.
docker_refused() {
	local bin
	[ "$1" = 28 ] && bin=$DOCKER_28 || bin=$DOCKER_20
	[ -x "$bin" ] && "$bin" --version | grep -q "version $1\." || skip "docker CLI $1.x not installed"
	run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm --sysctl net.ipv4.ip_forward=1 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--sysctl is not supported by berth yet (HostConfig.Sysctls)'* ]]
	run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" create --ipc host busybox true
	[ "$status" -eq 1 ] # docker create exits 1 on a daemon error, docker run 125
	[[ "$output" == *'--ipc is not supported by berth yet (HostConfig.IpcMode)'* ]]
	run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm --device /dev/null:/dev/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--device is not supported by berth yet (HostConfig.Devices)'* ]]
	run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm busybox echo defaults-pass
	[ "$status" -eq 0 ]
	[ "$output" = "defaults-pass" ]
	no_containers
}

@test "docker 28.x: --sysctl, --ipc host, --device refused (run exits 125)" {
	docker_refused 28
}

@test "docker 20.10: --sysctl, --ipc host, --device refused (run exits 125)" {
	docker_refused 20
}

@test "docker 28.x and 20.10: --mac-address, --link, --dns-search refused" {
	local bin v n=0
	for v in 28 20; do
		[ "$v" = 28 ] && bin=$DOCKER_28 || bin=$DOCKER_20
		[ -x "$bin" ] && "$bin" --version | grep -q "version $v\." || continue
		n=$((n + 1))
		run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm --mac-address 02:42:ac:11:00:09 busybox true
		[ "$status" -eq 125 ]
		# docker 28 puts the address in EndpointsConfig and refuses that itself below API 1.44
		if [ "$v" = 28 ]; then
			[[ "$output" == *'"specify mac-address per network" requires API version 1.44'* ]]
		else
			[[ "$output" == *'--mac-address is not supported by berth yet (MacAddress)'* ]]
		fi
		run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm --link other:alias busybox true
		[ "$status" -eq 125 ]
		[[ "$output" == *'--link is not supported by berth yet (HostConfig.Links)'* ]]
		run timeout 60 "$bin" -H "unix://$BERTH_RUN/agent.sock" run --rm --dns-search example.org busybox true
		[ "$status" -eq 125 ]
		[[ "$output" == *'--dns-search is not supported by berth yet (HostConfig.DnsSearch)'* ]]
	done
	[ "$n" -gt 0 ] || skip "no docker CLI installed"
	no_containers
}
