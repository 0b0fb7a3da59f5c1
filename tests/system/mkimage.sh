#!/bin/bash
# Make a multi-layer image archive (the classic `docker save` layout) independently of berth,
# for tests that need layers and an image config of their own (hostile images included):
#   mkimage.sh OUT.tar REPO:TAG CONFIG_JSON LAYER...
# CONFIG_JSON is the image's "config" object (Cmd, Volumes, WorkingDir...); each LAYER is a
# tar file used as it is or a directory tarred as it is (symlinks, .wh. files, owners and
# all), the lowest first.
set -euo pipefail
out=${1:?usage: $0 OUT.tar REPO:TAG CONFIG_JSON LAYER...}
tag=${2:?}
config=${3:?}
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sha() { sha256sum "$1" | cut -d' ' -f1; }
created=2024-01-01T00:00:00Z
diffs=() paths=() i=0
for layer in "$@"; do
	t="$work/l$i.tar"
	if [ -d "$layer" ]; then
		tar --sort=name --mtime="$created" --numeric-owner -C "$layer" -cf "$t" .
	else
		cp "$layer" "$t"
	fi
	d=$(sha "$t")
	mkdir "$work/$d"
	mv "$t" "$work/$d/layer.tar"
	diffs+=("\"sha256:$d\"")
	paths+=("\"$d/layer.tar\"")
	i=$((i + 1))
done
join() { local IFS=,; echo "$*"; }
printf '{"architecture":"amd64","os":"linux","created":"%s","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$created" "$config" "$(join "${diffs[@]}")" >"$work/cfg"
cid=$(sha "$work/cfg")
mv "$work/cfg" "$work/$cid.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' \
	"$cid" "$tag" "$(join "${paths[@]}")" >"$work/manifest.json"
tar --sort=name --owner=0 --group=0 -C "$work" -cf "$out" .
