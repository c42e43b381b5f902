#!/usr/bin/env bash
# Two processes on loopback: `fl-node server` and `fl-node client` exchange
# join/welcome, models and updates over CAF remote actors, and both exit
# cleanly on Exit. Every step is bounded in time.
set -euo pipefail
FL_NODE=${1:?usage: loopback_test.sh path/to/fl-node}
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

timeout 60 "$FL_NODE" server --model synthetic --synthetic-params 50000 \
  --clients 4 --clients-per-round 3 --rounds 3 --port 0 \
  --port-file "$work/port" --metrics "$work/metrics.jsonl" \
  --checkpoint-dir "$work" --token s3cret >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "server did not publish"; cat "$work/server.log"; exit 1; }
port=$(cat "$work/port")

# A client with the wrong token is refused and exits non-zero.
if timeout 30 "$FL_NODE" client --model synthetic --synthetic-params 50000 \
     --clients 1 --client-offset 9 --upstream "127.0.0.1:$port" \
     --token wrong >"$work/intruder.log" 2>&1; then
  echo "a client with a bad token was admitted"; cat "$work/intruder.log"; exit 1
fi
grep -q "wrong or missing token" "$work/intruder.log"

timeout 60 "$FL_NODE" client --model synthetic --synthetic-params 50000 \
  --clients 4 --upstream "127.0.0.1:$port" --token s3cret \
  >"$work/client.log" 2>&1 || { echo "client failed"; cat "$work/client.log"; exit 1; }

wait "$server_pid" || { echo "server failed"; cat "$work/server.log"; exit 1; }
server_pid=""

grep -q "all clients finished" "$work/client.log"
[ "$(wc -l <"$work/metrics.jsonl")" -eq 3 ] || { cat "$work/metrics.jsonl"; exit 1; }
grep -q '"round":3,"model_version":3,"accepted":true' "$work/metrics.jsonl"
[ -s "$work/model.ckpt" ]

# Restart the server from its checkpoint: rounds 4 and 5 follow round 3.
rm -f "$work/port"
timeout 60 "$FL_NODE" server --model synthetic --synthetic-params 50000 \
  --clients 4 --clients-per-round 3 --rounds 5 --resume \
  --port-file "$work/port" --metrics "$work/metrics.jsonl" \
  --checkpoint-dir "$work" >"$work/resumed.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
timeout 60 "$FL_NODE" client --model synthetic --synthetic-params 50000 \
  --clients 4 --upstream "127.0.0.1:$(cat "$work/port")" \
  >"$work/client2.log" 2>&1 || { echo "client after resume failed"; cat "$work/client2.log"; exit 1; }
wait "$server_pid" || { echo "resumed server failed"; cat "$work/resumed.log"; exit 1; }
server_pid=""
grep -q "resuming from" "$work/resumed.log"
[ "$(wc -l <"$work/metrics.jsonl")" -eq 5 ] || { cat "$work/metrics.jsonl"; exit 1; }
grep -q '"round":5,"model_version":5,"accepted":true' "$work/metrics.jsonl"

# The same across processes in FedBuff mode: the clients learn the mode from
# the server's Welcome and turn active.
rm -f "$work/port"
timeout 60 "$FL_NODE" server --mode fedbuff --model synthetic \
  --synthetic-params 5000 --clients 4 --clients-per-round 2 --buffer-k 2 \
  --max-updates 20 --eval-every 5 --port-file "$work/port" \
  --metrics "$work/async.jsonl" >"$work/async-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
timeout 60 "$FL_NODE" client --model synthetic --synthetic-params 5000 \
  --clients 4 --upstream "127.0.0.1:$(cat "$work/port")" \
  >"$work/async-client.log" 2>&1 || { echo "async client failed"; cat "$work/async-client.log"; exit 1; }
wait "$server_pid" || { echo "async server failed"; cat "$work/async-server.log"; exit 1; }
server_pid=""
grep -q '"model_version":10,.*"updates_applied":20' "$work/async.jsonl" \
  || { cat "$work/async.jsonl"; exit 1; }
echo "loopback exchange ok (sync and fedbuff)"
