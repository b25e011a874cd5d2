#!/usr/bin/env bash
# Remove the development deployment. By default only the Helm release goes; the
# data volumes (PostgreSQL, SQLite) stay, so a new deploy finds the old data.
#
# Usage: scripts/cleanup.sh [--namespace NS] [--release NAME] [--delete-data]
#                           [--delete-namespace] [--delete-cluster] [--profile NAME]
#                           [--dry-run] [--help]
#
#   --namespace NS       namespace (default: todo)
#   --release NAME       Helm release (default: todo)
#   --delete-data        also delete the release's PersistentVolumeClaims (all data is lost)
#   --delete-namespace   also delete the namespace (and everything left in it, data included)
#   --delete-cluster     also delete the Minikube cluster
#   --profile NAME       Minikube profile for --delete-cluster (default: minikube)
#   --dry-run            print the commands instead of running them
#
# Idempotent: what is already gone is skipped.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"


NAMESPACE=todo
RELEASE=todo
PROFILE=minikube
DELETE_DATA=0
DELETE_NAMESPACE=0
DELETE_CLUSTER=0
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) [ $# -ge 2 ] || die "--namespace needs a value"; NAMESPACE=$2; shift ;;
    --release) [ $# -ge 2 ] || die "--release needs a value"; RELEASE=$2; shift ;;
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE=$2; shift ;;
    --delete-data) DELETE_DATA=1 ;;
    --delete-namespace) DELETE_NAMESPACE=1 ;;
    --delete-cluster) DELETE_CLUSTER=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

if [ "$DELETE_CLUSTER" = 1 ]; then
  need minikube "install Minikube, or delete the cluster with your own tooling"
  if [ "$DRY_RUN" = 1 ] || minikube status --profile "$PROFILE" >/dev/null 2>&1; then
    log "deleting Minikube profile $PROFILE (everything in it goes)"
    run minikube delete --profile "$PROFILE"
  else
    log "Minikube profile $PROFILE does not exist: nothing to delete"
  fi
  exit 0
fi

need helm "install Helm 3.8+ (https://helm.sh/docs/intro/install/)"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"

if [ "$DRY_RUN" = 1 ] || helm status "$RELEASE" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  log "uninstalling release $RELEASE from namespace $NAMESPACE"
  run helm uninstall "$RELEASE" --namespace "$NAMESPACE" --wait
else
  log "release $RELEASE is not installed in namespace $NAMESPACE"
fi

if [ "$DELETE_DATA" = 1 ]; then
  log "deleting the PersistentVolumeClaims of release $RELEASE (the data is lost)"
  run kubectl delete persistentvolumeclaim --namespace "$NAMESPACE" \
    --selector "app.kubernetes.io/instance=$RELEASE" --ignore-not-found --wait=false
fi

if [ "$DELETE_NAMESPACE" = 1 ]; then
  log "deleting namespace $NAMESPACE"
  run kubectl delete namespace "$NAMESPACE" --ignore-not-found
fi

if [ "$DELETE_DATA" = 0 ] && [ "$DELETE_NAMESPACE" = 0 ]; then
  log "data volumes kept (kubectl get pvc -n $NAMESPACE); --delete-data removes them"
fi
