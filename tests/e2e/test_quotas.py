"""Quotas of real `todo` processes (issue 18, item 6), on SQLite and PostgreSQL: personal tokens
counted race-free, tasks per user across replicas and after an upgrade, MCP sessions per user,
and an export that streams."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from server import Client, free_port

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """(DATABASE_URL, run_sql) of a fresh database; run_sql runs statements as an operator would."""
    if request.param == "postgres":
        url, (psql, admin) = request.getfixturevalue("postgres_url")

        def run_sql(*statements):
            for statement in statements:
                subprocess.run([psql, admin, "-v", "ON_ERROR_STOP=1", "-qc", statement], check=True)
    else:
        url = f"sqlite://{tmp_path}/todo.db"

        def run_sql(*statements):
            with sqlite3.connect(tmp_path / "todo.db") as db:
                for statement in statements:
                    db.execute(statement)
    return url, run_sql


def test_sixty_parallel_token_creations_end_with_exactly_fifty(start, database):
    """Before, the count was read before the insert: a burst all read 49 or less, and all passed."""
    url, _ = database
    server = start("api", DATABASE_URL=url)
    server.wait_ready()
    user = Client(server.base)

    def create(index):
        return requests.post(f"{server.base}/api/tokens", json={"name": f"script {index}"},
                             headers={"Authorization": f"Bearer {user.token}"}, timeout=30)

    with ThreadPoolExecutor(max_workers=60) as pool:
        replies = list(pool.map(create, range(60)))
    statuses = [reply.status_code for reply in replies]
    assert statuses.count(201) == 50, statuses
    assert statuses.count(409) == 10, statuses
    refused = next(reply for reply in replies if reply.status_code == 409).json()["error"]
    assert refused["code"] == "quota_exceeded"
    assert refused["details"] == [{"field": "tokens", "message": "at most 50 per account"}]
    assert len(user.session.get(f"{server.base}/api/tokens", timeout=5).json()["items"]) == 50


def test_two_replicas_never_pass_the_task_quota_together(start, postgres_url):
    url, _ = postgres_url
    replicas = [start("api", DATABASE_URL=url, TASKS_PER_USER_LIMIT=25) for _ in range(2)]
    for replica in replicas:
        replica.wait_ready()
    user = Client(replicas[0].base)

    def create(index):
        return requests.post(f"{replicas[index % 2].base}/api/me/tasks", json={"title": f"task {index}"},
                             headers={"Authorization": f"Bearer {user.token}"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(create, range(80)))
    assert statuses.count(201) == 25, statuses
    assert statuses.count(409) == 55, statuses
    listed = user.session.get(user.url("/tasks?limit=200"), timeout=5).json()["items"]
    assert len(listed) == 25


def test_the_largest_import_is_stored_within_the_database_timeout(start, database):
    """10,000 tasks, the most a document holds, in one transaction of the default 5 s. On
    PostgreSQL one statement stores them all: a statement per task updated the user's task count
    10,000 times in one transaction, each update slower than the last, and passed the 5 s."""
    url, _ = database
    server = start("api", DATABASE_URL=url)
    server.wait_ready()
    user = Client(server.base)
    document = {"format": "todo-export", "version": 1, "tasks": [{"title": f"task {index}"} for index in range(10_000)]}
    reply = user.session.post(user.url("/import"), json=document, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"imported": 10_000, "projects": 0}


def test_an_upgraded_database_counts_the_tasks_it_already_had(start, database):
    """Migration 7 counts each user's existing tasks: tasks stored before it (here, written with
    the counter and its triggers removed again, as schema 6 had them) count against the quota."""
    url, run_sql = database
    server = start("api", DATABASE_URL=url, TASKS_PER_USER_LIMIT=5)
    server.wait_ready()
    user = Client(server.base)
    for index in range(3):
        assert user.session.post(user.url("/tasks"), json={"title": f"task {index}"}, timeout=5).status_code == 201
    server.stop()
    sqlite = url.startswith("sqlite")
    run_sql(*(["DROP TRIGGER tasks_count_insert", "DROP TRIGGER tasks_count_delete"] if sqlite else
              ["DROP TRIGGER tasks_count_inserts ON tasks", "DROP TRIGGER tasks_count_deletes ON tasks",
               "DROP FUNCTION tasks_count_changes()"]),
            "ALTER TABLE users DROP COLUMN task_count",
            "DELETE FROM schema_migrations WHERE version = 7",
            # In the user's Inbox: the schema of today (migration 17) wants a project for every task.
            *[f"INSERT INTO tasks (user_id, title, created_at, updated_at, project_id, position) VALUES ('{user.user_id}', 'old {index}', "
              f"{'0, 0' if sqlite else 'now(), now()'}, "
              f"(SELECT id FROM projects WHERE created_by = '{user.user_id}' AND is_inbox), {index})" for index in range(2)])
    upgraded = start("api", DATABASE_URL=url, TASKS_PER_USER_LIMIT=5)
    upgraded.wait_ready()
    refused = user.session.post(f"{upgraded.base}/api/me/tasks", json={"title": "sixth"}, timeout=5)
    assert refused.status_code == 409, refused.text
    first = user.session.get(f"{upgraded.base}/api/me/tasks", timeout=5).json()["items"][0]
    assert user.session.delete(f"{upgraded.base}/api/me/tasks/{first['id']}", timeout=5).status_code == 204
    assert user.session.post(f"{upgraded.base}/api/me/tasks", json={"title": "sixth"}, timeout=5).status_code == 201


def test_a_users_mcp_sessions_are_capped_by_the_setting(start):
    api = start("api")
    api.wait_ready()
    mcp = start("mcp", PORT=free_port(), BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None, MCP_SESSIONS_PER_USER=2)
    mcp.wait_ready()
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {Client(api.base).token}"}

    def initialize():
        reply = requests.post(f"{mcp.base}/mcp", json=INIT, headers=headers, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.headers["Mcp-Session-Id"]

    def answers(session):
        reply = requests.post(f"{mcp.base}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                              headers={**headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}, timeout=10)
        assert reply.status_code in (200, 404), reply.text
        return reply.status_code == 200

    sessions = [initialize() for _ in range(3)]
    assert [answers(session) for session in sessions] == [False, True, True]


def test_an_export_is_streamed_in_chunks_and_parses_whole(start, database):
    """The document is written as its pages are read: chunked, with no Content-Length."""
    url, _ = database
    server = start("api", DATABASE_URL=url)
    server.wait_ready()
    user = Client(server.base)
    tasks = [{"title": f"task {index}", "tags": ["bulk"]} for index in range(1000)]
    imported = user.session.post(user.url("/import"), json={"format": "todo-export", "version": 1, "tasks": tasks}, timeout=60)
    assert imported.json() == {"imported": 1000, "projects": 0}
    reply = user.session.get(user.url("/export"), timeout=60, stream=True)
    assert reply.status_code == 200
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in reply.headers
    document = json.loads(reply.content)
    assert list(document) == ["exported_at", "format", "projects", "tasks", "version"]
    assert [task["title"] for task in document["tasks"]] == [task["title"] for task in tasks]
