#!/bin/sh
# Build berth twice (normal, and with ASan+UBSan) and run every test under ctest: unit tests
# (cmocka) and system tests (bats, each file in private namespaces). Run as root.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh --test

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
echo "== tests"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 300)

echo "== build (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo "== tests under ASan+UBSan"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# LeakSanitizer cannot stop the world inside the containers' PID namespaces (it reports a fatal
# error at exit there), so leaks are checked in the unit tests that stay in this process tree,
# and everything is run with ASan and UBSan.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	ctest --output-on-failure -j"$jobs" --timeout 300 -L unit -E test_runtime_start)
(cd build-asan && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	ctest --output-on-failure -j"$jobs" --timeout 300 -R 'system/|test_runtime_start')

echo "== fuzz harnesses (clang, libFuzzer), 10 s each"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
for fuzzer in build-fuzz/fuzz/fuzz_*; do
	name=$(basename "$fuzzer")
	corpus="tests/fuzz/corpus/$name"
	mkdir -p "build-fuzz/corpus/$name"
	[ -d "$corpus" ] && cp -r "$corpus"/. "build-fuzz/corpus/$name/"
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	# shellcheck disable=SC2086 # $dict is one word or none
	ASAN_OPTIONS=detect_leaks=1 "$fuzzer" -max_total_time=10 -print_final_stats=0 $dict \
		"build-fuzz/corpus/$name" >"build-fuzz/$name.log" 2>&1 || {
		tail -n 40 "build-fuzz/$name.log"
		echo "fuzz: $name found a crash" >&2
		exit 1
	}
	echo "fuzz: $name: $(grep -o "Done [0-9]* runs" "build-fuzz/$name.log"), no crash"
done
