#!/usr/bin/env python3
"""Peak memory of the backend while it exports one large account (GET /api/me/export).

usage: bench/export_rss.py [--bin BIN] [--compare-bin OLD] [--tasks 100000] [--database-url URL]

For each binary: a fresh SQLite database (or a fresh schema-less PostgreSQL database given by
--database-url, which is dropped and recreated), one account with --tasks tasks imported 10,000 at
a time, then a new `todo api` process (so that the imports' memory does not count), whose resident
set is read from /proc before the export and its peak (VmHWM) after it. The export is read to the
end and parsed, and its size and duration are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback import free_port, wait_ready  # noqa: E402

SECRET = "bench-export-secret-0123456789-0123456789"
BATCH = 10_000


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


class Server:
    def __init__(self, binary: Path, database_url: str, work: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(self.port), "DATABASE_URL": database_url,
                       "AUTH_SECRET": SECRET, "PASSWORD_HASH_COST": "4", "ACCESS_LOG": "false", "MAX_IMPORT_SIZE": str(64 << 20),
                       "MCP_URL": "http://127.0.0.1:9/mcp"}
        self.log = open(work / f"api-{self.port}.log", "wb")
        self.process = subprocess.Popen([str(binary), "api"], env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(self.base, self.process, 30)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def task(index: int) -> dict:
    """A task made a minute after the one before, as an account's tasks are."""
    created = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"title": f"Task number {index} of the export benchmark", "description": "A description of moderate length. " * 3,
            "priority": ["high", "medium", "low", "none"][index % 4], "tags": ["bench", f"group{index % 50}"],
            "due_at": "2027-01-01T09:00:00Z", "created_at": created}


def measure(binary: Path, tasks: int, database_url: str | None, work: Path) -> dict:
    url = database_url or f"sqlite://{work}/export-{binary.name}.db"
    if database_url:
        recreate(database_url)
    server = Server(binary, url, work)
    try:
        email = f"export-{time.monotonic_ns()}@example.com"
        signed_up = requests.post(server.base + "/api/auth/signup", json={"email": email, "password": "correct horse"}, timeout=30)
        headers = {"Authorization": f"Bearer {signed_up.json()['token']}"}
        for start in range(0, tasks, BATCH):
            document = {"format": "todo-export", "version": 1, "tasks": [task(i) for i in range(start, min(tasks, start + BATCH))]}
            reply = requests.post(server.base + "/api/me/import", json=document, headers=headers, timeout=600)
            assert reply.status_code == 200, reply.text
    finally:
        server.stop()
    if database_url:
        # What autovacuum does within a minute of such an import; without it each page's plan
        # guesses an empty table.
        subprocess.run([psql(), database_url.split("?")[0], "-qc", "ANALYZE tasks"], check=True)
    server = Server(binary, url, work)
    try:
        before = memory(server.process.pid)
        started = time.monotonic()
        reply = requests.get(server.base + "/api/me/export", headers=headers, timeout=600)
        seconds = time.monotonic() - started
        after = memory(server.process.pid)
    finally:
        server.stop()
    exported = json.loads(reply.content)
    assert len(exported["tasks"]) == tasks, len(exported["tasks"])
    return {"binary": str(binary), "rss_before_mib": before["VmRSS"] / 1024, "peak_mib": after["VmHWM"] / 1024,
            "bytes": len(reply.content), "seconds": seconds}


def psql() -> str:
    return shutil.which("psql") or os.path.join(os.environ.get("TEST_POSTGRES_BIN", ""), "psql")


def recreate(database_url: str) -> None:
    admin, name = database_url.split("?")[0].rsplit("/", 1)
    for statement in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run([psql(), admin + "/postgres", "-qc", statement], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=Path(__file__).resolve().parents[1] / ".build/release/todo")
    parser.add_argument("--compare-bin", type=Path)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--database-url", help="a PostgreSQL database to drop and recreate for each binary (default: SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="todo-export-rss."))
    try:
        binaries = [args.bin] + ([args.compare_bin] if args.compare_bin else [])
        rows = [measure(binary.absolute(), args.tasks, args.database_url, work) for binary in binaries]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"Export of {args.tasks:,} tasks on {database}, a fresh `todo api` process each:\n")
    print("| binary | RSS before (MiB) | peak RSS (MiB) | document (MB) | seconds |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['binary']} | {row['rss_before_mib']:.0f} | {row['peak_mib']:.0f} | {row['bytes'] / 1e6:.1f} | {row['seconds']:.2f} |")


if __name__ == "__main__":
    main()
