#!/bin/bash
# Run a command (a bats file) inside private mount, network and PID namespaces, with its own
# BERTH_ROOT, BERTH_RUN and cgroup parent, and check afterwards that it left nothing behind.
set -u
if [ "${BERTH_IN_SANDBOX:-}" != 1 ]; then
	export BERTH_IN_SANDBOX=1
	export BERTH_CGROUP_PARENT="berth-test-$$"
	unshare --mount --net --pid --fork --mount-proc "$0" "$@"
	rc=$?
	leftover=0
	for c in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT"; do
		[ -d "$c" ] || continue
		if find "$c" -mindepth 1 -type d | grep -q .; then
			echo "sandbox: cgroups left behind under $c:" >&2
			find "$c" -mindepth 1 -type d >&2
			leftover=1
		fi
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ $rc -eq 0 ] && [ $leftover -eq 1 ] && rc=1
	exit $rc
fi
mount --make-rprivate /
ip link set lo up
tmp=$(mktemp -d /tmp/berth-test.XXXXXX)
# A private tmpfs keeps the test's files off the host's disk and gone when the namespace is.
mount -t tmpfs -o mode=0755 tmpfs "$tmp"
export BERTH_ROOT="$tmp/root" BERTH_RUN="$tmp/run" BATS_TMPDIR="$tmp"
export TMPDIR="$tmp"
mkdir -p "$BERTH_ROOT" "$BERTH_RUN"
export PATH="$BERTH_BIN:$PATH"
"$@"
rc=$?
berth system stop >/dev/null 2>&1
umount -l "$tmp" 2>/dev/null
rmdir "$tmp" 2>/dev/null
exit $rc
