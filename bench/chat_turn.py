#!/usr/bin/env python3
"""What one chat turn with one tool call costs: its time, and the HTTP exchanges behind it.

usage: python3 bench/chat_turn.py [--bin .build/release/todo] [--turns 50]

Starts `todo api` (SQLite, the built-in offline agent) and `todo mcp` on free 127.0.0.1 ports,
signs a user up and sends `--turns` chat messages that each add one task ("add buy milk N
tomorrow": one add_task call). Two passes:
  1. time: the turns straight to the servers; median and p90 of the turn's wall time;
  2. exchanges: the same turns with a counting proxy in front of the MCP server (the API's calls
     to it) and one in front of the API for the MCP server's calls back; exchanges per turn.
Prints a Markdown table. Everything runs on loopback and is stopped (by PID) at the end.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789-0123456789-abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingProxy:
    """Forwards every request to `target` and counts them by method and path."""

    def __init__(self, target: str):
        self.port = free_port()
        self.count = 0
        self.lock = threading.Lock()
        proxy = self
        host, port = urlsplit(target).hostname, urlsplit(target).port

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                with proxy.lock:
                    proxy.count += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(host, port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()


class Process:
    def __init__(self, binary: str, role: str, env: dict, log: Path):
        self.port = int(env["PORT"])
        self.log = open(log, "ab")
        base = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "LOG_FORMAT": "json", "ACCESS_LOG": "false",
                "PASSWORD_HASH_COST": "4", "AUTH_SECRET": SECRET}
        self.process = subprocess.Popen([binary, role], env={**base, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"{role} did not start: {log.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def run_turns(api: str, turns: int) -> list[float]:
    session = requests.Session()
    email = f"bench-{time.time_ns()}@example.com"
    token = session.post(f"{api}/api/auth/signup", json={"email": email, "password": "correct horse battery"}).json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    conversation = None
    times = []
    for number in range(turns + 3):
        body = {"message": f"add buy milk {number} tomorrow"}
        if conversation:
            body["conversation_id"] = conversation
        start = time.perf_counter()
        reply = session.post(f"{api}/api/me/chat", json=body, timeout=60)
        elapsed = time.perf_counter() - start
        reply.raise_for_status()
        answer = reply.json()
        conversation = answer["conversation_id"]
        calls = [call["name"] for call in answer["tool_calls"]]
        if calls != ["add_task"]:
            raise RuntimeError(f"expected one add_task call, got {calls}: {answer['response']}")
        if number >= 3:  # the first turns open connections and sessions
            times.append(elapsed * 1000)
    return times


def measure(binary: str, turns: int, counting: bool, workdir: Path) -> dict:
    api_port, mcp_port = free_port(), free_port()
    proxies = []
    api_for_mcp = f"http://127.0.0.1:{api_port}"
    mcp_for_api = f"http://127.0.0.1:{mcp_port}"
    if counting:
        proxies = [CountingProxy(f"http://127.0.0.1:{mcp_port}"), CountingProxy(f"http://127.0.0.1:{api_port}")]
        mcp_for_api, api_for_mcp = proxies[0].url, proxies[1].url
    data = Path(tempfile.mkdtemp(dir=workdir))
    api = Process(binary, "api", {"PORT": str(api_port), "DATABASE_URL": f"sqlite://{data}/todo.db",
                                  "MCP_URL": f"{mcp_for_api}/mcp"}, workdir / "api.log")
    mcp = Process(binary, "mcp", {"PORT": str(mcp_port), "BACKEND_URL": api_for_mcp}, workdir / "mcp.log")
    try:
        requests.get(f"http://127.0.0.1:{api_port}/readyz", timeout=5)
        times = run_turns(f"http://127.0.0.1:{api_port}", turns)
        result = {"median_ms": statistics.median(times), "p90_ms": statistics.quantiles(times, n=10)[-1]}
        if counting:
            # Every message sent counts, the 3 unmeasured first ones too: a session opened once is
            # shared out over all of them, as it is in use.
            sent = turns + 3
            result["api_to_mcp"] = proxies[0].count / sent
            result["mcp_to_api"] = proxies[1].count / sent
        return result
    finally:
        mcp.stop()
        api.stop()
        for proxy in proxies:
            proxy.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build" / "release" / "todo"))
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chat-turn-"))
    try:
        timing = measure(args.bin, args.turns, counting=False, workdir=workdir)
        exchanges = measure(args.bin, args.turns, counting=True, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"| binary | turns | median ms | p90 ms | API → MCP exchanges / turn | MCP → API exchanges / turn |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| {args.bin} | {args.turns} | {timing['median_ms']:.1f} | {timing['p90_ms']:.1f} | "
          f"{exchanges['api_to_mcp']:.2f} | {exchanges['mcp_to_api']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
