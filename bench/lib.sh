# shellcheck shell=bash
# Shared helpers for the benchmarks: the sandbox every script runs in, its temp dirs and cgroups,
# and starting, stopping and talking to each peer (berth, dockerd, podman, crun/runc, the floor).
#
# Each script calls bench_enter_sandbox "$@" first. The script then re-runs itself inside private
# mount, network and PID namespaces: every daemon, container, mount, bridge and veth it makes dies
# with them. Cgroups do not, so all of them live under parents named berthbench-<id>-<peer>,
# removed by the outer half after the namespaces are gone, together with the temp dir.
#
# Environment: BERTH_BIN (berth's binaries, default build/bin of this checkout), BENCH_RESULTS
# (where result files go; default a new /tmp/berth-bench-results.XXXXXX, kept), BENCH_RUNS.

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$BENCH_REPO/bench"
BERTH_BIN=${BERTH_BIN:-$BENCH_REPO/build/bin}
BENCH_RUNS=${BENCH_RUNS:-20}
# Debian's docker CLI matches the dockerd it ships; the 28.x one on the PATH is the fallback.
if [ -x /usr/bin/docker ]; then BENCH_DOCKER_CLI=/usr/bin/docker; else BENCH_DOCKER_CLI=docker; fi

bench_log() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; }
bench_die() { bench_log "$*"; exit 1; }

# Runs the calling script inside the sandbox; returns only in the inner half.
bench_enter_sandbox() {
	[ "$(id -u)" = 0 ] || bench_die "must run as root (it starts daemons and containers)"
	if [ "${BENCH_IN_SANDBOX:-}" = 1 ]; then
		bench_sandbox_setup
		return 0
	fi
	export BENCH_IN_SANDBOX=1 BENCH_ID=$$ BERTH_BIN BENCH_RUNS
	BENCH_TMP=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
	export BENCH_TMP
	if [ -z "${BENCH_RESULTS:-}" ]; then
		BENCH_RESULTS=$(mktemp -d /tmp/berth-bench-results.XXXXXX)
	fi
	mkdir -p "$BENCH_RESULTS"
	BENCH_RESULTS=$(cd "$BENCH_RESULTS" && pwd)
	export BENCH_RESULTS
	# podman insists on /var/lib/containers/cache; a private mount hides it, but must have a
	# mount point: remember whether we made it.
	BENCH_MADE_VARLIB=0
	if [ ! -e /var/lib/containers ]; then mkdir /var/lib/containers && BENCH_MADE_VARLIB=1; fi
	local rc=0
	unshare --mount --net --pid --fork --mount-proc "$0" "$@" || rc=$?
	bench_outer_cleanup || { [ $rc -ne 0 ] || rc=1; }
	exit $rc
}

# After the namespaces are gone: cgroups (their processes may take a moment to be reaped), the
# temp dir, the mount point we made.
bench_outer_cleanup() {
	local ok=0 i dirs
	for i in $(seq 50); do
		dirs=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "berthbench-$BENCH_ID-*" 2>/dev/null || true)
		[ -z "$dirs" ] && { ok=1; break; }
		for d in $dirs; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
		sleep 0.2
	done
	if [ $ok = 0 ]; then
		bench_log "cgroups left behind (still busy):"
		find /sys/fs/cgroup -maxdepth 6 -type d -name "berthbench-$BENCH_ID-*" >&2 || true
	fi
	rm -rf "$BENCH_TMP"
	[ "$BENCH_MADE_VARLIB" = 1 ] && rmdir /var/lib/containers 2>/dev/null
	[ $ok = 1 ]
}

