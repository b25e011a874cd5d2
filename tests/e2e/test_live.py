"""Live events, reminders and transfer, with real processes (two replicas on one PostgreSQL)."""
import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone

import requests

from server import BINARY, Client
from sse import EventStream


def rfc3339(seconds_from_now: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_an_event_made_through_one_replica_reaches_a_stream_on_the_other(postgres_url, start):
    url, _ = postgres_url
    # The first replica polls only every 10 s: an event within 3 s came through NOTIFY.
    first = start("api", DATABASE_URL=url, EVENT_HEARTBEAT_SECONDS=1, EVENT_POLL_INTERVAL_MS=10_000)
    first.wait_ready()
    second = start("api", DATABASE_URL=url, EVENT_HEARTBEAT_SECONDS=1)
    second.wait_ready()
    user = Client(first.base)
    stream = EventStream(f"{first.base}/api/me/events", user.token)
    try:
        through_second = lambda path: f"{second.base}/api/me{path}"
        created = user.session.post(through_second("/tasks"), json={"title": "from replica two"}, timeout=5).json()
        event = stream.next(timeout=3)
        assert event["event"] == "task.created"
        assert event["data"]["title"] == "from replica two"
        assert event["id"].isdigit()
        user.session.patch(through_second(f"/tasks/{created['id']}/complete"), timeout=5)
        updated = stream.next(timeout=3)
        assert (updated["event"], updated["data"]["completed"]) == ("task.updated", True)
        user.session.delete(through_second(f"/tasks/{created['id']}"), timeout=5)
        deleted = stream.next(timeout=3)
        assert deleted["event"] == "task.deleted" and deleted["data"] == {"id": created["id"]}
    finally:
        stream.close()


def test_a_stream_sees_only_its_own_users_events_and_heartbeats(start):
    server = start("api", EVENT_HEARTBEAT_SECONDS=1)
    server.wait_ready()
    ann, bob = Client(server.base), Client(server.base)
    stream = EventStream(f"{server.base}/api/me/events", ann.token)
    try:
        bob.session.post(bob.url("/tasks"), json={"title": "bob's"}, timeout=5)
        ann.session.post(ann.url("/tasks"), json={"title": "ann's"}, timeout=5)
        assert stream.next(timeout=5)["data"]["title"] == "ann's"
        time.sleep(1.5)
        assert "heartbeat" in stream.comments
        assert stream.events.empty()
    finally:
        stream.close()


def test_a_reconnecting_stream_resumes_after_its_last_event_id(start):
    server = start("api", EVENT_HEARTBEAT_SECONDS=1)
    server.wait_ready()
    user = Client(server.base)
    stream = EventStream(f"{server.base}/api/me/events", user.token)
    user.session.post(user.url("/tasks"), json={"title": "seen"}, timeout=5)
    last_seen = stream.next(timeout=5)["id"]
    stream.close()
    for title in ("missed one", "missed two"):
        user.session.post(user.url("/tasks"), json={"title": title}, timeout=5)
    resumed = EventStream(f"{server.base}/api/me/events", user.token, last_event_id=last_seen)
    try:
        titles = [event["data"]["title"] for event in resumed.collect(2, timeout=5)]
        assert titles == ["missed one", "missed two"]
    finally:
        resumed.close()


def test_each_reminder_fires_exactly_once_across_two_replicas(postgres_url, start):
    url, (psql, plain) = postgres_url
    replicas = [start("api", DATABASE_URL=url, REMINDER_INTERVAL_MS=50, EVENT_HEARTBEAT_SECONDS=1) for _ in range(2)]
    for replica in replicas:
        replica.wait_ready()
    user = Client(replicas[0].base)
    streams = [EventStream(f"{replica.base}/api/me/events", user.token) for replica in replicas]
    try:
        ids = set()
        for index in range(20):
            task = user.session.post(user.url("/tasks"), json={"title": f"remind {index}", "remind_at": rfc3339(1.5)}, timeout=5).json()
            ids.add(task["id"])
        for stream in streams:
            reminders = stream.collect(20, timeout=10, kind="reminder.due")
            assert sorted(event["data"]["id"] for event in reminders) == sorted(ids)
            time.sleep(0.5)
            assert not [e for e in stream.collect(1, timeout=0.5) if e["event"] == "reminder.due"]
        fired = subprocess.run([psql, plain, "-Atc", "SELECT count(*), count(DISTINCT task_id) FROM events WHERE kind = 'reminder.due'"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert fired == "20|20"
    finally:
        for stream in streams:
            stream.close()


def test_reminders_that_came_due_while_down_fire_after_restart(start, tmp_path):
    database = tmp_path / "todo.db"
    server = start("api", DATABASE_URL=f"sqlite://{database}", REMINDER_INTERVAL_MS=50)
    server.wait_ready()
    user = Client(server.base)
    task = user.session.post(user.url("/tasks"), json={"title": "while down", "remind_at": rfc3339(1.0)}, timeout=5).json()
    assert server.stop() == 0
    time.sleep(1.5)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT reminded_at FROM tasks WHERE id = ?", (int(task["id"]),)).fetchone() == (None,)
    restarted = start("api", DATABASE_URL=f"sqlite://{database}", REMINDER_INTERVAL_MS=50, PORT=server.port)
    restarted.wait_ready()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as db:
            kinds = [row[0] for row in db.execute("SELECT kind FROM events WHERE task_id = ? ORDER BY id", (int(task["id"]),))]
        if "reminder.due" in kinds:
            break
        time.sleep(0.1)
    assert kinds == ["task.created", "reminder.due"]


def test_cli_export_then_import_into_a_fresh_database_gives_identical_tasks(start, tmp_path):
    source = start("api", DATABASE_URL=f"sqlite://{tmp_path}/source.db")
    source.wait_ready()
    user = Client(source.base, email="export@example.com")
    user.session.post(user.url("/tasks"), json={
        "title": "Rent", "description": "monthly", "priority": "high", "tags": ["home"], "due_at": "2026-02-01T09:00:00Z",
        "remind_at": "2026-02-01T08:00:00Z", "recurrence": {"frequency": "monthly", "interval": 1, "count": 12}}, timeout=5)
    done = user.session.post(user.url("/tasks"), json={"title": "done"}, timeout=5).json()
    user.session.patch(user.url(f"/tasks/{done['id']}/complete"), timeout=5)
    api_export = user.session.get(user.url("/export"), timeout=5).json()
    source.stop()

    env = {"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite://{tmp_path}/source.db"}
    exported = subprocess.run([str(BINARY), "export", "--email", "export@example.com"], env=env, capture_output=True, text=True, check=True)
    document = json.loads(exported.stdout)
    assert document["tasks"] == api_export["tasks"]

    target = start("api", DATABASE_URL=f"sqlite://{tmp_path}/target.db")
    target.wait_ready()
    Client(target.base, email="import@example.com")
    target.stop()
    (tmp_path / "export.json").write_text(exported.stdout)
    env["DATABASE_URL"] = f"sqlite://{tmp_path}/target.db"
    result = subprocess.run([str(BINARY), "import", "--email", "import@example.com", str(tmp_path / "export.json")],
                            env=env, capture_output=True, text=True, check=True)
    assert "imported 2 tasks" in result.stdout
    again = subprocess.run([str(BINARY), "export", "--email", "import@example.com"], env=env, capture_output=True, text=True, check=True)
    strip = lambda tasks: [{k: v for k, v in task.items() if k != "id"} for task in tasks]
    assert strip(json.loads(again.stdout)["tasks"]) == strip(document["tasks"])

    # -o writes the file whole or not at all.
    written = tmp_path / "written.json"
    subprocess.run([str(BINARY), "export", "--email", "import@example.com", "-o", str(written)], env=env, check=True, capture_output=True)
    assert json.loads(written.read_text()) == json.loads(again.stdout) | {"exported_at": json.loads(written.read_text())["exported_at"]}
    missing = tmp_path / "missing.json"
    failed = subprocess.run([str(BINARY), "export", "--email", "nobody@example.com", "-o", str(missing)], env=env, capture_output=True)
    assert failed.returncode == 64 and b"no account for nobody@example.com" in failed.stderr, failed.stderr[-500:]
    assert sorted(path.name for path in tmp_path.glob("missing*")) == []


def test_a_stream_ends_when_its_token_is_revoked(start):
    server = start("api", EVENT_HEARTBEAT_SECONDS=1)
    server.wait_ready()
    user = Client(server.base)
    created = user.session.post(f"{server.base}/api/tokens", json={"name": "stream"}, timeout=5).json()
    stream = EventStream(f"{server.base}/api/me/events", created["token"])
    try:
        assert user.session.delete(f"{server.base}/api/tokens/{created['id']}", timeout=5).status_code == 204
        stream.thread.join(timeout=5)
        assert not stream.thread.is_alive(), "the stream outlived its revoked token"
    finally:
        stream.close()


def test_a_password_change_ends_the_open_stream_of_another_session(start):
    server = start("api", EVENT_HEARTBEAT_SECONDS=1)
    server.wait_ready()
    user = Client(server.base, password="correct horse battery")
    other = requests.post(f"{server.base}/api/auth/login", json={"email": user.email, "password": "correct horse battery"},
                          timeout=5).json()["token"]
    stream = EventStream(f"{server.base}/api/me/events", other)
    try:
        time.sleep(1.5)
        assert stream.thread.is_alive(), "the stream is open before the change"
        changed = user.session.post(f"{server.base}/api/auth/password", timeout=5,
                                    json={"current_password": "correct horse battery", "new_password": "a new password"})
        assert changed.status_code == 204
        stream.thread.join(timeout=5)
        assert not stream.thread.is_alive(), "the stream outlived its ended session"
    finally:
        stream.close()


def test_sigterm_ends_the_open_streams_so_the_server_exits_without_waiting_for_its_timeout(start):
    # No heartbeat comes in the meantime (60 s): the shutdown itself has to end the stream.
    server = start("api", EVENT_HEARTBEAT_SECONDS=60, SHUTDOWN_TIMEOUT_SECONDS=20)
    server.wait_ready()
    user = Client(server.base)
    stream = EventStream(f"{server.base}/api/me/events", user.token)
    try:
        sent_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(15)
        assert server.process.returncode == 0
        assert time.monotonic() - sent_at < 10
        stream.thread.join(timeout=5)
        assert not stream.thread.is_alive(), "the stream outlived the server"
    finally:
        stream.close()
