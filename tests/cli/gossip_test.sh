#!/usr/bin/env bash
# Decentralized training end to end: `sim --mode gossip` on Fashion-MNIST
# (accuracy rises, consensus distance falls), clear errors for bad
# topologies and modes, and peers in separate processes on loopback: one
# is killed mid-run, the others finish without it, and a restarted one
# catches up from a neighbor. Every step is bounded in time.
set -euo pipefail
FL_NODE=${1:?usage: gossip_test.sh path/to/fl-node}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    pkill -9 -P "$p" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }

# field <file> <round> <key>: a value of a metrics record.
field() {
  python3 -c "
import json, sys
for line in open('$1'):
    j = json.loads(line)
    if j.get('round') == $2 and '$3' in j:
        print(j['$3'])
        sys.exit(0)
sys.exit(1)"
}

# -- in one process -----------------------------------------------------------
timeout 300 "$FL_NODE" sim --mode gossip --clients 6 --topology ring \
  --rounds 4 --independent-init --eval-peers 6 --workers 2 \
  --metrics "$work/sim.jsonl" >"$work/sim.log" 2>&1 || fail "gossip sim"
python3 - "$work/sim.jsonl" <<'PY' || fail "sim metrics"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rounds = [r for r in recs if "round" in r]
assert [r["round"] for r in rounds] == [1, 2, 3, 4], rounds
d = [r["consensus_distance"] for r in rounds]
assert all(b < a for a, b in zip(d, d[1:])), f"consensus does not fall: {d}"
acc = [r["test_accuracy"] for r in rounds]
assert acc[-1] > acc[0] + 0.2, f"accuracy does not rise: {acc}"
assert all(r["peers"] == 6 and r["models_sent_per_peer"] == 2 for r in rounds)
assert rounds[-1]["peer_accuracy_std"] >= 0
print("sim: consensus", [round(x, 3) for x in d], "accuracy",
      [round(x, 3) for x in acc])
PY
grep -q "final average model: test accuracy" "$work/sim.log" || fail "summary"
"$FL_NODE" report "$work/sim.jsonl" -o "$work/report.html" >/dev/null 2>&1 \
  || fail "report of a gossip run"
grep -q "Consensus distance" "$work/report.html" || fail "no consensus chart"

# -- errors -------------------------------------------------------------------
expect_usage_error() { # expect_usage_error <text> <args...>
  local want=$1; shift
  local rc=0
  timeout 60 "$FL_NODE" "$@" >"$work/err.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "exit $rc, not 2, for: $*"
  grep -q -- "$want" "$work/err.out" || { cat "$work/err.out"; fail "no '$want'"; }
}
expect_usage_error "unknown topology 'torus'" sim --mode gossip --clients 4 \
  --model synthetic --topology torus
printf '0 0 1\n1 1 1\n' >"$work/split.txt"
expect_usage_error "not connected" sim --mode gossip --clients 2 \
  --model synthetic --topology "$work/split.txt"
printf '0 0 0.5\n0 1 0.4\n1 1 0.5\n1 0 0.5\n' >"$work/sum.txt"
expect_usage_error "sum to 0.9" sim --mode gossip --clients 2 \
  --model synthetic --topology "$work/sum.txt"
expect_usage_error "has no server" server --mode gossip
expect_usage_error "needs a fixed port (1..65535)" peer --peers 127.0.0.1:0 \
  --model synthetic
expect_usage_error "not below the number of --peers" peer \
  --peers 127.0.0.1:7001 --peer-index 3 --model synthetic

# -- across processes: a peer dies, the others go on; it comes back ----------
base=$((21000 + RANDOM % 20000))
peers="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
flags=(--peers "$peers" --topology ring --rounds 14 --workers 1
       --neighbor-timeout 5 --linger 2 --eval-every 1 --log-level info)
start_peer() { # start_peer <index> [flags...]
  local i=$1; shift
  timeout 240 "$FL_NODE" peer --peer-index "$i" "${flags[@]}" \
    --metrics "$work/peer$i.jsonl" "$@" >>"$work/peer$i.log" 2>&1 &
  pids[$i]=$!
}
for i in 0 1 2 3; do start_peer "$i"; done
# Kill peer 3 once it has done two rounds.
for _ in $(seq 600); do
  field "$work/peer3.jsonl" 2 round >/dev/null 2>&1 && break
  sleep 0.1
done
field "$work/peer3.jsonl" 2 round >/dev/null || fail "peer 3 never got to round 2"
# The peer runs under `timeout`: kill the fl-node process itself.
pkill -9 -P "${pids[3]}" || true
kill -9 "${pids[3]}" 2>/dev/null || true
wait "${pids[3]}" 2>/dev/null || true
echo "peer 3 killed after round 2"
# Restart it: it takes a neighbor's model and round and goes on.
start_peer 3 --rejoin
for i in 0 1 2 3; do
  wait "${pids[$i]}" || fail "peer $i exited non-zero"
done
pids=()
for i in 0 1 2; do
  field "$work/peer$i.jsonl" 14 test_accuracy >/dev/null \
    || fail "peer $i did not finish its 14 rounds"
done
grep -qE "lost peer-3|peer-3 sent nothing" "$work/peer0.log" "$work/peer2.log" \
  || fail "no neighbor noticed peer 3 was gone"
grep -q "caught up from peer-[02] at round" "$work/peer3.log" \
  || fail "the restarted peer did not catch up"
caught=$(grep -o "caught up from peer-[02] at round [0-9]*" "$work/peer3.log" | grep -o "[0-9]*$")
[ "$caught" -ge 2 ] || fail "caught up at round $caught"
field "$work/peer3.jsonl" 14 test_accuracy >/dev/null \
  || fail "the restarted peer did not finish"
acc=$(field "$work/peer0.jsonl" 14 test_accuracy)
python3 -c "assert $acc > 0.7, $acc" || fail "peer 0 accuracy $acc"
echo "across processes: peer 3 killed and restarted (caught up at round $caught); peer 0 final accuracy $acc"
echo "gossip tests passed"
