#!/usr/bin/env bash
# Model bytes per second between two processes: the engine's path (guarded
# transport, connectors, streamed pieces answered by credits) next to a
# plain TCP socket and memcpy, measured in the same run.
# usage: bench/transfer.sh [build-dir] [mib] [count]
#   NETNS=1 (as root) also measures across two network namespaces joined
#   by a veth pair. CHUNK_MIB and WINDOW set the engine's pieces.
set -euo pipefail
BUILD=${1:-build}
MIB=${2:-1024}
COUNT=${3:-3}
FL_NODE=$BUILD/cli/fl-node
TCP=$BUILD/bench/fl_bench_tcp
CHUNK=${CHUNK_MIB:-16}
WINDOW=${WINDOW:-4}
work=$(mktemp -d)
ns_a=flxfer-a-$$ ns_b=flxfer-b-$$
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  if [ "${NETNS:-0}" = 1 ]; then
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

# run_pair PREFIX_RECV PREFIX_SEND HOST: both measurements on one link.
run_pair() {
  local recv=$1 send=$2 host=$3
  rm -f "$work/p1" "$work/p2"
  $recv "$TCP" serve "$work/p1" "$MIB" "$COUNT" &
  wait_port "$work/p1"
  $send "$TCP" send "$host" "$(cat "$work/p1")" "$MIB" "$COUNT"
  wait
  $recv "$FL_NODE" bench transfer --serve --host 0.0.0.0 --port-file "$work/p2" 2>"$work/recv.log" \
    --mib "$MIB" --count "$COUNT" --chunk-mib "$CHUNK" --window "$WINDOW" &
  wait_port "$work/p2"
  if ! $send "$FL_NODE" bench transfer --to "$host:$(cat "$work/p2")" \
      --mib "$MIB" --count "$COUNT" --chunk-mib "$CHUNK" --window "$WINDOW"; then
    echo "the receiver said:" >&2
    cat "$work/recv.log" >&2
    exit 1
  fi
  wait
}

echo "== one host (loopback), $COUNT x $MIB MiB"
"$TCP" memcpy "$MIB"
run_pair "" "" 127.0.0.1
if [ "${NETNS:-0}" = 1 ]; then
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  ip link add "va-$$" type veth peer name "vb-$$"
  ip link set "va-$$" netns "$ns_a"
  ip link set "vb-$$" netns "$ns_b"
  ip -n "$ns_a" addr add 10.77.0.1/24 dev "va-$$"
  ip -n "$ns_b" addr add 10.77.0.2/24 dev "vb-$$"
  for ns in "$ns_a" "$ns_b"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$ns_a" link set "va-$$" up
  ip -n "$ns_b" link set "vb-$$" up
  echo "== two network namespaces (veth), $COUNT x $MIB MiB"
  run_pair "ip netns exec $ns_a" "ip netns exec $ns_b" 10.77.0.1
fi
