#!/usr/bin/env bash
# Decentralized training on W1 data (Fashion-MNIST, MLP, IID, 1 local
# epoch of SGD lr 0.05 batch 32, seed 0), every sample used once per round:
#  1. 16 peers (and 64 in one process) for ring, static Exp-2, dynamic
#     one-peer Exp-2 and fully connected, next to server FedAvg with the
#     same 16 (64) clients all training every round: the average model's
#     test accuracy, consensus distance and bytes sent per peer per round.
#  2. 20% of 16 peers 5x slower: synchronous against asynchronous
#     (push-sum) gossip, time to 0.80 test accuracy of the average model.
# usage: bench/gossip.sh [path/to/fl-node] [rounds] [peer counts...]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
ROUNDS=${2:-30}
shift 2 || true
[ $# -gt 0 ] && COUNTS=("$@") || COUNTS=(16 64)
out=${OUT:-out/gossip}
mkdir -p "$out"

run() { # run <name> <flags...>: one run's metrics into $out/<name>.jsonl
  local name=$1; shift
  # KEEP=1 keeps the runs already in $out (to redo only some).
  [ "${KEEP:-0}" = 1 ] && [ -s "$out/$name.jsonl" ] && return 0
  "$FL_NODE" sim --rounds "$ROUNDS" --log-level warn \
    --metrics "$out/$name.jsonl" "$@" >"$out/$name.log" 2>&1 \
    || { echo "$name failed"; tail "$out/$name.log"; exit 1; }
}

for n in "${COUNTS[@]}"; do
  # 16 sampled of the peers' accuracy spread is enough; evaluate every 5th
  # round with 64 peers to keep the run short (the last is always).
  every=1; [ "$n" -gt 16 ] && every=5
  run "fedavg-$n" --clients "$n" --clients-per-round "$n" --eval-every "$every" \
    --workers 2
  for t in ring exp2 exp2-one-peer full; do
    run "$t-$n" --mode gossip --clients "$n" --topology "$t" \
      --eval-every "$every" --eval-peers 16 --workers 2
  done
done

# Slow peers: 20% of 16 are 5x slower (seeded), same data and model. One
# training thread per peer, as if each had its own processor: a slow
# peer's extra time (4 x its training time) then counts as it would there,
# instead of vanishing in the queue of a 2-thread pool.
slow=(--mode gossip --clients 16 --topology exp2-one-peer --workers 16
      --straggler-fraction 0.2 --straggler-slowdown 5 --eval-peers 0)
run "slow-sync" "${slow[@]}"
run "slow-async" "${slow[@]}" --async-gossip --snapshot-interval 1
run "slow-async-s40" "${slow[@]}" --async-gossip --snapshot-interval 1 \
  --gossip-max-staleness 40

python3 - "$out" "$ROUNDS" "${COUNTS[@]}" <<'PY'
import json, sys
out, rounds, counts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def records(name):
    return [json.loads(l) for l in open(f"{out}/{name}.jsonl")
            if l.startswith('{"round"')]
def at(recs, r, key):
    for x in recs:
        if x["round"] == r and key in x:
            return x[key]
    return None
def fmt(v, spec=".4f"):
    return "  -   " if v is None else format(v, spec)
marks = [r for r in (1, 5, 10, 20, 30) if r <= rounds]
if rounds not in marks:
    marks.append(rounds)
for n in counts:
    fed = records(f"fedavg-{n}")
    print(f"\n{n} peers, {rounds} rounds; test accuracy of the average model "
          f"(server FedAvg: its global model) at rounds {marks}")
    print(f"{'run':<16} " + " ".join(f"r{r:<6}" for r in marks)
          + "  peers' own (mean+-sd)  consensus@last  models/peer/round"
          + "  MB/peer/round  wall s")
    rows = [("server FedAvg", fed)] + [(t, records(f"{t}-{n}")) for t in
             ("ring", "exp2", "exp2-one-peer", "full")]
    final_fed = at(fed, rounds, "test_accuracy")
    for name, recs in rows:
        accs = " ".join(f"{fmt(at(recs, r, 'test_accuracy')):<7}" for r in marks)
        last = recs[-1]
        cons = last.get("consensus_distance")
        models = last.get("models_sent_per_peer")
        mb = last.get("bytes_sent_per_peer")
        mb = None if mb is None else mb / 1e6
        own = "          -          "
        if "peer_accuracy_mean" in last:
            own = (f"{last['peer_accuracy_mean']:.4f} +- "
                   f"{last['peer_accuracy_std']:.4f}    ")
        print(f"{name:<16} {accs}  {own}  {fmt(cons, '>14.4f')}  "
              f"{fmt(models, '>17.2f')}  {fmt(mb, '>13.2f')}  "
              f"{last['elapsed_seconds']:>6.1f}")
    for name, recs in rows[1:]:
        acc = at(recs, rounds, "test_accuracy")
        if acc is not None and final_fed is not None:
            print(f"  {name}: {100 * (acc - final_fed):+.2f} points vs "
                  f"server FedAvg at round {rounds}")
print("\n16 peers, exp2-one-peer, 20% of peers 5x slower, one thread per "
      "peer: time to 0.80 test accuracy of the average model (async: "
      "--gossip-max-staleness 10, and 40)")
for name in ("slow-sync", "slow-async", "slow-async-s40"):
    recs = records(name)
    hit = next((x for x in recs if x.get("test_accuracy", 0) >= 0.80), None)
    best = max(x.get("test_accuracy", 0) for x in recs)
    when = "not reached" if hit is None else \
        f"{hit['elapsed_seconds']:.1f} s (mean step {hit['mean_step']:.1f})"
    print(f"  {name:<11} {when}; best {best:.4f}, run {recs[-1]['elapsed_seconds']:.1f} s")
PY
