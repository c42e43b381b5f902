#!/usr/bin/env bash
# fedactor pulled into another project with add_subdirectory: it configures,
# leaves the parent's build type alone (empty stays empty), adds no tests
# and no install rules of its own, and offers fedactor::fedactor.
#   subproject_test.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/app"
cat > "$tmp/app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(host_app LANGUAGES C CXX)
add_subdirectory("$src" fedactor)
if(NOT TARGET fedactor::fedactor)
  message(FATAL_ERROR "no fedactor::fedactor")
endif()
add_executable(app main.cpp)
target_link_libraries(app PRIVATE fedactor::fedactor)
CMAKE
printf '#include <fedactor/fedactor.hpp>\nint main() { fedactor::federation f; return 0; }\n' \
  > "$tmp/app/main.cpp"
cmake -S "$tmp/app" -B "$tmp/build" -G Ninja > "$tmp/configure.log" 2>&1 || {
  cat "$tmp/configure.log" >&2
  fail "configure as a subproject"
}
type=$(grep '^CMAKE_BUILD_TYPE:' "$tmp/build/CMakeCache.txt" | cut -d= -f2)
[ -z "$type" ] || fail "the build type was forced to '$type'"
targets=$(cmake --build "$tmp/build" --target help)
echo "$targets" | grep -q 'fl_core' || fail "no fl_core target"
for t in fl_tests fl_torch_tests package install; do
  if echo "$targets" | grep -qE "^[^ ]*\\b$t:"; then
    fail "a subproject must not add '$t'"
  fi
done
[ ! -f "$tmp/build/CTestTestfile.cmake" ] \
  || ! grep -q 'subdirs("fedactor")' "$tmp/build/CTestTestfile.cmake" \
  || [ ! -f "$tmp/build/fedactor/tests/CTestTestfile.cmake" ] \
  || fail "a subproject must not add tests"
echo "subproject_test: ok"
