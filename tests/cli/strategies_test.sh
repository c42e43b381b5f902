#!/usr/bin/env bash
# Every strategy family runs end to end in `fl-node sim` (synthetic model):
# sync rounds, FedBuff with a robust rule and a server optimizer, FedAsync
# and FedBuff with compressed deltas, Byzantine clients; each run exits 0
# and writes a metrics record per round or version.
set -uo pipefail
FL_NODE=${1:?usage: strategies_test.sh path/to/fl-node}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
n=0

expect_run() { # expect_run <records> <flags...>
  local want=$1; shift
  n=$((n + 1))
  local out="$work/run$n.jsonl"
  if ! timeout 120 "$FL_NODE" sim --model synthetic --synthetic-params 2000 \
      --clients 12 --clients-per-round 6 --rounds 4 --metrics "$out" \
      --log-level warn "$@" >"$work/log$n" 2>&1; then
    echo "FAIL: fl-node sim $* exited non-zero:"; cat "$work/log$n"; fail=1
    return
  fi
  local got
  got=$(grep -c '"test_loss"\|"outcome"' "$out" || true)
  if [ "$got" -lt "$want" ]; then
    echo "FAIL: fl-node sim $*: $got records, expected >= $want"; fail=1
  fi
}

for s in fedavg fedavgm fedadam fedyogi fedadagrad fedprox scaffold fednova \
         median trimmed-mean krum multi-krum norm-bound; do
  expect_run 4 --strategy "$s"
done
expect_run 4 --strategy median --byzantine-fraction 0.25 --byzantine-attack huge
expect_run 4 --compress topk --topk-ratio 0.05 --compress-momentum 0.5
expect_run 4 --compress qsgd --qsgd-bits 4 --strategy fedadam
expect_run 4 --compress bf16 --strategy krum --krum-f 1
expect_run 1 --mode fedbuff --buffer-k 4 --strategy median --max-updates 16
expect_run 1 --mode fedbuff --buffer-k 4 --strategy fedadam --compress topk \
  --max-updates 16
expect_run 1 --mode async --compress fp16 --max-updates 12
expect_run 4 --client-eval-every 2 --holdout 0.2
grep -q '"round":2,.*"clients_evaluated":6' "$work/run$n.jsonl" \
  || { echo "FAIL: no client-side evaluation in sync mode"; fail=1; }
expect_run 1 --mode fedbuff --buffer-k 2 --max-updates 24 --eval-every 2 \
  --client-eval-every 2 --holdout 0.2
grep -q '"model_version":2,.*"clients_evaluated":' "$work/run$n.jsonl" \
  || { echo "FAIL: no client-side evaluation in FedBuff"; cat "$work/run$n.jsonl"; fail=1; }
# A stateful strategy resumes with its state, and refuses to without it.
ckpt="$work/ckpt"
mkdir -p "$ckpt"
common=(--model synthetic --synthetic-params 2000 --clients 6
        --clients-per-round 3 --strategy scaffold --checkpoint-dir "$ckpt"
        --log-level warn)
if ! timeout 120 "$FL_NODE" sim "${common[@]}" --rounds 2 \
    --metrics "$work/first.jsonl" >"$work/first.log" 2>&1; then
  echo "FAIL: scaffold with checkpoints:"; cat "$work/first.log"; fail=1
fi
[ -s "$ckpt/strategy.ckpt" ] || { echo "FAIL: no strategy.ckpt written"; fail=1; }
if ! timeout 120 "$FL_NODE" sim "${common[@]}" --rounds 4 --resume \
    --metrics "$work/resumed.jsonl" >"$work/resumed.log" 2>&1; then
  echo "FAIL: scaffold resume:"; cat "$work/resumed.log"; fail=1
fi
grep -q '"round":4,' "$work/resumed.jsonl" || { echo "FAIL: resume did not reach round 4"; fail=1; }
rm "$ckpt/strategy.ckpt"
if out=$(timeout 120 "$FL_NODE" sim "${common[@]}" --rounds 6 --resume \
    --metrics "" 2>&1) || ! grep -q "strategy.ckpt' is missing" <<<"$out"; then
  echo "FAIL: resume without the strategy state should be refused; got:"
  echo "$out"; fail=1
fi
exit $fail
