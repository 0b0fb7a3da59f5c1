#!/usr/bin/env bats
# Pull from a real registry: Debian's docker-registry (distribution 2.8) on this file's own
# loopback, seeded by skopeo with images built offline from busybox (registry.sh).

load helpers

REG=127.0.0.1:5000

setup_file() {
	command -v docker-registry >/dev/null && command -v skopeo >/dev/null &&
		command -v htpasswd >/dev/null ||
		skip "docker-registry, skopeo or htpasswd missing (scripts/install-deps.sh --test)"
	export REGDIR="$TMPDIR/registry"
	"$BERTH_SRC/tests/system/registry.sh" start "$REGDIR"
	"$BERTH_SRC/tests/system/registry.sh" echo-image "$REGDIR/echo.tar" gihyodocker/echo:latest
	"$BERTH_SRC/tests/system/registry.sh" push "$REGDIR/echo.tar" gihyodocker/echo:latest
	"$BERTH_SRC/tests/system/registry.sh" push "$REGDIR/echo.tar" oci/echo:v1 --format oci
	"$BERTH_SRC/tests/system/registry.sh" push "$REGDIR/echo.tar" private/echo:latest
	berth_start
}

teardown_file() {
	berth_stop
	[ -n "${REGDIR:-}" ] && "$BERTH_SRC/tests/system/registry.sh" stop "$REGDIR"
	true
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
}

answers() {
	[ "$(curl -s --max-time 2 "$1")" = "Hello Docker!!" ]
}

# No half-pulled layer or temporary file left behind.
store_clean() {
	[ -z "$(ls -A "$BERTH_ROOT/tmp" 2>/dev/null)" ]
}

@test "pull the tutorial's echo image, then run -d -p 9000:8080 answers Hello Docker!!" {
	run berth pull $REG/gihyodocker/echo:latest
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "latest: Pulling from gihyodocker/echo" ]
	[[ "$output" =~ [0-9a-f]{12}:\ Pulling\ fs\ layer ]]
	[[ "$output" =~ [0-9a-f]{12}:\ Pull\ complete ]]
	[[ "$output" =~ Digest:\ sha256:[0-9a-f]{64} ]]
	[[ "$output" =~ "Status: Downloaded newer image for $REG/gihyodocker/echo:latest" ]]
	[ "${lines[-1]}" = "$REG/gihyodocker/echo:latest" ]
	# The manifest digest is the registry's.
	want=$(skopeo inspect --tls-verify=false docker://$REG/gihyodocker/echo:latest | jq -r .Digest)
	[[ "$output" =~ "Digest: $want" ]]
	run berth image inspect --format '{{json .RepoDigests}}' $REG/gihyodocker/echo:latest
	[ "$output" = "[\"$REG/gihyodocker/echo@$want\"]" ]
	store_clean
	id=$(berth run -d -p 9000:8080 $REG/gihyodocker/echo:latest)
	wait_for 5 answers http://127.0.0.1:9000/
	run curl -s http://127.0.0.1:9000/
	[ "$output" = "Hello Docker!!" ]
	berth rm -f "$id"
}

@test "a second pull is up to date; -q prints the reference only" {
	berth pull $REG/gihyodocker/echo:latest >/dev/null
	run berth image pull $REG/gihyodocker/echo
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Status: Image is up to date for $REG/gihyodocker/echo:latest" ]]
	[[ ! "$output" =~ "Pulling fs layer" ]]
	run berth pull -q $REG/gihyodocker/echo:latest
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/gihyodocker/echo:latest" ]
}

@test "an OCI manifest pulls; shared layers are Already exists" {
	berth pull $REG/gihyodocker/echo:latest >/dev/null
	run berth pull $REG/oci/echo:v1
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Already exists" ]]
	[[ ! "$output" =~ "Pulling fs layer" ]]
	run berth run --rm $REG/oci/echo:v1 cat /www/index.html
	[ "$output" = "Hello Docker!!" ]
}

@test "pull by digest and by tag@digest" {
	d=$(skopeo inspect --tls-verify=false docker://$REG/oci/echo:v1 | jq -r .Digest)
	run berth pull $REG/oci/echo@$d
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^$d:\ Pulling\ from\ oci/echo$ ]]
	run berth pull $REG/oci/echo:v1@$d
	[ "$status" -eq 0 ]
	run berth pull $REG/oci/echo@sha256:0000000000000000000000000000000000000000000000000000000000000000
	[ "$status" -eq 1 ]
	[[ "$output" =~ "not found: manifest unknown" ]]
}

