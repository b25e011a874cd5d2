"""An HTTP server on 127.0.0.1, in a thread, for the fakes of services the server calls (a webhook
receiver, a push service): they record what arrives, and the tests wait for it."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with a status and no body."""

    def answer(self, status: int, headers: dict[str, str] | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class RecordingServer:
    def __init__(self, handler: type[QuietHandler]):
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def wait_until(read: Callable[[], list], count: int, what: str, timeout: float) -> list:
        """What `read` gives once it holds `count` items; TimeoutError with what came otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = read()
            if len(received) >= count:
                return received
            time.sleep(0.05)
        received = read()
        raise TimeoutError(f"{len(received)} of {count} {what}: {json.dumps(received, default=str)[:4000]}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
