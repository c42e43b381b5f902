#!/usr/bin/env bash
# Peak memory and round time of a federation of big synthetic models: one
# server process and 2 client processes (one client each), sync FedAvg, both
# clients in every round. Prints each process's peak RSS next to the model
# size, and the model bytes moved per second of round time.
# usage: bench/big_model.sh [path/to/fl-node] [params ...]
#   (default params: 100M 250M; 1B and 1.5B need about 5x the model in RAM)
# ROUNDS (3) sets the rounds, EXTRA extra flags for every process,
# SERVER_EXTRA for the server alone (e.g. --receive-budget-mib 1).
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000000 250000000)
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

peak_mib() { awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print int($2 / 1024)}' "$1"; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }

printf "%12s %9s %20s %20s %20s %12s %10s\n" params "model" "server peak" \
  "client-0 peak" "client-1 peak" "median round" "MB/s"
for params in "${SIZES[@]}"; do
  model_mib=$(( params * 4 / 1048576 ))
  rm -f "$work/port" "$work/m.jsonl"
  /usr/bin/time -v "$FL_NODE" server --model synthetic --synthetic-params "$params" \
    --clients 2 --clients-per-round 2 --rounds "$ROUNDS" --port-file "$work/port" \
    --metrics "$work/m.jsonl" --log-level warn ${EXTRA:-} ${SERVER_EXTRA:-} \
    >/dev/null 2>"$work/server.time" &
  server=$!
  for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  for c in 0 1; do
    /usr/bin/time -v "$FL_NODE" client --model synthetic --synthetic-params "$params" \
      --clients 1 --client-offset "$c" --total-clients 2 --upstream "127.0.0.1:$port" --log-level warn \
      ${EXTRA:-} >/dev/null 2>"$work/client$c.time" &
  done
  rc=0
  wait || rc=$?
  if [ "$rc" -ne 0 ] || [ ! -s "$work/m.jsonl" ]; then
    echo "params $params: a process failed (exit $rc):" >&2
    tail -5 "$work/server.time" "$work/client0.time" "$work/client1.time" >&2
    continue
  fi
  median=$(grep '"round_seconds"' "$work/m.jsonl" | sed 's/.*"round_seconds":\([0-9.e+-]*\).*/\1/' \
    | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  # Per round, the model goes down to 2 clients and 2 updates come back.
  mbps=$(awk -v p="$params" -v t="$median" 'BEGIN {printf "%.0f", 4 * p * 4 / t / 1e6}')
  ratio() { awk -v a="$1" -v b="$model_mib" 'BEGIN {printf "%d MiB (%.1fx)", a, a / b}'; }
  printf "%12s %5s MiB %20s %20s %20s %10.2f s %10s\n" "$params" "$model_mib" \
    "$(ratio "$(peak_mib "$work/server.time")")" \
    "$(ratio "$(peak_mib "$work/client0.time")")" \
    "$(ratio "$(peak_mib "$work/client1.time")")" "$median" "$mbps"
done
