"""Faults under write load: nothing acknowledged is lost, the service recovers by itself."""
import os
import shlex
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from server import Client


class Writers:
    """Threads that create tasks until stopped, remembering every acknowledged one."""

    def __init__(self, user, count=4):
        self.user, self.acknowledged, self.failures, self.stop = user, [], [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(count)]

    def run(self, number):
        session = requests.Session()
        session.headers.update(self.user.session.headers)
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            title = f"writer {number} task {sequence}"
            started = time.monotonic()
            try:
                reply = session.post(self.user.url("/tasks"), json={"title": title}, timeout=10)
                outcome = reply.status_code
            except requests.RequestException:
                outcome = "no answer"
            with self.lock:
                if outcome == 201:
                    self.acknowledged.append(title)
                else:
                    self.failures.append((outcome, time.monotonic() - started))
            if outcome != 201:
                time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(15)


def stored_titles(user):
    titles, cursor = set(), None
    while True:
        params = {"limit": 200, "sort": "created"}
        if cursor:
            params["cursor"] = cursor
        page = user.session.get(user.url("/tasks"), params=params, timeout=10).json()
        titles |= {task["title"] for task in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return titles


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_during_writes_loses_no_acknowledged_write(backend, start, tmp_path, request):
    url = f"sqlite://{tmp_path}/todo.db"
    if backend == "postgres":
        url, _ = request.getfixturevalue("postgres_url")
    server = start("api", DATABASE_URL=url, ACCESS_LOG="false")
    server.wait_ready()
    user = Client(server.base)
    with Writers(user) as writers:
        time.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    assert len(writers.acknowledged) > 20
    restarted = start("api", DATABASE_URL=url, PORT=server.port)
    restarted.wait_ready()
    missing = set(writers.acknowledged) - stored_titles(user)
    assert not missing, f"{len(missing)} acknowledged writes lost"
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "todo.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    print(f"\n{backend}: {len(writers.acknowledged)} acknowledged writes survived SIGKILL")


def test_postgres_restart_fails_fast_then_recovers_losing_nothing(start, postgres_url):
    url, _ = postgres_url
    control = os.environ["TEST_POSTGRES_CTL"]
    server = start("api", DATABASE_URL=url, DATABASE_TIMEOUT_SECONDS=2, ACCESS_LOG="false")
    server.wait_ready()
    user = Client(server.base)
    with Writers(user) as writers:
        time.sleep(1.0)
        subprocess.run(shlex.split(control) + ["-m", "fast", "stop"], check=True, capture_output=True)
        try:
            deadline = time.monotonic() + 10
            while requests.get(server.base + "/readyz", timeout=5).status_code != 503:
                assert time.monotonic() < deadline, "/readyz stayed 200 with the database down"
                time.sleep(0.1)
            started = time.monotonic()
            down = user.session.post(user.url("/tasks"), json={"title": "while down"}, timeout=10)
            assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
            assert time.monotonic() - started < 3.5
        finally:
            options = os.environ["TEST_POSTGRES_OPTIONS"]
            subprocess.run(shlex.split(control) + ["-w", "-o", options, "start"], check=True, capture_output=True)
        deadline = time.monotonic() + 20
        while requests.get(server.base + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the backend did not recover"
            time.sleep(0.2)
        acknowledged_before = len(writers.acknowledged)
        time.sleep(1.0)
        assert len(writers.acknowledged) > acknowledged_before, "writes did not resume"
    missing = set(writers.acknowledged) - stored_titles(user)
    assert not missing
    slow = [seconds for outcome, seconds in writers.failures if seconds > 4]
    assert not slow, f"requests hung while the database was down: {slow[:5]}"
    assert {outcome for outcome, _ in writers.failures} <= {503}
    print(f"\npostgres restart: {len(writers.acknowledged)} acknowledged, {len(writers.failures)} refused with 503, none lost")
