#!/usr/bin/env bash
# Same seed, same numbers? Runs `fl-node sim` twice with the given flags
# (default: W1) and prints whether the final checkpoints are byte-identical,
# how many metrics records differ apart from timing fields, the last test
# accuracy of each run, and the median round time of each.
# usage: bench/reproducibility.sh [path/to/fl-node] [fl-node sim flags...]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

untimed() {
  grep -v '^{"manifest"' "$1" | sed -E 's/"[a-z_]*(seconds|per_second)":[0-9.e+-]*,?//g'
}
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }

for i in 1 2; do
  mkdir -p "$work/$i"
  "$FL_NODE" sim --log-level warn --metrics "$work/$i/m.jsonl" \
    --checkpoint-dir "$work/$i" "$@" >"$work/$i/out" 2>&1
done
echo "flags: ${*:-(W1 defaults)}"
if cmp -s "$work/1/model.ckpt" "$work/2/model.ckpt"; then
  echo "checkpoints      identical ($(stat -c %s "$work/1/model.ckpt") bytes)"
else
  echo "checkpoints      DIFFER"
fi
differ=$(diff <(untimed "$work/1/m.jsonl") <(untimed "$work/2/m.jsonl") \
  | grep -c '^<' || true)
echo "metrics records  $(untimed "$work/1/m.jsonl" | wc -l), differing apart from timings: $differ"
for i in 1 2; do
  med=$(field round_seconds "$work/$i/m.jsonl" | sort -g \
    | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}')
  echo "run $i            last accuracy $(field test_accuracy "$work/$i/m.jsonl" | tail -1), median round ${med} s"
done
