#!/usr/bin/env bats
# Images: import, load (docker-save and OCI layouts), save, ls, inspect, tag, rm, prune, and
# hostile or broken archives refused with nothing registered.

load helpers

setup_file() {
	berth_start
	mkdir -p "$BATS_FILE_TMPDIR/arch"
	"$BERTH_SRC/tests/system/mkarchives.sh" "$(busybox_tar)" "$BATS_FILE_TMPDIR/arch"
}

teardown_file() {
	berth_stop
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || berth_dump_logs
}

@test "import a rootfs with changes, then ls and inspect" {
	run berth image import --change 'CMD ["sh"]' --change 'ENV FOO=bar' "$(busybox_tar)" busybox:latest
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=${output#sha256:}
	run berth images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE ]]
	[[ "$output" =~ busybox\ +latest\ +${id:0:12} ]]
	run berth image inspect busybox
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "\"Id\": \"sha256:$id\""
	echo "$output" | grep -q '"FOO=bar"'
	echo "$output" | grep -q '"Type": "layers"'
	# short ID, full name and sha256: forms resolve to the same image
	run berth image inspect --format '{{.Id}}' "${id:0:8}" docker.io/library/busybox:latest "sha256:$id"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "sha256:$id" ] && [ "${lines[2]}" = "sha256:$id" ]
}

@test "missing and malformed references" {
	run berth image inspect nosuch
	[ "$status" -ne 0 ]
	[[ "$output" =~ "No such image: nosuch" ]]
	run berth image inspect 'Bad:Name'
	[ "$status" -ne 0 ]
	[[ "$output" =~ "invalid reference format" ]]
}

@test "load the docker-save layout and the OCI layout" {
	run berth image load -i "$BATS_FILE_TMPDIR/arch/docker-save.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: archived:docker" ]
	run berth image load -i "$BATS_FILE_TMPDIR/arch/oci.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: archived:oci" ]
	run berth images archived
	[[ "$output" =~ archived\ +docker ]]
	[[ "$output" =~ archived\ +oci ]]
	# same rootfs: one layer dir shared by both images (and busybox)
	[ "$(ls "$BERTH_ROOT/layers" | grep -vc tmp)" -eq 1 ]
}

@test "a blob that does not match its digest is refused, nothing registered" {
	before=$(berth images -q | sort)
	run berth image load -i "$BATS_FILE_TMPDIR/arch/bad-digest.tar"
	[ "$status" -ne 0 ]
	[[ "$output" =~ "does not match its digest" ]]
	[ "$(berth images -q | sort)" = "$before" ]
	! ls "$BERTH_ROOT/layers" | grep -q tmp
}

@test "hostile and broken tarballs are refused and leave nothing" {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/src/sub" "$d/outside"
	echo x >"$d/src/sub/f"
	tar -C "$d/src" -cf "$d/dotdot.tar" --transform 's,^sub/f,../../outside/evil,' sub/f
	tar -C "$d/src" -cPf "$d/abs.tar" --transform "s,^sub/f,$d/outside/evil," sub/f
	ln -s "$d/outside" "$d/src/link"
	tar -C "$d/src" -cf "$d/through.tar" link sub/f --transform 's,^sub/f,link/evil,'
	printf 'this is not a tar' >"$d/notatar.tar"
	head -c 3000 "$(busybox_tar)" >"$d/truncated.tar"
	layers_before=$(ls "$BERTH_ROOT/layers" | wc -l)
	for t in dotdot abs through notatar truncated; do
		run berth image import "$d/$t.tar" "evil:$t"
		[ "$status" -ne 0 ] || { echo "$t: $status $output"; false; }
		[[ "$output" =~ (escapes the layer|absolute path|through the symlink|not a tar|truncated) ]]
		run berth image inspect "evil:$t"
		[ "$status" -ne 0 ]
	done
	[ ! -e "$d/outside/evil" ]
	[ "$(ls "$BERTH_ROOT/layers" | wc -l)" -eq "$layers_before" ]
}

@test "tag, save, rm, load round trip" {
	berth image tag busybox:latest mytag/bb:v1
	run berth images mytag/bb
	[[ "$output" =~ mytag/bb\ +v1 ]]
	berth image save -o "$BATS_TEST_TMPDIR/out.tar" mytag/bb:v1
	run tar -tf "$BATS_TEST_TMPDIR/out.tar"
	[[ "$output" =~ manifest.json ]] && [[ "$output" =~ index.json ]] && [[ "$output" =~ oci-layout ]]
	tar -xOf "$BATS_TEST_TMPDIR/out.tar" manifest.json | grep -q '"RepoTags":\["mytag/bb:v1"\]'
	run berth image rm mytag/bb:v1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: mytag/bb:v1" ]
	run berth image load -i "$BATS_TEST_TMPDIR/out.tar"
	[ "$output" = "Loaded image: mytag/bb:v1" ]
	[ "$(berth image inspect --format '{{.Id}}' mytag/bb:v1)" = "$(berth image inspect --format '{{.Id}}' busybox)" ]
}

