#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UBSan, and runs each for a bounded time from its seed corpus. A crash,
# leak, hang (>10 s per input) or oversized allocation (>2 GiB RSS) fails
# the run and leaves the reproducer in $FUZZ_BUILD_DIR/crashes (printed).
#   FUZZ_SECONDS   per target (default 45)
#   FUZZ_BUILD_DIR (default build-fuzz)
#   FUZZ_TARGETS   (default: all five)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-45}
targets=(${FUZZ_TARGETS:-frame_decoder chunk_assembler auth_frames config_loader cluster_file})

bash "$root/scripts/install-deps.sh"
mkdir -p "$build"
echo "fuzz: configuring in $build (clang, ASan, UBSan)"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_FUZZ=ON -DFL_BUILD_TESTS=OFF \
  -DFL_INSTALL=OFF -DFL_CUDA=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --target fl_fuzz_all -j "${JOBS:-$(nproc)}"

# Seeds: the committed text corpora plus wire frames from the current codec.
corpus="$build/corpus"
rm -rf "$corpus"
mkdir -p "$corpus" "$build/crashes"
"$build/tests/fuzz/fl_fuzz_seeds" "$corpus"
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  [ -d "$root/tests/fuzz/corpus/$t" ] && cp "$root/tests/fuzz/corpus/$t"/* "$corpus/$t/"
done

failed=0
for t in "${targets[@]}"; do
  log="$build/fuzz-$t.log"
  if "$build/tests/fuzz/fl_fuzz_$t" -max_total_time="$secs" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/crashes/$t-" "$corpus/$t" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: ${execs:-?} executions in ${secs} s, no failure"
  else
    failed=1
    echo "fuzz: $t FAILED; the end of its log:"
    tail -40 "$log"
    for f in "$build/crashes/$t-"*; do
      [ -e "$f" ] || continue
      echo "reproducer: $f (run: $build/tests/fuzz/fl_fuzz_$t $f)"
      od -A d -t x1 "$f" | head -20
    done
  fi
done
exit "$failed"
