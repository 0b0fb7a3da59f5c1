#!/bin/bash
# Make image archives from a rootfs tarball, independently of berth, for load tests:
#   mkarchives.sh ROOTFS.tar OUTDIR
# writes OUTDIR/docker-save.tar (the classic `docker save` layout: <id>/layer.tar, <config>.json,
# manifest.json, repositories; tagged archived:docker), OUTDIR/oci.tar (the OCI image layout:
# oci-layout, index.json, blobs/sha256/* with a gzip layer; tagged archived:oci) and
# OUTDIR/bad-digest.tar (an OCI layout whose layer blob does not match its name).
set -euo pipefail
rootfs=${1:?usage: $0 ROOTFS.tar OUTDIR}
out=${2:?usage: $0 ROOTFS.tar OUTDIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sha() { sha256sum "$1" | cut -d' ' -f1; }
created=2024-01-01T00:00:00Z

diff=$(sha "$rootfs")
config() { # $1 = Cmd JSON
	printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"Cmd":%s,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"mkarchives.sh"}]}' \
		"$created" "$1" "$diff" "$created"
}

# docker save, old layout
d="$work/docker"
mkdir -p "$d"
config '["echo","from-docker-save"]' >"$d/cfg"
cid=$(sha "$d/cfg")
mv "$d/cfg" "$d/$cid.json"
v1=$(printf 'v1 %s' "$diff" | sha256sum | cut -d' ' -f1)
mkdir "$d/$v1"
cp "$rootfs" "$d/$v1/layer.tar"
echo 1.0 >"$d/$v1/VERSION"
printf '{"id":"%s","created":"%s","os":"linux"}' "$v1" "$created" >"$d/$v1/json"
printf '[{"Config":"%s.json","RepoTags":["archived:docker"],"Layers":["%s/layer.tar"]}]' \
	"$cid" "$v1" >"$d/manifest.json"
printf '{"archived":{"docker":"%s"}}' "$v1" >"$d/repositories"
tar --sort=name --owner=0 --group=0 -C "$d" -cf "$out/docker-save.tar" .

# OCI image layout with a compressed layer
o="$work/oci"
mkdir -p "$o/blobs/sha256"
gzip -n -c "$rootfs" >"$o/layer.gz"
lgz=$(sha "$o/layer.gz")
lsize=$(stat -c %s "$o/layer.gz")
mv "$o/layer.gz" "$o/blobs/sha256/$lgz"
config '["echo","from-oci"]' >"$o/cfg"
ocid=$(sha "$o/cfg")
osize=$(stat -c %s "$o/cfg")
mv "$o/cfg" "$o/blobs/sha256/$ocid"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$ocid" "$osize" "$lgz" "$lsize" >"$o/m"
mid=$(sha "$o/m")
msize=$(stat -c %s "$o/m")
mv "$o/m" "$o/blobs/sha256/$mid"
printf '{"imageLayoutVersion":"1.0.0"}' >"$o/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/archived:oci","org.opencontainers.image.ref.name":"oci"}}]}' \
	"$mid" "$msize" >"$o/index.json"
tar --sort=name --owner=0 --group=0 -C "$o" -cf "$out/oci.tar" .

# The same layout with a blob that lies about its digest
echo tampered >>"$o/blobs/sha256/$lgz"
tar --sort=name --owner=0 --group=0 -C "$o" -cf "$out/bad-digest.tar" .
