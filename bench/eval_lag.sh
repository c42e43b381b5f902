#!/usr/bin/env bash
# Does evaluation keep up with the rounds? Runs `fl-node sim` with the given
# flags and prints, over the run's time, how many rounds had closed and how
# many evaluations were done (read from the log's timestamps: a round's
# "acc" line is written when its evaluation returns), then the time the
# last round closed, the time the last evaluation was done and the total.
# usage: bench/eval_lag.sh [path/to/fl-node] [fl-node sim flags...]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=$(date +%s.%N)
"$FL_NODE" sim --log-level info --metrics "$work/m.jsonl" "$@" \
  >"$work/out" 2>"$work/log"
end=$(date +%s.%N)

# Seconds since midnight of an HH:MM:SS.mmm log stamp.
secs() { awk -F'[:.]' '{print $1*3600 + $2*60 + $3 + $4/1000}'; }
t0=$(grep -m1 "starting round 1" "$work/log" | cut -c1-12 | secs)
# Round closing times (from the metrics, relative to round 1's start) and
# evaluation times (from the log, relative to the same start).
sed -n 's/.*"elapsed_seconds":\([0-9.e+-]*\).*/\1/p' "$work/m.jsonl" \
  | sort -g >"$work/closed"
grep "| acc " "$work/log" | cut -c1-12 | secs \
  | awk -v t0="$t0" '{print $1 - t0}' | sort -g >"$work/evaluated"
last_closed=$(tail -1 "$work/closed")
last_eval=$(tail -1 "$work/evaluated")
total=$(echo "$end - $start" | bc)
echo "flags: $*"
printf "%10s %14s %18s\n" "time (s)" "rounds closed" "evaluations done"
for f in 0.25 0.5 0.75 1.0; do
  t=$(echo "$last_closed * $f" | bc -l)
  c=$(awk -v t="$t" '$1 <= t' "$work/closed" | wc -l)
  e=$(awk -v t="$t" '$1 <= t' "$work/evaluated" | wc -l)
  printf "%10.1f %14d %18d\n" "$t" "$c" "$e"
done
printf "last round closed at %.1f s, last evaluation done at %.1f s, %d evaluations; process ran %.1f s\n" \
  "$last_closed" "$last_eval" "$(wc -l <"$work/evaluated")" "$total"
grep -E "median|per round|evaluations|final accuracy" "$work/out" || true
