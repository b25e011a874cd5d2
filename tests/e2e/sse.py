"""A minimal Server-Sent Events reader for tests: collects events on a background thread."""
from __future__ import annotations

import json
import queue
import threading
import time

import requests


class EventStream:
    def __init__(self, url: str, token: str, last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(url, headers=headers, stream=True, timeout=(5, 30))
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        self.events: queue.Queue = queue.Queue()
        self.comments: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        event = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if "event" in event:
                        event["data"] = json.loads(event.get("data", "null"))
                        self.events.put(event)
                    event = {}
                elif raw.startswith(":"):
                    self.comments.append(raw[1:].strip())
                else:
                    field, _, value = raw.partition(":")
                    event[field] = value[1:] if value.startswith(" ") else value
        except (requests.RequestException, ValueError, AttributeError):
            pass

    def next(self, timeout: float = 5.0) -> dict:
        return self.events.get(timeout=timeout)

    def collect(self, count: int, timeout: float = 10.0, kind: str | None = None) -> list[dict]:
        deadline = time.monotonic() + timeout
        found = []
        while len(found) < count and time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if kind is None or event["event"] == kind:
                found.append(event)
        return found

    def close(self):
        self.response.close()
