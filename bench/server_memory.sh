#!/usr/bin/env bash
# Server peak memory against clients per round, with a 10M-parameter
# synthetic model (40 MB): one server process, one process hosting 100
# clients. Updates are folded on arrival, so the server's peak RSS should not
# grow with the number of clients per round.
# usage: bench/server_memory.sh [path/to/fl-node] [params]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
PARAMS=${2:-10000000}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT

rss_mib() { awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print int($2 / 1024)}' "$1"; }

echo "model: $PARAMS float32 parameters ($(( PARAMS * 4 / 1000000 )) MB); 100 clients; 3 rounds"
printf "%18s %18s %18s\n" "clients/round" "server peak RSS" "MB received/round"
for per_round in 10 50 100; do
  rm -f "$work/port"
  /usr/bin/time -v "$FL_NODE" server --model synthetic --synthetic-params "$PARAMS" \
    --clients 100 --clients-per-round "$per_round" --rounds 3 \
    --port-file "$work/port" --metrics "$work/m$per_round.jsonl" --log-level warn \
    >/dev/null 2>"$work/server.time" &
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  "$FL_NODE" client --model synthetic --synthetic-params "$PARAMS" --clients 100 \
    --upstream "127.0.0.1:$(cat "$work/port")" --log-level warn >/dev/null 2>&1
  wait
  bytes_in=$(sed -n 's/.*"bytes_in":\([0-9]*\).*/\1/p' "$work/m$per_round.jsonl" | head -1)
  printf "%18s %14s MiB %18s\n" "$per_round" "$(rss_mib "$work/server.time")" \
    "$(( bytes_in / 1000000 ))"
done
