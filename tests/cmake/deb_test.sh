#!/usr/bin/env bash
# The Debian package: CPack builds the .deb, dpkg installs it (with its
# dependencies already present from scripts/install-deps.sh), the installed
# fl-node runs, an application finds the package under /usr and builds, and
# the package is removed again. Needs root and dpkg: exit 77 (skipped)
# otherwise. Refuses to touch a machine where fedactor is already installed.
#   deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg >/dev/null; then
  echo "deb_test: skipped (needs root and dpkg)"
  exit 77
fi
if dpkg-query -W -f='${Status}' fedactor 2>/dev/null | grep -q installed; then
  echo "deb_test: skipped (a fedactor package is already installed)"
  exit 77
fi
tmp=$(mktemp -d)
cleanup() {
  dpkg -r fedactor >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -B "$tmp" >/dev/null
deb=$(ls "$tmp"/fedactor_*.deb)
deps=$(dpkg-deb -f "$deb" Depends)
for d in libcaf-core0.17 libtorch1.13 libcapnp libcaf-dev libtorch-dev; do
  echo "$deps" | grep -q "$d" || fail "Depends lacks $d: $deps"
done
dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
/usr/bin/fl-node --help | grep -q "sim" || fail "/usr/bin/fl-node --help"
/usr/bin/fl-node sim --rounds 1 --clients 10 --clients-per-round 2 \
  > "$tmp/sim.out" 2>/dev/null || fail "/usr/bin/fl-node sim"
grep -q "final accuracy" "$tmp/sim.out" || fail "no summary from fl-node sim"
# An application finds the package in the system prefix.
cmake -S "$src/examples" -B "$tmp/examples" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release >/dev/null || fail "find_package from /usr"
cmake --build "$tmp/examples" --target custom_dataset >/dev/null
"$tmp/examples/custom_dataset" | grep -q "test accuracy" || fail "custom_dataset"
dpkg -r fedactor >/dev/null || fail "dpkg -r"
[ ! -e /usr/bin/fl-node ] || fail "dpkg -r left /usr/bin/fl-node"
echo "deb_test: ok ($(basename "$deb"))"
