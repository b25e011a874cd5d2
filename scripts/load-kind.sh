#!/usr/bin/env bash
# Load the locally built application image into a Kind cluster, so that pods start
# it without a registry (the chart's pullPolicy is IfNotPresent).
#
# Usage: scripts/load-kind.sh [TAG | --tag TAG] [--image NAME] [--name CLUSTER]
#                             [--with-postgres] [--dry-run] [--help]
#
#   TAG, --tag TAG    image tag (default: the chart's appVersion)
#   --image NAME      image name (default: todo)
#   --name CLUSTER    Kind cluster name (default: kind)
#   --with-postgres   also load postgres:15 from the local Docker (for offline clusters)
#   --dry-run         print the commands instead of running them
#
# Idempotent: Kind skips an image the nodes already have.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

parse_load_options --name kind "$@"
need kind "install Kind (https://kind.sigs.k8s.io/docs/user/quick-start/) and create a cluster: kind create cluster"
need docker "install Docker; the image is built with scripts/build-images.sh"

load_into_kind() {
  log "loading $1 into Kind cluster $CLUSTER"
  run kind load docker-image "$1" --name "$CLUSTER"
}
load_images load_into_kind
log "done. Next: scripts/deploy-dev.sh --tag $TAG (Kind needs an ingress controller for the Ingress: see docs/MINIKUBE.md)"
