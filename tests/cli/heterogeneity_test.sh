#!/usr/bin/env bash
# Simulated heterogeneity through fl-node: a bad trace is refused with its
# line; clients offline for the whole run never train; a run where clients
# come and go finishes, and its dropouts are recorded as failures.
set -uo pipefail
FL_NODE=${1:?usage: heterogeneity_test.sh path/to/fl-node}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
base=(sim --model synthetic --synthetic-params 2000)
sim=("${base[@]}" --log-level warn)

printf 'client,speed,availability\nclient-1,2,\nclient-2,fast,\n' >"$work/bad.csv"
out=$(timeout 60 "$FL_NODE" "${sim[@]}" --clients 10 --client-trace "$work/bad.csv" 2>&1); rc=$?
if [ $rc -ne 2 ] || ! grep -q "bad.csv:3: speed 'fast' must be a number > 0" <<<"$out"; then
  echo "FAIL: a bad trace row should be refused with its line (rc=$rc):"; echo "$out"; fail=1
fi
out=$(timeout 60 "$FL_NODE" "${sim[@]}" --clients 10 --availability 0 2>&1); rc=$?
if [ $rc -ne 2 ] || ! grep -q "availability must be in (0, 1]" <<<"$out"; then
  echo "FAIL: --availability 0 should be refused (rc=$rc):"; echo "$out"; fail=1
fi

# Clients 0-5 of 12 are offline for the whole run.
{
  echo "client,speed,availability"
  for i in 0 1 2 3 4 5; do echo "$i,1,1000000-2000000"; done
} >"$work/trace.csv"
timeout 120 "$FL_NODE" "${sim[@]}" --clients 12 --clients-per-round 4 --rounds 6 \
  --client-trace "$work/trace.csv" --client-metrics "$work/c.jsonl" \
  --metrics "$work/m.jsonl" >"$work/out" 2>&1 || { echo "FAIL: traced run"; cat "$work/out"; fail=1; }
trained=$(grep -o '"client":"client-[0-9]*"' "$work/c.jsonl" | sort -u | tr '\n' ' ')
if grep -q '"client":"client-[0-5]"' "$work/c.jsonl"; then
  echo "FAIL: an offline client trained: $trained"; fail=1
fi
[ "$(grep -c '"round"' "$work/m.jsonl")" -eq 6 ] || { echo "FAIL: 6 rounds expected"; fail=1; }

# Nobody is online for the first simulated second: the server waits and
# retries, then trains.
{
  echo "client,speed,availability"
  for i in 0 1 2 3 4 5; do echo "$i,1,1-1000000"; done
} >"$work/late.csv"
timeout 120 "$FL_NODE" "${base[@]}" --clients 6 --clients-per-round 3 --rounds 3 \
  --client-trace "$work/late.csv" --metrics "$work/l.jsonl" >"$work/out" 2>&1 \
  || { echo "FAIL: run with a late start"; cat "$work/out"; fail=1; }
grep -q "no client online for round 1; retrying" "$work/out" \
  || { echo "FAIL: no retry while every client was offline"; cat "$work/out"; fail=1; }
[ "$(grep -c '"round"' "$work/l.jsonl")" -eq 3 ] || { echo "FAIL: 3 rounds expected after the wait"; fail=1; }

# Online half of every 0.2 s (simulated 1 s at scale 5), half the clients
# 3x slower: the run ends, with every round recorded.
timeout 120 "$FL_NODE" "${sim[@]}" --clients 40 --clients-per-round 8 --rounds 8 \
  --quorum 0.5 --availability 0.5 --availability-period 1 --sim-time-scale 5 \
  --speed-sigma 1 --metrics "$work/a.jsonl" >"$work/out" 2>&1 \
  || { echo "FAIL: run with availability windows"; cat "$work/out"; fail=1; }
[ "$(grep -c '"round"' "$work/a.jsonl")" -eq 8 ] || { echo "FAIL: 8 rounds expected"; fail=1; }

exit $fail
