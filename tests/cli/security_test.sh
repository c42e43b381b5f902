#!/usr/bin/env bash
# Attacks on running federations across processes, on loopback, by a hostile
# peer built from the project's own wire code (fl_hostile_peer) and by
# fl-node processes with wrong credentials. Each attack must be refused and
# logged, the server's memory must stay bounded, and training must go on.
#   1. token mode: runtime headers announcing 4 GiB (before and after
#      authenticating), garbage before login, a replayed proof, an idle
#      connection flood, an update and a chunked transfer before joining
#      (logged once, not once per chunk), a client with a wrong token;
#   2. mutual TLS with node identities: a certificate of another CA, an
#      expired one, a plaintext client against TLS, a node joining under
#      another node's id, a 4 GiB header inside TLS, revocation by the deny
#      list while the federation runs;
#   3. per-node tokens without TLS (the access file);
#   4. safe defaults: a plaintext server on a non-loopback address.
set -euo pipefail
FL_NODE=$(readlink -f "${1:?usage: security_test.sh fl-node fl_hostile_peer}")
HOSTILE=$(readlink -f "${2:?usage: security_test.sh fl-node fl_hostile_peer}")
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
show_logs() { for f in "$work"/*.log; do echo "== $f"; tail -15 "$f"; done; }
trap 'show_logs; cleanup' ERR

wait_for() { # wait_for <seconds> <command...>
  local limit=$1; shift
  for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for: $*"; return 1
}
rounds() { [ -f "$1" ] && { grep -c '"round":' "$1" || true; } || echo 0; }
more_rounds() { [ "$(rounds "$1")" -gt "$2" ]; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
model=(--model synthetic --synthetic-params 50000)

start_server() { # start_server <name> <flags...>: sets server and port
  local name=$1; shift
  rm -f "$work/$name.port"
  "$FL_NODE" server "${model[@]}" --port 0 --port-file "$work/$name.port" \
    --clients 2 --clients-per-round 2 --rounds 1000000 --round-deadline 5 \
    --metrics "$work/$name.jsonl" "$@" >"$work/$name.log" 2>&1 &
  server=$!; pids+=($server)
  wait_for 20 test -s "$work/$name.port"
  port=$(cat "$work/$name.port")
}
start_client() { # start_client <name> <flags...>
  local name=$1; shift
  "$FL_NODE" client "${model[@]}" --upstream "127.0.0.1:$port" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
}
refused() { # refused <log> <text>: the server logged this refusal
  grep -q -- "$2" "$work/$1.log" || { echo "not logged in $1: $2"; return 1; }
}

echo "== 1: token mode"
token=correct-horse-battery
start_server t --token "$token" --auth-timeout 2 --max-pending 16
start_client t-client --clients 2 --token "$token"
wait_for 30 more_rounds "$work/t.jsonl" 5
before_kib=$(rss_kib "$server")
"$HOSTILE" header 127.0.0.1 "$port" 4294967295
"$HOSTILE" header 127.0.0.1 "$port" 4294967295 --token "$token" --identity h1
"$HOSTILE" header 127.0.0.1 "$port" 1073741824 --token "$token" --identity h2
"$HOSTILE" garbage 127.0.0.1 "$port"
"$HOSTILE" replay 127.0.0.1 "$port" --token "$token" --identity h3
"$HOSTILE" idle 127.0.0.1 "$port" 40
"$HOSTILE" before-join 127.0.0.1 "$port" --token "$token" --identity h4
if timeout 30 "$FL_NODE" client "${model[@]}" --upstream "127.0.0.1:$port" \
     --clients 1 --client-offset 5 --token wrong >"$work/t-intruder.log" 2>&1; then
  echo "a client with a wrong token was admitted"; exit 1
fi
grep -q "refused: unknown identity, wrong token" "$work/t-intruder.log"
after_kib=$(rss_kib "$server")
n=$(rounds "$work/t.jsonl")
wait_for 30 more_rounds "$work/t.jsonl" $((n + 5))
refused t "did not authenticate within 2 s"
refused t "announced a 4294967295-byte message"
refused t "announced a 1073741824-byte message"
refused t "sent garbage before authenticating"
refused t "too many connections at once"
refused t "proved a wrong token"
refused t "update from a peer that did not join as client-0 dropped"
[ "$(grep -c "chunked transfer of [0-9]* bytes exceeds" "$work/t.log")" -eq 1 ]
echo "server RSS ${before_kib} KiB before the attacks, ${after_kib} KiB after"
[ $((after_kib - before_kib)) -lt 65536 ] || { echo "memory grew"; exit 1; }
grep -q "accepted\":true" "$work/t.jsonl"
echo "ok: every attack refused and logged; memory bounded; training went on"
kill "$server"; wait "$server" 2>/dev/null || true

echo "== 2: mutual TLS"
"$FL_NODE" certs --out "$work/kits" server host-a=client-0..1 host-b=client-2..3 \
  >"$work/certs.log"
"$FL_NODE" certs --out "$work/other" stranger >/dev/null
"$HOSTILE" expired-kit "$work/kits" old
[ "$(stat -c %a "$work/kits/host-a/key.pem")" = 600 ]
[ "$(stat -c %a "$work/kits/host-a")" = 700 ]
cp "$work/kits/access.toml" "$work/access.toml"
start_server s --tls "$work/kits/server" --access "$work/access.toml" \
  --auth-timeout 2
start_client a --clients 2 --total-clients 2 --tls "$work/kits/host-a"
wait_for 30 more_rounds "$work/s.jsonl" 3
"$HOSTILE" tls 127.0.0.1 "$port" "$work/other/stranger"
"$HOSTILE" tls 127.0.0.1 "$port" "$work/kits/old"
# A plaintext node waits for a hello that never comes in clear.
timeout 20 "$FL_NODE" client "${model[@]}" --upstream "127.0.0.1:$port" \
  --clients 1 --client-offset 3 --total-clients 4 >"$work/plain.log" 2>&1 &
plain=$!; pids+=($plain)
# host-b holds a valid certificate, but for client-2..3 only.
if timeout 30 "$FL_NODE" client "${model[@]}" --upstream "127.0.0.1:$port" \
     --clients 1 --total-clients 2 --tls "$work/kits/host-b" \
     >"$work/spoof.log" 2>&1; then
  echo "host-b joined as client-0"; exit 1
fi
grep -q "identity 'host-b' may join only as client-2..3" "$work/spoof.log"
"$HOSTILE" header 127.0.0.1 "$port" 4294967295 --tls "$work/kits/host-b" \
  --token "$(cat "$work/kits/host-b/token")" \
  --identity host-b
wait_for 20 grep -qs "did not authenticate within 2 s" "$work/s.log"
kill "$plain" 2>/dev/null || true
refused s "TLS failed before authentication"
refused s "join as client-0 refused"
refused s "announced a 4294967295-byte message"
n=$(rounds "$work/s.jsonl")
wait_for 30 more_rounds "$work/s.jsonl" $((n + 3))
echo "ok: wrong CA, expired certificate, plaintext, spoofed id, oversized header refused"
# Revoke host-a while it trains: its connection is closed, no restart.
sed -i 's/^deny = \[\]/deny = ["host-a"]/' "$work/access.toml"
wait_for 20 grep -qs "identity 'host-a' revoked: connection closed" "$work/s.log"
wait_for 20 grep -qs "lost client-0" "$work/s.log"
wait_for 20 grep -qs "this identity is revoked (deny list)" "$work/a.log"
grep -q "access file .* reloaded" "$work/s.log"
echo "ok: a revoked node is cut off while the federation runs"
kill "$server"; wait "$server" 2>/dev/null || true

echo "== 3: per-node tokens without TLS"
start_server p --access "$work/kits/access.toml"
start_client p-a --clients 2 --total-clients 2 --identity host-a \
  --token-file "$work/kits/host-a/token"
wait_for 30 more_rounds "$work/p.jsonl" 3
# host-b's token does not prove host-a.
if timeout 30 "$FL_NODE" client "${model[@]}" --upstream "127.0.0.1:$port" \
     --clients 1 --total-clients 2 --identity host-a \
     --token-file "$work/kits/host-b/token" >"$work/p-b.log" 2>&1; then
  echo "host-b's token proved host-a"; exit 1
fi
refused p "identity 'host-a' proved a wrong token"
echo "ok: per-node tokens bind identities"
kill "$server"; wait "$server" 2>/dev/null || true

echo "== 4: safe defaults"
if "$FL_NODE" server "${model[@]}" --host 0.0.0.0 --port 0 --rounds 1 \
     >"$work/open.log" 2>&1; then
  echo "an open plaintext server started"; exit 1
fi
grep -q "refusing to listen on 0.0.0.0 with neither TLS nor a token" "$work/open.log"
"$FL_NODE" server "${model[@]}" --host 0.0.0.0 --port 0 --rounds 1 --insecure \
  --port-file "$work/open.port" >"$work/insecure.log" 2>&1 &
pids+=($!)
wait_for 20 grep -qs "INSECURE" "$work/insecure.log"
echo "ok: no open plaintext listener without --insecure, and a loud warning with it"
