#!/bin/sh
# Make a busybox root filesystem tarball offline, from Debian's busybox-static.
# Usage: scripts/mkbusybox-rootfs.sh OUT.tar   (then: berth image import OUT.tar busybox:latest)
set -eu
out=${1:?usage: $0 OUT.tar}
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
file_type=$(od -An -tx1 -N4 "$bb" | tr -d ' ')
[ "$file_type" = 7f454c46 ] || { echo "$bb is not an ELF binary" >&2; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "$bb is dynamically linked; install busybox-static" >&2
	exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/home" "$dir/var/log" "$dir/proc" \
	"$dir/sys" "$dir/dev" "$dir/usr/bin" "$dir/usr/sbin" "$dir/sbin" "$dir/www"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
	[ "$applet" = busybox ] && continue
	[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat >"$dir/etc/group" <<'G'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
G
# Reproducible: fixed mtimes and owners, sorted entries.
tar --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
	-C "$dir" -cf "$out" .
