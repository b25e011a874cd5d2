#!/usr/bin/env python3
"""Live events at scale (issue 24, item 3): many open event streams on one or two API processes.

Opens USERS x STREAMS_PER_USER Server-Sent Event streams, measures each process's resident memory
before and after (KiB per stream), then creates tasks at a steady rate and times each event from
the moment its create was sent to its arrival on every stream of its user (p50, p99, max), and
counts any event that never arrived. With --replicas 2 the streams are split between two
`todo api` processes on one PostgreSQL and every create goes to the first, so half the streams
hear of it only through LISTEN/NOTIFY.

usage: scripts/with-postgres.sh python3 bench/streams.py [--replicas 2] [--bin PATH] [--users 100] ...
       (TEST_DATABASE_URL names the database; --bin or TODO_BIN the binary, default .build/release/todo;
       MALLOC_ARENA_MAX, when set, is passed on to the API processes)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback import free_port, wait_ready  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-streams-secret-0123456789-0123456789"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class API:
    """One `todo api` process on a free loopback port."""

    def __init__(self, binary: Path, database_url: str, streams_per_user: int, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            "PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(self.port), "DATABASE_URL": database_url,
            "AUTH_SECRET": SECRET, "ACCESS_LOG": "false", "LOG_LEVEL": "warning", "PASSWORD_HASH_COST": "4",
            **({"MALLOC_ARENA_MAX": os.environ["MALLOC_ARENA_MAX"]} if "MALLOC_ARENA_MAX" in os.environ else {}),
            "SIGNUP_LIMIT": "100000", "SIGNUP_ADDRESS_LIMIT": "100000", "EVENT_STREAMS_PER_USER": str(streams_per_user),
        }
        self.log = open(log, "ab")
        self.process = subprocess.Popen([str(binary), "api"], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        wait_ready(self.base, self.process, 60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Stream:
    """One event stream read with asyncio: the arrival time of each task.created, by title."""

    def __init__(self, api: API, token: str, arrivals: dict[str, list[float]]):
        self.api, self.token, self.arrivals = api, token, arrivals

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.api.port)
        self.writer.write((f"GET /api/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
                           "Accept: text/event-stream\r\n\r\n").encode())
        await self.writer.drain()
        status = await self.reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        # Chunked transfer: chunk-size lines and the SSE lines inside; only `data:` lines matter.
        kind = None
        while line := await self.reader.readline():
            if line.startswith(b"event: "):
                kind = line[7:].strip()
            elif line.startswith(b"data: ") and kind == b"task.created":
                title = json.loads(line[6:])["title"]
                self.arrivals.setdefault(title, []).append(time.monotonic())

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def post_task(api: API, token: str, title: str) -> None:
    body = json.dumps({"title": title}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    writer.write((f"POST /api/me/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    await writer.drain()
    status = await reader.readline()
    writer.close()
    if b" 201 " not in status:
        raise RuntimeError(f"create refused: {status!r}")


async def measure(apis: list[API], tokens: list[str], options: argparse.Namespace) -> dict:
    arrivals: dict[str, list[float]] = {}
    before = {api.process.pid: rss_kib(api.process.pid) for api in apis}
    streams = []
    for index in range(len(tokens) * options.streams_per_user):
        stream = Stream(apis[index % len(apis)], tokens[index // options.streams_per_user], arrivals)
        await stream.open()
        streams.append(stream)
    await asyncio.sleep(2)  # let the processes settle before reading memory
    after = {api.process.pid: rss_kib(api.process.pid) for api in apis}
    per_process = len(streams) / len(apis)
    kib_per_stream = [(after[pid] - before[pid]) / per_process for pid in before]

    sent: dict[str, float] = {}
    interval = 1 / options.rate
    for number in range(options.events):
        title = f"event-{number}"
        user = number % len(tokens)
        sent[title] = time.monotonic()
        await post_task(apis[0], tokens[user], title)
        await asyncio.sleep(max(0.0, sent[title] + interval - time.monotonic()))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(v) for v in arrivals.values()) < options.events * options.streams_per_user:
        await asyncio.sleep(0.1)
    for stream in streams:
        stream.close()

    latencies = [(arrival - sent[title]) * 1000 for title, times in arrivals.items() if title in sent for arrival in times]
    expected = options.events * options.streams_per_user
    return {
        "streams": len(streams), "replicas": len(apis), "users": len(tokens), "events": options.events, "rate_per_second": options.rate,
        "rss_kib_before": list(before.values()), "rss_kib_after": list(after.values()),
        "kib_per_stream": [round(value, 1) for value in kib_per_stream],
        "deliveries_expected": expected, "deliveries_missing": expected - len(latencies),
        "latency_ms": {"p50": round(percentile(latencies, 0.5), 2), "p99": round(percentile(latencies, 0.99), 2),
                       "max": round(max(latencies), 2), "mean": round(statistics.fmean(latencies), 2)} if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=1, choices=(1, 2))
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--streams-per-user", type=int, default=10)
    parser.add_argument("--events", type=int, default=200, help="tasks created, one user after another")
    parser.add_argument("--rate", type=float, default=20, help="creates a second")
    parser.add_argument("--bin", type=Path, help="the todo binary (default: $TODO_BIN, else .build/release/todo)")
    parser.add_argument("--output", type=Path, help="write the result as JSON here")
    options = parser.parse_args()
    database_url = os.environ.get("TEST_DATABASE_URL")
    if not database_url:
        print("TEST_DATABASE_URL is not set: run under scripts/with-postgres.sh", file=sys.stderr)
        return 2
    binary = (options.bin or Path(os.environ.get("TODO_BIN", REPO / ".build" / "release" / "todo"))).resolve()
    logs = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    apis = [API(binary, database_url, options.streams_per_user, logs / f"api-{n}.log") for n in range(options.replicas)]
    try:
        for api in apis:
            api.wait_ready()
        tokens = []
        for number in range(options.users):
            answer = requests.post(apis[0].base + "/api/auth/signup",
                                   json={"email": f"streams-{number}-{time.time_ns()}@example.com", "password": "bench password"}, timeout=10)
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        result = asyncio.run(measure(apis, tokens, options))
    finally:
        for api in apis:
            api.stop()
    result["cpu"] = cpu_model()
    result["binary"] = binary.name if binary.parent.name == "release" else str(binary.relative_to(REPO)) if binary.is_relative_to(REPO) else binary.name
    print(json.dumps(result, indent=2))
    if options.output:
        options.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["deliveries_missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
