#!/usr/bin/env bash
# CI stage "containers": builds the todo image once from ./Dockerfile and proves it and the
# Compose files work, on this machine's offline Docker (../shared/ci-env/README.md).
#
# usage: .ci/containers.sh [--help]      (run from the repository root, as root, in CI)
#
#   1. Docker engine and the local base images (docker-up, base-images; env.sh).
#   2. docker build (time printed), then the image: size <= TODO_IMAGE_LIMIT_MB (100), where
#      the bytes go, user 65532, no shell, OCI labels, no secrets, its roles (`todo --help`).
#   3. The image alone: `docker run --read-only --cap-drop ALL --security-opt
#      no-new-privileges` with the SQLite data on a volume; the process runs as 65532 with no
#      capabilities (read from /proc); healthy by its own HEALTHCHECK (time from `docker run`
#      printed); answers; stops cleanly on SIGTERM.
#   4. The release tarball of the image's binary (scripts/release.sh) runs on debian:bookworm-slim.
#   5. Compose: docker-compose.yml + docker-compose.ci.yml (host network, CI ports), the
#      services in COMPOSE_SERVICES, checked end to end by .ci/compose_e2e.py; then
#      docker-compose.sqlite.yml the same way.
#   6. Render and run: .ci/render_run.py starts the Helm chart's rendered pods (PostgreSQL and
#      SQLite modes) with Docker as rendered, behind Service proxies on 127.0.0.1 (ports 3000,
#      8000, 8001, 5432 must be free), and checks the brief's acceptance: all ready, the
#      dashboard, the assistant through MCP, data kept across pod deletion, a rolling update
#      of the backend under load that loses no request (docs/DEPLOYMENT.md, "Render and run").
# Prints the duration of each step and ends with `N passed, M failed`; exits non-zero on a
# failure. Everything it starts is named todo-ci* (render and run: todo-rr-*) and removed at the end.
#
# Environment: TODO_CI_IMAGE (todo:ci), TODO_IMAGE_LIMIT_MB (100), CI_DB_PORT (55433),
# CI_API_PORT (18000), CI_WEB_PORT (13000), CI_MCP_PORT (18001), CI_IMAGE_PORT (18095),
# CI_SQLITE_PORT (18096), CI_SQLITE_WEB_PORT (18097), CI_SQLITE_MCP_PORT (18098);
# KEEP_BUILD_LOG=1 prints the whole build output.
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
cd "$(dirname "$0")/.."
[[ -f Dockerfile && -f docker-compose.yml ]] || { echo "error: run from the todo repository" >&2; exit 2; }
CI_ENV=../shared/ci-env
[[ -x $CI_ENV/docker-up ]] || { echo "error: $CI_ENV (the shared ci-env scripts) is missing" >&2; exit 2; }

IMAGE=${TODO_CI_IMAGE:-todo:ci}
LIMIT_MB=${TODO_IMAGE_LIMIT_MB:-100}
# One build network, always: BuildKit's cache key includes it (README of ci-env).
BUILD_NETWORK=host
export CI_DB_PORT=${CI_DB_PORT:-55433} CI_API_PORT=${CI_API_PORT:-18000}
export CI_WEB_PORT=${CI_WEB_PORT:-13000} CI_MCP_PORT=${CI_MCP_PORT:-18001}
IMAGE_PORT=${CI_IMAGE_PORT:-18095}
SQLITE_PORT=${CI_SQLITE_PORT:-18096}
SQLITE_WEB_PORT=${CI_SQLITE_WEB_PORT:-18097}
SQLITE_MCP_PORT=${CI_SQLITE_MCP_PORT:-18098}
PROJECT=todo-ci
SQLITE_PROJECT=todo-ci-sqlite
PROBE=todo-ci-image
PROBE_VOLUME=todo-ci-image-data
# Services the Compose check starts. The web and MCP roles are added below when the image's
# `todo --help` lists the `web` and `mcp` subcommands (add them here for good once they exist).
COMPOSE_SERVICES="db migrate api"

work=$(mktemp -d)
passed=0
failed=0
timings=()

