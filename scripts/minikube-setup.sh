#!/usr/bin/env bash
# Start (or reuse) a Minikube cluster for the Todo app: ingress addon (ingress-nginx),
# metrics-server (for HPAs) and a CNI that enforces NetworkPolicies (Calico).
#
# Usage: scripts/minikube-setup.sh [--profile NAME] [--cpus N] [--memory SIZE] [--driver NAME]
#                                  [--cni NAME] [--kubernetes-version V] [--dry-run] [--help]
#
#   --profile NAME          Minikube profile (default: minikube)
#   --cpus N                CPUs of the node (default: 4)
#   --memory SIZE           memory of the node (default: 6g)
#   --driver NAME           Minikube driver (default: Minikube's choice, e.g. docker)
#   --cni NAME              CNI plugin (default: calico; Minikube's default CNI ignores NetworkPolicies)
#   --kubernetes-version V  Kubernetes version (default: Minikube's default; the chart needs >= 1.30)
#   --dry-run               print the commands instead of running them
#
# Idempotent: a running cluster is reused (its CNI cannot change: delete it with
# scripts/cleanup.sh --delete-cluster to start over); addons are enabled either way.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"


PROFILE=minikube
CPUS=4
MEMORY=6g
DRIVER=""
CNI=calico
KUBERNETES_VERSION=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE=$2; shift ;;
    --cpus) [ $# -ge 2 ] || die "--cpus needs a value"; CPUS=$2; shift ;;
    --memory) [ $# -ge 2 ] || die "--memory needs a value"; MEMORY=$2; shift ;;
    --driver) [ $# -ge 2 ] || die "--driver needs a value"; DRIVER=$2; shift ;;
    --cni) [ $# -ge 2 ] || die "--cni needs a value"; CNI=$2; shift ;;
    --kubernetes-version) [ $# -ge 2 ] || die "--kubernetes-version needs a value"; KUBERNETES_VERSION=$2; shift ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

need minikube "install Minikube (https://minikube.sigs.k8s.io/docs/start/)"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/) or use 'minikube kubectl --'"

running=0
if [ "$DRY_RUN" = 0 ]; then
  api_server=$(minikube status --profile "$PROFILE" --format '{{.APIServer}}' 2>/dev/null || true)
  [ "$api_server" = Running ] && running=1
fi

if [ "$running" = 1 ]; then
  log "Minikube profile $PROFILE is already running: reusing it (its CNI stays as it was created)"
else
  start=(minikube start --profile "$PROFILE" --cpus "$CPUS" --memory "$MEMORY" --cni "$CNI")
  [ -n "$DRIVER" ] && start+=(--driver "$DRIVER")
  [ -n "$KUBERNETES_VERSION" ] && start+=(--kubernetes-version "$KUBERNETES_VERSION")
  log "starting Minikube profile $PROFILE (a first start downloads images and takes a few minutes)"
  run "${start[@]}"
fi

run minikube --profile "$PROFILE" addons enable ingress
run minikube --profile "$PROFILE" addons enable metrics-server
log "waiting for the ingress controller"
run kubectl --context "$PROFILE" --namespace ingress-nginx wait --for=condition=Available \
  deployment/ingress-nginx-controller --timeout=300s

if [ "$DRY_RUN" = 0 ]; then
  log "ready: the app will answer on http://$(minikube --profile "$PROFILE" ip)/ after scripts/deploy-dev.sh"
fi
log "next: scripts/build-images.sh && scripts/load-minikube.sh && scripts/deploy-dev.sh"
