#!/usr/bin/env bash
# Installs, builds and runs the main job: workload W1 (Fashion-MNIST, MLP
# 784-200-200-10, 100 clients IID, 10 per round, 30 rounds of FedAvg, seed 0)
# in one process. Extra arguments go to `fl-node sim` (e.g. --rounds 5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
fl_node="${BUILD_DIR:-$root/build}/cli/fl-node"
out=${OUT_DIR:-$root/out}
mkdir -p "$out"
echo "== W1: FedAvg on Fashion-MNIST, 100 clients, 30 rounds =="
"$fl_node" sim --metrics "$out/metrics.jsonl" --checkpoint-dir "$out" "$@"
echo "metrics: $out/metrics.jsonl, checkpoint: $out/model.ckpt"
