#!/usr/bin/env bash
# The installed package: `cmake --install` into a clean prefix, then every
# example under examples/ built outside the source tree against that prefix
# only (find_package(fedactor)) and run; each exits 0 only when its
# federation reached its goal.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pkg="$tmp/prefix/lib/cmake/fedactor"
[ -f "$pkg/fedactorConfig.cmake" ] || fail "no fedactorConfig.cmake in $pkg"
[ -x "$tmp/prefix/bin/fl-node" ] || fail "fl-node not installed"
[ -f "$tmp/prefix/include/fedactor/fedactor.hpp" ] || fail "no umbrella header"
# The package must not point back into the source or build tree.
if grep -rqE "$src|$build" "$pkg"; then
  grep -rnE "$src|$build" "$pkg" | head -5 >&2
  fail "the installed package names the source or build tree"
fi
"$tmp/prefix/bin/fl-node" --help | grep -q "sim" || fail "fl-node --help"

echo "install_test: building the examples against $tmp/prefix"
cmake -S "$src/examples" -B "$tmp/examples" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/examples" -j 2 >/dev/null

cd "$tmp/examples"
run() {
  local name=$1 want=$2
  echo "install_test: running $name"
  ./"$name" > "$name.out" 2> "$name.err" || {
    cat "$name.out" "$name.err" >&2
    fail "$name exited $?"
  }
  grep -q "$want" "$name.out" || { cat "$name.out" >&2; fail "$name: no '$want'"; }
}
run custom_trainer "round 20  distance to y = 3x - 1"
run custom_dataset "after 10 rounds: test accuracy"
run custom_strategy "round 5  test accuracy"
run torchscript_model "round 3  test accuracy"
run embed_server "3 rounds, test accuracy"
echo "install_test: ok"
