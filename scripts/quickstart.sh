#!/bin/bash
# The README's first command: install dependencies, build, start berth, a short walk through
# the tutorial's container commands, then the tutorial's echo service as a compose project:
# three replicas behind one published port (9000), and the scheduler's status endpoint.
# Run as root on Debian 12. Re-runnable: what a previous run started or made is reused.
#   scripts/quickstart.sh [--no-deps] [--no-build]
#     --no-deps    skip apt (also QUICKSTART_SKIP_DEPS=1)
#     --no-build   use the berth found on PATH instead of building into build/
set -euo pipefail
cd "$(dirname "$0")/.."
skip_deps=${QUICKSTART_SKIP_DEPS:-0}
skip_build=0
for arg in "$@"; do
	case "$arg" in
	--no-deps) skip_deps=1 ;;
	--no-build) skip_build=1 ;;
	-h | --help)
		sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "quickstart: unknown option: $arg (try --help)" >&2
		exit 2
		;;
	esac
done
[ "$skip_deps" = 1 ] || scripts/install-deps.sh
if [ "$skip_build" = 0 ]; then
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_TESTS=OFF >/dev/null
	cmake --build build -j"$(nproc)" >/dev/null
	export PATH="$PWD/build/bin:$PATH"
fi
command -v berth >/dev/null || {
	echo "quickstart: berth is not on PATH" >&2
	exit 1
}

step() {
	printf '\n$ %s\n' "$*"
	"$@"
}

# Wait up to $1 seconds for the command after it to succeed.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

if berth system status >/dev/null 2>&1; then
	printf '\nberth is already running:\n'
	berth system status
else
	step berth system start
fi

# Images: made offline from Debian's busybox-static, once.
if ! berth image inspect busybox:latest >/dev/null 2>&1; then
	tar=$(mktemp /tmp/busybox-rootfs.XXXXXX.tar)
	trap 'rm -f "$tar"' EXIT
	scripts/mkbusybox-rootfs.sh "$tar"
	step berth image import --change 'CMD ["sh"]' "$tar" busybox:latest
fi
berth image inspect echo-image:latest >/dev/null 2>&1 || step examples/echo/make-image.sh
step berth images

# The container tutorial, short. A previous run that was interrupted may have left these.
berth rm -f quickstart-hello >/dev/null 2>&1 || true
step berth run --rm busybox echo "Hello from a berth container"
step berth run -d -p 8000:8080 --name quickstart-hello echo-image
wait_for 10 curl -sf http://localhost:8000/ || true
step curl -s http://localhost:8000/
step berth ps --filter name=quickstart-hello
step berth port quickstart-hello
step berth rm -f quickstart-hello

# The echo service: examples/echo/compose.yaml asks for 3 replicas of echo-image, each
# health-checked, all behind host port 9000 (balanced by berth-netd).
step berth compose -f examples/echo/compose.yaml up -d
step berth compose -f examples/echo/compose.yaml scale web=3
# Healthy replicas get the port's connections; the first check runs within 2 s.
healthy() {
	[ "$(berth ps --filter label=com.docker.compose.project=echo --format '{{.Status}}' |
		grep -c '(healthy)')" -ge 3 ]
}
wait_for 30 healthy || echo "(fewer than 3 replicas are healthy yet)"
wait_for 30 curl -sf http://localhost:9000/ || true
step berth compose -f examples/echo/compose.yaml ps
printf '\n$ for i in 1 2 3 4 5 6; do curl -s http://localhost:9000/; done\n'
for _ in 1 2 3 4 5 6; do curl -s --max-time 2 http://localhost:9000/ || echo "(no answer)"; done
printf '\n$ curl -s http://127.0.0.1:7878/status | head\n'
status=$(curl -s --max-time 5 http://127.0.0.1:7878/status || true)
# one line of JSON: indented when a formatter is at hand
if command -v jq >/dev/null; then
	status=$(jq . <<<"$status" 2>/dev/null || echo "$status")
elif command -v python3 >/dev/null; then
	status=$(python3 -m json.tool <<<"$status" 2>/dev/null || echo "$status")
fi
head -n 10 <<<"$status"
cat <<'EOF'

berth is running (berth system status). The echo service answers on http://localhost:9000/
and the scheduler's status is at http://127.0.0.1:7878/status
  berth compose -f examples/echo/compose.yaml scale web=5   # more replicas
  berth compose -f examples/echo/compose.yaml down           # remove the service
  berth system stop                                          # stop the daemons
EOF
