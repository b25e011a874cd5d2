#!/usr/bin/env bash
# Load the locally built application image into Minikube, so that pods start it
# without a registry (the chart's pullPolicy is IfNotPresent).
#
# Usage: scripts/load-minikube.sh [--tag TAG] [--image NAME] [--profile PROFILE]
#                                 [--with-postgres] [--dry-run] [--help]
#
#   --tag TAG          image tag (default: the chart's appVersion)
#   --image NAME       image name (default: todo)
#   --profile PROFILE  Minikube profile (default: minikube)
#   --with-postgres    also load postgres:15 from the local Docker (for offline clusters)
#   --dry-run          print the commands instead of running them
#
# Idempotent: loading the same image again replaces it in the cluster.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"


TAG=""
IMAGE=todo
PROFILE=minikube
WITH_POSTGRES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; TAG=$2; shift ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE=$2; shift ;;
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE=$2; shift ;;
    --with-postgres) WITH_POSTGRES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

TAG=${TAG:-$(chart_app_version)}
need minikube "install Minikube (https://minikube.sigs.k8s.io/docs/start/), then run scripts/minikube-setup.sh"
need docker "install Docker; the image is built with scripts/build-images.sh"

images=("$IMAGE:$TAG")
[ "$WITH_POSTGRES" = 1 ] && images+=("postgres:15")
for image in "${images[@]}"; do
  if [ "$DRY_RUN" = 0 ] && ! docker image inspect "$image" >/dev/null 2>&1; then
    die "image $image is not in the local Docker: build it with scripts/build-images.sh --tag $TAG"
  fi
  log "loading $image into Minikube profile $PROFILE"
  run minikube --profile "$PROFILE" image load "$image"
done
log "done. Next: scripts/deploy-dev.sh --tag $TAG"
