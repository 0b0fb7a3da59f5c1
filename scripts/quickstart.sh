#!/bin/bash
# The README's first command: install dependencies, build, start berth, and walk through the
# tutorial's container commands on a busybox image made offline. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
export PATH="$PWD/build/bin:$PATH"

step() {
	printf '\n$ %s\n' "$*"
	"$@"
}

step berth system start
tar=$(mktemp /tmp/busybox-rootfs.XXXXXX.tar)
trap 'rm -f "$tar"' EXIT
scripts/mkbusybox-rootfs.sh "$tar"
step berth image import --change 'CMD ["sh"]' "$tar" busybox:latest
step examples/echo/make-image.sh
step berth images
step berth run busybox echo "Hello from a berth container"
step berth run -d -p 9000:8080 echo-image
for _ in $(seq 50); do curl -s http://localhost:9000/ >/dev/null && break; sleep 0.1; done
step curl -s http://localhost:9000/
step berth run -d -p 8080 --name myweb1 echo-image
step berth port myweb1
printf '\n$ berth run -d -p 9000:8080 echo-image   # the port is taken: exit 125\n'
berth run -d -p 9000:8080 echo-image || echo "(exit $?)"
step berth network create mynet
step berth run -d --network mynet --name web echo-image
step berth run --rm --network mynet busybox wget -qO- http://web:8080/
step berth run -d busybox sleep 600
step berth ps
step berth container ls
printf '\n$ berth run -d --name myweb1 busybox true   # the name is taken: exit 125\n'
berth run -d --name myweb1 busybox true || echo "(exit $?)"
step berth logs myweb1
step berth stop myweb1
id=$(berth ps -q | head -n 1)
step berth stop "${id:0:6}"
step berth ps -a
step berth container prune -f
printf '\n$ berth rm -f $(berth ps -qa)\n'
ids=$(berth ps -qa)
[ -z "$ids" ] || berth rm -f $ids
step berth ps -a
step berth network rm mynet
printf '\nberth is running (berth system status); stop it with: berth system stop\n'
