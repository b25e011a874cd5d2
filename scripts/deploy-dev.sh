#!/usr/bin/env bash
# Install or upgrade the development release on the current kubectl context
# (Minikube or Kind) with helm/todo-app/values.yaml, and wait until it is ready.
#
# Usage: scripts/deploy-dev.sh [--tag TAG] [--namespace NS] [--release NAME] [--sqlite]
#                              [--values FILE]... [--set KEY=VALUE]... [--timeout DURATION]
#                              [--test] [--dry-run] [--help]
#
#   --tag TAG           image tag (default: the chart's appVersion)
#   --namespace NS      namespace (default: todo); created with Pod Security "restricted"
#   --release NAME      Helm release (default: todo)
#   --sqlite            database.mode=sqlite (one backend on a PVC) instead of PostgreSQL
#   --values FILE       extra values file, after values.yaml (repeatable)
#   --set KEY=VALUE     extra value (repeatable)
#   --timeout DURATION  how long to wait for the pods (default: 5m)
#   --test              run `helm test` afterwards
#   --dry-run           print the commands instead of running them
#
# Idempotent: `helm upgrade --install` installs the first time and upgrades after.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"


TAG=""
NAMESPACE=todo
RELEASE=todo
TIMEOUT=5m
RUN_TESTS=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; TAG=$2; shift ;;
    --namespace) [ $# -ge 2 ] || die "--namespace needs a value"; NAMESPACE=$2; shift ;;
    --release) [ $# -ge 2 ] || die "--release needs a value"; RELEASE=$2; shift ;;
    --sqlite) EXTRA+=(--set database.mode=sqlite) ;;
    --values) [ $# -ge 2 ] || die "--values needs a file"; [ -f "$2" ] || die "no such values file: $2"; EXTRA+=(--values "$2"); shift ;;
    --set) [ $# -ge 2 ] || die "--set needs KEY=VALUE"; EXTRA+=(--set "$2"); shift ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs a duration"; TIMEOUT=$2; shift ;;
    --test) RUN_TESTS=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

TAG=${TAG:-$(chart_app_version)}
CHART="$ROOT/helm/todo-app"
need helm "install Helm 3.8+ (https://helm.sh/docs/intro/install/)"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"

if [ "$DRY_RUN" = 0 ]; then
  context=$(kubectl config current-context 2>/dev/null) || die "kubectl has no current context: start a cluster with scripts/minikube-setup.sh"
  log "deploying release $RELEASE to namespace $NAMESPACE of context $context (image todo:$TAG)"
  kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 || run kubectl create namespace "$NAMESPACE"
else
  run kubectl create namespace "$NAMESPACE"
fi
# Every pod of the chart meets Pod Security "restricted": let the namespace enforce it.
run kubectl label --overwrite namespace "$NAMESPACE" \
  pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/warn=restricted \
  pod-security.kubernetes.io/audit=restricted

run helm upgrade --install "$RELEASE" "$CHART" \
  --namespace "$NAMESPACE" \
  --values "$CHART/values.yaml" \
  --set image.tag="$TAG" \
  "${EXTRA[@]}" \
  --wait --timeout "$TIMEOUT"

if [ "$RUN_TESTS" = 1 ]; then
  run helm test "$RELEASE" --namespace "$NAMESPACE" --logs --timeout "$TIMEOUT"
fi
log "done. Status: helm status $RELEASE -n $NAMESPACE; pods: kubectl get pods -n $NAMESPACE"
