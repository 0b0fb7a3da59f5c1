#!/bin/bash
# Debian's docker-registry (distribution 2.8) on loopback for registry tests, run as nobody:
#   registry.sh start DIR      anonymous on 127.0.0.1:5000, htpasswd Basic on 127.0.0.1:5001,
#                              Bearer tokens on :5002 (token server :5003, registry_token.py,
#                              which logs each request's scopes to DIR/token-scopes), and a
#                              Hub-like :5004 (tokens, blobs answered 307 to the CDN on :5005,
#                              registry_cdn.py, which refuses any Authorization). All share
#                              DIR/storage; the user is testuser / testpassword.
#   registry.sh stop DIR       kill the registries recorded in DIR/*.pid
#   registry.sh echo-image OUT.tar REPO:TAG   the tutorial's echo image, built offline from
#                              busybox: httpd on 8080 answering "Hello Docker!!"
#   registry.sh push ARCHIVE.tar REF [SKOPEO-ARGS...]   push a docker-archive with skopeo
#                              to 127.0.0.1:5000/REF (an independent client)
#   registry.sh put-blob REPO FILE             upload FILE as it is (curl, monolithic); prints
#                              its digest
#   registry.sh put-manifest REPO REF MEDIATYPE FILE   PUT a manifest; prints its digest
#   registry.sh put-image REPO:TAG ARCH LAYER_MEDIATYPE FILE...   a Docker schema2 image
#                              whose layers are FILEs as they are (plain, gzip or zstd);
#                              diff IDs from their decompressed bytes; prints the manifest
#                              digest and size ("sha256:... N")
# Inside a test's own network namespace the ports are private to the test file.
set -euo pipefail
cmd=${1:?usage: registry.sh start|stop|echo-image|push ...}
shift
here=$(cd "$(dirname "$0")" && pwd)

wait_http() { # url code
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "registry.sh: $1 did not answer $2" >&2
	return 1
}

# Run in the background as nobody: exec, so that $! is the server itself (what stop kills),
# and with no descriptor of ours but stdio (bats waits for its fd 3 to close).
as_nobody() {
	exec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs "$@" 3>&- 4>&- 5>&- \
		6>&- 7>&- 8>&- 9>&-
}

start_one() { # dir name addr [auth yaml]
	local dir=$1 name=$2 addr=$3 auth=${4:-}
	cat >"$dir/$name.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
http:
  addr: $addr
  secret: berth-test-not-a-secret
$auth
YML
	chmod 0644 "$dir/$name.yml"
	as_nobody docker-registry serve "$dir/$name.yml" >"$dir/$name.log" 2>&1 </dev/null &
	echo $! >"$dir/$name.pid"
}

case $cmd in
start)
	dir=${1:?registry.sh start DIR}
	mkdir -p "$dir/storage"
	chmod 0755 "$dir"
	chown 65534:65534 "$dir/storage"
	htpasswd -Bbn testuser testpassword >"$dir/htpasswd"
	chmod 0644 "$dir/htpasswd"
	start_one "$dir" anon 127.0.0.1:5000
	start_one "$dir" basic 127.0.0.1:5001 "auth:
  htpasswd: {realm: basic-realm, path: $dir/htpasswd}"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=berth-test-issuer" \
		-keyout "$dir/token.key" -out "$dir/token.crt" 2>/dev/null
	chmod 0644 "$dir/token.key" "$dir/token.crt"
	: >"$dir/token-scopes"
	chown 65534:65534 "$dir/token-scopes"
	token="auth:
  token:
    realm: http://127.0.0.1:5003/token
    service: berth-test-registry
    issuer: berth-test-issuer
    rootcertbundle: $dir/token.crt"
	start_one "$dir" token 127.0.0.1:5002 "$token"
	start_one "$dir" hub 127.0.0.1:5004 "$token
middleware:
  storage:
    - name: redirect
      options: {baseurl: \"http://127.0.0.1:5005/\"}"
	as_nobody /usr/bin/python3 "$here/registry_token.py" --key "$dir/token.key" \
		--user testuser:testpassword --log "$dir/token-scopes" ${BERTH_TEST_TOKEN_TTL:+--ttl $BERTH_TEST_TOKEN_TTL} \
		>"$dir/tokensrv.log" 2>&1 </dev/null &
	echo $! >"$dir/tokensrv.pid"
	as_nobody /usr/bin/python3 "$here/registry_cdn.py" 127.0.0.1:5005 "$dir/storage" \
		>"$dir/cdn.log" 2>&1 </dev/null &
	echo $! >"$dir/cdn.pid"
	wait_http http://127.0.0.1:5000/v2/ 200
	wait_http http://127.0.0.1:5001/v2/ 401
	wait_http http://127.0.0.1:5002/v2/ 401
	wait_http http://127.0.0.1:5004/v2/ 401
	wait_http "http://127.0.0.1:5003/token?service=berth-test-registry" 200
	wait_http http://127.0.0.1:5005/ 403
	;;
stop)
	dir=${1:?registry.sh stop DIR}
	for f in "$dir"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	;;
echo-image)
	out=${1:?} tag=${2:?}
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/www/www"
	printf 'Hello Docker!!\n' >"$work/www/www/index.html"
	# shellcheck source=/dev/null
	. "$here/helpers.bash"
	"$here/mkimage.sh" "$out" "$tag" \
		'{"Cmd":["httpd","-f","-p","8080","-h","/www"],"ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}' \
		"$(busybox_tar)" "$work/www"
	;;
push)
	archive=${1:?} ref=${2:?}
	shift 2
	skopeo copy --quiet --dest-tls-verify=false "$@" "docker-archive:$archive" \
		"docker://127.0.0.1:5000/$ref" >/dev/null
	;;
put-blob)
	repo=${1:?} file=${2:?}
	d=sha256:$(sha256sum "$file" | cut -d' ' -f1)
	loc=$(curl -sfi -X POST "http://127.0.0.1:5000/v2/$repo/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^Location: //Ip')
	curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		"$loc&digest=$d" >/dev/null
	echo "$d"
	;;
put-manifest)
	repo=${1:?} ref=${2:?} mt=${3:?} file=${4:?}
	curl -sf -X PUT -H "Content-Type: $mt" --data-binary "@$file" \
		"http://127.0.0.1:5000/v2/$repo/manifests/$ref" >/dev/null
	echo "sha256:$(sha256sum "$file" | cut -d' ' -f1)"
	;;
put-image)
	reftag=${1:?} arch=${2:?} lmt=${3:?}
	shift 3
	repo=${reftag%:*} tag=${reftag##*:}
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	layers="" diffs=""
	for f in "$@"; do
		d=$("$0" put-blob "$repo" "$f")
		diff=sha256:$( (zstd -dcq "$f" 2>/dev/null || gzip -dc "$f" 2>/dev/null || cat "$f") |
			sha256sum | cut -d' ' -f1)
		layers="$layers${layers:+,}{\"mediaType\":\"$lmt\",\"size\":$(stat -c %s "$f"),\"digest\":\"$d\"}"
		diffs="$diffs${diffs:+,}\"$diff\""
	done
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$arch" "$diffs" >"$work/config"
	cd=$("$0" put-blob "$repo" "$work/config")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%s,"digest":"%s"},"layers":[%s]}' \
		"$(stat -c %s "$work/config")" "$cd" "$layers" >"$work/manifest"
	md=$("$0" put-manifest "$repo" "$tag" application/vnd.docker.distribution.manifest.v2+json "$work/manifest")
	echo "$md $(stat -c %s "$work/manifest")"
	;;
*)
	echo "registry.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
