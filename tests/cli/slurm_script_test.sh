#!/usr/bin/env bash
# The Slurm batch script of `fl-node launch --print` runs a federation:
# stand-ins for srun (runs the command here) and scontrol (one host,
# 127.0.0.1) take Slurm's place; the script must start the nodes in order,
# wait for each upstream to listen, and end with the server's exit code.
set -uo pipefail
FL_NODE=$(readlink -f "${1:?usage: slurm_script_test.sh path/to/fl-node}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=$(( 20000 + ($$ % 20000) ))
cat >"$work/hpc.toml" <<TOML
log_dir = "$work/logs"
args = ["--model", "synthetic", "--synthetic-params", "1000"]
[[node]]
name = "server"
role = "server"
port = $base
args = ["--rounds", "3", "--clients-per-round", "1", "--metrics", "$work/m.jsonl", "--checkpoint-dir", ""]
[[node]]
name = "sched"
role = "scheduler"
port = $((base + 1))
upstream = "server"
[[node]]
role = "client"
upstream = "sched"
clients = 2
TOML
"$FL_NODE" launch --print "$work/hpc.toml" >"$work/print.out" || { echo "FAIL: --print"; exit 1; }
script="$work/logs/hpc.sbatch"
[ -f "$script" ] || { echo "FAIL: no $script"; cat "$work/print.out"; exit 1; }
grep -q "^#SBATCH --nodes=1$" "$script" || { echo "FAIL: one host -> one node"; exit 1; }
grep -q "^#SBATCH --ntasks=3$" "$script" || { echo "FAIL: three tasks"; exit 1; }
bash -n "$script" || { echo "FAIL: the script does not parse"; exit 1; }

mkdir "$work/bin"
cat >"$work/bin/scontrol" <<'SH'
#!/bin/sh
[ "$1 $2" = "show hostnames" ] && echo 127.0.0.1
SH
cat >"$work/bin/srun" <<'SH'
#!/bin/sh
# srun [options] command...: drop the options, run the command here.
while [ $# -gt 0 ]; do
  case "$1" in
    -w) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
exec "$@"
SH
chmod +x "$work/bin/scontrol" "$work/bin/srun"
(cd "$work" && SLURM_JOB_NODELIST=node0 FL_NODE="$FL_NODE" \
  PATH="$work/bin:$PATH" timeout 120 bash "$script") >"$work/job.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: the job exited $rc"; cat "$work/job.out"; tail "$work"/logs/*.log; exit 1; }
grep -q '"round":3,"model_version":3,"accepted":true' "$work/m.jsonl" \
  || { echo "FAIL: 3 rounds not recorded"; exit 1; }
grep -q "server exited with 0" "$work/job.out" || { echo "FAIL: no end line"; exit 1; }
echo "ok: the Slurm script ran 3 rounds"
