#!/usr/bin/env bash
# Time from `fl-node launch` to every member joined (the server's "clients
# joined" line), as launch reports it: the local example cluster
# (examples/cluster-local.toml: server, 2 schedulers, 2 client processes)
# N times, then the SSH case (tests/cli/ssh_launch_test.sh: server here,
# scheduler and client process on a namespace host over SSH; needs root).
# usage: bench/launch_time.sh [path/to/fl-node] [N, default 5]
set -uo pipefail
FL_NODE=$(readlink -f "${1:-build/cli/fl-node}")
n=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
joined_after() { sed -n 's/.*all members joined after \([0-9.]*\) s.*/\1/p'; }
times=()
for _ in $(seq "$n"); do
  t=$(cd "$work" && "$FL_NODE" launch "$root/examples/cluster-local.toml" 2>&1 | joined_after)
  times+=("$t")
done
printf 'local cluster (5 nodes), launch -> all joined: %s s (runs: %s)\n' \
  "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")" "${times[*]}"
ssh_out=$(bash "$root/tests/cli/ssh_launch_test.sh" "$FL_NODE" 2>&1)
case $? in
  0) echo "SSH cluster (server here, 2 nodes over SSH), launch -> all joined:" \
       "$(joined_after <<<"$ssh_out" | head -1) s" ;;
  77) echo "SSH cluster: skipped ($(tail -1 <<<"$ssh_out"))" ;;
  *) echo "SSH cluster: failed"; echo "$ssh_out" ;;
esac
