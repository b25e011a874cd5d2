#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server on 127.0.0.1 and TEST_DATABASE_URL set.
# The server lives in a temporary directory and is stopped and removed when the command ends.
#
# usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

if [[ $# -eq 0 || "$1" == "--help" || "$1" == "-h" ]]; then
    echo "usage: $0 COMMAND [ARGS...]"
    echo "Starts a temporary PostgreSQL on a free 127.0.0.1 port, exports TEST_DATABASE_URL, runs COMMAND, cleans up."
    exit 0
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" ]]; then
    echo "PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: run as root or install postgresql yourself (apt-get install postgresql)" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

work_dir=$(mktemp -d /tmp/todo-pg.XXXXXX)
# PostgreSQL refuses to run as root: when we are root, run it as the unprivileged 'postgres'
# (or 'nobody') user and give that user the directory.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || pg_user=nobody
    chown "$pg_user" "$work_dir"
    run_as=(runuser -u "$pg_user" --)
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

cleanup() {
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work_dir"
}
trap cleanup EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$work_dir/data" -U todo --auth=trust -E UTF8 --no-locale >/dev/null
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$work_dir/data" -l "$work_dir/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $port -k $work_dir -c max_connections=200" start >/dev/null
"${run_as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U todo todo_test

export TEST_DATABASE_URL="postgres://todo@127.0.0.1:$port/todo_test?sslmode=disable"
export TEST_POSTGRES_BIN="$pg_bin"
export TEST_POSTGRES_DATA="$work_dir/data"
# How to run pg_ctl on this server (fault tests stop and start it): as the server's user.
export TEST_POSTGRES_CTL="${run_as[*]} $pg_bin/pg_ctl -D $work_dir/data -l $work_dir/server.log"
export TEST_POSTGRES_OPTIONS="-h 127.0.0.1 -p $port -k $work_dir -c max_connections=200"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
