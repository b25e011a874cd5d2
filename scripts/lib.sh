# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Sourced, not run:  . "$(dirname "$0")/lib.sh"
# Gives: ROOT (the repository), log, die, run (prints instead of running with --dry-run),
# need (a tool check with an install hint), has, chart_app_version, usage (the header comment).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT_NAME=$(basename "$0")
DRY_RUN=${DRY_RUN:-0}

log() { printf '[%s] %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# run CMD ARGS...: run a command, or with DRY_RUN=1 print it (shell-quoted) on stdout.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

# need TOOL HINT: fail with a clear message when TOOL is missing (only warn with --dry-run).
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$DRY_RUN" = 1 ]; then
    log "warning: '$1' is not installed (needed without --dry-run): $2"
    return 0
  fi
  die "'$1' is not installed: $2"
}

# has TOOL: true when TOOL is installed (for optional read-only queries).
has() { command -v "$1" >/dev/null 2>&1; }

# The chart's appVersion, the default image tag (the chart uses the same default).
chart_app_version() {
  sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$ROOT/helm/todo-app/Chart.yaml"
}

# usage: print the script's header comment (from line 2 to the first non-comment line).
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }

# parse_load_options CLUSTER_OPTION DEFAULT_CLUSTER ARGS...: the options of the load-*.sh
# scripts, whose cluster option is CLUSTER_OPTION (--name, --profile). Sets TAG (default: the
# chart's appVersion), IMAGE, CLUSTER, WITH_POSTGRES and DRY_RUN.
# shellcheck disable=SC2034  # CLUSTER is read by the calling script
parse_load_options() {
  local cluster_option=$1
  CLUSTER=$2
  shift 2
  TAG=""
  IMAGE=todo
  WITH_POSTGRES=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --tag) [ $# -ge 2 ] || die "--tag needs a value"; [ -z "$TAG" ] || die "one tag only (got $TAG and $2)"; TAG=$2; shift ;;
      --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE=$2; shift ;;
      "$cluster_option") [ $# -ge 2 ] || die "$cluster_option needs a value"; CLUSTER=$2; shift ;;
      --with-postgres) WITH_POSTGRES=1 ;;
      --dry-run) DRY_RUN=1 ;;
      -h|--help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option: $1" ;;
      # a bare tag, as the Phase IV guides write `load-minikube.sh latest`
      *) [ -z "$TAG" ] || die "one tag only (got $TAG and $1)"; TAG=$1 ;;
    esac
    shift
  done
  TAG=${TAG:-$(chart_app_version)}
}

# load_images LOADER...: runs `LOADER... IMAGE` for the application image (and postgres:15
# with --with-postgres), each of which must be in the local Docker.
load_images() {
  local images=("$IMAGE:$TAG") image
  [ "$WITH_POSTGRES" = 1 ] && images+=("postgres:15")
  for image in "${images[@]}"; do
    if [ "$DRY_RUN" = 0 ] && ! docker image inspect "$image" >/dev/null 2>&1; then
      die "image $image is not in the local Docker: build it with scripts/build-images.sh --tag $TAG"
    fi
    "$@" "$image"
  done
}
