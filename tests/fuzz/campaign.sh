#!/bin/sh
# A fuzzing campaign: build the harnesses, then run each for SECONDS with its seed corpus and
# dictionary, one after the other, and print one line of results per harness (the coverage
# libFuzzer reports at the end, the corpus size, the runs, a crash if any).
#
#   tests/fuzz/campaign.sh SECONDS [JOBS] [HARNESS...]
#     SECONDS  wall time per harness (3600 with JOBS=1 is the issue's one CPU-hour each)
#     JOBS     parallel libFuzzer workers per harness (-fork=JOBS; CPU time = SECONDS x JOBS)
#     HARNESS  names (fuzz_tar ...); default: every fuzz_* harness that was built
#
# The growing corpora live in build-fuzz/campaign/corpus/<harness> (seeded from
# tests/fuzz/corpus, kept between campaigns); logs in build-fuzz/campaign/<harness>.log;
# crashes in build-fuzz/campaign/crashes/. Exits non-zero when a harness crashed. A finding
# is fixed in the parser and its input committed as tests/fuzz/corpus/<harness>/regress-*.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/campaign.sh SECONDS [JOBS] [HARNESS...]}
jobs=${2:-1}
[ $# -ge 2 ] && shift 2 || shift $#
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
out=build-fuzz/campaign
mkdir -p "$out/crashes"
[ $# -gt 0 ] || set -- $(cd build-fuzz/fuzz && ls fuzz_*)
failed=0
for name in "$@"; do
	fuzzer=build-fuzz/fuzz/$name
	[ -x "$fuzzer" ] || { echo "campaign: no harness $name" >&2; exit 2; }
	mkdir -p "$out/corpus/$name"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name"/. "$out/corpus/$name/"
	set -- -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$name-"
	[ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
	[ "$jobs" -gt 1 ] && set -- "$@" -fork="$jobs"
	rc=0
	ASAN_OPTIONS=detect_leaks=1 "$fuzzer" "$@" "$out/corpus/$name" >"$out/$name.log" 2>&1 ||
		rc=$?
	# The last status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ..." (fork mode: "cov: ...")
	stats=$(grep -E "cov: [0-9]+ ft: [0-9]+" "$out/$name.log" | tail -n 1 |
		grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*")
	runs=$(grep -oE "^#[0-9]+" "$out/$name.log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "$name: CRASH after ${secs}s ($stats): see $out/$name.log and $out/crashes/"
	else
		echo "$name: ${secs}s x $jobs job(s), ${runs#\#} runs, $stats, no crash"
	fi
done
exit $failed
