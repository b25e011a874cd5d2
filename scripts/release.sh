#!/usr/bin/env bash
# Build a release: the image and a tarball of the same binary that runs on a plain Debian or
# Ubuntu without a Swift toolchain, with its SHA-256; then prove the tarball runs on
# debian:bookworm-slim.
#
# Usage: scripts/release.sh [--version X.Y.Z] [--image NAME] [--from-image IMAGE]
#                           [--network MODE] [--out DIR] [--no-test] [--help]
#
#   --version X.Y.Z     the release's version (default: from the git tag vX.Y.Z on HEAD;
#                       refused when HEAD has none: tag the commit first)
#   --image NAME        the image to build and tag NAME:X.Y.Z (default: todo)
#   --from-image IMAGE  package the binary of an image built already (its version must be
#                       X.Y.Z) instead of building one
#   --network MODE      build network (host where Docker has no bridge network)
#   --out DIR           where the tarball goes (default: dist)
#   --no-test           skip the run on debian:bookworm-slim
#
# The binary is the image's: a release build with the Swift runtime and Foundation linked
# statically (Dockerfile). It needs glibc, libstdc++, libgcc_s and zlib, which every Debian and
# Ubuntu has, and libcurl.so.4, for which the tarball carries the image's stand-in next to the
# binary (found through its RUNPATH, $ORIGIN): nothing of this project calls libcurl.
# Writes DIR/todo-X.Y.Z-linux-ARCH.tar.gz and DIR/todo-X.Y.Z-linux-ARCH.tar.gz.sha256.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

VERSION=""
IMAGE=todo
FROM_IMAGE=""
NETWORK=""
OUT=dist
TEST=1
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION=$2; shift ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE=$2; shift ;;
    --from-image) [ $# -ge 2 ] || die "--from-image needs a value"; FROM_IMAGE=$2; shift ;;
    --network) [ $# -ge 2 ] || die "--network needs a value"; NETWORK=$2; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT=$2; shift ;;
    --no-test) TEST=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

# The version of the tag vX.Y.Z on HEAD.
tagged_version() {
  local tag
  tag=$(git -C "$ROOT" describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) || return 1
  printf '%s\n' "${tag#v}"
}

VERSION=${VERSION:-$(tagged_version)} || die "HEAD has no tag vX.Y.Z: tag it (git tag v1.2.3) or pass --version"
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || die "the version must look like 1.2.3 or 1.2.3-rc.1, got '$VERSION'"
need docker "install Docker with BuildKit"
ARCH=$(uname -m)
NAME="todo-$VERSION-linux-$ARCH"

if [ -z "$FROM_IMAGE" ]; then
  FROM_IMAGE="$IMAGE:$VERSION"
  build=(docker build --file "$ROOT/Dockerfile" --tag "$FROM_IMAGE" --build-arg "VERSION=$VERSION"
         --build-arg "REVISION=$(git -C "$ROOT" rev-parse HEAD)")
  [ -n "$NETWORK" ] && build+=(--network "$NETWORK")
  log "building $FROM_IMAGE"
  "${build[@]}" "$ROOT"
fi

work=$(mktemp -d)
container=""
cleanup() {
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# The binary and the libcurl stand-in, as the image has them.
container=$(docker create --pull never "$FROM_IMAGE")
mkdir -p "$work/$NAME"
docker cp "$container:/usr/local/bin/todo" "$work/$NAME/todo"
docker cp -L "$container:/usr/lib/$ARCH-linux-gnu/libcurl.so.4" "$work/$NAME/libcurl.so.4"
cp "$ROOT/LICENSE" "$ROOT/README.md" "$ROOT/CHANGELOG.md" "$work/$NAME/"
built=$(docker run --rm --pull never --network none --entrypoint /usr/local/bin/todo "$FROM_IMAGE" --version)
[ "$built" = "$VERSION" ] || die "$FROM_IMAGE says version $built, not $VERSION"

mkdir -p "$OUT"
tarball="$OUT/$NAME.tar.gz"
# Reproducible: sorted names, fixed owner, the commit's time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(git -C "$ROOT" log -1 --format=%ct)" \
  -C "$work" -czf "$tarball" "$NAME"
(cd "$OUT" && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")
log "wrote $tarball ($(du -h "$tarball" | cut -f1)) and its .sha256"

[ "$TEST" = 1 ] || exit 0
# On a Debian with no toolchain: unpack, check the sum, start `todo serve` and wait for
# its readiness through the binary's own health check (the image has no curl).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
docker run --rm --pull never --network host -v "$(cd "$OUT" && pwd):/dist:ro" debian:bookworm-slim sh -euc "
  (cd /dist && sha256sum --check --quiet $NAME.tar.gz.sha256)
  tar -xzf /dist/$NAME.tar.gz -C /opt
  test \"\$(/opt/$NAME/todo --version)\" = '$VERSION'
  HOST=127.0.0.1 PORT=$port WEB_PORT=0 MCP_PORT=0 TODO_DATA_DIR=/tmp/data LOG_LEVEL=warning /opt/$NAME/todo serve & pid=\$!
  for _ in \$(seq 1 100); do
    /opt/$NAME/todo healthcheck http://127.0.0.1:$port/readyz >/dev/null 2>&1 && break
    sleep 0.1
  done
  /opt/$NAME/todo healthcheck http://127.0.0.1:$port/readyz
  kill \$pid && wait \$pid || true
"
log "$NAME runs on debian:bookworm-slim: version $VERSION, todo serve ready"
