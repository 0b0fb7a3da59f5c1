#!/bin/sh
# The tutorial's echo service, made offline from Debian's busybox-static: busybox httpd serving
# /www/index.html ("Hello Docker!!") on port 8080, imported as echo-image:latest.
# Usage: examples/echo/make-image.sh [IMAGE]   (berth must be running: berth system start)
set -eu
image=${1:-echo-image:latest}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$here/../../scripts/mkbusybox-rootfs.sh" "$dir/rootfs.tar"
mkdir -p "$dir/add/www"
printf 'Hello Docker!!\n' >"$dir/add/www/index.html"
tar --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
	-C "$dir/add" -rf "$dir/rootfs.tar" ./www/index.html
berth image import \
	--change 'CMD ["httpd","-f","-p","8080","-h","/www"]' \
	--change 'EXPOSE 8080' \
	"$dir/rootfs.tar" "$image"
