#!/usr/bin/env bash
# The example report: W1 (Fashion-MNIST, MLP, 100 clients, seed 0) with
# sync FedAvg (30 rounds), FedAsync and FedBuff (300 updates each, the same
# number of client updates), their Dirichlet partition, one report, and a
# screenshot of it in headless Chromium.
# usage: bench/report_example.sh [path/to/fl-node] [out folder, default out/report]
set -euo pipefail
FL_NODE=$(readlink -f "${1:-build/cli/fl-node}")
out=${2:-out/report}
mkdir -p "$out"
common=(--seed 0 --checkpoint-dir "" --log-level warn)
"$FL_NODE" sim "${common[@]}" --metrics "$out/sync.jsonl" \
  --partition-csv "$out/partition.csv"
"$FL_NODE" sim "${common[@]}" --mode async --max-updates 300 \
  --metrics "$out/fedasync.jsonl"
"$FL_NODE" sim "${common[@]}" --mode fedbuff --max-updates 300 --eval-every 2 \
  --metrics "$out/fedbuff.jsonl"
"$FL_NODE" report "$out/sync.jsonl" "$out/fedasync.jsonl" "$out/fedbuff.jsonl" \
  --partition "$out/partition.csv" --target-accuracy 0.75 -o "$out/report.html"
"$FL_NODE" report "$out/sync.jsonl" "$out/fedasync.jsonl" "$out/fedbuff.jsonl" \
  --target-accuracy 0.75 --format csv | column -t -s,
if command -v chromium >/dev/null; then
  HOME=$(mktemp -d) chromium --headless --no-sandbox --disable-gpu \
    --hide-scrollbars --window-size=1400,2250 \
    --screenshot="$out/report.png" "file://$(readlink -f "$out/report.html")" \
    2>/dev/null
  echo "screenshot: $out/report.png"
fi
echo "report: $out/report.html"
