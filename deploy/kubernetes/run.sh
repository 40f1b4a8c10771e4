#!/usr/bin/env bash
# Run a partitioned verification on the current kubectl context and namespace:
# the verify Job, then, once it has finished, the merge Job. Exits with the
# merge's status (0 verified, 1 failed, 2 refused), or 2 when the verify Job
# itself failed (a slice exited 2: see its pod log) or a wait timed out.
#   deploy/kubernetes/run.sh [TIMEOUT_SECONDS]     (default 3600)
# Apply policy-configmap.yaml (or your own ConfigMap) and results-pvc.yaml first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
timeout="${1:-3600}"

# Prints Complete or Failed once the Job has finished; exits 2 on a timeout.
# (kubectl wait takes one condition, and a Job that fails never turns Complete.)
wait_job() {
  local job="$1" deadline=$((SECONDS + timeout)) conds
  while [ "$SECONDS" -lt "$deadline" ]; do
    conds="$(kubectl get "job/$job" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    case " $conds " in
      *" Complete "*) echo Complete; return 0 ;;
      *" Failed "*) echo Failed; return 0 ;;
    esac
    sleep 5
  done
  echo "run.sh: job/$job did not finish within ${timeout}s" >&2
  return 2
}

# A fresh run: old Jobs of the same names would keep their old pods and status.
kubectl delete job modelseal-verify modelseal-merge --ignore-not-found --wait=true
kubectl apply -f "$here/verify-job.yaml"
state="$(wait_job modelseal-verify)" || exit 2
if [ "$state" != Complete ]; then
  echo "run.sh: job/modelseal-verify failed (a slice exited 2, or pods kept failing):" >&2
  kubectl logs -l job-name=modelseal-verify --prefix --tail=20 >&2 || true
  kubectl describe job/modelseal-verify | tail -n 20 >&2 || true
  exit 2
fi
kubectl apply -f "$here/merge-job.yaml"
wait_job modelseal-merge >/dev/null || exit 2
kubectl logs job/modelseal-merge
# The newest merge pod's exit status (an evicted pod may have been replaced).
rc="$(kubectl get pods -l job-name=modelseal-merge --sort-by=.metadata.creationTimestamp \
  -o jsonpath='{.items[-1:].status.containerStatuses[0].state.terminated.exitCode}')"
exit "${rc:-2}"
