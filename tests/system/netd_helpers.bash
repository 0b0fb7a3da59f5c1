# Helpers for the tests that drive berth-netd's API directly (netd*.bats): a netd of the test's
# own (not through `berth system start`), its API, made-up container ids and their namespaces.

netd_sock() {
	echo "$BERTH_RUN/netd.sock"
}

# napi METHOD PATH [JSON]: prints the body then " [code]".
napi() {
	local out body
	out=$(curl -s --max-time 20 --unix-socket "$(netd_sock)" -X "$1" -w '\n%{http_code}' \
		${3:+-H 'Content-Type: application/json' -d "$3"} "http://x$2")
	body=${out%$'\n'*}
	body=${body%$'\n'}
	printf '%s [%s]' "$body" "${out##*$'\n'}"
}

# A 64-hex container id made of one repeated hex digit pair.
cid() {
	printf "$1%.0s" $(seq 32)
}

# netd_start [ARGS...]: a netd whose DNS forwards to 127.0.0.1:5353, answering on its socket.
netd_start() {
	berth-netd --dns-upstream 127.0.0.1:5353 "$@" >>"$BERTH_RUN/netd.log" 2>&1 &
	echo $! >"$BERTH_RUN/test-netd.pid"
	wait_for 10 curl -sf --unix-socket "$(netd_sock)" http://x/_ping >/dev/null || {
		cat "$BERTH_RUN/netd.log" >&2
		return 1
	}
}

# netd_kill [SIGNAL]: signal netd_start's netd (TERM by default) and wait until it is gone.
netd_kill() {
	local pid
	pid=$(cat "$BERTH_RUN/test-netd.pid")
	kill -"${1:-TERM}" "$pid"
	wait_for 10 pid_gone "$pid" # (kill -0 also succeeds on a zombie)
}

# in_ns ID CMD...: CMD in the network namespace of endpoint ID.
in_ns() {
	local id=$1
	shift
	nsenter --net="$BERTH_RUN/netns/$id" "$@"
}
