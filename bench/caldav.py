#!/usr/bin/env python3
"""What CalDAV costs: a full calendar-query of a 2,000-task calendar, an incremental
sync-collection after 10 changes, and a PUT.

usage: python3 bench/caldav.py [--bin .build/release/todo] [--tasks 2000] [--runs 20]
                               [--database-url postgres://...]

Starts `todo api` on a free 127.0.0.1 port (SQLite in a temporary directory unless
--database-url names a PostgreSQL database), signs a user up, makes a personal token and
`--tasks` tasks with a due date, tags and a priority, then times, `--runs` times each:
  1. calendar-query: REPORT on the calendar with a VTODO filter, asking for getetag and
     calendar-data (what a client's first full sync asks);
  2. sync after 10 changes: 10 tasks changed through the JSON API, then REPORT sync-collection
     with the previous token (getetag and calendar-data of the changed objects);
  3. PUT: a new calendar object (create), then the same object replaced.
Prints a Markdown table (median and p90 in ms, bytes of the answer). The server is stopped
(by PID) at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback import free_port, wait_ready  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789-0123456789-abcdef"
QUERY = ('<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>'
         '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO"/></c:comp-filter></c:filter></c:calendar-query>')
SYNC = ('<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token>{token}</d:sync-token>'
        '<d:sync-level>1</d:sync-level><d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>')


def vtodo(uid: str, summary: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20261201T080000Z",
                        f"SUMMARY:{summary}", "DUE:20261220T090000Z", "PRIORITY:5", "X-BENCH:kept", "END:VTODO", "END:VCALENDAR", ""])


def timed(call) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    response = call()
    return (time.perf_counter() - start) * 1000, response


def summary(name: str, times: list[float], size: int) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"| {name} | {statistics.median(ordered):.1f} | {p90:.1f} | {size:,} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "debug" / "todo"))
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    if not os.access(arguments.bin, os.X_OK):
        print(f"error: no todo binary at {arguments.bin}; build it first (swift build)", file=sys.stderr)
        return 1

    directory = Path(tempfile.mkdtemp(prefix="caldav-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), "AUTH_SECRET": SECRET,
                   "PASSWORD_HASH_COST": "4", "LOG_LEVEL": "error",
                   "DATABASE_URL": arguments.database_url or f"sqlite://{directory}/todo.db"}
    log = open(directory / "api.log", "wb")
    server = subprocess.Popen([arguments.bin, "api"], env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    try:
        wait_ready(base, server, timeout=10)
        api = requests.Session()
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        signed_up = api.post(base + "/api/auth/signup", json={"email": email, "password": "correct horse battery"}, timeout=10).json()
        api.headers["Authorization"] = f"Bearer {signed_up['token']}"
        secret = api.post(base + "/api/tokens", json={"name": "bench"}, timeout=10).json()["token"]
        ids = []
        for number in range(arguments.tasks):
            task = {"title": f"Task {number}", "priority": ["low", "medium", "high"][number % 3], "tags": ["bench", f"group{number % 10}"],
                    "due_at": f"2026-12-{1 + number % 28:02d}T09:00:00Z", "description": "Some words about the task."}
            ids.append(api.post(base + "/api/me/tasks", json=task, timeout=10).json()["id"])

        dav = requests.Session()
        dav.auth = (email, secret)
        calendar = f"{base}/dav/calendars/{signed_up['user']['id']}/inbox/"
        dav.request("PROPFIND", calendar, headers={"Depth": "0"}, timeout=30)  # the credentials, checked once

        rows = []
        query_times, size = [], 0
        for _ in range(arguments.runs):
            elapsed, reply = timed(lambda: dav.request("REPORT", calendar, data=QUERY, headers={"Depth": "1"}, timeout=60))
            assert reply.status_code == 207 and reply.text.count("<d:response>") == arguments.tasks, reply.status_code
            query_times.append(elapsed)
            size = len(reply.content)
        rows.append(summary(f"calendar-query, {arguments.tasks} tasks with calendar-data", query_times, size))

        token = re.search(r"<d:sync-token>([^<]+)</d:sync-token>",
                          dav.request("REPORT", calendar, data=SYNC.format(token=""), headers={"Depth": "1"}, timeout=60).text).group(1)
        sync_times = []
        for run in range(arguments.runs):
            for offset in range(10):
                task_id = ids[(run * 10 + offset) % len(ids)]
                assert api.patch(f"{base}/api/me/tasks/{task_id}", json={"title": f"Changed {run}-{offset}"}, timeout=10).status_code == 200
            elapsed, reply = timed(lambda: dav.request("REPORT", calendar, data=SYNC.format(token=token), headers={"Depth": "1"}, timeout=60))
            assert reply.status_code == 207 and reply.text.count("<d:response>") == 10, reply.text[:300]
            token = re.search(r"<d:sync-token>([^<]+)</d:sync-token>", reply.text).group(1)
            sync_times.append(elapsed)
            size = len(reply.content)
        rows.append(summary("sync-collection after 10 changes", sync_times, size))

        create_times, replace_times = [], []
        for run in range(arguments.runs):
            uid = str(uuid.uuid4())
            elapsed, reply = timed(lambda: dav.put(calendar + uid + ".ics", data=vtodo(uid, f"New {run}").encode(),
                                                   headers={"Content-Type": "text/calendar", "If-None-Match": "*"}, timeout=10))
            assert reply.status_code == 201, reply.text
            create_times.append(elapsed)
            elapsed, reply = timed(lambda: dav.put(calendar + uid + ".ics", data=vtodo(uid, f"Replaced {run}").encode(),
                                                   headers={"Content-Type": "text/calendar"}, timeout=10))
            assert reply.status_code == 204, reply.text
            replace_times.append(elapsed)
        rows.append(summary("PUT, a new object", create_times, 0))
        rows.append(summary("PUT, replacing it", replace_times, 0))

        database = "PostgreSQL" if arguments.database_url else "SQLite"
        print(f"CalDAV on {database}, binary {arguments.bin}, {arguments.runs} runs each\n")
        print("| operation | median ms | p90 ms | answer bytes |")
        print("|---|---:|---:|---:|")
        print("\n".join(rows))
        return 0
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
