#!/usr/bin/env bash
# Bad flags and bad config files get a clear message and a non-zero exit.
set -uo pipefail
FL_NODE=${1:?usage: config_errors_test.sh path/to/fl-node}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

expect_error() { # expect_error <pattern> <args...>
  local pattern=$1; shift
  local out rc
  out=$(timeout 30 "$FL_NODE" "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: fl-node $* (rc=$rc) should report '$pattern'; got:"; echo "$out"
    fail=1
  fi
}

expect_error "quorum" sim --quorum 1.5
expect_error "expected an integer" sim --rounds ten
expect_error "node.port" server --port 99999
expect_error "HOST:PORT" client --upstream nowhere --model synthetic
printf '[federation]\nroundz = 3\n' >"$work/bad.toml"
expect_error "unknown key 'federation.roundz'" sim --config "$work/bad.toml"
printf '[training]\nlr = "fast"\n' >"$work/type.toml"
expect_error "must be a number" sim --config "$work/type.toml"
printf '[[node]]\nrole = "client"\nclients = 1\n' >"$work/cluster.toml"
expect_error "exactly one server" launch "$work/cluster.toml"
expect_error "upstream HOST:PORT is required" scheduler
expect_error "async.clock must be auto, logical or arrival" sim --clock sideways
expect_error "eval_every and eval_workers must be >= 0" sim --eval-workers -1
expect_error "unknown strategy 'fedavgg'; known: " sim --strategy fedavgg
expect_error "strategy.krum_f = 9 needs at least 12 updates" sim --strategy krum --krum-f 9
expect_error "strategy median does not work with --mode async" sim --strategy median --mode async
expect_error "strategy scaffold needs synchronous rounds" sim --strategy scaffold --mode fedbuff
expect_error "client_eval_every needs held-out data" sim --client-eval-every 2
expect_error "compression.method must be none, topk" sim --compress zip
expect_error "byzantine_attack must be none, signflip" sim --byzantine-attack lies
expect_error "data.holdout must be in" sim --holdout 1.5
printf '{"round":1}\n' >"$work/records.jsonl"
expect_error "does not start with a run manifest" sim --config "$work/records.jsonl"

# Flags override the file.
printf '[federation]\nquorum = 7\n' >"$work/override.toml"
out=$(timeout 60 "$FL_NODE" sim --config "$work/override.toml" --quorum 1 \
  --model synthetic --synthetic-params 100 --clients 2 --clients-per-round 2 \
  --rounds 1 --metrics "" 2>&1) || { echo "FAIL: override: $out"; fail=1; }

# A typo gets the nearest flag; a flag of another subcommand names it.
expect_error "unknown flag --round for \`fl-node sim\`; did you mean --rounds?" sim --round 5
expect_error "did you mean --clients-per-round?" sim --clients-per-rnd 5
expect_error "upstream is a flag of \`fl-node client\` and \`fl-node scheduler\`, not of \`fl-node server\`" server --upstream 127.0.0.1:1
expect_error "unknown flag --zzzzzz for \`fl-node sim\`$" sim --zzzzzz

# Contradictory settings are warned about.
tiny=(--model synthetic --synthetic-params 100 --rounds 1 --metrics "")
out=$(timeout 60 "$FL_NODE" sim "${tiny[@]}" --clients 2 --clients-per-round 5 \
  --checkpoint-dir "" 2>&1) || { echo "FAIL: warning run: $out"; fail=1; }
grep -q "clients_per_round = 5 is above federation.clients = 2" <<<"$out" \
  || { echo "FAIL: no warning for clients_per_round > clients: $out"; fail=1; }

# A missing checkpoint folder is created; one that cannot be is refused
# before training; a checkpoint that fails makes the run fail.
timeout 60 "$FL_NODE" sim "${tiny[@]}" --clients 2 --clients-per-round 2 \
  --checkpoint-dir "$work/new/ckpt" >/dev/null 2>&1 \
  && [ -f "$work/new/ckpt/model.ckpt" ] \
  || { echo "FAIL: missing checkpoint folder not created"; fail=1; }
touch "$work/plain-file"
expect_error "cannot create the checkpoint folder '$work/plain-file/ckpt'" \
  sim "${tiny[@]}" --checkpoint-dir "$work/plain-file/ckpt"
mkdir -p "$work/blocked/model.ckpt" # the checkpoint's own path is a folder
expect_error "checkpoint(s) failed" sim "${tiny[@]}" --clients 2 \
  --clients-per-round 2 --checkpoint-dir "$work/blocked"
expect_error "checkpoint(s) failed" sim "${tiny[@]}" --clients 2 \
  --clients-per-round 2 --mode async --max-updates 4 \
  --checkpoint-dir "$work/blocked"

"$FL_NODE" --help | grep -q "sim" || { echo "FAIL: --help"; fail=1; }
exit $fail
