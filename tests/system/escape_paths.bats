#!/usr/bin/env bats
# Hostile images against the paths the agent and the shim resolve inside an image or a
# container root: VOLUME fills, -v NAME:/target fills, WorkingDir, bind-mount targets and the
# /etc files, through symlinks (absolute, "..", magic /proc/self/fd links) and ".." targets.
# Each asserts that nothing of the host is seen in the container or the volume and that
# nothing is written outside; benign volumes still get their files.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	berth_start
	berth_import_busybox
}

# The host's secrets, outside every root: a directory the images point at, fresh per test.
setup() {
	export HOSTDIR="$BATS_FILE_TMPDIR/host"
	rm -rf "$HOSTDIR"
	mkdir -p "$HOSTDIR/sub/deeper"
	echo HOST-SECRET >"$HOSTDIR/secret"
	echo HOST-SECRET >"$HOSTDIR/sub/secret"
	echo HOST-SECRET >"$HOSTDIR/sub/deeper/secret"
	find "$HOSTDIR" | sort >"$BATS_FILE_TMPDIR/host.list"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs >&3
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	berth volume prune -f >/dev/null 2>&1 || true
	berth volume rm -f $(berth volume ls -q) >/dev/null 2>&1 || true
}

# hostile TAG CONFIG_JSON LAYERDIR...: an image of busybox plus the given layers.
hostile() {
	local tag=$1 config=$2
	shift 2
	"$BERTH_SRC/tests/system/mkimage.sh" "$BATS_TEST_TMPDIR/$tag.tar" "$tag:latest" "$config" \
		"$(busybox_tar)" "$@"
	berth image load -i "$BATS_TEST_TMPDIR/$tag.tar" >/dev/null
}

layer() { # a fresh layer directory
	local d="$BATS_TEST_TMPDIR/layer-$1"
	mkdir -p "$d"
	echo "$d"
}

# Nothing of the host in any volume, and the host dir exactly as it was.
host_untouched() { # (no `run` here: callers check $status and $output after it)
	if grep -rl HOST-SECRET "$BERTH_ROOT/volumes"; then
		return 1
	fi
	find "$HOSTDIR" | sort | diff "$BATS_FILE_TMPDIR/host.list" -
}

@test "VOLUME through an image symlink to a host directory copies nothing from the host" {
	l=$(layer x)
	ln -s "$HOSTDIR" "$l/x"
	hostile vol-link '{"Cmd":["sh"],"Volumes":{"/x/sub":{}}}' "$l"
	run berth run --rm vol-link sh -c 'ls -A /x/sub; cat /x/sub/secret 2>/dev/null; echo end'
	[[ "$output" != *HOST-SECRET* ]]
	host_untouched
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = end ]
}

@test "VOLUME with .. components copies nothing from the host" {
	up=$(printf '/..%.0s' $(seq 1 24))
	hostile vol-dots "{\"Cmd\":[\"sh\"],\"Volumes\":{\"$up$HOSTDIR/sub\":{}}}"
	run berth run --rm vol-dots sh -c "ls -A '$HOSTDIR/sub'; echo end"
	[[ "$output" != *secret* ]]
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = end ]
	host_untouched
}

@test "-v NAME:/x/sub where /x is a symlink to a host directory: the new volume stays empty" {
	l=$(layer x)
	ln -s "$HOSTDIR" "$l/x"
	ln -s ../../../../../../../.. "$l/up"
	hostile named-link '{"Cmd":["sh"]}' "$l"
	run berth run --rm -v newvol:/x/sub named-link sh -c 'ls -A /x/sub; echo end'
	[ "$(ls -A "$BERTH_ROOT/volumes/newvol/_data")" = "" ]
	[ "$status" -eq 0 ]
	[ "$output" = end ]
	run berth run --rm -v newvol2:/up$HOSTDIR named-link sh -c "ls -A /up$HOSTDIR; echo end"
	[ "$output" = end ]
	[ "$(ls -A "$BERTH_ROOT/volumes/newvol2/_data")" = "" ]
	host_untouched
}

@test "a lower layer's symlink under an upper layer's directory: no write outside; whiteouts and opaque dirs honoured" {
	low=$(layer low)
	mkdir -p "$low/v/o"
	ln -s "$HOSTDIR" "$low/v/d"
	echo gone >"$low/v/gone"
	echo low >"$low/v/o/lowfile"
	echo keep >"$low/v/keep"
	mkdir -p "$low/w"
	echo deleted >"$low/w/deleted"
	up=$(layer up)
	mkdir -p "$up/v/d" "$up/v/o" "$up/w"
	echo planted >"$up/v/d/planted"
	touch "$up/v/.wh.gone" "$up/v/o/.wh..wh..opq"
	echo top >"$up/v/o/topfile"
	touch "$up/w/.wh.deleted"
	echo kept >"$up/w/kept"
	hostile layered '{"Cmd":["sh"],"Volumes":{"/v":{},"/w":{}}}' "$low" "$up"
	run berth run --rm layered sh -c 'cd /v && find . | sort; cd /w && find . | sort'
	[ "$status" -eq 0 ]
	[ "$output" = $'.\n./d\n./d/planted\n./keep\n./o\n./o/topfile\n.\n./kept' ]
	[ ! -e "$HOSTDIR/planted" ]
	host_untouched
}

