#!/usr/bin/env bash
# Build the application image (web, backend, MCP server and migrations all run it).
#
# Usage: scripts/build-images.sh [TAG | --tag TAG] [--image NAME] [--network MODE] [--no-cache]
#                                [--no-latest] [--dry-run] [--help] [-- EXTRA_DOCKER_BUILD_ARGS...]
#
#   TAG, --tag TAG  image tag (default: the chart's appVersion, which is also the
#                   chart's default image.tag, so deploy-dev.sh finds it). The Phase IV
#                   guides' `build-images.sh latest` builds todo:latest (then
#                   load-minikube.sh latest and deploy-dev.sh --tag latest)
#   --image NAME    image name (default: todo)
#   --network MODE  build network, e.g. host where Docker has no bridge network (CI)
#   --no-cache      rebuild every layer
#   --no-latest     do not also tag NAME:latest (the tag docker-compose.yml runs)
#   --dry-run       print the commands instead of running them
#
# Builds ./Dockerfile (default target: the runtime image) with BuildKit, passing the
# version and, when known, the git revision as build arguments (the image's OCI labels).
# Re-running is cheap: the layer cache is reused.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"


TAG=""
IMAGE=todo
NETWORK=""
NO_CACHE=0
ALSO_LATEST=1
EXTRA_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; [ -z "$TAG" ] || die "one tag only (got $TAG and $2)"; TAG=$2; shift ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE=$2; shift ;;
    --network) [ $# -ge 2 ] || die "--network needs a value"; NETWORK=$2; shift ;;
    --no-cache) NO_CACHE=1 ;;
    --no-latest) ALSO_LATEST=0 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; EXTRA_ARGS=("$@"); break ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) [ -z "$TAG" ] || die "one tag only (got $TAG and $1)"; TAG=$1 ;;
  esac
  shift
done

TAG=${TAG:-$(chart_app_version)}
[ -n "$TAG" ] || die "no --tag given and no appVersion found in helm/todo-app/Chart.yaml"
need docker "install Docker (https://docs.docker.com/engine/install/) with BuildKit (Docker 23+ uses it by default)"
if [ ! -f "$ROOT/Dockerfile" ]; then
  if [ "$DRY_RUN" = 1 ]; then log "warning: $ROOT/Dockerfile does not exist yet"; else die "no Dockerfile at $ROOT/Dockerfile"; fi
fi

# The binary's version: the tag when it is one (1.2.3), else the chart's appVersion (latest, dev).
version=$TAG
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || version=$(chart_app_version)
build=(docker build --file "$ROOT/Dockerfile" --tag "$IMAGE:$TAG" --build-arg "VERSION=$version")
[ "$ALSO_LATEST" = 1 ] && [ "$TAG" != latest ] && build+=(--tag "$IMAGE:latest")
if has git && revision=$(git -C "$ROOT" rev-parse --verify --quiet HEAD 2>/dev/null); then
  build+=(--build-arg "REVISION=$revision")
fi
[ -n "$NETWORK" ] && build+=(--network "$NETWORK")
[ "$NO_CACHE" = 1 ] && build+=(--no-cache)
build+=("${EXTRA_ARGS[@]}" "$ROOT")

log "building $IMAGE:$TAG"
run env DOCKER_BUILDKIT=1 "${build[@]}"
if [ "$DRY_RUN" = 0 ]; then
  size=$(docker image inspect --format '{{.Size}}' "$IMAGE:$TAG")
  log "built $IMAGE:$TAG ($((size / 1000000)) MB). Next: scripts/load-minikube.sh --tag $TAG (or load-kind.sh)"
fi
