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
