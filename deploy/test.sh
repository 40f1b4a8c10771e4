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
# 3. The deployment gate (deploy/kubernetes/gate/): its rules are checked on the
#    manifest (a lone init container that is no sidecar, hardened; the server
#    mounts only the verified emptyDir, read-only), and the init container's
#    exact command line, read from the manifest, runs here on a copy of
#    fixtures/lineage, with the volumes as directories and the policy ConfigMap
#    (made from fixtures/keys as the README says, with kubectl create configmap
#    --from-file) laid out as kubelet lays out a ConfigMap volume: the template
#    policy-configmap.yaml -> exit 2, nothing published; verified -> DEST
#    appears, read-only, equal to the source; again (a pod restart) -> exit 2
#    without --replace, replaced with it; one byte flipped -> exit 1 and no DEST.
# 4. A static binary (deploy/build-static.sh --profile static-check, started in
#    the background at the beginning, or the one MODELSEAL_STATIC names): ldd and
#    file find no dynamic dependency, and it verifies fixtures/lineage. Where
#    podman is installed, the FROM scratch image of deploy/Containerfile is built
#    from it and the gate's init container runs in it, read-only, as uid 65532,
#    without capabilities or network: tampered -> exit 1 and no DEST, intact ->
#    exit 0 and DEST.
# A check that cannot run here (no podman, podman unable to run a container,
# no linter, no file(1)) is SKIPPED: said on stderr when it happens, with the
# error, and again in the last line, which then does not say "all passed".
# With DEPLOY_TEST_REQUIRE_IMAGE=1 (where podman is known to work) a skipped image build or
# run is a failure instead.
# Needs python3 with ray and kubernetes-validate, jq and setsid (.ci/run installs
# them).
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
for tool in kubernetes-validate jq python3 setsid; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (.ci/run installs it)"
done
python3 -c 'import ray, yaml' 2>/dev/null || fail "python3 cannot import ray (pip install -r deploy/ray/requirements.txt)"
tmp="$(mktemp -d)"
# The verified copies are read-only (directories 0555): make them writable to remove them.
wipe() {
  chmod -R u+w "$@" 2>/dev/null || true
  rm -rf "$@"
}
t_all="$(now)"
skipped=()
skip() { # what was not checked, and why
  skipped+=("$1")
  printf '\n*** deploy/test.sh: SKIPPED: %s\n\n' "$1" >&2
}
skip_image() { # the image cannot be built or run here
  if [ "${DEPLOY_TEST_REQUIRE_IMAGE:-0}" = 1 ]; then
    fail "DEPLOY_TEST_REQUIRE_IMAGE=1, but $1"
  fi
  skip "$1"
}

# The static binary and its image (section 4) take about 2 minutes to build
# from scratch, 50 s of it aws-lc-sys's C code: the build starts now, in the
# background and at a lower priority, in its own process group (stopped if the
# test fails first), and section 4 waits for it.
image=""
if command -v podman >/dev/null 2>&1; then
  image="localhost/modelseal-deploy-test:$$"
fi
static_pid=""
cleanup() {
  if [ -n "$static_pid" ]; then
    kill -TERM -- "-$static_pid" 2>/dev/null || true
    wait "$static_pid" 2>/dev/null || true
  fi
  if [ -n "$image" ]; then podman rmi -f "$image" >/dev/null 2>&1 || true; fi
  wipe "$tmp"
}
trap cleanup EXIT
if [ -z "${MODELSEAL_STATIC:-}" ]; then
  setsid nice -n 10 bash deploy/build-static.sh --profile static-check ${image:+--image "$image"} \
    >"$tmp/static-built" 2>"$tmp/static-build.log" &
  static_pid=$!
fi

