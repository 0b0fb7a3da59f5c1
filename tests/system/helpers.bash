# Shared setup for system tests. Each .bats file runs inside tests/system/sandbox.sh, so
# BERTH_ROOT, BERTH_RUN and the cgroup parent are private to it and PATH has the build's bin/.

# A busybox rootfs tarball, made once per build and shared by all test files.
busybox_tar() {
	local dir=${BERTH_TEST_DATA:-/tmp/berth-test-data}
	mkdir -p "$dir"
	if [ ! -s "$dir/busybox.tar" ]; then
		"$BERTH_SRC/scripts/mkbusybox-rootfs.sh" "$dir/busybox.tar.$$" &&
			mv "$dir/busybox.tar.$$" "$dir/busybox.tar"
	fi
	echo "$dir/busybox.tar"
}

# Start the daemons for this file and import busybox:latest (with CMD ["sh"], like the real one).
berth_start() {
	berth system start >"$BATS_FILE_TMPDIR/system-start.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/system-start.log" "$BERTH_RUN"/*.log >&2 2>/dev/null
		return 1
	}
}

berth_import_busybox() {
	berth image import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
}

berth_stop() {
	berth system stop >/dev/null 2>&1 || true
}

# Print the daemons' logs when a test fails, for the CI output.
berth_dump_logs() {
	for f in "$BERTH_RUN"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 50 "$f"; }
	done
}

# Wait up to $1 seconds for the command after it to succeed.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# Is process $1 gone? (A zombie counts: it has closed its sockets and files, and kill -0 still
# succeeds on it until it is reaped.)
pid_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# kill -9 process $1 and wait until it is gone (bounded): SIGKILL is asynchronous, and until the
# kernel has closed its files a daemon's socket still takes connections.
kill9_wait() {
	kill -9 "$1" 2>/dev/null || return 0
	wait_for 10 pid_gone "$1"
}

# berth compose up -d, quiet unless it fails: then what it said is in the test's output.
compose_up() {
	local out
	out=$(berth compose up -d "$@" 2>&1) || {
		echo "compose up -d $*: $out"
		return 1
	}
}

# Run $1 with a pty for the client (util-linux script), its stdin open until the command is
# done, as a person's would: at EOF script types its EOF character into the terminal, which then
# echoes it. (A fixed `sleep 2 |` ended the input under load while the command still ran.)
in_pty() {
	local hold pid rc
	exec {hold}< <(exec sleep 120)
	pid=$!
	timeout 60 script -qec "$1" /dev/null <&"$hold" | tr -d '\r'
	rc=${PIPESTATUS[0]}
	kill "$pid" 2>/dev/null
	exec {hold}<&-
	return "$rc"
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# slow_www: ./www for a compose service's busybox httpd, with index.html "hello" and a CGI
# www/cgi-bin/slow?N that answers after N seconds (2 by default), naming the replica.
slow_www() {
	mkdir -p www/cgi-bin
	echo hello >www/index.html
	cat >www/cgi-bin/slow <<'CGI'
#!/bin/sh
sleep "${QUERY_STRING:-2}"
printf 'Content-Type: text/plain\r\n\r\n'
echo "slow from $HOSTNAME"
CGI
	chmod +x www/cgi-bin/slow
}
