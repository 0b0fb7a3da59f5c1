#!/usr/bin/env bats
# berth's networks have no IPv6: an endpoint's interfaces have it disabled (as Docker does on a
# network without IPv6), so that a new container's IPv6 probes are not flooded by the bridge to
# every other container (the cost of a 1,000-replica scale-up, docs/limits.md).

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
}

@test "a container's eth0 and its host-side veth have IPv6 disabled; IPv4 and lo work" {
	id=$(berth run -d busybox sleep 600)
	run berth exec "$id" cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6
	[ "$output" = 1 ]
	run berth exec "$id" ip -6 addr show dev eth0
	[ -z "$output" ]
	run berth exec "$id" ip -4 addr show dev eth0
	[[ "$output" == *"inet 10.88."* ]]
	run berth exec "$id" cat /proc/sys/net/ipv6/conf/lo/disable_ipv6
	[ "$output" = 0 ]
	veth=$(ip -br link show master berth0 | awk -v p="vb${id:0:10}." 'index($1, p) == 1 { sub(/@.*/, "", $1); print $1 }')
	echo "veth: $veth"
	[ -n "$veth" ]
	[ "$(cat "/proc/sys/net/ipv6/conf/$veth/disable_ipv6")" = 1 ]
	berth rm -f "$id" >/dev/null
}