# --- 1. Static checks --------------------------------------------------------
t="$(now)"
# The gate's policy ConfigMap as deploy/README.md makes it from your own files,
# here the fixtures' policy and key: with kubectl where it is installed, else
# the same document (each file a key named by its base name) written here.
cm_files=(fixtures/keys/trust.toml fixtures/keys/test-release.pub)
if command -v kubectl >/dev/null 2>&1; then
  (cd fixtures/keys && kubectl create configmap modelseal-policy --from-file=trust.toml \
    --from-file=test-release.pub --dry-run=client -o yaml) >"$tmp/policy-from-files.yaml" ||
    fail "kubectl create configmap --dry-run=client failed"
  cm_how="kubectl create configmap --from-file"
else
  python3 - "${cm_files[@]}" >"$tmp/policy-from-files.yaml" <<'EOF'
import os, sys, yaml
data = {os.path.basename(f): open(f).read() for f in sys.argv[1:]}
print(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "modelseal-policy"}, "data": data}), end="")
EOF
  cm_how="written as kubectl create configmap --from-file would (kubectl not installed)"
fi
manifests=(deploy/kubernetes/*.yaml deploy/kubernetes/gate/*.yaml "$tmp/policy-from-files.yaml")
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
say "kubernetes-validate --strict: $resources resources (the fixtures' ConfigMap included) pass against ${kv_versions[*]}; a typo fails"

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
scripts=("${slurm[@]}" deploy/kubernetes/run.sh deploy/build-static.sh deploy/test.sh)
for f in "${scripts[@]}"; do bash -n "$f" || fail "bash -n $f"; done
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -s sh "$tmp/k8s-verify.sh" "$tmp/k8s-merge.sh" || fail "shellcheck: the Jobs' scripts"
  shellcheck "${scripts[@]}" || fail shellcheck
  say "sh -n, bash -n and shellcheck pass on the Jobs', Slurm and build scripts ($(since "$t"))"
else
  say "sh -n and bash -n pass on the Jobs', Slurm and build scripts"
  skip "shellcheck: not installed (.ci/run installs it)"
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

# --- 3. The deployment gate ----------------------------------------------------
# Its rules, checked on the manifest; then the init container's command line,
# written out with each of its volumes as a directory $gate/<volume name>.
t="$(now)"
gate="$tmp/gate"
mkdir "$gate"
python3 - deploy/kubernetes/gate/deployment.yaml deploy/Containerfile "$gate" \
  deploy/kubernetes/policy-configmap.yaml "$tmp/policy-from-files.yaml" >"$gate/rules.log" 2>&1 <<'EOF' || fail "the gate's rules: $(cat "$gate/rules.log")"
import copy, json, sys, yaml

gate_yaml, containerfile, out = sys.argv[1:4]
configmaps = sys.argv[4:]

def mount_of(mounts, path):
    """The volume mount that holds path (the longest mountPath above it)."""
    best = None
    for m in mounts:
        p = m["mountPath"].rstrip("/")
        if (path == p or path.startswith(p + "/")) and (best is None or len(p) > len(best["mountPath"])):
            best = m
    assert best is not None, f"{path} is on no volume of the init container"
    return best

def check(doc):
    """The gate's rules; an AssertionError says which one is broken."""
    pod = doc["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    inits = pod.get("initContainers", [])
    # A second init container could write into the volume after the verify.
    assert len(inits) == 1, "exactly one init container, the gate"
    init = inits[0]
    assert "restartPolicy" not in init, "an init container with restartPolicy is a sidecar: the server would not wait for it"
    own = init.get("securityContext", {})
    sc = {**pod.get("securityContext", {}), **own}
    assert sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, "the init container runs as non-root"
    assert own.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem"
    assert own.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false"
    assert not own.get("privileged", False), "not privileged"
    caps = own.get("capabilities", {})
    assert caps.get("drop") == ["ALL"] and not caps.get("add"), "capabilities: drop ALL, add none"
    assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccomp RuntimeDefault"
    argv = init["command"] + init.get("args", [])
    assert argv[1] == "verify" and "--replace" in argv, "verify ... --replace"
    src, dest, trust = argv[2], argv[argv.index("--copy-to") + 1], argv[argv.index("--trust") + 1]
    mounts = init["volumeMounts"]
    s, d, p = (mount_of(mounts, x) for x in (src, dest, trust))
    assert s.get("readOnly") is True, "the source is mounted read-only"
    assert volumes[s["name"]].get("persistentVolumeClaim", {}).get("readOnly") is True, "the source claim is read-only"
    assert "emptyDir" in volumes[d["name"]], "DEST is on an emptyDir"
    assert not d.get("readOnly") and "subPath" not in d, "DEST's volume is writable, whole"
    assert dest.rsplit("/", 1)[0] == d["mountPath"].rstrip("/"), "DEST is a directory right inside the volume, not its mount point"
    assert p.get("readOnly") is True and "configMap" in volumes[p["name"]], "the policy is a read-only ConfigMap"
    served = 0
    for c in pod["containers"]:
        for m in c.get("volumeMounts", []):
            assert m["name"] != s["name"], f"{c['name']} mounts the source volume"
            if m["name"] == d["name"]:
                assert m.get("readOnly") is True, f"{c['name']} mounts the verified copy writable"
                served += 1
        assert not c.get("volumeDevices"), f"{c['name']} has a raw block device"
    assert served > 0, "no container mounts the verified copy"
    return argv, mounts, src, dest, trust, volumes[p["name"]]["configMap"]["name"]

doc = yaml.safe_load(open(gate_yaml))
argv, mounts, src, dest, trust, cm_name = check(doc)
# The image runs the binary where the init container says it is.
entry = [json.loads(l[len("ENTRYPOINT "):]) for l in open(containerfile) if l.startswith("ENTRYPOINT ")]
assert entry == [[argv[0]]], f"command {argv[0]} is not the image's ENTRYPOINT {entry}"
for f in configmaps:
    cm = yaml.safe_load(open(f))
    assert cm["metadata"]["name"] == cm_name, f"the gate reads ConfigMap {cm_name}, {f} is {cm['metadata']['name']}"
    assert trust.rsplit("/", 1)[1] in cm["data"], f"{trust} is not a key of {f}"

# Each broken rule must be caught.
def broken(how):
    d = copy.deepcopy(doc)
    pod = d["spec"]["template"]["spec"]
    how(pod, pod["initContainers"][0], pod["containers"][0])
    return d
cases = {
    "a sidecar": lambda pod, i, c: i.update(restartPolicy="Always"),
    "the server on the source": lambda pod, i, c: c["volumeMounts"].append({"name": "source", "mountPath": "/source", "readOnly": True}),
    "a writable copy": lambda pod, i, c: c["volumeMounts"][0].pop("readOnly"),
    "a root gate": lambda pod, i, c: (pod["securityContext"].pop("runAsNonRoot"), i["securityContext"].pop("runAsNonRoot")),
    "escalation": lambda pod, i, c: i["securityContext"].update(allowPrivilegeEscalation=True),
    "DEST at the mount point": lambda pod, i, c: i["args"].__setitem__(i["args"].index("--copy-to") + 1, "/verified"),
    "a second init container": lambda pod, i, c: pod["initContainers"].append(copy.deepcopy(i)),
}
for name, how in cases.items():
    try:
        check(broken(how))
    except AssertionError:
        continue
    raise SystemExit(f"the gate check let {name} through")

def local(path):
    m = mount_of(mounts, path)
    return f"{out}/{m['name']}{path[len(m['mountPath'].rstrip('/')):]}"
with open(f"{out}/argv", "w") as f:       # as in the manifest
    f.write("".join(a + "\n" for a in argv))
with open(f"{out}/argv.local", "w") as f:  # the paths on the volumes' directories
    f.write("".join((local(a) if a.startswith("/") and a != argv[0] else a) + "\n" for a in argv[1:]))
with open(f"{out}/mounts", "w") as f:      # volume name, mount path, ro or rw
    f.write("".join(f"{m['name']} {m['mountPath']} {'ro' if m.get('readOnly') else 'rw'}\n" for m in mounts))
with open(f"{out}/paths", "w") as f:       # the source, DEST and the policy, locally
    f.write(f"{local(src)}\n{local(dest)}\n{local(trust)}\n")
print(f"{len(cases)} broken variants refused")
EOF
mapfile -t gate_args <"$gate/argv.local"
{ read -r gate_src; read -r gate_dest; read -r gate_trust; } <"$gate/paths"
verified="$(dirname "$gate_dest")"
policy_dir="$(dirname "$gate_trust")"
# A ConfigMap volume as kubelet lays it out: the keys' files (mode 0644) in a
# timestamped directory, a link ..data to it, and each key a link into ..data.
configmap_volume() { # ConfigMap YAML, volume directory (made afresh)
  wipe "$2"
  python3 - "$1" "$2" <<'EOF'
import base64, os, sys, yaml
cm, vol = yaml.safe_load(open(sys.argv[1])), sys.argv[2]
ts = "..2026_01_01_00_00_00.000000001"
os.makedirs(f"{vol}/{ts}")
files = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
files.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
for key, content in files.items():
    with open(f"{vol}/{ts}/{key}", "wb") as f:
        f.write(content)
    os.chmod(f"{vol}/{ts}/{key}", 0o644)
os.symlink(ts, f"{vol}/..data")
for key in files:
    os.symlink(f"..data/{key}", f"{vol}/{key}")
EOF
}
# The volumes: the source holds a copy of the fixture; the emptyDir is mode 0777,
# as Kubernetes makes it.
mkdir -p "$(dirname "$gate_src")" "$verified"
cp -R fixtures/lineage "$gate_src"
chmod 0777 "$verified"
"$ms" verify --help | grep -q -- --copy-to || fail "$ms has no verify --copy-to"

gate_run() { # extra arguments dropped from the command line, if any
  local rc=0 a args=()
  for a in "${gate_args[@]}"; do
    [ "$#" -gt 0 ] && [ "$a" = "$1" ] && continue
    args+=("$a")
  done
  "$ms" "${args[@]}" >"$gate/out" 2>&1 || rc=$?
  echo "$rc"
}
# DEST holds exactly the source's files, read-only, and verifies on its own.
published() { # what it must equal
  [ -d "$gate_dest" ] || fail "gate: no $gate_dest after exit 0: $(cat "$gate/out")"
  diff -r "$1" "$gate_dest" >"$gate/diff" || fail "gate: the copy differs from $1: $(cat "$gate/diff")"
  local bad
  bad="$(find "$gate_dest" \( -type f ! -perm 0444 \) -o \( -type d ! -perm 0555 \) -o ! \( -type f -o -type d \))"
  [ -z "$bad" ] || fail "gate: not read-only files and directories: $bad"
  "$ms" verify "$gate_dest" --trust "$gate_trust" --level 3 >"$gate/reverify" 2>&1 ||
    fail "gate: the copy does not verify: $(cat "$gate/reverify")"
  [ "$(ls -A "$verified")" = "$(basename "$gate_dest")" ] ||
    fail "gate: left beside DEST: $(ls -A "$verified")"
}
# The template ConfigMap as it is: its placeholder key is refused (exit 2).
configmap_volume deploy/kubernetes/policy-configmap.yaml "$policy_dir"
rc="$(gate_run)"
[ "$rc" -eq 2 ] || fail "gate, template policy-configmap.yaml: exit $rc, expected 2: $(cat "$gate/out")"
[ -z "$(ls -A "$verified")" ] || fail "gate, template policy: left in the volume: $(ls -A "$verified")"
# The ConfigMap made from the fixtures' policy and key.
configmap_volume "$tmp/policy-from-files.yaml" "$policy_dir"
rc="$(gate_run)"
[ "$rc" -eq 0 ] || fail "gate, intact: exit $rc, expected 0: $(cat "$gate/out")"
published "$gate_src"
# A pod restart runs the init container again on the kept emptyDir.
rc="$(gate_run --replace)"
[ "$rc" -eq 2 ] || fail "gate, again without --replace: exit $rc, expected 2: $(cat "$gate/out")"
rc="$(gate_run)"
[ "$rc" -eq 0 ] || fail "gate, again (pod restart): exit $rc, expected 0: $(cat "$gate/out")"
published "$gate_src"
say "gate: the manifest keeps its rules ($(cat "$gate/rules.log")); the init container's command line from the manifest: with the template ConfigMap exit 2 and nothing published; with the ConfigMap made from fixtures/keys ($cm_how) exit 0, DEST read-only, equal to the source; run again (pod restart): exit 2 without --replace, 0 with it"
# One byte flipped in the source: exit 1. A restarted pod keeps the copy it had
# (the server does not start either way); a new pod gets no DEST at all.
python3 - "$gate_src/model.safetensors" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    data = bytearray(f.read())
    data[len(data) // 2] ^= 0x01
    f.seek(0)
    f.write(data)
EOF
rc="$(gate_run)"
[ "$rc" -eq 1 ] || fail "gate, tampered, DEST from an earlier run: exit $rc, expected 1: $(cat "$gate/out")"
grep -q model.safetensors "$gate/out" || fail "gate, tampered: the file is not named: $(cat "$gate/out")"
published fixtures/lineage
wipe "$gate_dest"
rc="$(gate_run)"
[ "$rc" -eq 1 ] || fail "gate, tampered, new pod: exit $rc, expected 1: $(cat "$gate/out")"
[ -z "$(ls -A "$verified")" ] || fail "gate, tampered: left in the volume: $(ls -A "$verified")"
say "gate: one byte of the source flipped: exit 1; an earlier copy stays whole, a new pod's volume stays empty ($(since "$t"))"

# --- 4. The static binary, and the image ---------------------------------------
# Built by deploy/build-static.sh (with --image where podman is installed),
# started at the beginning; or the binary MODELSEAL_STATIC names, put in the
# image by hand.
t="$(now)"
if [ -n "${MODELSEAL_STATIC:-}" ]; then
  static="$MODELSEAL_STATIC"
  how="MODELSEAL_STATIC"
  if [ -n "$image" ]; then
    mkdir "$tmp/image"
    cp "$static" "$tmp/image/modelseal"
    podman build -f deploy/Containerfile -t "$image" "$tmp/image" >"$tmp/static-build.log" 2>&1 ||
      fail "podman build -f deploy/Containerfile: $(tail -n 30 "$tmp/static-build.log")"
  fi
else
  rc=0
  wait "$static_pid" || rc=$?
  static_pid=""
  [ "$rc" -eq 0 ] || fail "deploy/build-static.sh --profile static-check${image:+ --image $image}: exit $rc: $(tail -n 30 "$tmp/static-build.log")"
  static="$(head -n 1 "$tmp/static-built")"
  took="$(sed -n 's/.*Finished .* in \(.*\)$/\1/p' "$tmp/static-build.log")"
  how="deploy/build-static.sh --profile static-check${image:+ --image}, in the background: cargo ${took:-?}, $(since "$t") waited for here"
fi
[ -x "$static" ] || fail "no static binary at $static"
deps="$(ldd "$static" 2>&1 | sed 's/^[[:space:]]*//' || true)"
case "$deps" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) fail "$static is not static; ldd says: $deps" ;;
esac
if command -v file >/dev/null 2>&1; then
  kind="$(file -b "$static")"
  case "$kind" in
    *"static-pie linked"* | *"statically linked"*) ;;
    *) fail "$static is not static; file says: $kind" ;;
  esac
  deps="$deps; file: ${kind%%, BuildID*}"