step() {
    local name=$1
    shift
    echo
    echo "=== $name"
    local start=$SECONDS
    "$@"
    timings+=("$(printf '%-34s %5ds' "$name" $((SECONDS - start)))")
    echo "--- $name: $((SECONDS - start)) s"
}

# check DESCRIPTION COMMAND...: one counted check.
check() {
    local description=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok - $description"
    else
        failed=$((failed + 1))
        echo "not ok - $description"
    fi
}

cleanup() {
    docker rm --force "$PROBE" >/dev/null 2>&1 || true
    docker volume rm "$PROBE_VOLUME" >/dev/null 2>&1 || true
    local project ids
    for project in "$PROJECT" "$SQLITE_PROJECT"; do
        mapfile -t ids < <(docker ps --all --quiet --filter "label=com.docker.compose.project=$project")
        [[ ${#ids[@]} -eq 0 ]] || docker rm --force "${ids[@]}" >/dev/null
        mapfile -t ids < <(docker volume ls --quiet --filter "label=com.docker.compose.project=$project")
        [[ ${#ids[@]} -eq 0 ]] || docker volume rm "${ids[@]}" >/dev/null
    done
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

millis() { date +%s%3N; }

# not COMMAND...: succeeds when COMMAND fails (quietly), for negative checks.
not() { ! "$@" >/dev/null 2>&1; }

# has_subcommands HELP NAME...: the `todo --help` text lists every NAME as a subcommand.
has_subcommands() {
    local help=$1 name
    shift
    for name in "$@"; do
        grep -qE "^ +$name( |\$)" <<<"$help" || return 1
    done
}

# ---------------------------------------------------------------------------------------
prepare() {
    "$CI_ENV/docker-up"
    "$CI_ENV/base-images"
    # shellcheck source=/dev/null
    . "$CI_ENV/env.sh"
    trap 'cleanup; rm -rf "$work"' EXIT
    for tool in python3 curl; do
        command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 2; }
    done
    python3 -c 'import requests' 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            "$(grep -E '^requests==' tests/requirements.txt || echo requests)"
    # Left over from an interrupted run.
    cleanup
    for port in "$CI_DB_PORT" "$CI_API_PORT" "$CI_WEB_PORT" "$CI_MCP_PORT" "$IMAGE_PORT" "$SQLITE_PORT" "$SQLITE_WEB_PORT" "$SQLITE_MCP_PORT"; do
        port_is_free "$port" || { echo "error: port $port on 127.0.0.1 is taken; set the CI_*_PORT variables" >&2; exit 2; }
    done
    # The .env of the Compose checks: .env.example with the two required values filled in,
    # fresh for every run (so the example itself is what is tested), and a VAPID key (a P-256
    # private scalar, 1 to n-1, in base64url), so that Web Push is on.
    local vapid_key
    vapid_key=$(python3 -c 'import base64, secrets; n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
print(base64.urlsafe_b64encode((secrets.randbelow(n - 1) + 1).to_bytes(32, "big")).rstrip(b"=").decode())')
    sed -e "s/^AUTH_SECRET=.*/AUTH_SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')/" \
        -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')/" \
        -e "s/^VAPID_PRIVATE_KEY=.*/VAPID_PRIVATE_KEY=$vapid_key/" \
        -e "s/^TODO_IMAGE=.*/TODO_IMAGE=$IMAGE/" .env.example > "$work/ci.env"
    # The SQLite variant needs nothing: .env.example as it is (the secret is generated).
    sed -e "s/^TODO_IMAGE=.*/TODO_IMAGE=$IMAGE/" .env.example > "$work/sqlite.env"
}

build_image() {
    local revision version start
    revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' helm/todo-app/Chart.yaml 2>/dev/null || true)
    start=$(millis)
    # The whole log goes to a file; the console gets the steps as they start and end.
    set +e
    nice -n 10 docker build --network "$BUILD_NETWORK" --progress plain --tag "$IMAGE" \
        --build-arg "VERSION=${version:-0.0.0}" --build-arg "REVISION=$revision" . 2>&1 \
        | tee "$work/build.log" \
        | grep --line-buffered -E '^#[0-9]+ \[|^#[0-9]+ ERROR|Build of product|ICU data|libcurl stand-in|error:' \
        | cut -c1-140
    local status=${PIPESTATUS[0]} elapsed=$(( $(millis) - start ))
    set -e
    if [[ $status -ne 0 ]]; then
        tail -n 80 "$work/build.log"
        echo "error: docker build failed ($status)" >&2
        exit 1
    fi
    if [[ "${KEEP_BUILD_LOG:-0}" == 1 ]]; then cat "$work/build.log"; fi
    echo "--- build steps and their times"
    awk '/^#[0-9]+ \[/ { id = $1; sub(/^#[0-9]+ /, ""); name[id] = substr($0, 1, 100) }
         /^#[0-9]+ (DONE|CACHED)/ && ($1 in name) { printf "  %-7s %s\n", ($2 == "DONE" ? $3 : "cached"), name[$1] }' "$work/build.log"
    echo "image build: $((elapsed / 1000)).$((elapsed % 1000 / 100)) s"
}

# ---------------------------------------------------------------------------------------
image_facts() {
    local size_bytes user healthcheck env labels help
    size_bytes=$(docker image inspect --format '{{.Size}}' "$IMAGE")
    echo "image $IMAGE: $size_bytes bytes ($((size_bytes / 1000000)) MB), limit $LIMIT_MB MB"
    check "image size $((size_bytes / 1000000)) MB <= $LIMIT_MB MB" test "$size_bytes" -le $((LIMIT_MB * 1000000))

    # Where the bytes go: the base layer, the binary, and inside the binary.
    docker history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-110 | grep -v '^0B' || true
    docker create --name "$PROBE" "$IMAGE" >/dev/null
    docker cp "$PROBE:/usr/local/bin/todo" "$work/todo"
    docker rm "$PROBE" >/dev/null
    if command -v size >/dev/null; then
        size -A "$work/todo" | awk 'NR > 2 && $2 > 1000000 { printf "  section %-22s %6.1f MB\n", $1, $2 / 1e6 }'
    fi
    # ICU's data (Foundation's internationalisation) is one blob in .rodata; its
    # header names the ICU version (icudtNNl).
    local icu_version
    icu_version=$(grep -aoE 'icudt[0-9]+l' "$work/todo" | head -n 1 || true)
    echo "  binary $(stat -c %s "$work/todo") bytes; ICU data: ${icu_version:-not found}"

    user=$(docker image inspect --format '{{.Config.User}}' "$IMAGE")
    check "image user is 65532 (Config.User '$user')" test "${user%%:*}" = 65532
    healthcheck=$(docker image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE")
    check "HEALTHCHECK runs the binary without a shell ($healthcheck)" \
        test "$healthcheck" = '["CMD","/usr/local/bin/todo","healthcheck"]'
    check "no shell in the image" not docker run --rm --network none --entrypoint /bin/sh "$IMAGE" -c true
    labels=$(docker image inspect --format '{{json .Config.Labels}}' "$IMAGE")
    check "OCI labels title, version, revision, source" python3 -c '
import json, sys
labels = json.loads(sys.argv[1]) or {}
keys = ["org.opencontainers.image." + key for key in ("title", "version", "revision", "source", "description")]
sys.exit(0 if all(key in labels for key in keys) and labels[keys[2]] != "unknown" else 1)' "$labels"
    env=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE")
    check "no secret in the image's environment" not grep -qiE '^[A-Z_]*(SECRET|PASSWORD|API_KEY|TOKEN)[A-Z_]*=' <<<"$env"

    help=$(docker run --rm --network none "$IMAGE" --help)
    echo "$help" | sed -n '/SUBCOMMANDS/,$p'
    check "the image's todo has the api, migrate, serve and healthcheck roles" \
        has_subcommands "$help" api migrate serve healthcheck
    for role in web mcp; do
        if has_subcommands "$help" "$role"; then
            COMPOSE_SERVICES+=" $role"
        else
            echo "note: no '$role' subcommand in the image yet: the Compose check leaves the $role service out"
        fi
    done
    echo "Compose services to check: $COMPOSE_SERVICES"
}

image_alone() {
    local start healthy_ms first_ok_ms status pid stop_start
    docker volume create "$PROBE_VOLUME" >/dev/null
    start=$(millis)
    docker run --detach --name "$PROBE" --network host --pull never \
        --read-only --cap-drop ALL --security-opt no-new-privileges \
        --volume "$PROBE_VOLUME:/data" \
        --env HOST=127.0.0.1 --env PORT="$IMAGE_PORT" \
        --env AUTH_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" \
        "$IMAGE" >/dev/null
    first_ok_ms=""
    healthy_ms=""
    for _ in $(seq 1 600); do
        if [[ -z $first_ok_ms ]] && curl -fsS -o /dev/null "http://127.0.0.1:$IMAGE_PORT/healthz" 2>/dev/null; then
            first_ok_ms=$(( $(millis) - start ))
        fi
        status=$(docker inspect --format '{{.State.Health.Status}}' "$PROBE")
        if [[ $status == healthy ]]; then healthy_ms=$(( $(millis) - start )); break; fi
        [[ $(docker inspect --format '{{.State.Running}}' "$PROBE") == true ]] || break
        sleep 0.05
    done
    echo "docker run -> first /healthz 200: ${first_ok_ms:-never} ms; -> healthy by its HEALTHCHECK: ${healthy_ms:-never} ms"
    check "read-only, no capabilities, SQLite on a volume: healthy by its own HEALTHCHECK" test -n "$healthy_ms"

    pid=$(docker inspect --format '{{.State.Pid}}' "$PROBE")
    if [[ -n $pid && $pid != 0 ]]; then
        grep -E '^(Uid|Gid|CapEff|NoNewPrivs):' "/proc/$pid/status" | tr '\t' ' ' | sed 's/^/  \/proc: /'
        check "the process runs as 65532:65532 (/proc)" \
            bash -c "grep -qE '^Uid:\s+65532\s+65532\s+65532\s+65532$' /proc/$pid/status && grep -qE '^Gid:\s+65532\s+65532\s+65532\s+65532$' /proc/$pid/status"
        check "no effective capabilities, no-new-privileges (/proc)" \
            bash -c "grep -qE '^CapEff:\s+0+$' /proc/$pid/status && grep -qE '^NoNewPrivs:\s+1$' /proc/$pid/status"
    else
        check "the container is running" false
    fi
    docker top "$PROBE" -o pid,uid,gid,args | sed "s/^/  docker top: /" || true
    check "docker exec todo healthcheck (no shell needed) exits 0" docker exec "$PROBE" /usr/local/bin/todo healthcheck
    check "signs up a user, writing SQLite on the read-only container's volume" \
        bash -c "curl -fsS -o /dev/null -X POST 'http://127.0.0.1:$IMAGE_PORT/api/auth/signup' \
                 -H 'Content-Type: application/json' -d '{\"email\":\"probe@example.com\",\"password\":\"correct horse battery\"}'"
    local volume_dir
    volume_dir=$(docker volume inspect --format '{{.Mountpoint}}' "$PROBE_VOLUME")
    check "the volume is owned by 65532 and holds todo.db" \
        bash -c "test \"\$(stat -c %u:%g '$volume_dir')\" = 65532:65532 && test -s '$volume_dir/todo.db'"

    stop_start=$(millis)
    docker stop --time 30 "$PROBE" >/dev/null
    echo "docker stop (SIGTERM, graceful shutdown): $(( $(millis) - stop_start )) ms"
    check "exits 0 on SIGTERM" test "$(docker inspect --format '{{.State.ExitCode}}' "$PROBE")" = 0
    if [[ $failed -gt 0 ]]; then docker logs --tail 40 "$PROBE" 2>&1 | sed 's/^/  log: /'; fi
    docker rm --force "$PROBE" >/dev/null
    docker volume rm "$PROBE_VOLUME" >/dev/null
}

compose_checks() {
    local compose=(docker compose -p "$PROJECT" --env-file "$work/ci.env" -f docker-compose.yml -f docker-compose.ci.yml)
    local without_secrets dry_run
    # What `docker compose up` says when .env lacks the required values.
    without_secrets=$(env -u AUTH_SECRET -u POSTGRES_PASSWORD \
        docker compose --env-file /dev/null -f docker-compose.yml config 2>&1 >/dev/null || true)
    check "Compose refuses to run without AUTH_SECRET, naming it" \
        grep -q 'required variable AUTH_SECRET is missing a value: set AUTH_SECRET' <<<"$without_secrets"
    check "Compose refuses to run without POSTGRES_PASSWORD, naming it" \
        grep -q 'required variable POSTGRES_PASSWORD is missing a value: set POSTGRES_PASSWORD' <<<"$without_secrets"
    # shellcheck disable=SC2086
    dry_run=$("${compose[@]}" --dry-run up --detach --no-build --pull never $COMPOSE_SERVICES 2>&1)
    check "the CI override would create no network" not grep -qi 'network' <<<"$dry_run"
    run_e2e postgres --project "$PROJECT" --env-file "$work/ci.env" --services "$COMPOSE_SERVICES" \
        --api-port "$CI_API_PORT" --web-port "$CI_WEB_PORT"
}

sqlite_checks() {
    cat > "$work/sqlite.ci.yml" <<EOF
# CI only: docker-compose.sqlite.yml on the host network, on 127.0.0.1 and CI ports.
services:
  todo:
    network_mode: host
    ports: !reset []
    environment:
      HOST: 127.0.0.1
      PORT: "$SQLITE_PORT"
      WEB_PORT: "$SQLITE_WEB_PORT"
      MCP_PORT: "$SQLITE_MCP_PORT"
    healthcheck:
      test: ["CMD", "/usr/local/bin/todo", "healthcheck", "http://127.0.0.1:$SQLITE_PORT/readyz"]
      interval: 1s
EOF
    run_e2e sqlite --project "$SQLITE_PROJECT" --env-file "$work/sqlite.env" \
        --override "$work/sqlite.ci.yml" --port "$SQLITE_PORT" \
        --web-port "$SQLITE_WEB_PORT" --mcp-port "$SQLITE_MCP_PORT"
}

# run_e2e ARGS...: .ci/compose_e2e.py, whose ok / not ok lines are added to the counts.
run_e2e() {
    counted "compose_e2e.py $1" python3 .ci/compose_e2e.py "$@"
}

# render_and_run: the chart's rendered pods run with Docker (.ci/render_run.py), counted the same way.
render_and_run() {
    "$CI_ENV/k8s-tools" >/dev/null
    python3 -c 'import yaml' 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore PyYAML
    counted "render_run.py" python3 .ci/render_run.py --image "$IMAGE"
}

# counted NAME COMMAND...: runs a checker and adds its `ok` / `not ok` lines to the counts; a
# checker that fails without a `not ok` line counts as one failure.
counted() {
    local name=$1 status=0
    shift
    "$@" | tee "$work/checks.log" || status=$?
    passed=$((passed + $(grep -c '^ok ' "$work/checks.log" || true)))
    failed=$((failed + $(grep -c '^not ok ' "$work/checks.log" || true)))
    if [[ $status -ne 0 && $(grep -c '^not ok ' "$work/checks.log" || true) -eq 0 ]]; then
        failed=$((failed + 1))
        echo "not ok - $name exited $status"
    fi
}

# The release tarball of this image's binary (scripts/release.sh): it unpacks, its sum
# checks, and `todo serve` gets ready on a Debian without a toolchain.
release_checks() {
    local version
    version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' helm/todo-app/Chart.yaml)
    check "release tarball of the image's binary runs todo serve on debian:bookworm-slim" \
        scripts/release.sh --from-image "$IMAGE" --version "$version" --out "$work/dist"
}

# ---------------------------------------------------------------------------------------
stage_start=$SECONDS
step "docker engine and base images" prepare
step "build the image" build_image
step "image: size, user, labels, roles" image_facts
step "image alone: read-only, no caps" image_alone
step "release tarball on debian:bookworm-slim" release_checks
step "compose: PostgreSQL stack" compose_checks
step "compose: SQLite variant" sqlite_checks
step "render and run: the Helm chart" render_and_run

echo
echo "=== timings"
printf '%s\n' "${timings[@]}"
echo "containers stage: $((SECONDS - stage_start)) s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
