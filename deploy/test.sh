#!/usr/bin/env bash
# Tests of deploy/, run by .ci/run after the cargo tests:
#   MODELSEAL=target/release/modelseal bash deploy/test.sh    (the default binary)
# 1. The Kubernetes manifests validate offline and strictly (kubernetes-validate)
#    against Kubernetes 1.30 and the newest version the tool knows, and a typo is
#    caught; the scripts inside the Jobs and the Slurm scripts parse, and pass
#    the shellcheck linter where it is installed.
# 2. On a copy of fixtures/lineage, split in 3 slices, for real: the Ray example
#    (a local Ray cluster, 3 tasks, then merge), the Kubernetes Jobs' scripts and
#    the Slurm scripts (each run here with the variables its engine sets) all give
#    the single run's verdict: verified, then, with one byte of one file flipped,
#    failed with a hash_mismatch for that file. Then the error paths: a slice that
#    exits 2 fails the Ray run, and the merge refuses a set with a slice missing.
# Needs python3 with ray and kubernetes-validate, and jq (.ci/run installs them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

say() { echo "deploy/test.sh: $*"; }
fail() {
  echo "deploy/test.sh: FAIL: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

ms="${MODELSEAL:-target/release/modelseal}"
[ -x "$ms" ] || fail "no modelseal binary at $ms (build it, or set MODELSEAL)"
ms="$(cd "$(dirname "$ms")" && pwd)/$(basename "$ms")"
export MODELSEAL="$ms"   # the Kubernetes and Slurm scripts run "${MODELSEAL:-modelseal}"
for tool in kubernetes-validate jq python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (.ci/run installs it)"
done
python3 -c 'import ray, yaml' 2>/dev/null || fail "python3 cannot import ray (pip install -r deploy/ray/requirements.txt)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
t_all="$(now)"

# --- 1. Static checks --------------------------------------------------------
t="$(now)"
manifests=(deploy/kubernetes/*.yaml)
kv_versions=(1.30.0 "$(python3 -c 'import kubernetes_validate.utils as u; print(u.latest_version())')")
kv=(kubernetes-validate --strict)
for v in "${kv_versions[@]}"; do kv+=(-k "$v"); done
out="$("${kv[@]}" "${manifests[@]}" 2>&1)" || fail "kubernetes-validate: $out"
# A kind it has no schema for is only a WARN with exit 0: count the passes.
resources="$(python3 -c '
import sys, yaml
print(sum(1 for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d))' "${manifests[@]}")"
passed="$(grep -c '^INFO .* passed for resource' <<<"$out" || true)"
if [ "$passed" -ne $((resources * ${#kv_versions[@]})) ] || grep -qv '^INFO ' <<<"$out"; then
  fail "kubernetes-validate passed $passed of $((resources * ${#kv_versions[@]})): $out"
fi
# Strict means strict: an unknown field must fail.
sed 's/completionMode: Indexed/completionMod: Indexed/' deploy/kubernetes/verify-job.yaml >"$tmp/typo.yaml"
if "${kv[@]}" "$tmp/typo.yaml" >/dev/null 2>&1; then
  fail "kubernetes-validate --strict accepted an unknown field"
fi
say "kubernetes-validate --strict: $resources resources pass against ${kv_versions[*]}; a typo fails"

# The scripts the Jobs run, extracted from the manifests, as they run in the pod.
python3 - "$tmp" <<'EOF'
import sys, yaml
for job in ("verify", "merge"):
    spec = yaml.safe_load(open(f"deploy/kubernetes/{job}-job.yaml"))["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"], container["command"]
    assert "$(" not in container["args"][0], "Kubernetes would expand $(NAME) in args"
    with open(f"{sys.argv[1]}/k8s-{job}.sh", "w") as f:
        f.write(container["args"][0])
EOF
slurm=(deploy/slurm/verify-array.sbatch deploy/slurm/merge.sbatch deploy/slurm/submit.sh)
for f in "$tmp/k8s-verify.sh" "$tmp/k8s-merge.sh"; do sh -n "$f" || fail "sh -n $f"; done
for f in "${slurm[@]}" deploy/kubernetes/run.sh deploy/test.sh; do bash -n "$f" || fail "bash -n $f"; done
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -s sh "$tmp/k8s-verify.sh" "$tmp/k8s-merge.sh" || fail "shellcheck: the Jobs' scripts"
  shellcheck "${slurm[@]}" deploy/kubernetes/run.sh deploy/test.sh || fail shellcheck
  say "sh -n, bash -n and shellcheck pass on the Jobs' and Slurm scripts ($(since "$t"))"
else
  say "sh -n and bash -n pass on the Jobs' and Slurm scripts; shellcheck not installed, skipped"
fi

# --- 2. Real runs on a copy of fixtures/lineage, N = 3 ------------------------
n=3
model="$tmp/model"
cp -R fixtures/lineage "$model"
policy=(--trust "$root/fixtures/keys/trust.toml" --level 3)

# The engines' runs, each into its own results directory; $1 names the case.
run_ray() {
  local rc=0
  python3 deploy/ray/verify.py "$model" --parts "$n" "${policy[@]}" --modelseal "$ms" \
    --format json --out "$tmp/$1-ray.json" >"$tmp/$1-ray.stdout" 2>"$tmp/$1-ray.stderr" || rc=$?
  echo "$rc"
}
run_k8s() {
  local dir="$tmp/$1-k8s" i rc=0
  mkdir "$dir"
  for ((i = 0; i < n; i++)); do
    JOB_COMPLETION_INDEX="$i" PARTS="$n" VERIFY_LEVEL=3 MODEL_DIR="$model" RESULTS_DIR="$dir" \
      TRUST_POLICY="$root/fixtures/keys/trust.toml" sh "$tmp/k8s-verify.sh" 2>>"$dir.log" ||
      fail "Kubernetes verify script, slice $i/$n: exit $? ($(cat "$dir.log"))"
  done
  RESULTS_DIR="$dir" sh "$tmp/k8s-merge.sh" >>"$dir.log" 2>&1 || rc=$?
  echo "$rc"
}
run_slurm() {
  local dir="$tmp/$1-slurm" i rc=0
  mkdir "$dir"
  for ((i = 0; i < n; i++)); do
    SLURM_ARRAY_TASK_ID="$i" SLURM_ARRAY_TASK_COUNT="$n" SLURM_ARRAY_TASK_MIN=0 \
      SLURM_ARRAY_TASK_MAX=$((n - 1)) SLURM_CPUS_PER_TASK=1 \
      bash deploy/slurm/verify-array.sbatch "$model" "$dir" "${policy[@]}" 2>>"$dir.log" ||
      fail "Slurm array task $i: exit $? ($(cat "$dir.log"))"
  done
  bash deploy/slurm/merge.sbatch "$dir" >>"$dir.log" 2>&1 || rc=$?
  echo "$rc"
}
# What a single run and a merge must agree on (problems in a fixed order).
verdict() {
  jq -S '{ok, level, files, signatures, problems: (.problems | sort_by(.path, .kind, .message))}' "$1"
}
same_as_single() { # case, merged report
  diff <(verdict "$tmp/$1-single.json") <(verdict "$2") >"$tmp/diff" ||
    fail "$2 differs from the single run's report: $(cat "$tmp/diff")"
}

# Intact: every engine's merge says verified, as the single run does.
rc=0
"$ms" verify "$model" "${policy[@]}" --format json >"$tmp/intact-single.json" || rc=$?
[ "$rc" -eq 0 ] || fail "the intact copy does not verify on its own (exit $rc): $(cat "$tmp/intact-single.json")"
t="$(now)"
rc="$(run_ray intact)"
[ "$rc" -eq 0 ] || fail "Ray, intact: exit $rc, expected 0: $(cat "$tmp/intact-ray.stdout" "$tmp/intact-ray.stderr")"
jq -e '.ok == true' "$tmp/intact-ray.json" >/dev/null || fail "Ray, intact: merged report not ok"
cmp -s "$tmp/intact-ray.json" "$tmp/intact-ray.stdout" || fail "Ray: --out differs from what it printed"
same_as_single intact "$tmp/intact-ray.json"
say "Ray, $n slices, intact: exit 0, merged report ok, as the single run ($(since "$t"); $(grep -o 'ray.init.*' "$tmp/intact-ray.stderr"))"
t="$(now)"
rc="$(run_k8s intact)"
[ "$rc" -eq 0 ] || fail "Kubernetes scripts, intact: merge exit $rc: $(cat "$tmp/intact-k8s.log")"
same_as_single intact "$tmp/intact-k8s/merged.json"
rc="$(run_slurm intact)"
[ "$rc" -eq 0 ] || fail "Slurm scripts, intact: merge exit $rc: $(cat "$tmp/intact-slurm.log")"
same_as_single intact "$tmp/intact-slurm/merged.json"
say "Kubernetes and Slurm scripts, $n slices, intact: merge exit 0, as the single run ($(since "$t"))"

# Tampered: one byte of one file flipped; the size stays, so the hash must catch it.
tampered=model.safetensors
python3 - "$model/$tampered" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    data = bytearray(f.read())
    data[len(data) // 2] ^= 0x01
    f.seek(0)
    f.write(data)
EOF
rc=0
"$ms" verify "$model" "${policy[@]}" --format json >"$tmp/tampered-single.json" || rc=$?
[ "$rc" -eq 1 ] || fail "the tampered copy: single run exit $rc, expected 1"
has_mismatch() {
  jq -e --arg p "$tampered" '.ok == false and any(.problems[]; .kind == "hash_mismatch" and .path == $p)' "$1" >/dev/null ||
    fail "$1: no hash_mismatch for $tampered: $(cat "$1")"
}
t="$(now)"
rc="$(run_ray tampered)"
[ "$rc" -eq 1 ] || fail "Ray, tampered: exit $rc, expected 1: $(cat "$tmp/tampered-ray.stdout" "$tmp/tampered-ray.stderr")"
has_mismatch "$tmp/tampered-ray.json"
same_as_single tampered "$tmp/tampered-ray.json"
say "Ray, $n slices, one byte of $tampered flipped: exit 1, hash_mismatch for $tampered, as the single run ($(since "$t"))"
t="$(now)"
rc="$(run_k8s tampered)"
[ "$rc" -eq 1 ] || fail "Kubernetes scripts, tampered: merge exit $rc, expected 1: $(cat "$tmp/tampered-k8s.log")"
has_mismatch "$tmp/tampered-k8s/merged.json"
same_as_single tampered "$tmp/tampered-k8s/merged.json"
rc="$(run_slurm tampered)"
[ "$rc" -eq 1 ] || fail "Slurm scripts, tampered: merge exit $rc, expected 1: $(cat "$tmp/tampered-slurm.log")"
has_mismatch "$tmp/tampered-slurm/merged.json"
same_as_single tampered "$tmp/tampered-slurm/merged.json"
say "Kubernetes and Slurm scripts, tampered: every slice job succeeded, merge exit 1, as the single run ($(since "$t"))"

# Errors. A set with a slice missing is refused (exit 2), not merged.
t="$(now)"
rm "$tmp/tampered-k8s/part-$((n - 1)).json"
rc=0
RESULTS_DIR="$tmp/tampered-k8s" sh "$tmp/k8s-merge.sh" >"$tmp/missing.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "merge of $((n - 1)) of $n slices: exit $rc, expected 2: $(cat "$tmp/missing.log")"
# A slice that exits 2 (here: a key file that does not exist) fails the Ray run.
rc=0
python3 deploy/ray/verify.py "$model" --parts "$n" --key "$tmp/no-such.pub" --modelseal "$ms" \
  >"$tmp/error-ray.stdout" 2>"$tmp/error-ray.stderr" || rc=$?
[ "$rc" -eq 2 ] || fail "Ray, a slice exits 2: exit $rc, expected 2: $(cat "$tmp/error-ray.stderr")"
grep -q 'exit 2 (error)' "$tmp/error-ray.stderr" || fail "Ray, a slice exits 2: not reported: $(cat "$tmp/error-ray.stderr")"
say "merge refuses a set with a slice missing (exit 2); a slice exiting 2 fails the Ray run (exit 2) ($(since "$t"))"
say "all passed in $(since "$t_all")"
