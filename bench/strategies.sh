#!/usr/bin/env bash
# The strategy zoo, robust rules and update compression on Fashion-MNIST
# (MLP, 100 clients, 10 per round, seed 0), one fl-node sim per cell:
#   1. non-IID (Dirichlet alpha 0.1), 100 rounds: test accuracy at rounds
#      25/50/100 for FedAvg, FedAvgM, FedAdam, FedYogi, FedProx, SCAFFOLD,
#      FedNova;
#   2. Byzantine (W1, 20% malicious clients), 30 rounds: accuracy of the
#      last model per attack and rule, with the model guard's change bound
#      off (--max-change-ratio 0: the rules alone), on (the default) and on
#      with --quorum 0.5 (BYZ_GUARDS="off on quorum" picks which);
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
last_acc() { # last_acc <jsonl>: the accuracy of the last evaluated model
  sed -n 's/.*"test_accuracy":\([0-9.]*\).*/\1/p' "$1" | tail -1
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
  # Who attacks (seeded, the same in every run) and how many attackers each
  # round's sample holds: a rule breaks in a round where they exceed what
  # it tolerates (median: 4 of 10; trimmed mean beta: beta x 10 per side;
  # Krum f), and one "huge" round is enough to ruin the model.
  "$FL_NODE" sim --byzantine-fraction 0.2 --rounds 30 --metrics "" \
    --client-metrics "$work/sample.jsonl" --log-level warn >/dev/null \
    2>"$work/attackers.log"
  attackers=$(sed -n 's/.*simulated clients are Byzantine ([a-z]*): //p' "$work/attackers.log")
  echo
  echo "== Byzantine: W1 with 20% malicious clients, test accuracy after 30 rounds =="
  echo "attackers: $attackers"
  awk -v list="$attackers" 'BEGIN { n = split(list, a, ", "); for (i = 1; i <= n; i++) bad["\"" a[i] "\""] = 1 }
    { match($0, /"round":[0-9]+/); r = substr($0, RSTART + 8, RLENGTH - 8)
      match($0, /"client":"[^"]*"/); c = substr($0, RSTART + 9, RLENGTH - 9)
      if (c in bad) k[r]++ }
    END { for (r = 1; r <= 30; r++) { h[k[r] + 0]++; if (k[r] > m) m = k[r] }
          printf "attackers per round of 10:"; for (i = 0; i <= m; i++) printf " %d x%d", i, h[i]; printf "\n" }' \
    "$work/sample.jsonl"
  rules="fedavg median trimmed-mean:0.2 trimmed-mean:0.4 krum:2 multi-krum:2 multi-krum:4 norm-bound"
  for guard in ${BYZ_GUARDS:-off on quorum}; do
    echo
    case $guard in
      off) echo "-- the rules alone (model guard's change bound off: --max-change-ratio 0)" ;;
      on) echo "-- with the model guard's default change bound (10 x the model norm); quorum 1" ;;
      quorum) echo "-- with the guard's bound and --quorum 0.5 (a round goes on without refused updates)" ;;
    esac
    printf "%-10s" attack
    for r in $rules; do printf " %15s" "$r"; done
    echo
    for a in none signflip noise huge; do
      printf "%-10s" "$a"
      for r in $rules; do
        name=${r%%:*}
        arg=${r#*:}
        f="$work/byz-$guard-$a-${r/:/-}.jsonl"
        flags=(--strategy "$name")
        case $name in
          trimmed-mean) flags+=(--trim-beta "$arg") ;;
          krum|multi-krum) flags+=(--krum-f "$arg") ;;
        esac
        [[ $guard == off ]] && flags+=(--max-change-ratio 0)
        [[ $guard == quorum ]] && flags+=(--quorum 0.5)
        [[ $a != none ]] && flags+=(--byzantine-fraction 0.2 --byzantine-attack "$a")
        run "$f" "${flags[@]}" || true
        printf " %15s" "$(last_acc "$f")"
      done
      echo
    done
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