# Inside the namespaces: private copies of the places the peers write outside their flags.
bench_sandbox_setup() {
	mount --make-rprivate /
	ip link set lo up
	# dockerd, containerd, podman, crun and runc keep state under /run (some ignore their flags).
	mount -t tmpfs -o mode=0755 tmpfs /run
	# dockerd writes /etc/docker/key.json; podman /var/lib/containers/cache.
	mkdir -p "$BENCH_TMP/etc-docker" "$BENCH_TMP/varlib-containers" "$BENCH_TMP/tmp"
	[ -d /etc/docker ] && mount --bind "$BENCH_TMP/etc-docker" /etc/docker
	[ -d /var/lib/containers ] && mount --bind "$BENCH_TMP/varlib-containers" /var/lib/containers
	export TMPDIR="$BENCH_TMP/tmp"
	BENCH_NA=()
	trap bench_inner_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Cleanup hooks run in reverse order at exit (the namespaces' end is the backstop).
BENCH_CLEANUPS=()
bench_on_exit() { BENCH_CLEANUPS+=("$*"); }
bench_inner_cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${BENCH_CLEANUPS[i]}" >/dev/null 2>&1
	done
	return $rc
}

# A peer that cannot be measured: remembered, reported, and the script exits non-zero at the end.
bench_na() {
	local peer=$1 reason=$2
	bench_log "$peer cannot be run: $reason"
	BENCH_NA+=("$peer")
	printf '%s\tn/a (%s)\n' "$peer" "$reason" >>"$BENCH_RESULTS/na.tsv"
}
bench_finish() {
	if [ ${#BENCH_NA[@]} -gt 0 ]; then
		bench_log "not measured: ${BENCH_NA[*]} (see the table)"
		exit 2
	fi
}

# Run a command in a child mount namespace whose cgroup v2 mount is hidden: crun refuses
# hybrid cgroups ("drop all controllers from cgroupv2"), and sees plain v1 there.
bench_v1ns() {
	unshare --mount -- bash -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' bench "$@"
}

# Run a setup function in this shell (its variables and cleanups must stay); on failure its
# output, on one line, is in BENCH_WHY.
bench_try() {
	local log="$BENCH_TMP/try-$1.log"
	"$@" >"$log" 2>&1 && return 0
	BENCH_WHY=$(grep -v '^ *$' "$log" | tail -3 | tr '\n' ' ' | sed 's/ *$//')
	BENCH_WHY=${BENCH_WHY:-$1 failed}
	return 1
}

# Wait (bounded) until a command succeeds.
bench_wait_for() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

bench_now_ns() { date +%s%N; }

# hyperfine one command; prints its median in ms. [--v1ns] NAME (for the files) COMMAND.
# With --v1ns, hyperfine itself runs under bench_v1ns, so the command is timed without it.
bench_hyperfine() {
	local wrap=()
	[ "$1" = --v1ns ] && { wrap=(bench_v1ns); shift; }
	local name=$1
	shift
	"${wrap[@]}" hyperfine -N --warmup 3 --runs "$BENCH_RUNS" --style basic \
		--export-json "$BENCH_RESULTS/start-$name.json" \
		--export-csv "$BENCH_TMP/hf-$name.csv" "$@" >"$BENCH_TMP/hf-$name.log" 2>&1 || {
		grep -v '^ *$' "$BENCH_TMP/hf-$name.log" | tail -3 | tr '\n' ' ' >&2
		return 1
	}
	# CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
	awk -F, 'NR == 2 { printf "%.2f\n", $4 * 1000 }' "$BENCH_TMP/hf-$name.csv"
}

# Memory of a process, in KB: RSS from status, PSS from smaps_rollup.
bench_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
bench_pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
bench_sum_rss_kb() {
	local t=0 p
	for p in "$@"; do t=$((t + $(bench_rss_kb "$p"))); done
	echo $t
}
# PIDs of processes whose comm is exactly $1 (in this PID namespace only: the sandbox's own).
bench_pids_of() { pgrep -x "$1" || true; }

# --- the busybox image -------------------------------------------------------------------
bench_busybox() {
	BENCH_TAR="$BENCH_TMP/busybox.tar"
	BENCH_ROOTFS="$BENCH_TMP/rootfs"
	"$BENCH_REPO/scripts/mkbusybox-rootfs.sh" "$BENCH_TAR"
	mkdir -p "$BENCH_ROOTFS"
	tar -C "$BENCH_ROOTFS" -xf "$BENCH_TAR"
}

# --- berth ---------------------------------------------------------------------------------
# berth_start: daemons in a private root, busybox imported. Sets BERTH (the CLI command).
berth_start() {
	[ -x "$BERTH_BIN/berth" ] || { echo "no $BERTH_BIN/berth (build it, or set BERTH_BIN)"; return 1; }
	export BERTH_ROOT="$BENCH_TMP/berth/root" BERTH_RUN="$BENCH_TMP/berth/run"
	export BERTH_CGROUP_PARENT="berthbench-$BENCH_ID-berth"
	export PATH="$BERTH_BIN:$PATH"
	mkdir -p "$BERTH_ROOT" "$BERTH_RUN"
	BERTH="$BERTH_BIN/berth"
	bench_on_exit berth_stop
	timeout 30 "$BERTH" system start >"$BENCH_TMP/berth-start.log" 2>&1 || {
		tail -3 "$BENCH_TMP/berth-start.log"
		return 1
	}
	timeout 60 "$BERTH" image import --change 'CMD ["sh"]' "$BENCH_TAR" busybox:latest \
		>"$BENCH_TMP/berth-import.log" 2>&1 || {
		tail -3 "$BENCH_TMP/berth-import.log"
		return 1
	}
	timeout 30 "$BERTH" run --rm busybox true >"$BENCH_TMP/berth-probe.log" 2>&1 || {
		echo "berth run --rm busybox true failed: $(tail -3 "$BENCH_TMP/berth-probe.log")"
		return 1
	}
}

berth_stop() {
	[ -n "${BERTH:-}" ] || return 0
	local ids
	ids=$(timeout 20 "$BERTH" ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || timeout 120 "$BERTH" rm -f $ids >/dev/null 2>&1 || true
	timeout 20 "$BERTH" system stop >/dev/null 2>&1 || true
	BERTH=
}

# --- docker --------------------------------------------------------------------------------
# docker_start: a private dockerd (own data, exec root, socket), busybox imported. Sets DOCKER.
docker_start() {
	command -v dockerd >/dev/null || { echo "dockerd is not installed"; return 1; }
	local d="$BENCH_TMP/docker"
	mkdir -p "$d"
	DOCKER_SOCK="$d/docker.sock"
	DOCKER="$BENCH_DOCKER_CLI -H unix://$DOCKER_SOCK"
	dockerd --iptables=false --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
		-H "unix://$DOCKER_SOCK" --cgroup-parent "/berthbench-$BENCH_ID-docker" \
		>"$d/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	bench_on_exit "docker_stop"
	bench_wait_for 30 timeout 5 $DOCKER version || {
		echo "dockerd did not answer in 30 s: $(tail -2 "$d/dockerd.log")"
		return 1
	}
	timeout 60 $DOCKER import --change 'CMD ["sh"]' "$BENCH_TAR" busybox:latest >/dev/null || {
		echo "docker import failed"
		return 1
	}
}
docker_stop() {
	[ -n "${DOCKERD_PID:-}" ] || return 0
	local ids
	ids=$(timeout 20 $DOCKER ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || timeout 120 $DOCKER rm -f $ids >/dev/null 2>&1 || true
	kill "$DOCKERD_PID" 2>/dev/null || true
	timeout 20 tail --pid="$DOCKERD_PID" -f /dev/null || kill -9 "$DOCKERD_PID" 2>/dev/null || true
	DOCKERD_PID=
}

# --- podman --------------------------------------------------------------------------------
# podman runs with crun (its default) in a child mount namespace where crun sees plain cgroup v1
# (bench_v1ns), cgroupfs as the cgroup manager (no systemd here), no events journal, and its
# containers under our cgroup parent. PODMAN is the command, to be run through bench_v1ns.
podman_setup() {
	command -v podman >/dev/null || { echo "podman is not installed"; return 1; }
	local d="$BENCH_TMP/podman"
	mkdir -p "$d"
	PODMAN="podman --root $d/root --runroot $d/runroot --tmpdir $d/tmp --cgroup-manager=cgroupfs"
	PODMAN="$PODMAN --events-backend=none --runtime crun"
	PODMAN_RUN_FLAGS="--network=none --cgroup-parent=/berthbench-$BENCH_ID-podman"
	bench_on_exit "bench_v1ns timeout 60 $PODMAN rm -af -t 0"
	bench_v1ns timeout 60 $PODMAN import --change 'CMD ["sh"]' "$BENCH_TAR" busybox:latest \
		>"$d/import.log" 2>&1 || {
		echo "podman import failed: $(tail -2 "$d/import.log")"
		return 1
	}
	bench_v1ns timeout 60 $PODMAN run --rm $PODMAN_RUN_FLAGS busybox true >"$d/probe.log" 2>&1 || {
		echo "podman run failed: $(tail -2 "$d/probe.log")"
		return 1
	}
}

# --- crun / runc ---------------------------------------------------------------------------
# An OCI bundle from `crun spec` on the busybox rootfs, running /bin/true, with a cgroup under
# our parent (so the runtime does its cgroup work, as it would under an engine). Prints its dir.
oci_bundle() {
	local runtime=$1 b="$BENCH_TMP/bundle-$1"
	mkdir -p "$b"
	rm -f "$b/config.json"
	(cd "$b" && crun spec) || return 1
	# crun spec gives a shell with a terminal; we want /bin/true without one.
	sed -i -e 's|"terminal": true|"terminal": false|' -e 's|"sh"$|"/bin/true"|' \
		-e "s|\"path\": \"rootfs\"|\"path\": \"$BENCH_ROOTFS\"|" \
		-e "s|\"linux\": {|\"linux\": {\n\t\t\"cgroupsPath\": \"/berthbench-$BENCH_ID-$runtime/ctr\",|" \
		"$b/config.json"
	grep -q '"/bin/true"' "$b/config.json" && grep -q cgroupsPath "$b/config.json" || {
		echo "unexpected crun spec output"
		return 1
	}
	echo "$b"
}

# --- many containers -------------------------------------------------------------------------
# bench_loop N CMD...: run CMD N times, one after the other, stop at the first failure.
bench_loop() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		timeout 60 "$@" >/dev/null || { echo "run $((i + 1)) of $n failed: $*" >&2; return 1; }
	done
}

# many_start PEER N: start N detached `sleep 600` containers; prints the wall time in ms.
many_start() {
	local peer=$1 n=$2 t0 t1
	t0=$(bench_now_ns)
	case $peer in
	berth) bench_loop "$n" "$BERTH" run -d busybox sleep 600 ;;
	docker) bench_loop "$n" $DOCKER run -d --network none busybox sleep 600 ;;
	podman)
		bench_v1ns bash -c "$(declare -f bench_loop); bench_loop \"\$@\"" bench "$n" \
			$PODMAN run -d $PODMAN_RUN_FLAGS busybox sleep 600
		;;
	esac || return 1
	t1=$(bench_now_ns)
	echo $(((t1 - t0) / 1000000))
}

# many_rm PEER: force-remove every container of the peer; prints the wall time in ms.
many_rm() {
	local peer=$1 t0 t1 ids
	t0=$(bench_now_ns)
	case $peer in
	berth) ids=$(timeout 30 "$BERTH" ps -aq) && timeout 300 "$BERTH" rm -f $ids >/dev/null ;;
	docker) ids=$(timeout 30 $DOCKER ps -aq) && timeout 300 $DOCKER rm -f $ids >/dev/null ;;
	podman) bench_v1ns timeout 300 $PODMAN rm -af -t 0 >/dev/null ;;
	esac || return 1
	t1=$(bench_now_ns)
	echo $(((t1 - t0) / 1000000))
}

# many_count PEER: how many containers the peer says are running.
many_count() {
	case $1 in
	berth) timeout 30 "$BERTH" ps -q | wc -l ;;
	docker) timeout 30 $DOCKER ps -q | wc -l ;;
	podman) bench_v1ns timeout 30 $PODMAN ps -q | wc -l ;;
	esac
}
