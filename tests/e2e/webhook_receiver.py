"""A webhook receiver on 127.0.0.1 that verifies every delivery as a real one would: with the
`standardwebhooks` package, the Standard Webhooks reference library."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver:
    """Records every request; answers each path with the statuses scripted for it, then 200."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        self.secrets: dict[str, str] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(delay)
                with receiver.lock:
                    script = receiver.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verified(self, path: str) -> list[dict]:
        """The deliveries to `path`, each checked against its webhook's secret (raises if one fails)."""
        with self.lock:
            received = [r for r in self.requests if r["path"] == path]
        return [{**Webhook(self.secrets[path]).verify(r["body"], r["headers"]), "webhook_id": r["headers"]["webhook-id"],
                 "status": r["status"]} for r in received]

    def wait_for(self, path: str, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.verified(path)
            if len(received) >= count:
                return received
            time.sleep(0.05)
        raise TimeoutError(f"{len(self.verified(path))} of {count} deliveries to {path}: {json.dumps(self.verified(path), default=str)}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
