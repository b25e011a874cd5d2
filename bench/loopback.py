"""What the stand-alone measurements (export_rss.py, streams.py, caldav.py) share: a free loopback port and
waiting for a `todo api` they started to be ready."""
from __future__ import annotations

import socket
import subprocess
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, process: subprocess.Popen, timeout: float) -> None:
    """Returns once `base`/readyz answers 200; raises if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"todo api exited with {process.returncode}")
        try:
            if requests.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"todo api at {base} not ready after {timeout} s")
