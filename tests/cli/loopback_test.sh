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

start_server() { # start_server <log> <flags...>: sets server_pid and port
  local log=$1; shift
  rm -f "$work/port"
  timeout 60 "$FL_NODE" server --port-file "$work/port" "$@" \
    >"$work/$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { echo "server did not publish"; cat "$work/$log"; exit 1; }
  port=$(cat "$work/port")
}

run_client() { # run_client <log> <flags...>: must succeed
  local log=$1; shift
  timeout 60 "$FL_NODE" client --upstream "127.0.0.1:$port" "$@" \
    >"$work/$log" 2>&1 || { echo "client failed"; cat "$work/$log"; exit 1; }
}

await_server() { # await_server <log>: the server must exit with 0
  wait "$server_pid" || { echo "server failed"; cat "$work/$1"; exit 1; }
  server_pid=""
}

sync_flags=(--model synthetic --synthetic-params 50000 --clients 4
            --clients-per-round 3 --metrics "$work/metrics.jsonl"
            --checkpoint-dir "$work")

start_server server.log "${sync_flags[@]}" --rounds 3 --port 0 --token s3cret

# A client with the wrong token is refused by the transport (its proof
# does not check out) and exits non-zero at once.
if timeout 30 "$FL_NODE" client --model synthetic --synthetic-params 50000 \
     --clients 1 --client-offset 9 --upstream "127.0.0.1:$port" \
     --token wrong >"$work/intruder.log" 2>&1; then
  echo "a client with a bad token was admitted"; cat "$work/intruder.log"; exit 1
fi
grep -q "refused: unknown identity, wrong token" "$work/intruder.log"

# A client training another model is refused at join and exits non-zero,
# saying why (and the server says so too).
if timeout 30 "$FL_NODE" client --model synthetic --synthetic-params 60000 \
     --clients 1 --client-offset 8 --upstream "127.0.0.1:$port" \
     --token s3cret >"$work/other-model.log" 2>&1; then
  echo "a client with another model was admitted"; cat "$work/other-model.log"; exit 1
fi
grep -q "does not match the federation" "$work/other-model.log"
grep -q "join from client-8 refused: the model does not match" "$work/server.log"

run_client client.log --model synthetic --synthetic-params 50000 --clients 4 \
  --token s3cret
await_server server.log

grep -q "all clients finished" "$work/client.log"
# A manifest (the secret token left out), then one record per round.
head -1 "$work/metrics.jsonl" | grep -q '^{"manifest":{.*"command":"server"'
! grep -q s3cret "$work/metrics.jsonl"
[ "$(grep -c '"round":' "$work/metrics.jsonl")" -eq 3 ] || { cat "$work/metrics.jsonl"; exit 1; }
grep -q '"round":3,"model_version":3,"accepted":true' "$work/metrics.jsonl"
[ -s "$work/model.ckpt" ]

# Restart the server from its checkpoint: rounds 4 and 5 follow round 3.
start_server resumed.log "${sync_flags[@]}" --rounds 5 --resume
run_client client2.log --model synthetic --synthetic-params 50000 --clients 4
await_server resumed.log
grep -q "resuming from" "$work/resumed.log"
[ "$(grep -c '"round":' "$work/metrics.jsonl")" -eq 5 ] || { cat "$work/metrics.jsonl"; exit 1; }
[ "$(grep -c '^{"manifest":' "$work/metrics.jsonl")" -eq 2 ] # one per start
grep -q '"round":5,"model_version":5,"accepted":true' "$work/metrics.jsonl"

# The same across processes in FedBuff mode: the clients learn the mode from
# the server's Welcome and turn active.
start_server async-server.log --mode fedbuff --model synthetic \
  --synthetic-params 5000 --clients 4 --clients-per-round 2 --buffer-k 2 \
  --max-updates 20 --eval-every 5 --metrics "$work/async.jsonl"
run_client async-client.log --model synthetic --synthetic-params 5000 \
  --clients 4
await_server async-server.log
grep -q '"model_version":10,.*"updates_applied":20' "$work/async.jsonl" \
  || { cat "$work/async.jsonl"; exit 1; }

# Across processes, sync rounds give the model `fl-node sim` gives with the
# same clients, bit for bit.
mkdir -p "$work/insim" "$work/across"
repro=(--model synthetic --synthetic-params 5000 --clients 4
       --clients-per-round 3 --rounds 3)
timeout 60 "$FL_NODE" sim "${repro[@]}" --checkpoint-dir "$work/insim" \
  --metrics "" >"$work/insim.log" 2>&1 || { cat "$work/insim.log"; exit 1; }
start_server across.log "${repro[@]}" --checkpoint-dir "$work/across" \
  --metrics ""
run_client across-client.log --model synthetic --synthetic-params 5000 \
  --clients 4
await_server across.log
cmp "$work/insim/model.ckpt" "$work/across/model.ckpt" \
  || { echo "sync across processes differs from sim"; exit 1; }

# Compressed uploads, SCAFFOLD's per-client corrections and client-side
# evaluation cross the wire: the same model as in `fl-node sim`, bit for bit.
mkdir -p "$work/zoo-sim" "$work/zoo-across"
zoo=(--model synthetic --synthetic-params 5000 --clients 4
     --clients-per-round 3 --rounds 3 --strategy scaffold --client-eval-every 2)
zoo_clients=(--compress topk --topk-ratio 0.1 --holdout 0.2)
timeout 60 "$FL_NODE" sim "${zoo[@]}" "${zoo_clients[@]}" \
  --checkpoint-dir "$work/zoo-sim" --metrics "" >"$work/zoo-sim.log" 2>&1 \
  || { cat "$work/zoo-sim.log"; exit 1; }
start_server zoo.log "${zoo[@]}" --checkpoint-dir "$work/zoo-across" \
  --metrics "$work/zoo.jsonl"
run_client zoo-client.log --model synthetic --synthetic-params 5000 \
  --clients 4 "${zoo_clients[@]}"
await_server zoo.log
cmp "$work/zoo-sim/model.ckpt" "$work/zoo-across/model.ckpt" \
  || { echo "compressed SCAFFOLD across processes differs from sim"; exit 1; }
cmp "$work/zoo-sim/strategy.ckpt" "$work/zoo-across/strategy.ckpt" \
  || { echo "SCAFFOLD state across processes differs from sim"; exit 1; }
grep -q '"round":2,.*"clients_evaluated":3' "$work/zoo.jsonl" \
  || { cat "$work/zoo.jsonl"; echo "no client-side evaluation"; exit 1; }

# Across processes, FedBuff on a logical clock gives the same model twice.
for i in 1 2; do
  mkdir -p "$work/logical$i"
  start_server logical$i.log --mode fedbuff --clock logical --model synthetic \
    --synthetic-params 5000 --clients 4 --concurrency 3 --buffer-k 2 \
    --max-updates 12 --eval-every 2 --checkpoint-dir "$work/logical$i" \
    --metrics "$work/logical$i/m.jsonl"
  run_client logical-client$i.log --model synthetic --synthetic-params 5000 \
    --clients 4
  await_server logical$i.log
done
cmp "$work/logical1/model.ckpt" "$work/logical2/model.ckpt" \
  || { echo "logical-clock FedBuff differs across runs"; exit 1; }
echo "loopback exchange ok (sync, fedbuff, compressed scaffold; reproducible sync and fedbuff)"
