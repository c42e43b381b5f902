#!/usr/bin/env bash
# Installs, builds and runs the main job: a loopback federation of one
# server and one client process (4 clients). Extra arguments go to both
# fl-node commands.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
fl_node="${BUILD_DIR:-$root/build}/cli/fl-node"
out=${OUT_DIR:-$root/out}
mkdir -p "$out"
rm -f "$out/port"

"$fl_node" --help
echo
echo "== loopback federation: 1 server + 1 client process =="
"$fl_node" server --model synthetic --clients 4 --clients-per-round 4 \
  --rounds 5 --port-file "$out/port" --metrics "$out/metrics.jsonl" \
  --checkpoint-dir "$out" "$@" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.1; done
"$fl_node" client --model synthetic --clients 4 \
  --upstream "127.0.0.1:$(cat "$out/port")" "$@"
wait $server
trap - EXIT
echo "metrics: $out/metrics.jsonl, checkpoint: $out/model.ckpt"
