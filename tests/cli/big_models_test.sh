#!/usr/bin/env bash
# Models bigger than a frame, across processes: the same federation (a
# server and 2 client processes, 3 sync rounds, a 12 MB synthetic model in
# 1 MiB pieces) run with values on the bulk link, as checked pieces on the
# actor runtime's connection, and as whole messages must end with
# byte-identical checkpoints (the CPU sum is exact). A model above the
# message limit is refused at start with a clear error, never an abort; a
# receive budget smaller than one model still completes (one transfer at a
# time). KEEP=1 keeps the work folder.
set -euo pipefail
FL_NODE=${1:?usage: big_models_test.sh path/to/fl-node}
work=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

model=(--model synthetic --synthetic-params 3000000)

server_only=() # flags for the server alone
federation() { # federation NAME FLAGS...: a server + 2 client processes
  local name=$1; shift
  mkdir -p "$work/$name"
  timeout 120 "$FL_NODE" server "${model[@]}" --clients 2 --clients-per-round 2 \
    --rounds 3 --port-file "$work/$name/port" --checkpoint-dir "$work/$name" \
    --metrics "$work/$name/m.jsonl" --log-level debug "$@" \
    ${server_only[@]+"${server_only[@]}"} >"$work/$name/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 200); do [ -s "$work/$name/port" ] && break; sleep 0.05; done
  [ -s "$work/$name/port" ] || { echo "$name: no port"; cat "$work/$name/server.log"; exit 1; }
  local pids=()
  for c in 0 1; do
    timeout 120 "$FL_NODE" client "${model[@]}" --clients 1 --client-offset "$c" \
      --total-clients 2 --upstream "127.0.0.1:$(cat "$work/$name/port")" \
      --log-level debug "$@" >"$work/$name/client$c.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do
    wait "$p" || { echo "$name: a client failed"; cat "$work/$name"/client*.log | tail -30; exit 1; }
  done
  wait "$server" || { echo "$name: the server failed"; tail -30 "$work/$name/server.log"; exit 1; }
  [ "$(grep -c '"accepted":true' "$work/$name/m.jsonl")" -eq 3 ] \
    || { echo "$name: not 3 accepted rounds"; cat "$work/$name/m.jsonl"; exit 1; }
}

federation bulk --chunk-mib 1
federation pieces --chunk-mib 1 --bulk-link=false --window 2
federation whole --chunk-mib 64

# Each path was the one taken.
grep -q "bulk link to 127.0.0.1:[0-9]* up" "$work/bulk/client0.log"
! grep -q "bulk link" "$work/pieces/client0.log"
! grep -q "bulk link" "$work/whole/client0.log"
for x in pieces whole; do
  cmp "$work/bulk/model.ckpt" "$work/$x/model.ckpt" \
    || { echo "the $x federation ended with another model"; exit 1; }
done
echo "bulk link, pieces and whole messages: identical checkpoints"

# Asynchronous modes over the bulk link: a client's Request must not
# overtake its Update (it goes on the connection, the values on the link).
for mode in async fedbuff; do
  server_only=(--mode "$mode" --max-updates 8)
  mkdir -p "$work/$mode"
  timeout 120 "$FL_NODE" server "${model[@]}" --clients 2 --port-file "$work/$mode/port" \
    --metrics "$work/$mode/m.jsonl" --chunk-mib 1 "${server_only[@]}" \
    >"$work/$mode/server.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do [ -s "$work/$mode/port" ] && break; sleep 0.05; done
  for c in 0 1; do
    timeout 120 "$FL_NODE" client "${model[@]}" --clients 1 --client-offset "$c" \
      --total-clients 2 --upstream "127.0.0.1:$(cat "$work/$mode/port")" \
      --chunk-mib 1 --log-level debug >"$work/$mode/client$c.log" 2>&1 &
  done
  wait "$server" || { echo "$mode: the server failed"; tail -20 "$work/$mode/server.log"; exit 1; }
  wait
  grep -q '"updates_applied":8' "$work/$mode/m.jsonl" \
    || { echo "$mode: not 8 updates"; tail -5 "$work/$mode/server.log"; exit 1; }
  grep -q "bulk link to 127.0.0.1:[0-9]* up" "$work/$mode/client0.log"
done
server_only=()
echo "FedAsync and FedBuff over the bulk link: 8 updates applied"

# A receive budget below one model: transfers wait their turn, the rounds
# still complete with the same model.
server_only=(--receive-budget-mib 1)
federation budget --chunk-mib 1
server_only=()
cmp "$work/bulk/model.ckpt" "$work/budget/model.ckpt"
echo "a 1 MiB receive budget: same checkpoint"

# Above the message limit: a clear error at start on both sides.
for role in server client; do
  extra=(--port 0)
  [ "$role" = client ] && extra=(--upstream 127.0.0.1:1)
  set +e
  timeout 30 "$FL_NODE" "$role" "${model[@]}" --clients 1 --max-message-mib 8 \
    --chunk-mib 1 "${extra[@]}" >"$work/limit-$role.log" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "$role: exit $rc above the limit"; cat "$work/limit-$role.log"; exit 1; }
  grep -q "more than the message limit of 8 MiB" "$work/limit-$role.log"
done
echo "a model above --max-message-mib: refused at start by server and client"
