#!/usr/bin/env bash
# W1 (Fashion-MNIST, MLP 784-200-200-10, 100 clients, 10 per round, 30
# rounds, seed 0) with the built-in C++ MLP and with the same MLP as a
# TorchScript file (same initial weights), REPS runs each, interleaved:
# seconds per round (the summary's, with evaluation), final accuracy.
# Then the lines of code a user writes for each way of extending fedactor
# (non-blank, non-comment lines of the examples).
# usage: bench/torchscript.sh [build dir, default build] [REPS, default 3]
set -euo pipefail
BUILD=${1:-build}
REPS=${2:-3}
FL_NODE=$BUILD/cli/fl-node
EXPORT=$BUILD/bench/fl_bench_export_mlp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$EXPORT" "$work/mlp.pt" 0

echo "TorchScript against built-in MLP, W1, $(nproc) cores; $(date -u +%FT%TZ)"
printf '%-12s %4s %14s %14s\n' model run "s per round" "final acc"
for rep in $(seq 1 "$REPS"); do
  for model in mlp "$work/mlp.pt"; do
    "$FL_NODE" sim --model "$model" --log-level error > "$work/out" 2>/dev/null
    per=$(grep -o 'per round *[0-9.]*' "$work/out" | grep -o '[0-9.]*$')
    acc=$(grep -o 'final accuracy *[0-9.]*' "$work/out" | grep -o '[0-9.]*$')
    name=$([ "$model" = mlp ] && echo built-in || echo torchscript)
    printf '%-12s %4s %14s %14s\n' "$name" "$rep" "$per" "$acc"
  done
done

echo
echo "lines a user writes (examples/, without blank and comment lines)"
src=$(cd "$(dirname "$0")/.." && pwd)
for f in custom_trainer custom_strategy custom_dataset torchscript_model \
         embed_server; do
  n=$(grep -cvE '^\s*(//.*)?$' "$src/examples/$f.cpp")
  printf '  %-20s %4s\n' "$f" "$n"
done
echo "  a TorchScript model through fl-node: 0 lines of C++ (--model FILE.pt)"
