#!/usr/bin/env bash
# The strategy zoo, robust rules and update compression on Fashion-MNIST
# (MLP, 100 clients, 10 per round, seed 0), one fl-node sim per cell:
#   1. non-IID (Dirichlet alpha 0.1), 100 rounds: test accuracy at rounds
#      25/50/100 for FedAvg, FedAvgM, FedAdam, FedYogi, FedProx, SCAFFOLD,
#      FedNova;
#   2. Byzantine (W1, 20% malicious clients), 30 rounds: accuracy at round
#      30 per attack and rule; the model guard's change bound is off
#      (--max-change-ratio 0) so that the rules alone are compared;
#   3. compression (W1), 30 rounds: upload bytes per round and accuracy at
#      round 30;
#   4. `fl-node bench robust`: GB/s of the rules and compressors.
# usage: bench/strategies.sh [path/to/fl-node] [tables, default "1 2 3 4"]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
TABLES=${2:-1 2 3 4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

acc_at() { # acc_at <round> <jsonl>
  grep "\"round\":$1," "$2" | sed -n 's/.*"test_accuracy":\([0-9.]*\).*/\1/p'
}
field_at() { # field_at <field> <round> <jsonl>
  grep "\"round\":$2," "$3" | sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"
}
run() { # run <out.jsonl> <flags...>
  local out=$1
  shift
  "$FL_NODE" sim --metrics "$out" --log-level error "$@" >/dev/null
}

echo "strategies on $(nproc) cores; $(date -u +%FT%TZ)"

if [[ " $TABLES " == *" 1 "* ]]; then
  echo
  echo "== non-IID: Dirichlet alpha 0.1, 100 clients, 10 per round, 100 rounds =="
  printf "%-10s %8s %8s %8s %8s\n" strategy r25 r50 r100 best
  for s in fedavg fedavgm fedadam fedyogi fedprox scaffold fednova; do
    f="$work/noniid-$s.jsonl"
    run "$f" --strategy "$s" --partition dirichlet --dirichlet-alpha 0.1 \
      --rounds 100
    best=$(sed -n 's/.*"test_accuracy":\([0-9.]*\).*/\1/p' "$f" | sort -g | tail -1)
    printf "%-10s %8s %8s %8s %8s\n" "$s" "$(acc_at 25 "$f")" \
      "$(acc_at 50 "$f")" "$(acc_at 100 "$f")" "$best"
  done
fi

if [[ " $TABLES " == *" 2 "* ]]; then
  echo
  echo "== Byzantine: W1 with 20% malicious clients, accuracy at round 30 (guard bound off) =="
  rules="fedavg median trimmed-mean krum multi-krum norm-bound"
  printf "%-10s" attack
  for r in $rules; do printf " %12s" "$r"; done
  echo
  for a in none signflip noise huge; do
    printf "%-10s" "$a"
    for r in $rules; do
      f="$work/byz-$a-$r.jsonl"
      flags=(--strategy "$r" --max-change-ratio 0 --krum-f 2 --trim-beta 0.2)
      [[ $a != none ]] && flags+=(--byzantine-fraction 0.2 --byzantine-attack "$a")
      run "$f" "${flags[@]}"
      printf " %12s" "$(acc_at 30 "$f")"
    done
    echo
  done
fi

if [[ " $TABLES " == *" 3 "* ]]; then
  echo
  echo "== compression: W1, upload bytes per round and accuracy at round 30 =="
  printf "%-22s %14s %8s %8s\n" method "bytes/round" ratio r30
  dense=0
  while IFS='|' read -r label flags; do
    f="$work/comp-${label// /_}.jsonl"
    # shellcheck disable=SC2086
    run "$f" $flags
    bytes=$(field_at bytes_in 30 "$f")
    [[ $dense == 0 ]] && dense=$bytes
    printf "%-22s %14s %7.1fx %8s\n" "$label" "$bytes" \
      "$(awk -v d="$dense" -v b="$bytes" 'BEGIN {print d / b}')" "$(acc_at 30 "$f")"
  done <<'EOF_METHODS'
dense|
dense, FedAvgM|--strategy fedavgm
top-k 1% + EF|--compress topk --topk-ratio 0.01
top-k 1% + EF, FedAvgM|--compress topk --topk-ratio 0.01 --strategy fedavgm
top-k 10% + EF|--compress topk --topk-ratio 0.1
top-k 1% + DGC m=0.5|--compress topk --topk-ratio 0.01 --compress-momentum 0.5
QSGD 8 bit|--compress qsgd --qsgd-bits 8
QSGD 4 bit|--compress qsgd --qsgd-bits 4
fp16|--compress fp16
bf16|--compress bf16
EOF_METHODS
fi

if [[ " $TABLES " == *" 4 "* ]]; then
  echo
  "$FL_NODE" bench robust --sizes 1e6 1e7
fi
