#!/usr/bin/env bash
# run-native-tests.sh BINARY... - runs each native test binary (leak
# detection on), echoes its output, and sums the "N passed, N failed" lines
# into a final "native: N passed, N failed". A binary that crashes or exits
# non-zero without its own summary line counts as one failed test. Exits
# non-zero when anything failed.
set -uo pipefail

export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

passed=0
failed=0
for bin in "$@"; do
  echo "== $bin"
  out="$("$bin" 2>&1)"
  rc=$?
  printf '%s\n' "$out"
  summary="$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)"
  if [[ -n "$summary" ]]; then
    read -r p _ f _ <<<"$summary"
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
      echo "$bin: exit status $rc after its summary (sanitizer report?)"
      failed=$((failed + 1))
    fi
  else
    echo "$bin: exit status $rc without a summary line"
    failed=$((failed + 1))
  fi
done
echo "native: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
