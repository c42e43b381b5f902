#!/usr/bin/env bash
# Time to a target test accuracy on Fashion-MNIST (MLP, 100 clients IID,
# seed 0) with 20% stragglers that are 5x slower: sync FedAvg vs FedAsync vs
# FedBuff, each in one process, same seed, same stragglers.
# usage: bench/time_to_accuracy.sh [path/to/fl-node] [target]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
TARGET=${2:-0.80}
common=(--straggler-fraction 0.2 --straggler-slowdown 5
        --target-accuracy "$TARGET" --rounds 300 --max-updates 5000
        --metrics "" --log-level warn)

run() { # run <label> <flags...>
  local label=$1; shift
  local line
  line=$("$FL_NODE" sim "${common[@]}" "$@" | grep '^reached' || true)
  printf "%-44s %s\n" "$label" "${line:-did not reach $TARGET}"
}

echo "time to test accuracy $TARGET, 20% stragglers at 5x, $(nproc) cores"
run "sync FedAvg, 10 clients/round (W1)" --mode sync
run "sync FedAvg, 4 clients/round" --mode sync --clients-per-round 4
run "FedAsync alpha 0.6, concurrency 10" --mode async --eval-every 10
run "FedAsync alpha 0.9, concurrency 4" --mode async --alpha 0.9 \
  --concurrency 4 --eval-every 10
run "FedBuff K 10, concurrency 10" --mode fedbuff --eval-every 1
run "FedBuff K 4, concurrency 6" --mode fedbuff --buffer-k 4 \
  --concurrency 6 --eval-every 2