@test "run pulls a missing image" {
	berth rmi -f $REG/gihyodocker/echo:latest >/dev/null 2>&1 || true
	run berth run --rm $REG/gihyodocker/echo:latest cat /www/index.html
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Unable to find image '$REG/gihyodocker/echo:latest' locally" ]]
	[[ "$output" =~ "Hello Docker!!" ]]
	berth rmi -f $REG/oci/echo:v1 >/dev/null 2>&1 || true
	run berth run --pull never --rm $REG/oci/echo:v1 true
	[ "$status" -eq 125 ]
	[[ "$output" =~ "No such image" ]]
	run berth run --pull sometimes --rm $REG/oci/echo:v1 true
	[ "$status" -eq 125 ]
	[[ "$output" =~ "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\"" ]]
	# --pull always pulls even when an image of that name is there (the tag moves back).
	berth image import "$(busybox_tar)" $REG/gihyodocker/echo:latest >/dev/null
	run berth run --rm $REG/gihyodocker/echo:latest cat /www/index.html
	[ "$status" -ne 0 ]
	run berth run --pull always --rm $REG/gihyodocker/echo:latest cat /www/index.html
	[ "$status" -eq 0 ]
	[ "$output" = "Hello Docker!!" ]
}

@test "missing repository, missing tag, bad reference: Docker's errors, nothing stored" {
	run berth pull $REG/nope/nothing:latest
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: pull access denied for $REG/nope/nothing, repository does not exist or may require 'docker login': denied: requested access to the resource is denied" ]
	run berth pull $REG/gihyodocker/echo:nope
	[ "$status" -eq 1 ]
	[ "$output" = "Error response from daemon: manifest for $REG/gihyodocker/echo:nope not found: manifest unknown: manifest unknown" ]
	run berth pull Busybox
	[ "$status" -eq 1 ]
	[ "$output" = "invalid reference format: repository name (library/Busybox) must be lowercase" ]
	run berth pull 'a//b'
	[ "$status" -eq 1 ]
	[ "$output" = "invalid reference format" ]
	run berth images --format '{{.Repository}}:{{.Tag}}'
	[[ ! "$output" =~ nope ]]
	store_clean
}

@test "Basic auth: credentials through X-Registry-Auth; wrong ones are unauthorized" {
	auth=$(printf '{"username":"testuser","password":"testpassword"}' | base64 -w0 | tr '+/' '-_')
	bad=$(printf '{"username":"testuser","password":"wrong"}' | base64 -w0 | tr '+/' '-_')
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H "X-Registry-Auth: $bad" \
		"http://d/v1.41/images/create?fromImage=127.0.0.1:5001/oci/echo&tag=v1"
	[[ "$output" =~ '"message":"unauthorized: authentication required"' ]]
	run berth pull 127.0.0.1:5001/oci/echo:v1
	[ "$status" -eq 1 ]
	[[ "$output" =~ "no basic auth credentials" ]]
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H "X-Registry-Auth: $auth" \
		"http://d/v1.41/images/create?fromImage=127.0.0.1:5001/oci/echo&tag=v1"
	[[ "$output" =~ '{"status":"Status: Downloaded newer image for 127.0.0.1:5001/oci/echo:v1"}' ]] ||
		[[ "$output" =~ "Image is up to date" ]]
	run berth image inspect --format '{{.Id}}' 127.0.0.1:5001/oci/echo:v1
	[ "$status" -eq 0 ]
}

# Nothing of the store left: every blob must come over the wire again.
empty_store() {
	berth rm -f $(berth ps -qa) >/dev/null 2>&1 || true
	berth rmi -f $(berth images -q) >/dev/null 2>&1 || true
	berth image prune -af >/dev/null 2>&1 || true
	[ -z "$(berth images -q)" ]
}

@test "Bearer tokens: the challenge's scope is asked for; private/ needs credentials" {
	empty_store
	run berth pull 127.0.0.1:5002/gihyodocker/echo:latest
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Status: Downloaded newer image for 127.0.0.1:5002/gihyodocker/echo:latest" ]]
	grep -qx 'repository:gihyodocker/echo:pull' "$REGDIR/token-scopes"
	run berth pull 127.0.0.1:5002/private/echo:latest
	[ "$status" -eq 1 ]
	[[ "$output" =~ "pull access denied for 127.0.0.1:5002/private/echo, repository does not exist or may require 'docker login'" ]]
	auth=$(printf '{"username":"testuser","password":"testpassword"}' | base64 -w0 | tr '+/' '-_')
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H "X-Registry-Auth: $auth" \
		"http://d/v1.41/images/create?fromImage=127.0.0.1:5002/private/echo&tag=latest"
	[[ "$output" =~ '{"status":"Status: Downloaded newer image for 127.0.0.1:5002/private/echo:latest"}' ]]
	bad=$(printf '{"username":"testuser","password":"wrong"}' | base64 -w0 | tr '+/' '-_')
	run curl -s --unix-socket "$BERTH_RUN/agent.sock" -X POST -H "X-Registry-Auth: $bad" \
		"http://d/v1.41/images/create?fromImage=127.0.0.1:5002/private/echo&tag=latest"
	[[ "$output" =~ '"message":"unauthorized: authentication required"' ]]
}

