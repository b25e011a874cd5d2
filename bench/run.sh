#!/usr/bin/env bash
# One-command benchmark of the backend (`todo api`) on PostgreSQL or SQLite; see bench/RESULTS.md.
#
# usage: bench/run.sh [--sqlite] [--smoke] [bench.py options...]
#   (no flag)   full run on a throw-away PostgreSQL: 20 users x 200 tasks, wrk -t2 -c64 15 s per
#               workload, with and without access logs, each workload followed by pgbench with the
#               API's statements (bench/pgbench/, -M prepared -j2, 16 and 64 clients, 15 s each) for
#               the ratio API / PostgreSQL alone; writes bench/results/ and bench/RESULTS.md
#   --sqlite    the same against DATABASE_URL=sqlite://<tmp>/bench.db
#   --smoke     CI: 3 s per workload, -c16, 4 users x 60 tasks, access log on, pgbench 2 s per
#               client count; prints the ratios; exits 1 on any non-2xx, socket error, uncommitted
#               201 or pgbench script that differs from the API's statements, 2 if pgbench fails
#               (results in bench/out/, git-ignored)
#   --help-all  every option of bench/bench.py
#
# TODO_BIN is the binary to measure (default .build/release/todo, built with
# `nice -n 10 swift build -c release --product todo` if missing; in --smoke mode the debug
# binary .build/debug/todo is used when there is no release binary).
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

mode=postgres
smoke=0
passthrough=()
for arg in "$@"; do
    case "$arg" in
        --sqlite) mode=sqlite ;;
        --postgres) mode=postgres ;;
        --smoke) smoke=1 ;;
        --help-all) exec python3 bench/bench.py --help ;;
        *) passthrough+=("$arg") ;;
    esac
done

for tool in python3 curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

install_debian() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: $* missing; install it (apt-get install -y $*) or run as root" >&2
        exit 1
    fi
    echo "installing Debian's $*" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

command -v wrk >/dev/null || install_debian wrk
# The server, and pgbench of the same version beside it (Debian ships it in postgresql-NN, which
# postgresql-contrib depends on).
if [[ "$mode" == postgres ]] && ! ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
    install_debian postgresql postgresql-contrib
fi

if [[ -n "${TODO_BIN:-}" ]]; then
    bin=$TODO_BIN
elif [[ -x .build/release/todo ]]; then
    bin=.build/release/todo
elif [[ $smoke -eq 1 && -x .build/debug/todo ]]; then
    bin=.build/debug/todo
else
    bin=.build/release/todo
fi
if [[ ! -x "$bin" ]]; then
    if [[ "$bin" != .build/release/todo ]]; then
        echo "error: TODO_BIN=$bin is not an executable" >&2
        exit 1
    fi
    echo "building $bin (swift build -c release --product todo; several minutes when cold)" >&2
    nice -n 10 swift build -c release --product todo
fi

args=(--mode "$mode" --bin "$bin")
[[ $smoke -eq 1 ]] && args+=(--smoke)
exec python3 bench/bench.py "${args[@]}" "${passthrough[@]}"
