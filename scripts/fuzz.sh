#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz and runs each one for
# N seconds (default 30) on a temporary copy of its seed corpus (tests/fuzz/corpus/<target>).
# Fails on any crash, timeout (> 5 s on one input), memory blow-up (> 2 GiB), leak or sanitizer
# report, and prints the reproducer's path:
#
#   scripts/fuzz.sh            # 30 s per target
#   scripts/fuzz.sh 300        # longer
#   FUZZ_TARGETS="config pgoutput" scripts/fuzz.sh 60   # some targets only
#
# A reproducer replays with: build-fuzz/tests/fuzz/fuzz_<target> <file>
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-30}"
BUILD="${BUILD_FUZZ:-$REPO/build-fuzz}"
JOBS="${JOBS:-2}"
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "usage: $0 [seconds_per_target]" >&2; exit 2; }

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (Debian package clang)" >&2; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DDBR_FUZZ=ON -DDBR_TESTS=OFF \
    "${launcher[@]}" >/dev/null
fi
ninja -C "$BUILD" -j "$JOBS" fuzz_targets

targets="${FUZZ_TARGETS:-$(cd "$REPO/tests/fuzz" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//')}"
WORK="$(mktemp -d /tmp/dbr-fuzz-XXXXXX)"
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$ARTIFACTS"
failed=()
for target in $targets; do
  corpus="$WORK/$target"
  mkdir -p "$corpus"
  if [[ -d "$REPO/tests/fuzz/corpus/$target" ]]; then cp -r "$REPO/tests/fuzz/corpus/$target/." "$corpus/"; fi
  log="$WORK/$target.log"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  # UBSan: every report is fatal (the code is also built -fno-sanitize-recover), with a stack.
  if ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$BUILD/tests/fuzz/fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=5 \
    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$ARTIFACTS/$target-" -print_final_stats=1 \
    "$corpus" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$log" | tail -n 2 | sed 's/^/  /'
  else
    failed+=("$target")
    echo "fuzz: $target FAILED; the end of its output:" >&2
    tail -n 60 "$log" >&2
    reproducer="$(grep -o "Test unit written to .*" "$log" | tail -n 1 | sed 's/Test unit written to //')"
    [[ -n "$reproducer" ]] && echo "fuzz: reproducer: $reproducer (replay: $BUILD/tests/fuzz/fuzz_$target $reproducer)" >&2
  fi
done
rm -rf "$WORK"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no crash, hang, leak or sanitizer report in: $(echo $targets)"
