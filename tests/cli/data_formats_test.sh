#!/usr/bin/env bash
# fl-node on the user's own model and data: a TorchScript file trained on
# CSV data split by an owner column (classification) and on a regression
# CSV, an IDX pair named file by file, and the errors a user sees for
# broken files and settings that do not fit the data.
#   data_formats_test.sh FL_NODE MAKE_SCRIPT_MODULE
set -euo pipefail
fl=$1
make_module=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
accuracy() { grep -o 'final accuracy *[0-9.]*' "$1" | grep -o '[0-9.]*$'; }

# 3 classes in 4 features (class k has feature k near 3), 6 owners; and a
# regression y = 2 a - b + 0.5. awk's srand makes both reproducible.
gen() { # gen FILE N SEED
  awk -v n="$2" -v seed="$3" 'BEGIN { srand(seed);
    print "f0,f1,f2,f3,user,label";
    for (i = 0; i < n; i++) { c = i % 3; line = "";
      for (k = 0; k < 4; k++) line = line (k ? "," : "") ((k == c ? 3 : 0) + rand() - 0.5);
      print line "," (i % 6) "," c } }' > "$1"
}
gen_reg() { # gen_reg FILE N SEED
  awk -v n="$2" -v seed="$3" 'BEGIN { srand(seed);
    for (i = 0; i < n; i++) { a = rand() * 2 - 1; b = rand() * 2 - 1;
      print 2 * a - b + 0.5 "," a "," b } }' > "$1"
}
gen "$tmp/train.csv" 600 1
gen "$tmp/test.csv" 300 2
gen_reg "$tmp/rtrain.csv" 600 3
gen_reg "$tmp/rtest.csv" 200 4
"$make_module" "$tmp/linear.pt" linear 4 3
"$make_module" "$tmp/reg.pt" linear 2 1
"$make_module" "$tmp/sum.pt" summing 4

csv=(--data-format csv --train-data "$tmp/train.csv" --test-data "$tmp/test.csv"
     --label-column label --owners user)

echo "== TorchScript classifier on CSV, one client per owner"
"$fl" sim "${csv[@]}" --model "$tmp/linear.pt" --partition by-owner \
  --clients 6 --clients-per-round 3 --rounds 5 --lr 0.1 \
  > "$tmp/cls.out" 2> "$tmp/cls.err" || { cat "$tmp/cls.err"; fail "csv run"; }
acc=$(accuracy "$tmp/cls.out")
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' || fail "csv accuracy $acc <= 0.9"

echo "== the same across processes: server and clients load the file"
timeout 120 "$fl" server "${csv[@]}" --model "$tmp/linear.pt" --clients 6 --clients-per-round 3 --rounds 3 \
  --port 0 --port-file "$tmp/port" --token t > "$tmp/srv.out" 2> "$tmp/srv.err" &
srv=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/srv.err"; fail "server did not publish"; }
timeout 120 "$fl" client "${csv[@]}" --model "$tmp/linear.pt" \
  --partition by-owner --clients 6 --lr 0.1 --token t \
  --upstream "127.0.0.1:$(cat "$tmp/port")" > /dev/null 2> "$tmp/cli.err" \
  || { cat "$tmp/cli.err"; fail "clients"; }
wait "$srv" || { cat "$tmp/srv.err"; fail "server"; }
acc=$(accuracy "$tmp/srv.out")
awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' || fail "server accuracy $acc"

echo "== TorchScript regression on CSV (R^2 as the accuracy)"
"$fl" sim --data-format csv --train-data "$tmp/rtrain.csv" \
  --test-data "$tmp/rtest.csv" --label-column 0 --task regression \
  --model "$tmp/reg.pt" --clients 4 --clients-per-round 4 --rounds 10 \
  --lr 0.1 --epochs 2 > "$tmp/reg.out" 2> "$tmp/reg.err" \
  || { cat "$tmp/reg.err"; fail "regression run"; }
r2=$(accuracy "$tmp/reg.out")
awk -v a="$r2" 'BEGIN { exit !(a > 0.9) }' || fail "regression R^2 $r2 <= 0.9"

echo "== IDX files named one by one"
d=/usr/share/datasets/fashion-mnist
"$fl" sim --data-format idx --train-data "$d/train-images-idx3-ubyte.gz" \
  --train-labels "$d/train-labels-idx1-ubyte.gz" \
  --test-data "$d/t10k-images-idx3-ubyte.gz" \
  --test-labels "$d/t10k-labels-idx1-ubyte.gz" --rounds 1 --clients 10 \
  --clients-per-round 2 > "$tmp/idx.out" 2>/dev/null || fail "idx run"
grep -q "final accuracy" "$tmp/idx.out" || fail "idx: no summary"

expect_error() { # expect_error TEXT ARGS...
  local want=$1
  shift
  if "$fl" sim --rounds 1 "$@" > "$tmp/e.out" 2> "$tmp/e.err"; then
    fail "accepted: $*"
  fi
  grep -qF -- "$want" "$tmp/e.err" || { cat "$tmp/e.err"; fail "no '$want'"; }
}
echo "== errors"
printf 'f0,f1,f2,f3,user,label\n1,2,3,4,0,1\n1,2,3,0,1\n' > "$tmp/short.csv"
expect_error "short.csv' line 3: 5 fields, expected 6" --data-format csv \
  --train-data "$tmp/short.csv" --test-data "$tmp/test.csv" --label-column label
expect_error "has 6 owners, so --partition by-owner needs --clients 6" \
  "${csv[@]}" --partition by-owner --clients 4 --model "$tmp/linear.pt"
expect_error "gives outputs of shape [2] for 2 samples" "${csv[@]}" \
  --model "$tmp/sum.pt"
expect_error "cannot load the TorchScript model" "${csv[@]}" \
  --model "$tmp/absent.pt"
expect_error "a regression dataset can use iid, iid-unbalanced or by-owner" \
  --data-format csv --train-data "$tmp/rtrain.csv" --test-data "$tmp/rtest.csv" \
  --label-column 0 --task regression --model "$tmp/reg.pt" \
  --partition dirichlet
expect_error "needs data.train_labels" --data-format npy \
  --train-data "$tmp/x.npy" --test-data "$tmp/x.npy"
echo "data_formats_test: ok"
