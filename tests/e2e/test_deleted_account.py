"""An account that no longer exists: deleted through the API, nothing of it is left in any table;
deleted in the database behind the backend's back, every credential of it gets 401 (never a 500,
never an empty 200 that pretends the account is there)."""
import os
import sqlite3
import subprocess
import time

import pytest
import requests

from server import BINARY, Client

# The backend re-checks that a log-in token's account exists at most this long after it last did.
ACCOUNT_RECHECK_SECONDS = 1.0


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, start, tmp_path):
    """(server, delete_user, rows_mentioning) on a fresh database."""
    if request.param == "postgres":
        url, (psql, admin) = request.getfixturevalue("postgres_url")

        def delete_user(user_id):
            subprocess.run([psql, admin, "-qc", f"DELETE FROM users WHERE id = '{user_id}'"], check=True)

        def tables():
            listed = subprocess.run([psql, admin, "-Atc", "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"],
                                    check=True, capture_output=True, text=True).stdout.split()
            return {table: subprocess.run([psql, admin, "-Atc", f"SELECT * FROM {table}"], check=True, capture_output=True,
                                          text=True).stdout.splitlines() for table in listed}
    else:
        url = f"sqlite://{tmp_path}/todo.db"

        def delete_user(user_id):
            with sqlite3.connect(tmp_path / "todo.db") as db:
                db.execute("PRAGMA foreign_keys = ON")
                assert db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount == 1

        def tables():
            with sqlite3.connect(tmp_path / "todo.db") as db:
                listed = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                return {table: [repr(row) for row in db.execute(f'SELECT * FROM "{table}"')] for table in listed}

    def rows_mentioning(*needles):
        """Every row of every table that holds one of the needles, by table."""
        found = {table: [row for row in rows if any(needle in row for needle in needles)] for table, rows in tables().items()}
        return {table: rows for table, rows in found.items() if rows}

    server = start("api", DATABASE_URL=url, ACCESS_LOG="false")
    server.wait_ready()
    server.database_url = url
    return server, delete_user, rows_mentioning


def requests_of(server, task_id):
    """One request per kind of route a token can reach."""
    return [
        ("GET", "/api/auth/me", None), ("GET", "/api/me/tasks", None), ("POST", "/api/me/tasks", {"title": "ghost"}),
        ("GET", f"/api/me/tasks/{task_id}", None), ("PATCH", f"/api/me/tasks/{task_id}", {"title": "ghost"}),
        ("DELETE", f"/api/me/tasks/{task_id}", None), ("GET", "/api/me/export", None),
        ("POST", "/api/me/import", {"format": "todo-export", "version": 1, "tasks": []}),
        ("GET", "/api/me/conversations", None), ("POST", "/api/me/chat", {"message": "what's pending?"}),
        ("GET", "/api/me/events", None),
    ]


def test_tokens_of_a_deleted_account_get_401(backend):
    server, delete_user, _ = backend
    user = Client(server.base)
    task = user.session.post(user.url("/tasks"), json={"title": "mine"}, timeout=10).json()
    personal = user.session.post(server.base + "/api/tokens", json={"name": "script"}, timeout=10).json()["token"]
    jwt = user.token
    # Both credentials work, and the backend has seen (and cached) the log-in token.
    for token in (jwt, personal):
        assert requests.get(user.url("/tasks"), headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

    delete_user(user.user_id)
    time.sleep(ACCOUNT_RECHECK_SECONDS + 0.2)
    answers = {}
    for kind, token in (("jwt", jwt), ("personal", personal)):
        for method, path, body in requests_of(server, task["id"]):
            reply = requests.request(method, server.base + path, json=body, timeout=10, stream=True,
                                     headers={"Authorization": f"Bearer {token}"})
            answers[(kind, method, path)] = reply.status_code
            assert reply.status_code == 401, f"{kind} token, {method} {path}: {reply.status_code} {reply.text[:200]}"
            assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
            reply.close()
    # Managing tokens needs a log-in: the JWT of the deleted account cannot create or list any.
    for method, body in (("POST", {"name": "again"}), ("GET", None)):
        reply = requests.request(method, server.base + "/api/tokens", json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {jwt}"})
        assert reply.status_code == 401, f"{method} /api/tokens: {reply.status_code} {reply.text[:200]}"
    print(f"\ndeleted account: {len(answers) + 2} requests with its tokens, all 401")
    assert server.process.poll() is None


def test_deleting_an_account_leaves_no_row_of_it_in_any_table(backend):
    server, _, rows_mentioning = backend
    password = "correct horse battery"
    gone, kept = Client(server.base, email="gone@example.com"), Client(server.base, email="kept@example.com")
    for user in (gone, kept):
        task = user.session.post(user.url("/tasks"), json={"title": "weekly", "due_at": "2030-01-01T09:00:00Z",
                                 "remind_at": "2030-01-01T08:00:00Z", "recurrence": {"frequency": "weekly"}}, timeout=10).json()
        user.session.patch(user.url(f"/tasks/{task['id']}/complete"), timeout=10).raise_for_status()
        user.session.post(server.base + "/api/tokens", json={"name": "script"}, timeout=10).raise_for_status()
        requests.post(server.base + "/api/auth/login", json={"email": user.email, "password": password},
                      headers={"User-Agent": "Phone/1.0"}, timeout=10).raise_for_status()
        user.session.post(user.url("/chat"), json={"message": "add buy milk"}, timeout=30).raise_for_status()
    # An admin's pending invitation is theirs too.
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": server.database_url, "LOG_LEVEL": "error"}
    subprocess.run([str(BINARY), "user", "admin", "gone@example.com"], env=env, check=True, capture_output=True, timeout=60)
    gone.session.post(server.base + "/api/admin/invitations", json={"email": "friend@example.com"}, timeout=10).raise_for_status()
    before = rows_mentioning(gone.user_id, "gone@example.com")
    assert {"users", "tasks", "api_tokens", "sessions", "conversations", "events", "signup_invitations"} <= set(before), before

    deleted = gone.session.delete(server.base + "/api/auth/me", json={"password": password}, timeout=10)
    assert deleted.status_code == 204, deleted.text
    assert rows_mentioning(gone.user_id, "gone@example.com") == {}
    # Messages name no user: they went with their conversations, the other user's stayed.
    after = rows_mentioning(kept.user_id, "kept@example.com")
    assert set(after) == set(before) - {"signup_invitations"}, after
