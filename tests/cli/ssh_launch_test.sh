#!/usr/bin/env bash
# fl-node launch over SSH: two network namespaces stand in for two hosts,
# joined by a veth pair; host B runs an SSH server (Debian's dropbear-bin,
# started by this test on B's address only, with a throwaway host key and
# a home folder of its own). Launch runs on host A with the server there
# and starts a scheduler and a client process on B over SSH.
#   1. the federation trains to the end; launch exits 0 and says when
#      every member joined; no remote process is left;
#   2. Ctrl-C (SIGINT) to launch stops the remote nodes too;
#   3. a client whose host cannot be reached stops the launch with an
#      error instead of a server waiting for it forever.
# Exit 77 (CTest: skipped) without root, namespaces, dropbear or ssh.
set -uo pipefail
FL_NODE=$(readlink -f "${1:?usage: ssh_launch_test.sh path/to/fl-node}")
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "needs iproute2"
command -v ssh >/dev/null || skip "needs the ssh client (openssh-client)"
dropbear=$(command -v dropbear || echo /usr/sbin/dropbear)
[ -x "$dropbear" ] || skip "needs dropbear (dropbear-bin)"
command -v dropbearkey >/dev/null || skip "needs dropbearkey (dropbear-bin)"
p="fls$$"
ip netns add "${p}a" 2>/dev/null || skip "cannot create network namespaces"

work=$(mktemp -d)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
  pkill -f "tok-$p" 2>/dev/null
  ip netns del "${p}a" 2>/dev/null
  ip netns del "${p}b" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail=0

ip netns add "${p}b"
ip link add "va$p" type veth peer name "vb$p"
ip link set "va$p" netns "${p}a"
ip link set "vb$p" netns "${p}b"
ip -n "${p}a" addr add 10.78.0.1/24 dev "va$p"
ip -n "${p}b" addr add 10.78.0.2/24 dev "vb$p"
for h in a b; do
  ip -n "$p$h" link set "v$h$p" up
  ip -n "$p$h" link set lo up
done

# Keys: the launcher's identity and B's host key, all under $work. The
# SSH server sees $work/home as the login user's home (a private mount
# namespace), so nothing of this machine's own ~/.ssh is read or changed.
home=$(getent passwd "$(id -un)" | cut -d: -f6)
mkdir -p "$work/home/.ssh" "$work/remote"
chmod 700 "$work/home" "$work/home/.ssh"
ssh-keygen -q -t ed25519 -N "" -f "$work/id" -C "fl-launch-test"
cp "$work/id.pub" "$work/home/.ssh/authorized_keys"
chmod 600 "$work/home/.ssh/authorized_keys"
dropbearkey -t ed25519 -f "$work/hostkey" >/dev/null 2>&1
ip netns exec "${p}b" unshare -m sh -c \
  "mount --bind '$work/home' '$home' && exec '$dropbear' -F -E -s -p 10.78.0.2:22 -r '$work/hostkey'" \
  >"$work/sshd.log" 2>&1 &
daemon=$!
for _ in $(seq 50); do
  ip netns exec "${p}a" bash -c "echo >/dev/tcp/10.78.0.2/22" 2>/dev/null && break
  sleep 0.1
done

cluster() { # cluster <file> <rounds> <client host>
  cat >"$1" <<TOML
log_dir = "$work/logs"
args = ["--model", "synthetic", "--synthetic-params", "1000", "--token", "tok-$p"]
ssh_user = "$(id -un)"
ssh_key = "$work/id"
ssh_options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
workdir = "$work/remote"
fl_node = "$FL_NODE"

[[node]]
name = "server"
role = "server"
host = "10.78.0.1"
local = true
args = ["--rounds", "$2", "--clients-per-round", "1", "--metrics", "$work/m.jsonl", "--checkpoint-dir", ""]

[[node]]
name = "sched"
role = "scheduler"
host = "10.78.0.2"
port = 7101
upstream = "server"
args = ["--clients-per-round", "3"]

[[node]]
name = "clients"
role = "client"
host = "$3"
upstream = "sched"
clients = 3
TOML
}
remote_left() { ip netns exec "${p}b" pgrep -f "tok-$p" >/dev/null; }

echo "== 1: a federation across hosts, remote nodes over SSH"
cluster "$work/c1.toml" 3 10.78.0.2
out=$(cd "$work" && timeout 120 ip netns exec "${p}a" "$FL_NODE" launch "$work/c1.toml" 2>&1)
rc=$?
echo "$out" | grep "\[launch\]"
[ $rc -eq 0 ] || { echo "FAIL: launch exited $rc"; echo "$out"; tail -5 "$work"/logs/*.log; fail=1; }
grep -q "started sched (ssh 10.78.0.2" <<<"$out" || { echo "FAIL: sched not started over ssh"; fail=1; }
grep -q "all members joined after" <<<"$out" || { echo "FAIL: no 'joined' line"; fail=1; }
grep -q '"round":3,"model_version":3,"accepted":true' "$work/m.jsonl" \
  || { echo "FAIL: 3 rounds not recorded"; fail=1; }
grep -q "scheduler sched joins 10.78.0.1:" "$work/logs/sched.log" \
  || { echo "FAIL: the remote scheduler's log did not come back"; fail=1; }
sleep 1
remote_left && { echo "FAIL: remote nodes left running"; fail=1; }

echo "== 2: Ctrl-C stops the remote nodes"
cluster "$work/c2.toml" 100000 10.78.0.2
(cd "$work" && exec ip netns exec "${p}a" "$FL_NODE" launch "$work/c2.toml" >"$work/l2.out" 2>&1) &
launcher=$!
for _ in $(seq 300); do grep -q "all members joined" "$work/l2.out" && break; sleep 0.1; done
grep -q "all members joined" "$work/l2.out" || { echo "FAIL: run 2 did not start"; cat "$work/l2.out"; fail=1; }
remote_left || { echo "FAIL: no remote node running before Ctrl-C"; fail=1; }
kill -INT "$launcher"
wait "$launcher"; rc=$?
[ $rc -eq 130 ] || { echo "FAIL: launch after Ctrl-C exited $rc, not 130"; fail=1; }
for _ in $(seq 50); do remote_left || break; sleep 0.1; done
remote_left && { echo "FAIL: remote nodes survived Ctrl-C"; fail=1; }

echo "== 3: an unreachable client host stops the launch"
cluster "$work/c3.toml" 3 10.78.0.9
out=$(cd "$work" && timeout 60 ip netns exec "${p}a" "$FL_NODE" launch "$work/c3.toml" 2>&1)
rc=$?
[ $rc -ne 0 ] || { echo "FAIL: launch with an unreachable host exited 0"; fail=1; }
grep -q "clients failed before training started" <<<"$out" \
  || { echo "FAIL: no clear error: $out"; fail=1; }
[ $fail -eq 0 ] && echo "ok: launch over SSH"
exit $fail
