#!/usr/bin/env bash
# Workload W1 (Fashion-MNIST, MLP, 100 clients IID, 10 per round, 30 rounds,
# seed 0) twice: in one process (`fl-node sim`) and as 1 server + 2 client
# processes on loopback. Prints, per mode: median round time, total time,
# test accuracy at rounds 1/5/10/20/30 and peak RSS.
# usage: bench/w1.sh [path/to/fl-node] [extra fl-node flags...]
set -euo pipefail
FL_NODE=${1:-build/cli/fl-node}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT

rss_kb() { awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$1"; }

field() { # field <name> <jsonl>: the numeric values of one field, per line
  sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"
}

summary() { # summary <label> <metrics.jsonl> <wall ms> <rss text>
  local med accs=""
  med=$(field round_seconds "$2" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  for r in 1 5 10 20 30; do
    accs+=" r$r $(grep "\"round\":$r," "$2" | sed -n 's/.*"test_accuracy":\([0-9.]*\).*/\1/p')"
  done
  printf "%-10s median round %s s | total %d.%03d s | acc%s | peak RSS %s\n" \
    "$1" "$med" $(($3 / 1000)) $(($3 % 1000)) "$accs" "$4"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "W1 on $(nproc) cores; $(date -u +%FT%TZ)"

start=$(now_ms)
/usr/bin/time -v "$FL_NODE" sim --metrics "$work/sim.jsonl" --log-level warn "$@" \
  >/dev/null 2>"$work/sim.time"
wall=$(( $(now_ms) - start ))
summary "sim" "$work/sim.jsonl" "$wall" "$(( $(rss_kb "$work/sim.time") / 1024 )) MiB"

start=$(now_ms)
/usr/bin/time -v "$FL_NODE" server --clients 100 --port-file "$work/port" \
  --metrics "$work/proc.jsonl" --log-level warn "$@" >/dev/null 2>"$work/server.time" &
server=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
for k in 0 1; do
  /usr/bin/time -v "$FL_NODE" client --clients 50 --client-offset $((k * 50)) \
    --total-clients 100 --workers 1 --upstream "127.0.0.1:$(cat "$work/port")" \
    --log-level warn "$@" >/dev/null 2>"$work/client$k.time" &
done
wait
wall=$(( $(now_ms) - start ))
summary "1+2 procs" "$work/proc.jsonl" "$wall" \
  "server $(( $(rss_kb "$work/server.time") / 1024 )) MiB, clients $(( $(rss_kb "$work/client0.time") / 1024 ))+$(( $(rss_kb "$work/client1.time") / 1024 )) MiB"
