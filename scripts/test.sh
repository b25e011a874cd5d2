#!/usr/bin/env bash
# Runs the whole test suite: Swift unit, storage-conformance (SQLite and PostgreSQL) and HTTP
# tests, then the end-to-end and contract tests against the real binary. It installs what it
# needs (Python packages; PostgreSQL if missing) and starts its own PostgreSQL on 127.0.0.1.
#
# usage: scripts/test.sh [--help]
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

cd "$(dirname "$0")/.."

for tool in swift python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

timings=()
step() {
    local name=$1
    shift
    echo "==> $name"
    local start=$SECONDS
    "$@"
    timings+=("$(printf '%-28s %4ds' "$name" $((SECONDS - start)))")
}

step "python packages" python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r tests/requirements.txt
step "swift build (with tests)" swift build --build-tests
export TODO_REQUIRE_POSTGRES=1
step "swift test + pytest" scripts/with-postgres.sh bash -c \
    'swift test --skip-build && python3 -m pytest -q -p no:cacheprovider tests'

echo "==> timings"
printf '    %s\n' "${timings[@]}"
