#!/usr/bin/env bash
# Installs, builds (warnings as errors, the same build as run.sh) and runs
# every test through CTest, then every fuzz target for FUZZ_SECONDS
# (default 30) each in its own clang build (scripts/fuzz.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 600
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash "$root/scripts/fuzz.sh"
