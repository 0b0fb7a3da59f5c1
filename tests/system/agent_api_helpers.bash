# Helpers for the agent API tests: start berth-agent alone, talk to it with curl and with a
# small Python client for hijacked (attach, exec start) streams.

agent_sock() {
	echo "$BERTH_RUN/agent.sock"
}

# curl against the agent: api METHOD PATH [curl args...]; prints the body then " [code]".
api() {
	local method=$1 path=$2 out body
	shift 2
	out=$(curl -s --max-time 30 --unix-socket "$(agent_sock)" -X "$method" \
		-w '\n%{http_code}' "$@" "http://x/v1.41$path")
	body=${out%$'\n'*}
	body=${body%$'\n'}
	printf '%s [%s]' "$body" "${out##*$'\n'}"
}

# api_json PATH JSON: POST a JSON body.
api_json() {
	api POST "$1" -H 'Content-Type: application/json' -d "$2"
}

# Networked containers need berth-netd: start it once (it outlives agent restarts).
netd_start() {
	curl -sf --unix-socket "$BERTH_RUN/netd.sock" http://x/_ping >/dev/null 2>&1 && return 0
	# fd 3 is bats' output: a daemon holding it keeps bats waiting.
	berth-netd >>"$BERTH_RUN/netd.log" 2>&1 </dev/null 3>&- &
	echo $! >"$BERTH_RUN/test-netd.pid"
	wait_for 10 curl -sf --unix-socket "$BERTH_RUN/netd.sock" http://x/_ping >/dev/null || {
		cat "$BERTH_RUN/netd.log" >&2
		return 1
	}
}

agent_start() {
	netd_start || return 1
	berth-agent >>"$BERTH_RUN/agent.log" 2>&1 &
	echo $! >"$BERTH_RUN/test-agent.pid"
	wait_for 10 test -S "$(agent_sock)" || {
		cat "$BERTH_RUN/agent.log" >&2
		return 1
	}
	wait_for 10 curl -sf --unix-socket "$(agent_sock)" http://x/_ping >/dev/null
}

agent_kill() {
	local sig=${1:-TERM} pid
	pid=$(cat "$BERTH_RUN/test-agent.pid" 2>/dev/null) || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	wait_for 10 pid_gone "$pid" # (kill -0 also succeeds on a zombie)
	rm -f "$BERTH_RUN/test-agent.pid"
}

import_busybox() {
	local out
	out=$(curl -s --unix-socket "$(agent_sock)" -X POST --data-binary @"$(busybox_tar)" \
		'http://x/v1.41/images/create?fromSrc=-&repo=busybox&tag=latest&changes=CMD%20%5B%22sh%22%5D')
	[[ "$out" == *sha256:* ]] || {
		echo "import failed: $out" >&2
		return 1
	}
}

# Remove every container (their cgroups must not outlive the sandbox), then stop the agent.
agent_cleanup() {
	local ids id
	ids=$(curl -s --unix-socket "$(agent_sock)" 'http://x/v1.41/containers/json?all=1' |
		python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null)
	for id in $ids; do
		curl -s --max-time 20 --unix-socket "$(agent_sock)" -X DELETE \
			"http://x/v1.41/containers/$id?force=1" >/dev/null
	done
	agent_kill TERM
	local netd
	netd=$(cat "$BERTH_RUN/test-netd.pid" 2>/dev/null) && kill "$netd" 2>/dev/null
	rm -f "$BERTH_RUN/test-netd.pid"
}

# json_get JSON EXPR: a Python expression over j, e.g. 'j["State"]["Status"]'.
json_get() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# hijack PATH [BODY] [--start ID] [--stdin TEXT]: POST with Upgrade: tcp, then print the
# stream, stdout frames to stdout and stderr frames to stderr (raw when --raw).
hijack() {
	python3 "$BERTH_SRC/tests/system/hijack.py" "$(agent_sock)" "$@"
}