@test "WorkingDir through a symlink or .. to a host path is made inside the container" {
	l=$(layer w)
	ln -s "$HOSTDIR" "$l/w"
	hostile wd-link '{"Cmd":["sh"],"WorkingDir":"/w/made-wd"}' "$l"
	# made where the link points inside the container's root, as Docker does
	run berth run --rm wd-link sh -c 'pwd; ls -A; echo end'
	[ "$status" -eq 0 ]
	[ "$output" = "$HOSTDIR/made-wd"$'\nend' ]
	run berth run --rm -w "/../../../..$HOSTDIR/sub" wd-link sh -c 'ls -A; echo end'
	[ "$output" = end ]
	[ ! -e "$HOSTDIR/made-wd" ]
	host_untouched
}

@test "WorkingDir through a magic link (/proc/self/fd/N) never enters a host directory" {
	for n in $(seq 3 12); do
		output=$(berth run --rm -w "/proc/self/fd/$n" busybox sh -c \
			'ls -A; cat secret sub/secret; pwd' 2>&1 || true)
		[[ "$output" != *HOST-SECRET* ]]
		[[ "$output" != *containers* ]]
		id=$(berth create -w "/proc/self/fd/$n" busybox sleep 10)
		if berth start "$id" >/dev/null 2>&1; then
			run berth exec "$id" sh -c 'pwd; ls -A'
			[[ "$output" != *config.json* ]]
		fi
		berth rm -f "$id" >/dev/null
	done
	host_untouched
}

@test "bind-mount targets through magic links or .. are made inside the container" {
	src="$BATS_TEST_TMPDIR/src"
	mkdir -p "$src"
	echo bound >"$src/file"
	l=$(layer t)
	for n in $(seq 3 14); do ln -s "/proc/self/fd/$n" "$l/t$n"; done
	ln -s / "$l/toroot"
	ln -s ../../../../.. "$l/up"
	hostile bind-link '{"Cmd":["sh"]}' "$l"
	for n in $(seq 3 14); do
		berth run --rm -v "$HOSTDIR:/a:ro" -v "$src:/t$n/made" bind-link true 2>/dev/null || true
	done
	run find "$HOSTDIR" "$src" "$BERTH_ROOT/volumes" -name made
	[ "$output" = "" ]
	run berth run --rm -v "$src:/up/escaped" -v "$src:/toroot/also" bind-link \
		sh -c 'cat /escaped/file /also/file'
	[ "$status" -eq 0 ]
	[ "$output" = $'bound\nbound' ]
	[ ! -e "$BATS_TEST_TMPDIR/escaped" ] && [ ! -e "$BERTH_ROOT/escaped" ]
	host_untouched
}

@test "/etc as a magic link: /etc/hosts, hostname and resolv.conf are not made on the host" {
	src="$BATS_TEST_TMPDIR/src"
	mkdir -p "$src"
	for n in $(seq 3 12); do
		l=$(layer "etc$n")
		ln -s "/proc/self/fd/$n" "$l/etc"
		hostile "etc-link$n" '{"Cmd":["true"]}' "$l"
		berth run --rm -v "$src:/a" "etc-link$n" 2>/dev/null || true
	done
	[ "$(ls -A "$src")" = "" ]
	host_untouched
}

@test "benign volumes still get the image's files, owners and modes (positive control)" {
	l=$(layer good)
	mkdir -p "$l/data/sub" "$l/real/sub" "$l/nocopy"
	echo hello >"$l/data/f"
	chmod 0640 "$l/data/f"
	chown 33:33 "$l/data/f" "$l/data/sub"
	chmod 0750 "$l/data"
	ln -s ../f "$l/data/sub/rel"
	echo inner >"$l/real/sub/g"
	ln -s /real "$l/ln"
	echo x >"$l/nocopy/x"
	hostile good '{"Cmd":["sh"],"Volumes":{"/data":{},"/ln/sub":{}}}' "$l"
	run berth run --rm good sh -c \
		'stat -c "%n %u:%g %a" /data /data/f /data/sub; cat /data/sub/rel /ln/sub/g'
	[ "$status" -eq 0 ]
	[ "$output" = $'/data 0:0 750\n/data/f 33:33 640\n/data/sub 33:33 755\nhello\ninner' ]
	# a named volume that exists but is empty is filled (Docker); nocopy leaves it empty
	berth volume create ev >/dev/null
	run berth run --rm -v ev:/nocopy good ls /nocopy
	[ "$output" = x ]
	run berth run --rm -v nc:/nocopy:nocopy good ls -A /nocopy
	[ "$output" = "" ]
	host_untouched
}

@test "an image whose /etc/resolv.conf is a dangling link (systemd-resolved's) starts" {
	l=$(layer resolv)
	mkdir -p "$l/etc"
	ln -s ../run/systemd/resolve/stub-resolv.conf "$l/etc/resolv.conf"
	hostile resolv-link '{"Cmd":["sh"]}' "$l"
	run berth run --rm --dns 10.9.8.7 resolv-link sh -c 'cat /etc/resolv.conf; readlink /etc/resolv.conf'
	[ "$status" -eq 0 ]
	[ "$output" = $'nameserver 10.9.8.7\n../run/systemd/resolve/stub-resolv.conf' ]
	host_untouched
}
