#!/usr/bin/env bash
# Load the locally built application image into Minikube, so that pods start it
# without a registry (the chart's pullPolicy is IfNotPresent).
#
# Usage: scripts/load-minikube.sh [TAG | --tag TAG] [--image NAME] [--profile PROFILE]
#                                 [--with-postgres] [--dry-run] [--help]
#
#   TAG, --tag TAG     image tag (default: the chart's appVersion)
#   --image NAME       image name (default: todo)
#   --profile PROFILE  Minikube profile (default: minikube)
#   --with-postgres    also load postgres:15 from the local Docker (for offline clusters)
#   --dry-run          print the commands instead of running them
#
# Idempotent: loading the same image again replaces it in the cluster.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

parse_load_options --profile minikube "$@"
need minikube "install Minikube (https://minikube.sigs.k8s.io/docs/start/), then run scripts/minikube-setup.sh"
need docker "install Docker; the image is built with scripts/build-images.sh"

load_into_minikube() {
  log "loading $1 into Minikube profile $CLUSTER"
  run minikube --profile "$CLUSTER" image load "$1"
}
load_images load_into_minikube
log "done. Next: scripts/deploy-dev.sh --tag $TAG"
