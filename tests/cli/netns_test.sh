#!/usr/bin/env bash
# Multi-host test on one machine: network namespaces joined by veth pairs to
# a bridge stand in for hosts (server, two scheduler hosts, client hosts).
# A hierarchical federation runs across them on those addresses only; then
# the fault cases: a client process killed mid-run (its scheduler's rounds
# complete by quorum), a scheduler killed (the server counts it as a failure
# and goes on), the server killed and restarted with --resume (schedulers
# reconnect by themselves; training continues from the checkpoint); and
# decentralized peers (fl-node peer) on four hosts, with and without mutual
# TLS.
# Exit 77 (CTest: skipped) when namespaces cannot be made (not root).
set -euo pipefail
FL_NODE=$(readlink -f "${1:?usage: netns_test.sh path/to/fl-node}")
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2"; exit 77
fi
p="fl$$"
if ! ip netns add "${p}probe" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"; exit 77
fi
ip netns del "${p}probe"

work=$(mktemp -d)
hosts=(srv s1 s2 c1 c2 c3)
declare -A addr=([srv]=10.77.0.1 [s1]=10.77.0.2 [s2]=10.77.0.3
                 [c1]=10.77.0.4 [c2]=10.77.0.5 [c3]=10.77.0.6)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for h in "${hosts[@]}" sw; do ip netns del "$p$h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "${p}sw"
ip -n "${p}sw" link add br0 type bridge
ip -n "${p}sw" link set br0 up
for h in "${hosts[@]}"; do
  ip netns add "$p$h"
  ip link add "v$p$h" type veth peer name "b$p$h"
  ip link set "v$p$h" netns "$p$h"
  ip link set "b$p$h" netns "${p}sw"
  ip -n "${p}sw" link set "b$p$h" master br0
  ip -n "${p}sw" link set "b$p$h" up
  ip -n "$p$h" addr add "${addr[$h]}/24" dev "v$p$h"
  ip -n "$p$h" link set "v$p$h" up
  ip -n "$p$h" link set lo up
done

wait_for() { # wait_for <seconds> <command...>
  local limit=$1; shift
  for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for: $*"; return 1
}
lines() { [ -f "$1" ] && { grep -c '"round":' "$1" || true; } || echo 0; } # records
at_least() { [ "$(lines "$1")" -ge "$2" ]; }
show_logs() { for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done; }
trap 'show_logs; cleanup' ERR

model=(--model synthetic --synthetic-params 200000 --token t0k)

echo "== 1: hierarchical federation across namespaces"
ip netns exec "$p"srv "$FL_NODE" server "${model[@]}" --host "${addr[srv]}" --port 7000 \
  --clients 2 --clients-per-round 2 --rounds 3 --metrics "$work/h.jsonl" \
  >"$work/h-server.log" 2>&1 & pids+=($!); hs=$!
wait_for 20 grep -qs "listening on" "$work/h-server.log"
for k in 1 2; do
  ip netns exec "$p""s$k" "$FL_NODE" scheduler "${model[@]}" --host "${addr[s$k]}" --port 7001 \
    --id "sched-$k" --clients 3 --clients-per-round 3 \
    --upstream "${addr[srv]}:7000" >"$work/h-s$k.log" 2>&1 & pids+=($!)
done
wait_for 20 grep -qs "listening on" "$work/h-s1.log"
wait_for 20 grep -qs "listening on" "$work/h-s2.log"
for k in 1 2; do
  ip netns exec "$p""c$k" "$FL_NODE" client "${model[@]}" --clients 3 \
    --client-offset $(( (k - 1) * 3 )) --total-clients 6 \
    --upstream "${addr[s$k]}:7001" >"$work/h-c$k.log" 2>&1 & pids+=($!)
done
wait "$hs"
grep -q '"round":3,"model_version":3,"accepted":true' "$work/h.jsonl"
# Pre-aggregation: the server receives 2 updates per round, not 6.
grep -q '"bytes_in":1600000' "$work/h.jsonl"
echo "ok: 3 rounds through 2 schedulers; 2 updates per round at the server"
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()

echo "== 2: faults"
slow=(--epochs 400)  # each local fit takes a while, so kills land mid-run
start_server() { # start_server <log> [--resume ...]
  local log=$1; shift
  ip netns exec "$p"srv "$FL_NODE" server "${model[@]}" --host "${addr[srv]}" --port 7000 \
    --clients 2 --clients-per-round 2 --quorum 0.5 --round-deadline 4 \
    --rounds 40 --metrics "$work/f.jsonl" --checkpoint-dir "$work" "$@" \
    >"$work/$log" 2>&1 &
  server_pid=$!; pids+=($server_pid)
}
start_server f-server.log
wait_for 20 grep -qs "listening on" "$work/f-server.log"
for k in 1 2; do
  ip netns exec "$p""s$k" "$FL_NODE" scheduler "${model[@]}" --host "${addr[s$k]}" --port 7001 \
    --id "sched-$k" --clients 3 --clients-per-round 3 --quorum 0.6 \
    --round-deadline 3 --upstream "${addr[srv]}:7000" \
    >"$work/f-s$k.log" 2>&1 & pids+=($!)
  eval "sched$k=$!"