@test "blob redirects to a CDN: followed without the registry's Authorization" {
	empty_store
	: >"$REGDIR/cdn.log"
	run berth pull 127.0.0.1:5004/gihyodocker/echo:latest
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Pull complete" ]]
	# Every blob came from the CDN, and it never saw an Authorization header (it answers 400).
	grep -q '"GET /docker/registry/v2/blobs/sha256/.*/data HTTP/1.1" 200' "$REGDIR/cdn.log"
	! grep -q '" 400 ' "$REGDIR/cdn.log"
	run berth run --rm 127.0.0.1:5004/gihyodocker/echo:latest cat /www/index.html
	[ "$output" = "Hello Docker!!" ]
}

@test "layers compressed with zstd, gzip or not at all" {
	empty_store
	R="$BERTH_SRC/tests/system/registry.sh"
	mkdir -p "$BATS_TEST_TMPDIR/top/www"
	echo plain >"$BATS_TEST_TMPDIR/top/www/kind"
	tar --sort=name --mtime=2020-01-01 --numeric-owner -C "$BATS_TEST_TMPDIR/top" -cf "$BATS_TEST_TMPDIR/top.tar" .
	cp "$(busybox_tar)" "$BATS_TEST_TMPDIR/base.tar"
	zstd -q -f "$BATS_TEST_TMPDIR/base.tar" -o "$BATS_TEST_TMPDIR/base.tar.zst"
	gzip -n -c "$BATS_TEST_TMPDIR/top.tar" >"$BATS_TEST_TMPDIR/top.tar.gz"
	"$R" put-image kinds/plain:v1 amd64 application/vnd.docker.image.rootfs.diff.tar \
		"$BATS_TEST_TMPDIR/base.tar" "$BATS_TEST_TMPDIR/top.tar"
	run berth pull $REG/kinds/plain:v1
	[ "$status" -eq 0 ]
	[ "$(berth run --rm $REG/kinds/plain:v1 cat /www/kind)" = plain ]
	empty_store
	"$R" put-image kinds/zstd:v1 amd64 application/vnd.oci.image.layer.v1.tar+zstd \
		"$BATS_TEST_TMPDIR/base.tar.zst" "$BATS_TEST_TMPDIR/top.tar.gz"
	run berth pull $REG/kinds/zstd:v1
	[ "$status" -eq 0 ]
	[ "$(berth run --rm $REG/kinds/zstd:v1 cat /www/kind)" = plain ]
	store_clean
}

@test "a manifest list: the host's platform by default, --platform picks another" {
	R="$BERTH_SRC/tests/system/registry.sh"
	for arch in amd64 arm64; do
		mkdir -p "$BATS_TEST_TMPDIR/$arch/www"
		echo "$arch" >"$BATS_TEST_TMPDIR/$arch/www/arch"
		tar -C "$BATS_TEST_TMPDIR/$arch" -czf "$BATS_TEST_TMPDIR/$arch.tgz" .
		read -r d size < <("$R" put-image multi/app:$arch $arch application/vnd.docker.image.rootfs.diff.tar.gzip \
			"$BATS_TEST_TMPDIR/$arch.tgz")
		eval "d_$arch=$d size_$arch=$size"
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":%s,"digest":"%s","platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":%s,"digest":"%s","platform":{"architecture":"amd64","os":"linux"}}]}' \
		"$size_arm64" "$d_arm64" "$size_amd64" "$d_amd64" >"$BATS_TEST_TMPDIR/list"
	list=$("$R" put-manifest multi/app latest application/vnd.docker.distribution.manifest.list.v2+json "$BATS_TEST_TMPDIR/list")
	run berth pull $REG/multi/app
	[ "$status" -eq 0 ]
	[[ "$output" =~ "Digest: $list" ]]
	[ "$(berth image inspect --format '{{.Architecture}}' $REG/multi/app)" = amd64 ]
	[ "$(berth image inspect --format '{{json .RepoDigests}}' $REG/multi/app)" = "[\"$REG/multi/app@$list\"]" ]
	run berth pull --platform linux/arm64 $REG/multi/app
	[ "$status" -eq 0 ]
	[ "$(berth image inspect --format '{{.Architecture}}' $REG/multi/app)" = arm64 ]
	run berth pull --platform linux/s390x $REG/multi/app
	[ "$status" -eq 1 ]
	[[ "$output" =~ "no matching manifest for linux/s390x in the manifest list entries" ]]
	run berth pull --platform linux/arm64 $REG/multi/app:amd64
	[ "$status" -eq 1 ]
	[[ "$output" =~ "does not match the specified platform: wanted linux/arm64, actual: linux/amd64" ]]
}

