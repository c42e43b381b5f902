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
printf '{"round":1}\n' >"$work/records.jsonl"
expect_error "does not start with a run manifest" sim --config "$work/records.jsonl"

# Flags override the file.
printf '[federation]\nquorum = 7\n' >"$work/override.toml"
out=$(timeout 60 "$FL_NODE" sim --config "$work/override.toml" --quorum 1 \
  --model synthetic --synthetic-params 100 --clients 2 --clients-per-round 2 \
  --rounds 1 --metrics "" 2>&1) || { echo "FAIL: override: $out"; fail=1; }

"$FL_NODE" --help | grep -q "sim" || { echo "FAIL: --help"; fail=1; }
exit $fail
