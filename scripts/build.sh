#!/usr/bin/env bash
# Installs the Debian packages (if missing), configures and builds fedactor.
#   BUILD_DIR   build folder            (default: build)
#   BUILD_TYPE  CMake build type        (default: Release)
#   FL_WERROR   1 = warnings are errors (default: 1; run.sh and test.sh
#               share one configuration, so neither rebuilds after the other)
#   JOBS        parallel compile jobs   (default: number of cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

bash "$root/scripts/install-deps.sh"

echo "build: configuring in $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DFL_WARNINGS_AS_ERRORS="$([ "${FL_WERROR:-1}" = 1 ] && echo ON || echo OFF)"
echo "build: compiling with $jobs job(s)"
start=$(date +%s)
cmake --build "$build_dir" -j "$jobs"
echo "build: done in $(( $(date +%s) - start )) s"
