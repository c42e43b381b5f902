#!/usr/bin/env bash
# Renders a report in headless Chromium (Debian's `chromium`): the page's
# script runs without errors, every chart is in the DOM, a legend click
# hides and shows a run (the page's #selftest), and nothing is logged to
# the console. Exit 77 (skipped) when Chromium is not installed.
set -uo pipefail
FL_NODE=${1:?usage: report_browser_test.sh path/to/fl-node fixtures-dir}
FIX=${2:?fixtures dir}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
"$FL_NODE" report "$FIX/sync.jsonl" "$FIX/async.jsonl" "$FIX/gossip.jsonl" \
  --partition "$FIX/partition.csv" -o "$work/report.html" || exit 1
# A throwaway profile, so the test touches nothing of the user's.
dom=$(HOME="$work" timeout 120 "$browser" --headless --no-sandbox \
  --disable-gpu --no-first-run --user-data-dir="$work/profile" \
  --enable-logging=stderr --v=0 \
  --dump-dom "file://$work/report.html#selftest" 2>"$work/console.txt")
body=$(grep -o '<body[^>]*>' <<<"$dom")
echo "rendered: $body"
grep -q 'data-ready="true"' <<<"$body" \
  || { echo "FAIL: the page's script did not finish"; fail=1; }
grep -q 'data-charts="9"' <<<"$body" \
  || { echo "FAIL: expected 9 charts (8 plots and the heat map)"; fail=1; }
grep -q 'data-selftest="ok"' <<<"$body" \
  || { echo "FAIL: the legend did not toggle a run"; fail=1; }
grep -q 'data-errors' <<<"$body" \
  && { echo "FAIL: script errors"; fail=1; }
[ "$(grep -o '<polyline' <<<"$dom" | wc -l)" -ge 8 ] \
  || { echo "FAIL: curves missing from the rendered DOM"; fail=1; }
if grep -q "CONSOLE" "$work/console.txt"; then
  echo "FAIL: console output:"; grep "CONSOLE" "$work/console.txt"; fail=1
fi
exit $fail
