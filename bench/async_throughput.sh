#!/usr/bin/env bash
# Updates absorbed per second by one FedAsync server: tiny synthetic model
# (1000 parameters), 1000 active clients all training at once. Runs in one
# process, then with the clients in a second process on loopback.
# usage: bench/async_throughput.sh [path/to/fl-node] [updates]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
UPDATES=${2:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
common=(--mode async --model synthetic --synthetic-params 1000
        --concurrency 1000 --max-updates "$UPDATES" --eval-every 5000
        --max-staleness 1000000 --log-level warn)

echo "FedAsync, 1000 active clients, 1000-parameter model, $UPDATES updates"
"$FL_NODE" sim "${common[@]}" --clients 1000 --metrics "" \
  | sed -n 's/^throughput */one process:   /p'

"$FL_NODE" server "${common[@]}" --clients 1000 --port-file "$work/port" \
  --metrics "" >"$work/server.out" &
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
"$FL_NODE" client --model synthetic --synthetic-params 1000 --clients 1000 \
  --upstream "127.0.0.1:$(cat "$work/port")" --log-level warn >/dev/null
wait
sed -n 's/^throughput */two processes: /p' "$work/server.out"
