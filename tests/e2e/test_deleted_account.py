"""Tokens of an account that no longer exists. The API has no account deletion yet, so the row is
deleted in the database, as an operator would: every credential of that user must then get 401
(never a 500, never an empty 200 that pretends the account is there)."""
import sqlite3
import subprocess
import time

import pytest
import requests

from server import Client

# The backend re-checks that a log-in token's account exists at most this long after it last did.
ACCOUNT_RECHECK_SECONDS = 1.0


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, start, tmp_path):
    """(server, delete_user) on a fresh database."""
    if request.param == "postgres":
        url, (psql, admin) = request.getfixturevalue("postgres_url")

        def delete_user(user_id):
            subprocess.run([psql, admin, "-qc", f"DELETE FROM users WHERE id = '{user_id}'"], check=True)
    else:
        url = f"sqlite://{tmp_path}/todo.db"

        def delete_user(user_id):
            with sqlite3.connect(tmp_path / "todo.db") as db:
                db.execute("PRAGMA foreign_keys = ON")
                assert db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount == 1
    server = start("api", DATABASE_URL=url, ACCESS_LOG="false")
    server.wait_ready()
    return server, delete_user


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
    server, delete_user = backend
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
