#!/usr/bin/env bash
# The cost and the protection of the guarded edge, across processes on
# loopback:
#   1. W1 (1 server + 2 client processes) in plaintext with a token and with
#      mutual TLS: median round time, wall time, accuracy;
#   2. model bytes per second: a 25M-parameter synthetic model (100 MB),
#      2 clients, 6 rounds, plaintext vs TLS (each round moves the model
#      down and an update up per client);
#   3. W1 (60 rounds) while 2 hostile peers send runtime headers announcing
#      4 GiB, over and over from round 11 to 50 (before authenticating, and
#      after authenticating with a stolen token): the server's peak RSS and
#      round times before vs during.
# usage: bench/security.sh [path/to/fl-node] [path/to/fl_hostile_peer]
set -euo pipefail
FL_NODE=$(readlink -f "${1:-build/cli/fl-node}")
HOSTILE=$(readlink -f "${2:-build/tests/fl_hostile_peer}")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
token=bench-token-0123456789
"$FL_NODE" certs --out "$work/kits" server c0=client-0..49 c1=client-50..99 \
  b0=client-0 b1=client-1 >/dev/null

field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

run_federation() { # run_federation <label> <server flags> -- <client k flags...>
  local label=$1 sflags=$2 c0=$3 c1=$4; shift 4
  rm -f "$work/port"
  local start; start=$(now_ms)
  "$FL_NODE" server --port-file "$work/port" --metrics "$work/$label.jsonl" \
    --log-level warn $sflags "$@" >"$work/$label-server.log" 2>&1 &
  local server=$!
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  "$FL_NODE" client --upstream "127.0.0.1:$(cat "$work/port")" --log-level warn \
    $c0 "$@" >/dev/null 2>&1 &
  "$FL_NODE" client --upstream "127.0.0.1:$(cat "$work/port")" --log-level warn \
    $c1 "$@" >/dev/null 2>&1 &
  wait
  local wall=$(( $(now_ms) - start ))
  printf "%-22s median round %s s | wall %d.%03d s | final acc %s\n" "$label" \
    "$(field round_seconds "$work/$label.jsonl" | median)" \
    $((wall / 1000)) $((wall % 1000)) \
    "$(tail -1 "$work/$label.jsonl" | sed -n 's/.*"test_accuracy":\([0-9.]*\).*/\1/p')"
}

w1_clients="--clients 50 --total-clients 100 --workers 1"
echo "== 1: W1 across processes ($(nproc) cores)"
for mode in token tls; do
  if [ $mode = token ]; then s="--clients 100 --token $token"; a="--token $token"; b="--token $token"
  else s="--clients 100 --tls $work/kits/server"; a="--tls $work/kits/c0"; b="--tls $work/kits/c1"; fi
  run_federation "w1-$mode" "$s" "$w1_clients --client-offset 0 $a" \
    "$w1_clients --client-offset 50 $b"
done

echo "== 2: model bytes per second (25M parameters = 100 MB, 2 clients)"
big="--model synthetic --synthetic-params 25000000"
for mode in token tls; do
  if [ $mode = token ]; then s="--clients 2 --clients-per-round 2 --token $token"; a="--token $token"; b="$a"
  else s="--clients 2 --clients-per-round 2 --tls $work/kits/server"; a="--tls $work/kits/b0"; b="--tls $work/kits/b1"; fi
  run_federation "big-$mode" "$s $big --rounds 6" "--clients 1 --total-clients 2 $a $big" \
    "--clients 1 --client-offset 1 --total-clients 2 $b $big"
  med=$(field round_seconds "$work/big-$mode.jsonl" | median)
  awk -v m="$med" -v l="$mode" 'BEGIN { printf "  %s: 400 MB per round (2 down, 2 up) -> %.0f MB/s\n", l, 400 / m }'
done

echo "== 3: W1 under attack (2 hostile peers, 4 GiB headers, token mode)"
rm -f "$work/port"
"$FL_NODE" server --port-file "$work/port" --metrics "$work/attack.jsonl" \
  --log-level warn --clients 100 --rounds 60 --token "$token" --auth-timeout 2 \
  >"$work/attack-server.log" 2>&1 &
server=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
for k in 0 1; do
  "$FL_NODE" client --upstream "127.0.0.1:$port" --log-level warn $w1_clients \
    --client-offset $((k * 50)) --token "$token" >/dev/null 2>&1 &
done
peak=0
sample() { local r; r=$(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
           [ "${r:-0}" -gt "$peak" ] && peak=$r; true; }
rounds() { local n; n=$(grep -c '"round":' "$work/attack.jsonl" 2>/dev/null || true); echo "${n:-0}"; }
while [ "$(rounds)" -lt 10 ] && kill -0 $server 2>/dev/null; do sample; sleep 0.1; done
before_peak=$peak; peak=0
attacks=0
while [ "$(rounds)" -lt 50 ] && kill -0 $server 2>/dev/null; do
  for h in 0 1; do
    "$HOSTILE" header 127.0.0.1 "$port" 4294967295 >/dev/null 2>&1 &
    "$HOSTILE" header 127.0.0.1 "$port" 4294967295 --token "$token" \
      --identity "thief$h" >/dev/null 2>&1 &
    attacks=$((attacks + 2))
  done
  for _ in 1 2 3 4 5; do sample; sleep 0.1; done
done
during_peak=$peak
wait $server || true
rt() { sed -n "s/.*\"round\":\([0-9]*\),.*\"round_seconds\":\([0-9.e+-]*\).*/\1 \2/p" "$work/attack.jsonl"; }
echo "  server peak RSS: $((before_peak / 1024)) MiB in rounds 1-10, $((during_peak / 1024)) MiB in rounds 11-50 under $attacks attacks"
echo "  median round: $(rt | awk '$1 <= 10 {print $2}' | median) s before, $(rt | awk '$1 > 10 && $1 <= 50 {print $2}' | median) s during"
echo "  rounds accepted: $(grep -c '"accepted":true' "$work/attack.jsonl") of 60; refusals logged (once per address and reason): $(grep -c refused "$work/attack-server.log")"
