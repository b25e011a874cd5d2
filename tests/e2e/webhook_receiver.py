"""A webhook receiver on 127.0.0.1 that verifies every delivery as a real one would: with the
`standardwebhooks` package, the Standard Webhooks reference library."""
from __future__ import annotations

import time

from standardwebhooks import Webhook

from recording_server import QuietHandler, RecordingServer


class Receiver(RecordingServer):
    """Records every request; answers each path with the statuses scripted for it, then 200."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        self.secrets: dict[str, str] = {}
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(delay)
                with receiver.lock:
                    script = receiver.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "status": status})
                self.answer(status)

        super().__init__(Handler)

    def verified(self, path: str) -> list[dict]:
        """The deliveries to `path`, each checked against its webhook's secret (raises if one fails)."""
        with self.lock:
            received = [r for r in self.requests if r["path"] == path]
        return [{**Webhook(self.secrets[path]).verify(r["body"], r["headers"]), "webhook_id": r["headers"]["webhook-id"],
                 "status": r["status"]} for r in received]

    def wait_for(self, path: str, count: int, timeout: float = 15.0) -> list[dict]:
        return self.wait_until(lambda: self.verified(path), count, f"deliveries to {path}", timeout)
