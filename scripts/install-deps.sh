#!/bin/sh
# Install what berth needs to build, run and test, from Debian's archive. Run as root.
#   scripts/install-deps.sh          build and run dependencies
#   scripts/install-deps.sh --test   also what the test suite uses (bats, cmocka, docker CLI 20.10)
#   scripts/install-deps.sh --bench  also the peers the benchmarks compare against
set -eu
pkgs="build-essential cmake pkg-config libevent-dev libyaml-dev libjansson-dev
libcurl4-openssl-dev libarchive-dev libnl-3-dev libnl-route-3-dev libnftables-dev libssl-dev libcap-dev
libseccomp-dev busybox-static iproute2 util-linux curl ca-certificates"
for arg in "$@"; do
	case "$arg" in
	--test) pkgs="$pkgs bats libcmocka-dev clang jq python3 nftables docker.io docker-compose
		docker-registry skopeo apache2-utils" ;;
	--bench) pkgs="$pkgs hyperfine crun runc podman docker.io wrk linux-perf strace" ;;
	*) echo "unknown option: $arg" >&2; exit 2 ;;
	esac
done
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# Packages that ship services (docker.io) must not try to start them here.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
