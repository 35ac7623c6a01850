#!/bin/sh
# Fuzz smoke: run every libFuzzer target for SECONDS from its seeds.
#   fuzz/smoke.sh BUILD_DIR SECONDS
# Seeds in fuzz/seeds/<target>/ are copied into a scratch corpus under BUILD_DIR
# (fuzz/seeds is never written). Prints one line per target (execs, coverage) and
# exits non-zero when a target is missing or finds a crash, leak, timeout or
# sanitizer report; the reproducer lands in BUILD_DIR/fuzz-artifacts/<target>/.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
BUILD=$1
SECONDS_PER_TARGET=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TARGETS="fuzz_frame fuzz_dns"
MAX_LEN=4096

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for target in $TARGETS; do
  exe="$BUILD/bin/$target"
  if [ ! -x "$exe" ]; then
    echo "fuzz $target: MISSING ($exe not built; configure with -DTAPWIRE_FUZZ=ON and clang)"
    failed=1
    continue
  fi
  corpus="$BUILD/fuzz-corpus/$target"
  artifacts="$BUILD/fuzz-artifacts/$target"
  log="$BUILD/fuzz-logs/$target.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  seeds=0
  if [ -d "$HERE/seeds/$target" ]; then
    for f in "$HERE/seeds/$target"/*; do
      [ -f "$f" ] || continue
      cp "$f" "$corpus/"
      seeds=$((seeds + 1))
    done
  fi
  "$exe" -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -n 1)
  cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  findings=$(ls "$artifacts" 2>/dev/null | wc -l)
  if [ $rc -eq 0 ] && [ "$findings" -eq 0 ]; then
    echo "fuzz $target: ok ${SECONDS_PER_TARGET}s execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} seeds=$seeds"
  else
    echo "fuzz $target: FAILED (exit $rc) execs=${execs:-?} cov=${cov:-?} findings=$findings in $artifacts; log $log"
    grep -E 'ERROR: |runtime error|SUMMARY|Test unit written|mismatch' "$log" | head -n 8 | sed 's/^/    /'
    failed=1
  fi
done
exit $failed
