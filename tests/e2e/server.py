"""Start and stop a real `todo` process for end-to-end tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TODO_BIN", REPO / ".build" / "debug" / "todo"))
SECRET = "e2e-secret-0123456789-0123456789-abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TodoProcess:
    """One `todo <role>` process on 127.0.0.1 with its output captured to a file."""

    def __init__(self, role: str, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()):
        self.role = role
        self.port = int(env.get("PORT") or free_port())
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PASSWORD_HASH_COST": "4",
            "LOG_FORMAT": "json",
            **env,
        }
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        # In the test's directory: `todo serve` reads a `.env` where it runs, and the repository's is not for tests.
        self.process = subprocess.Popen(
            [str(BINARY), role, *args], env=full_env, stdout=self.log, stderr=subprocess.STDOUT, cwd=log_path.parent)

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Seconds from exec until /readyz answered 200."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"todo exited with {self.process.returncode}: {self.output()}")
            try:
                if requests.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return time.monotonic() - self.started
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"not ready after {timeout}s: {self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def wait_for_counter(base: str, series: str, value: float, timeout: float = 5.0) -> None:
    """Waits until the process's /metrics shows `series` (name with labels) at `value`: a counter
    is raised just after the database records what it counts."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        for line in requests.get(base + "/metrics", timeout=5).text.splitlines():
            if line.startswith(series + " "):
                seen = float(line.split()[-1])
        if seen == value:
            return
        time.sleep(0.05)
    raise AssertionError(f"{series}: {seen}, expected {value}")


class Client:
    """A user of the API: signs up and keeps its token."""

    def __init__(self, base: str, email: str | None = None, password: str = "correct horse battery"):
        self.base = base
        self.session = requests.Session()
        email = email or f"user-{time.monotonic_ns()}@example.com"
        reply = self.session.post(f"{base}/api/auth/signup", json={"email": email, "password": password}, timeout=10)
        assert reply.status_code == 201, reply.text
        self.token = reply.json()["token"]
        self.user_id = reply.json()["user"]["id"]
        self.email = email
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def url(self, path: str) -> str:
        return f"{self.base}/api/me{path}"