done
wait_for 20 grep -qs "listening on" "$work/f-s1.log"
wait_for 20 grep -qs "listening on" "$work/f-s2.log"
ip netns exec "$p"c1 "$FL_NODE" client "${model[@]}" "${slow[@]}" --clients 2 --client-offset 0 \
  --total-clients 6 --upstream "${addr[s1]}:7001" >"$work/f-c1.log" 2>&1 & pids+=($!)
ip netns exec "$p"c3 "$FL_NODE" client "${model[@]}" "${slow[@]}" --clients 1 --client-offset 2 \
  --total-clients 6 --upstream "${addr[s1]}:7001" >"$work/f-c3.log" 2>&1 & pids+=($!)
c3=$!
ip netns exec "$p"c2 "$FL_NODE" client "${model[@]}" "${slow[@]}" --clients 3 --client-offset 3 \
  --total-clients 6 --upstream "${addr[s2]}:7001" >"$work/f-c2.log" 2>&1 & pids+=($!)

wait_for 60 at_least "$work/f.jsonl" 3
kill -9 "$c3"
wait_for 30 grep -qs "lost client-2" "$work/f-s1.log"
n=$(lines "$work/f.jsonl")
wait_for 60 at_least "$work/f.jsonl" $((n + 2))
grep -q "pre-aggregated 2/3 updates" "$work/f-s1.log"
echo "ok: a killed client process; its scheduler's rounds go on by quorum"

kill -9 "$sched2"
wait_for 30 grep -qs "lost sched-2" "$work/f-server.log"
n=$(lines "$work/f.jsonl")
wait_for 60 at_least "$work/f.jsonl" $((n + 2))
tail -1 "$work/f.jsonl" | grep -q '"accepted":true'
grep -q '"clients_failed":1' "$work/f.jsonl"
echo "ok: a killed scheduler counts as a failure; the federation goes on"

wait_for 30 test -s "$work/model.ckpt"
kill -9 "$server_pid"
before=$(tail -1 "$work/f.jsonl" | sed -n 's/.*"round":\([0-9]*\).*/\1/p')
start_server f-resumed.log --resume --min-clients 1
wait_for 60 grep -qs "resuming from" "$work/f-resumed.log"
wait "$server_pid"
grep -q "1 clients joined" "$work/f-resumed.log"
last=$(tail -1 "$work/f.jsonl" | sed -n 's/.*"round":\([0-9]*\).*/\1/p')
[ "$last" -eq 40 ] || { echo "resumed run ended at round $last"; exit 1; }
# The resumed server continued after the checkpointed round, not from 1.
first_after=$(grep -c '"round":1,' "$work/f.jsonl")
[ "$first_after" -eq 1 ] || { echo "round 1 ran twice"; exit 1; }
echo "ok: server killed after round $before and resumed; finished round 40"

echo "== 3: decentralized peers across namespaces (no server)"
peer_hosts=(srv s1 s2 c1)
peer_list=""
for h in "${peer_hosts[@]}"; do peer_list+="${peer_list:+,}${addr[$h]}:7100"; done
peer_pids=()
for i in 0 1 2 3; do
  h=${peer_hosts[$i]}
  ip netns exec "$p$h" "$FL_NODE" peer "${model[@]}" --peers "$peer_list" \
    --peer-index "$i" --topology ring --rounds 5 --linger 1 \
    --metrics "$work/peer$i.jsonl" >"$work/peer$i.log" 2>&1 & pids+=($!)
  peer_pids+=($!)
done
for i in 0 1 2 3; do wait "${peer_pids[$i]}"; done
for i in 0 1 2 3; do
  grep -q '"round":5,' "$work/peer$i.jsonl"
  grep -q '"models_sent_per_peer":2' "$work/peer$i.jsonl"
done
grep -q "listening on ${addr[s1]}:7100" "$work/peer1.log"
echo "ok: 4 peers on 4 hosts averaged over a ring for 5 rounds"

echo "== 4: mutual TLS across namespaces (peers with certificates)"
"$FL_NODE" certs --out "$work/kits" peer-0 peer-1 peer-2 peer-3 >/dev/null
tls_model=(--model synthetic --synthetic-params 200000)
peer_pids=()
for i in 0 1 2 3; do
  h=${peer_hosts[$i]}
  ip netns exec "$p$h" "$FL_NODE" peer "${tls_model[@]}" --peers "$peer_list" \
    --peer-index "$i" --topology ring --rounds 3 --linger 1 \
    --tls "$work/kits/peer-$i" --access "$work/kits/access.toml" \
    --metrics "$work/tls$i.jsonl" >"$work/tls$i.log" 2>&1 & pids+=($!)
  peer_pids+=($!)
done
for i in 0 1 2 3; do wait "${peer_pids[$i]}"; done
for i in 0 1 2 3; do grep -q '"round":3,' "$work/tls$i.jsonl"; done
grep -q "mutual TLS" "$work/tls0.log"
# Without TLS (and without a token) on a non-loopback address: refused.
if ip netns exec "$p"c2 "$FL_NODE" server "${tls_model[@]}" --host "${addr[c2]}" \
     --port 7200 --rounds 1 >"$work/open.log" 2>&1; then
  echo "an open plaintext server started"; exit 1
fi
grep -q "refusing to listen" "$work/open.log"
echo "ok: 4 TLS peers on 4 hosts (identities from certificates); no open listener"
