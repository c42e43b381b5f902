#!/usr/bin/env bash
# Same seed, same settings, same bits: two `fl-node sim` runs (several
# training threads, so updates arrive in different orders) write
# byte-identical checkpoints and identical metrics apart from timings, for
# sync rounds and for FedBuff; a third run started from the first run's
# metrics file (its manifest) repeats it too.
set -euo pipefail
FL_NODE=${1:?usage: reproducible_run_test.sh path/to/fl-node}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every line without timing fields.
untimed_all() { sed -E 's/"[a-z_]*seconds":[0-9.e+-]*,?//g' "$1"; }

# The records without the manifest line and without timing fields.
untimed() {
  grep -v '^{"manifest"' "$1" | sed -E 's/"[a-z_]*(seconds|per_second)":[0-9.e+-]*,?//g'
}

run() { # run <dir> <flags...>
  local dir=$1; shift
  mkdir -p "$dir"
  timeout 120 "$FL_NODE" sim --log-level warn --metrics "$dir/m.jsonl" \
    --checkpoint-dir "$dir" "$@" >"$dir/out" 2>&1 \
    || { echo "run failed: $*"; cat "$dir/out"; exit 1; }
}

same() { # same <dir a> <dir b>
  cmp "$1/model.ckpt" "$2/model.ckpt" \
    || { echo "checkpoints differ: $1 $2"; exit 1; }
  diff <(untimed "$1/m.jsonl") <(untimed "$2/m.jsonl") \
    || { echo "metrics differ: $1 $2"; exit 1; }
}

common=(--model synthetic --synthetic-params 20000 --clients 24 --workers 3
        --seed 5)
run "$work/sync1" "${common[@]}" --clients-per-round 9 --rounds 4 \
  --client-metrics "$work/sync1/c.jsonl"
run "$work/sync2" "${common[@]}" --clients-per-round 9 --rounds 4 \
  --client-metrics "$work/sync2/c.jsonl"
same "$work/sync1" "$work/sync2"
# Per-client records: one per sampled client and round, in the same order.
[ "$(grep -c '"status":"ok"' "$work/sync1/c.jsonl")" -eq 36 ]
diff <(untimed_all "$work/sync1/c.jsonl") <(untimed_all "$work/sync2/c.jsonl")
grep -q '"test_accuracy"' "$work/sync1/m.jsonl"
head -1 "$work/sync1/m.jsonl" | grep -q '^{"manifest":{"fedactor_version"'

# A rerun from the manifest; the file it repeats is never overwritten.
run "$work/again" --config "$work/sync1/m.jsonl"
same "$work/sync1" "$work/again"
if "$FL_NODE" sim --config "$work/sync1/m.jsonl" >"$work/clobber" 2>&1; then
  echo "a rerun was allowed to overwrite its own manifest"; exit 1
fi
grep -q "would overwrite" "$work/clobber"

buff=(--mode fedbuff --concurrency 8 --buffer-k 4 --max-updates 40
      --eval-every 2)
run "$work/buff1" "${common[@]}" "${buff[@]}" --client-metrics "$work/buff1/c.jsonl"
run "$work/buff2" "${common[@]}" "${buff[@]}" --client-metrics "$work/buff2/c.jsonl"
same "$work/buff1" "$work/buff2"
[ "$(grep -c '"status":"taken"' "$work/buff1/c.jsonl")" -eq 40 ]
diff <(untimed_all "$work/buff1/c.jsonl") <(untimed_all "$work/buff2/c.jsonl")
echo "reproducible: sync and FedBuff runs and the manifest rerun match"
