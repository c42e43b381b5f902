#!/usr/bin/env bash
# Hierarchical federation figures on loopback:
#  1. W1 direct (1 server + 2 client processes of 50 clients) vs through 2
#     schedulers (server samples both, each samples 5 of its 50): median
#     round time, top-server bytes received per round, final accuracy;
#  2. setup time of 100 client processes (one client each, synthetic model):
#     from the first spawn to the server's "100 clients joined".
# usage: bench/hierarchy.sh [path/to/fl-node]
set -euo pipefail
FL_NODE=$(readlink -f "${1:-build/cli/fl-node}")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
wait_file() { for _ in $(seq 300); do [ -s "$1" ] && return; sleep 0.05; done; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # report <label> <metrics>
  printf "%-22s median round %s s | top-server bytes in/round %s | final acc %s\n" \
    "$1" "$(field round_seconds "$2" | median)" "$(field bytes_in "$2" | median)" \
    "$(field test_accuracy "$2" | tail -1)"
}

echo "== W1 direct vs through 2 schedulers ($(nproc) cores)"
"$FL_NODE" server --clients 2 --clients-per-round 10 --port-file "$work/p" \
  --metrics "$work/direct.jsonl" --log-level warn --min-clients 100 >/dev/null 2>&1 &
wait_file "$work/p"
for k in 0 1; do
  "$FL_NODE" client --clients 50 --client-offset $((k * 50)) --total-clients 100 \
    --workers 1 --upstream "127.0.0.1:$(cat "$work/p")" --log-level warn >/dev/null 2>&1 &
done
wait
report "direct" "$work/direct.jsonl"

rm -f "$work/p"
"$FL_NODE" server --clients 2 --clients-per-round 2 --port-file "$work/p" \
  --metrics "$work/hier.jsonl" --log-level warn >/dev/null 2>&1 &
wait_file "$work/p"
for k in 0 1; do
  "$FL_NODE" scheduler --upstream "127.0.0.1:$(cat "$work/p")" --id "sched-$k" \
    --clients 50 --clients-per-round 5 --port-file "$work/s$k" --log-level warn \
    >/dev/null 2>&1 &
done
for k in 0 1; do
  wait_file "$work/s$k"
  "$FL_NODE" client --clients 50 --client-offset $((k * 50)) --total-clients 100 \
    --workers 1 --upstream "127.0.0.1:$(cat "$work/s$k")" --log-level warn >/dev/null 2>&1 &
done
wait
report "through 2 schedulers" "$work/hier.jsonl"

echo "== setup time of 100 client processes"
rm -f "$work/p"
"$FL_NODE" server --model synthetic --clients 100 --clients-per-round 10 \
  --rounds 1 --port-file "$work/p" --metrics "" >"$work/setup.log" 2>&1 &
wait_file "$work/p"
start=$(date +%s%N)
for i in $(seq 0 99); do
  "$FL_NODE" client --model synthetic --clients 1 --client-offset "$i" \
    --total-clients 100 --workers 1 --upstream "127.0.0.1:$(cat "$work/p")" \
    --log-level warn >/dev/null 2>&1 &
done
for _ in $(seq 1200); do grep -q "100 clients joined" "$work/setup.log" && break; sleep 0.05; done
end=$(date +%s%N)
wait
echo "100 client processes joined in $(( (end - start) / 1000000 )) ms"
