#!/usr/bin/env bash
# fl-node report on fixture metrics files: HTML and CSV output, clear
# errors for unusable files, partial reports for damaged ones, and the
# partition CSV of `fl-node sim --partition-csv` as a heat map.
set -uo pipefail
FL_NODE=${1:?usage: report_test.sh path/to/fl-node fixtures-dir}
FIX=${2:?fixtures dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { # check <description> <command...>
  local what=$1; shift
  "$@" || { echo "FAIL: $what"; fail=1; }
}

# Three modes overlaid, one file truncated mid-line.
out=$("$FL_NODE" report "$FIX/sync.jsonl" "$FIX/async.jsonl" \
  "$FIX/gossip.jsonl" "$FIX/truncated.jsonl" -o "$work/r.html" 2>&1)
check "report exits 0: $out" [ $? -eq 0 ]
check "report written" [ -s "$work/r.html" ]
check "truncated line named on stderr: $out" \
  grep -q "truncated.jsonl:4: not a JSON record" <<<"$out"
check "truncated line noted in the report" \
  grep -q "truncated.jsonl:4: not a JSON record" "$work/r.html"
check "8 charts (with consensus distance)" \
  [ "$(grep -o '<svg id=' "$work/r.html" | wc -l)" -eq 8 ]

# Round and model-version records in one file: drawn, and said so.
out=$("$FL_NODE" report "$FIX/mixed_modes.jsonl" -o "$work/mixed.html" 2>&1)
check "mixed-mode file reported (rc): $out" [ $? -eq 0 ]
check "mixed-mode file flagged: $out" grep -q "mixes 2 round record(s)" <<<"$out"

# An empty file alone: nothing to report, non-zero, no output file.
out=$("$FL_NODE" report "$FIX/empty.jsonl" -o "$work/empty.html" 2>&1)
check "empty file refused (rc)" [ $? -eq 2 ]
check "empty file named: $out" grep -q "empty.jsonl has no round" <<<"$out"
check "no report for nothing" [ ! -e "$work/empty.html" ]
# ... next to a good one: left out and said so.
out=$("$FL_NODE" report "$FIX/empty.jsonl" "$FIX/sync.jsonl" \
  -o "$work/partial.html" 2>&1)
check "partial report (rc): $out" [ $? -eq 0 ]
check "left-out file noted" grep -q "empty.jsonl.*left out" "$work/partial.html"
out=$("$FL_NODE" report "$FIX/client_records.jsonl" 2>&1)
check "per-client file explained: $out" \
  grep -q "holds per-client records" <<<"$out"

# Summary as CSV on stdout.
csv=$("$FL_NODE" report "$FIX/sync.jsonl" "$FIX/async.jsonl" --format csv \
  --target-accuracy 0.5 2>/dev/null)
check "csv header: $csv" grep -q "^run,mode,records,last_step,final_accuracy" <<<"$csv"
check "csv sync row: $csv" grep -q "^sync,sync,3,3,0.5476," <<<"$csv"
check "csv async row: $csv" grep -q "^async,async,3,30," <<<"$csv"

# The report cannot be written: an error, nothing half-written.
out=$("$FL_NODE" report "$FIX/sync.jsonl" -o "$work/no/such/dir/r.html" 2>&1)
check "unwritable output refused: $out" [ $? -eq 2 ]

# A real partition: sim writes the CSV, the report draws it.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  "$FL_NODE" sim --clients 20 --partition dirichlet --partition-report \
    --partition-csv "$work/parts.csv" >"$work/table.txt" 2>&1
  check "partition csv written" [ -s "$work/parts.csv" ]
  check "csv has 20 clients" [ "$(tail -n +2 "$work/parts.csv" | wc -l)" -eq 20 ]
  # The CSV agrees with the printed table (client 0's class counts).
  t0=$(awk '$1=="0"{$1="";print}' "$work/table.txt" | tr -s ' ' | sed 's/^ //')
  c0=$(sed -n 2p "$work/parts.csv" | cut -d, -f2- | tr ',' ' ')
  check "csv matches table ('$t0' vs '$c0')" [ "$t0" = "$c0" ]
  check "report with heat map" "$FL_NODE" report "$FIX/sync.jsonl" \
    --partition "$work/parts.csv" -o "$work/p.html"
  check "heat map present" grep -q 'id="partition"' "$work/p.html"
fi
out=$("$FL_NODE" report "$FIX/sync.jsonl" --partition "$FIX/bad_partition.csv" 2>&1)
check "bad partition csv named: $out" grep -q "bad_partition.csv:2:" <<<"$out"
exit $fail
