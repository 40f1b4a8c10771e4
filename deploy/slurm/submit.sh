#!/usr/bin/env bash
# Submit a partitioned modelseal verification to Slurm: an array of N slice
# jobs, and a merge job that runs after all of them, however they ended.
#   deploy/slurm/submit.sh N MODEL_DIR RESULTS_DIR [verify options...]
#   deploy/slurm/submit.sh 8 /shared/models/acme /shared/runs/acme-1 --trust /shared/policy/trust.toml
# Extra sbatch options (partition, account, ...) go in SBATCH_* environment
# variables, e.g. SBATCH_PARTITION=cpu. Prints the two job ids; the verdict is
# the merge job's exit status and log (modelseal-merge-<id>.log).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ $# -lt 3 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N MODEL_DIR RESULTS_DIR [verify options...]" >&2
  exit 2
fi
n="$1"
model="$(cd "$2" && pwd)"
mkdir -p "$3"
results="$(cd "$3" && pwd)"
shift 3
# Reports of an earlier run would be merged with this one's.
if compgen -G "$results/part-*.json" >/dev/null; then
  echo "submit.sh: $results already holds part-*.json; use a fresh directory per run" >&2
  exit 2
fi

array="$(sbatch --parsable --array="0-$((n - 1))" \
  "$here/verify-array.sbatch" "$model" "$results" "$@")"
array="${array%%;*}"   # --parsable prints "id" or "id;cluster"
merge="$(sbatch --parsable --dependency="afterany:$array" \
  "$here/merge.sbatch" "$results")"
merge="${merge%%;*}"
echo "verify array job $array ($n slices), merge job $merge"
echo "verdict: sacct -j $merge --format=JobID,State,ExitCode; report: $results/merged.json"
