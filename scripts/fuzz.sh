#!/usr/bin/env bash
# fuzz.sh [SECONDS] [JOBS] - fuzzes rebatch_call (tests/fuzz/fuzz_call.c,
# built by `make fuzz-build`) for SECONDS (default 60) on JOBS processes
# (default 1). Replays the committed corpus tests/fuzz/corpus first; new
# inputs go to build/fuzz/corpus (add the interesting ones to the committed
# corpus by hand). A crash leaves build/fuzz/crash-* and fails the run:
# turn it into a regression input in tests/fuzz/regressions/ and a test.
#
#   bash scripts/fuzz.sh 3600 2     # an hour on both cores
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
jobs="${2:-1}"
bin=build/fuzz/fuzz_call
[[ -x $bin ]] || make --no-print-directory fuzz-build
mkdir -p build/fuzz/corpus

# Every past crash must stay fixed.
if compgen -G 'tests/fuzz/regressions/*' >/dev/null; then
  "$bin" -runs=0 tests/fuzz/regressions/* 2>&1 | tail -n1
fi

export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
args=(-max_total_time="$seconds" -dict=tests/fuzz/dto.dict -max_len=4096 -timeout=10
  -rss_limit_mb=2048 -artifact_prefix=build/fuzz/ -print_final_stats=1)
if [[ $jobs -gt 1 ]]; then args+=(-fork="$jobs"); fi
rc=0
"$bin" "${args[@]}" build/fuzz/corpus tests/fuzz/corpus >build/fuzz/last.log 2>&1 || rc=$?
grep -E 'DONE|stat::(number_of_executed_units|peak_rss_mb)|ERROR|SUMMARY|artifact' build/fuzz/last.log || true
if [[ $rc -ne 0 ]]; then
  echo "fuzz: failed (exit $rc); see build/fuzz/last.log" >&2
  tail -n 40 build/fuzz/last.log >&2
fi
exit "$rc"
