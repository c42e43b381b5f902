#!/usr/bin/env bash
# Simulation at scale, in one process (`fl-node sim`, virtual clients):
# 1. setup (start to round 1), rounds, teardown (last round to exit) and
#    peak RSS for 10k, 100k and 1M clients: synthetic model of 100,000
#    parameters, 1,000 sampled per round, ROUNDS rounds;
# 2. client-rounds per second on W1's data (Fashion-MNIST, MLP, IID): 1,000
#    clients of 60 samples, all 1,000 sampled per round;
# 3. the engine's overhead per W1 round with one training worker: the share
#    of the round (training and aggregation, evaluation excluded) not spent
#    inside the clients' fits;
# 4. SGD steps per second of the built-in models against a plain LibTorch
#    loop (fl_bench_train_steps).
# usage: bench/sim_scale.sh [build dir, default build] [ROUNDS, default 5]
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-5}
FL_NODE=$BUILD/cli/fl-node
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# Seconds since midnight of a log line's HH:MM:SS.mmm stamp.
stamp() { awk '{split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3]}'; }
rss_mib() { awk -F: '/Maximum resident/ {gsub(/ /, "", $2); printf "%.0f", $2 / 1024}' "$1"; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }

echo "fedactor simulation at scale, $(nproc) cores; $(date -u +%FT%TZ)"
echo
echo "1. synthetic model (100,000 parameters), 1,000 clients per round, $ROUNDS rounds"
printf '%10s %9s %9s %10s %9s %10s\n' clients "setup s" "rounds s" "teardown s" "total s" "peak MiB"
for n in 10000 100000 1000000; do
  t0=$(now)
  /usr/bin/time -v "$FL_NODE" sim --model synthetic --synthetic-params 100000 \
    --clients "$n" --clients-per-round 1000 --rounds "$ROUNDS" \
    --metrics "$work/m.jsonl" > "$work/out" 2> "$work/log"
  t1=$(now)
  # Log stamps are local wall-clock time of day; so is `date +%T`.
  start=$(date -d "@$t0" +%T.%N | cut -c1-12 | stamp)
  first=$(grep -m1 'starting round 1' "$work/log" | stamp)
  last=$(grep -m1 'training finished' "$work/log" | stamp)
  end=$(date -d "@$t1" +%T.%N | cut -c1-12 | stamp)
  printf '%10s %9.2f %9.2f %10.2f %9.2f %10s\n' "$n" \
    "$(echo "$first - $start" | bc)" "$(echo "$last - $first" | bc)" \
    "$(echo "$end - $last" | bc)" "$(echo "$t1 - $t0" | bc)" \
    "$(rss_mib "$work/log")"
done

echo
echo "2. W1 data: 1,000 clients of 60 samples, all sampled, $ROUNDS rounds"
"$FL_NODE" sim --clients 1000 --clients-per-round 1000 --rounds "$ROUNDS" \
  --metrics "$work/w.jsonl" --log-level warn > "$work/out" 2>&1
secs=$(field round_seconds "$work/w.jsonl" | paste -sd+ | bc)
acc=$(field test_accuracy "$work/w.jsonl" | tail -1)
printf '   %.0f client-rounds per second (rounds alone: %.2f s for %d x 1000; final accuracy %s; %s training workers)\n' \
  "$(echo "1000 * $ROUNDS / $secs" | bc -l)" "$secs" "$ROUNDS" "$acc" "$(nproc)"

echo
echo "3. engine overhead per W1 round (100 clients, 10 per round, one training worker)"
"$FL_NODE" sim --rounds "$ROUNDS" --workers 1 --metrics "$work/r.jsonl" \
  --client-metrics "$work/c.jsonl" --log-level warn > "$work/out" 2>&1
for r in $(seq 1 "$ROUNDS"); do
  round=$(grep "\"round\":$r," "$work/r.jsonl" | sed -n 's/.*"round_seconds":\([0-9.e+-]*\).*/\1/p')
  fits=$(grep "\"round\":$r," "$work/c.jsonl" | sed -n 's/.*"train_seconds":\([0-9.e+-]*\).*/\1/p' | paste -sd+ | bc -l)
  printf '   round %d: %.4f s, fits %.4f s, overhead %.4f s (%.1f %%)\n' "$r" "$round" "$fits" \
    "$(echo "$round - $fits" | bc -l)" "$(echo "100 * ($round - $fits) / $round" | bc -l)"
done

echo
echo "4. training steps"
"$BUILD/bench/fl_bench_train_steps" /usr/share/datasets/fashion-mnist 3 3 | sed 's/^/   /'