@test "rm untags then deletes; prune removes dangling images" {
	berth image import "$(busybox_tar)" gone:1 >/dev/null
	berth image tag gone:1 gone:2
	run berth image rm gone:1
	[ "$output" = "Untagged: gone:1" ]
	run berth image rm gone:2
	[ "${lines[0]}" = "Untagged: gone:2" ]
	[[ "${lines[1]}" =~ ^Deleted:\ sha256: ]]
	id=$(berth image import "$(busybox_tar)")
	run berth images --filter dangling=true -q
	[[ "$output" =~ ${id:7:12} ]]
	run berth image prune -f
	[ "$status" -eq 0 ]
	[[ "$output" =~ "deleted: $id" ]] || [[ "$output" =~ "Deleted: $id" ]]
	run berth images -q --filter dangling=true
	[ -z "$output" ]
}

@test "the docker CLI can list, inspect, save and load" {
	command -v docker >/dev/null || skip "no docker CLI"
	export DOCKER_HOST=unix://$BERTH_RUN/agent.sock
	run docker images
	[ "$status" -eq 0 ]
	[[ "$output" =~ busybox\ +latest ]]
	run docker image inspect -f '{{.Os}} {{.RootFS.Type}}' busybox
	[ "$output" = "linux layers" ]
	docker save -o "$BATS_TEST_TMPDIR/d.tar" busybox
	docker rmi -f busybox >/dev/null || true
	run docker load -i "$BATS_TEST_TMPDIR/d.tar"
	[[ "$output" =~ "Loaded image: busybox:latest" ]]
	run docker rmi nosuch
	[ "$status" -ne 0 ]
	[[ "$output" =~ "No such image: nosuch:latest" ]]
}

@test "berth-agent maps neither libarchive nor libcrypto: berth-image-worker does that work" {
	run ldd "$(command -v berth-agent)"
	[ "$status" -eq 0 ]
	! [[ "$output" =~ libarchive|libcrypto ]]
	run ldd "$(command -v berth-image-worker)"
	[[ "$output" =~ libarchive ]] && [[ "$output" =~ libcrypto ]]
	# and after the agent ran imports and a save, nothing of them is mapped either
	berth image save busybox | tar -t >/dev/null
	! grep -E 'libarchive|libcrypto' "/proc/$(cat "$BERTH_RUN/agent.pid")/maps"
}

@test "concurrent imports keep every tag" {
	d=$BATS_TEST_TMPDIR
	for i in 1 2 3 4 5 6; do
		mkdir -p "$d/r$i" && echo "$((i % 3))" >"$d/r$i/file"
		tar -C "$d/r$i" -cf "$d/r$i.tar" .
	done
	pids=
	for i in 1 2 3 4 5 6; do
		berth image import "$d/r$i.tar" "par:$i" >"$d/out$i" 2>&1 &
		pids="$pids $!"
	done
	berth image tag busybox par:tagged
	for p in $pids; do wait "$p"; done
	cat "$d"/out*
	run berth images --format '{{.Tag}}' par
	echo "$output"
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "1 2 3 4 5 6 tagged " ]
}

@test "a worker killed before it registers: a 500, nothing registered, nothing left behind" {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/root" && echo "killed $$" >"$d/root/file" && tar -C "$d/root" -cf "$d/k.tar" .
	layers_before=$(ls "$BERTH_ROOT/layers" | sort)
	blobs_before=$(ls "$BERTH_ROOT/blobs/sha256" | sort)
	# Hold the index lock: the worker unpacks its layer, then waits for the lock to register.
	flock -o "$BERTH_ROOT/images.lock" sleep 60 >/dev/null 2>&1 3>&- &
	holder=$!
	wait_for 5 sh -c "! flock -n '$BERTH_ROOT/images.lock' true"
	berth image import "$d/k.tar" killed:1 >"$d/out" 2>&1 &
	client=$!
	wait_for 10 pgrep -f berth-image-worker
	wpid=$(pgrep -f berth-image-worker)
	wait_for 10 sh -c "[ \$(ls '$BERTH_ROOT/layers' | wc -l) -gt $(echo "$layers_before" | wc -l) ]"
	# nothing of the agent's but stdio reaches the worker (no sockets)
	! ls -l "/proc/$wpid/fd" | grep -q socket
	kill -9 "$wpid"
	pkill -P "$holder" sleep
	kill "$holder" || true
	# (not `run wait`: run's subshell is not the client's parent, so it would not wait)
	local rc=0
	wait "$client" || rc=$?
	run cat "$d/out"
	echo "import: exit $rc, $output"
	[ "$rc" -ne 0 ]
	[[ "$output" =~ "image worker was killed by signal 9" ]]
	run berth image inspect killed:1
	[ "$status" -ne 0 ]
	wait_for 10 sh -c "[ \"\$(ls '$BERTH_ROOT/layers' | sort)\" = '$layers_before' ]"
	[ "$(ls "$BERTH_ROOT/blobs/sha256" | sort)" = "$blobs_before" ]
	wait_for 10 sh -c "! ls '$BERTH_ROOT/tmp' | grep -q -- '-$wpid-'"
	# and the next import works
	run berth image import "$d/k.tar" killed:2
	[ "$status" -eq 0 ]
}