@test "a manifest over 4 MiB is refused" {
	# distribution itself neither takes nor serves one ("storage: read exceeds limit"): a
	# stand-in registry on another loopback port serves a 4.2 MB manifest.
	python3 - >"$BATS_TEST_TMPDIR/big.log" 2>&1 <<'PY' &
import http.server, json
body = json.dumps({"schemaVersion": 2,
                   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                   "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                              "size": 2, "digest": "sha256:" + "0" * 64},
                   "layers": [], "annotations": {"pad": "a" * 4200000}}).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"{}" if self.path == "/v2/" else body
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", 5006), H).serve_forever()
PY
	pid=$!
	wait_for 5 curl -sf -o /dev/null http://127.0.0.1:5006/v2/
	run berth pull 127.0.0.1:5006/big/manifest:huge
	kill $pid
	[ "$status" -eq 1 ]
	[[ "$output" =~ "manifest too big" ]]
	run berth image inspect 127.0.0.1:5006/big/manifest:huge
	[ "$status" -ne 0 ]
	store_clean
}

@test "a tampered blob is refused: nothing stored, no tag moved" {
	berth rmi -f $REG/private/echo:latest >/dev/null 2>&1 || true
	berth rmi -f $REG/gihyodocker/echo:latest $REG/oci/echo:v1 127.0.0.1:5001/oci/echo:v1 \
		$REG/oci/echo@sha256:x >/dev/null 2>&1 || true
	berth image prune -af >/dev/null 2>&1 || true
	# The top layer's bytes on the registry's disk: same length, one byte changed.
	digest=$(skopeo inspect --tls-verify=false --raw docker://$REG/private/echo:latest |
		jq -r '.layers[-1].digest')
	hex=${digest#sha256:}
	data="$REGDIR/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
	[ -f "$data" ]
	cp "$data" "$REGDIR/saved-blob"
	size=$(stat -c %s "$data")
	printf 'X' | dd of="$data" bs=1 seek=$((size - 12)) conv=notrunc status=none
	run berth pull $REG/private/echo:latest
	cp "$REGDIR/saved-blob" "$data"
	[ "$status" -eq 1 ]
	[[ "$output" =~ "filesystem layer verification failed for digest $digest" ]]
	run berth image inspect $REG/private/echo:latest
	[ "$status" -ne 0 ]
	store_clean
	run berth pull $REG/private/echo:latest
	[ "$status" -eq 0 ]
}

@test "a layer with ../ is refused by the unpacker" {
	mkdir -p "$BATS_TEST_TMPDIR/evil"
	echo pwned >"$BATS_TEST_TMPDIR/evil/f"
	tar -C "$BATS_TEST_TMPDIR/evil" --transform 's|^f$|../../escaped|' -cf "$BATS_TEST_TMPDIR/evil.tar" f
	"$BERTH_SRC/tests/system/mkimage.sh" "$BATS_TEST_TMPDIR/img.tar" evil/dotdot:latest '{"Cmd":["sh"]}' \
		"$(busybox_tar)" "$BATS_TEST_TMPDIR/evil.tar"
	"$BERTH_SRC/tests/system/registry.sh" push "$BATS_TEST_TMPDIR/img.tar" evil/dotdot:latest
	run berth pull $REG/evil/dotdot:latest
	[ "$status" -eq 1 ]
	[[ "$output" =~ "escapes the layer directory" ]]
	[ ! -e "$BERTH_ROOT/escaped" ] && [ ! -e "$BERTH_ROOT/../escaped" ]
	run berth image inspect $REG/evil/dotdot:latest
	[ "$status" -ne 0 ]
	store_clean
}

@test "docker pull through the agent" {
	command -v docker >/dev/null || skip "no docker CLI"
	berth rmi -f $REG/oci/echo:v1 >/dev/null 2>&1 || true
	run timeout 60 docker -H "unix://$BERTH_RUN/agent.sock" pull $REG/oci/echo:v1
	[ "$status" -eq 0 ]
	[[ "$output" =~ "v1: Pulling from oci/echo" ]]
	[[ "$output" =~ "Status: Downloaded newer image for $REG/oci/echo:v1" ]]
	run timeout 60 docker -H "unix://$BERTH_RUN/agent.sock" pull $REG/oci/echo:nope
	[ "$status" -eq 1 ]
	[[ "$output" =~ "manifest for $REG/oci/echo:nope not found: manifest unknown" ]]
}