else
  skip "file(1) is not installed: only ldd checked that the binary is static"
fi
"$static" verify fixtures/lineage --trust fixtures/keys/trust.toml --level 3 >"$tmp/static.out" 2>&1 ||
  fail "the static binary does not verify fixtures/lineage: $(cat "$tmp/static.out")"
say "static binary ($how): ldd: $deps; verifies fixtures/lineage at level 3"

if [ -z "$image" ]; then
  skip_image "the image of deploy/Containerfile: podman is not installed (.ci/run installs it), so it was neither built nor run"
else
  t="$(now)"
  # Nothing in it but the binary (root's, 0755), and not root.
  c="$(podman create "$image")"
  files="$(podman export "$c" | tar -tv | awk '{ print $1, $2, $NF }' | tr '\n' ' ')"
  podman rm "$c" >/dev/null
  [ "$files" = "drwxr-xr-x 0/0 usr/ drwxr-xr-x 0/0 usr/local/ drwxr-xr-x 0/0 usr/local/bin/ -rwxr-xr-x 0/0 usr/local/bin/modelseal " ] ||
    fail "the image holds more than the binary, or other modes or owners: $files"
  user="$(podman image inspect "$image" --format '{{.Config.User}}')"
  [ "$user" = "65532:65532" ] || fail "the image's user is '$user'"
  # The init container as Kubernetes runs it: its uid, read-only root (and no
  # tmpfs on /tmp or /run, which podman --read-only adds by default), no
  # capabilities, no privilege escalation, the default seccomp profile, the
  # manifest's mounts; no network, and only the local image. podman's default
  # runtime crun is not installed here; runc is used where installed. The
  # default rlimits are refused here (setrlimit NPROC and NOFILE: EPERM, no
  # CAP_SYS_RESOURCE), so lower ones are given.
  pod_run=(podman)
  if command -v runc >/dev/null 2>&1; then pod_run+=(--runtime runc); fi
  runtime="${pod_run[*]}"
  pod_run+=(run --rm --pull never --network none --read-only --read-only-tmpfs=false
    --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  rc=0
  "${pod_run[@]}" "$image" --version >"$tmp/podman.out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    skip_image "the gate's init container in the image: the image was built (only the binary, user 65532:65532), but podman cannot run a container here: \`${pod_run[*]} $image --version\` exit $rc: $(cat "$tmp/podman.out")"
  else
    mapfile -t gate_argv <"$gate/argv"
    volumes=()
    while read -r name path mode; do
      volumes+=(-v "$gate/$name:$path:$mode")
    done <"$gate/mounts"
    in_image() {
      local rc=0
      "${pod_run[@]}" "${volumes[@]}" --entrypoint "${gate_argv[0]}" "$image" "${gate_argv[@]:1}" >"$gate/out" 2>&1 || rc=$?
      echo "$rc"
    }
    # The source is still the tampered copy: exit 1, and no DEST.
    rc="$(in_image)"
    [ "$rc" -eq 1 ] || fail "the image, tampered: exit $rc, expected 1: $(cat "$gate/out")"
    grep -q model.safetensors "$gate/out" || fail "the image, tampered: the file is not named: $(cat "$gate/out")"
    [ -z "$(ls -A "$verified")" ] || fail "the image, tampered: left in the volume: $(ls -A "$verified")"
    wipe "$gate_src"
    cp -R fixtures/lineage "$gate_src"
    rc="$(in_image)"
    [ "$rc" -eq 0 ] || fail "the image, intact: exit $rc, expected 0: $(cat "$gate/out")"
    published "$gate_src"
    owner="$(stat -c %u "$gate_dest/model.safetensors")"
    [ "$owner" = 65532 ] || fail "the image: the copy belongs to uid $owner, not 65532"
    say "image: only the binary, user 65532:65532; the gate's init container run in it ($runtime, read-only root without tmpfs, no capabilities, no network, the manifest's mounts): tampered -> exit 1 and no DEST, intact -> exit 0 and DEST, read-only, equal to the source, owned by 65532 ($(since "$t"))"
  fi
fi

if [ "${#skipped[@]}" -eq 0 ]; then
  say "all passed in $(since "$t_all")"
else
  msg="passed in $(since "$t_all"), but ${#skipped[@]} check(s) SKIPPED, not passed:$(printf ' [%s]' "${skipped[@]}")"
  say "$msg"
  echo "deploy/test.sh: $msg" >&2
fi
