"""The `todo` binary as an operator runs it: configuration, start-up, logs, shutdown."""
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time

import requests

from server import BINARY, SECRET, Client, TodoProcess, free_port


def run_todo(*args, env=None, timeout=20):
    base_env = {"PATH": os.environ.get("PATH", ""), "LOG_FORMAT": "json"}
    return subprocess.run([str(BINARY), *args], env={**base_env, **(env or {})}, capture_output=True, text=True, timeout=timeout)


def test_api_refuses_to_start_without_a_secret(tmp_path):
    result = run_todo("api", env={"DATABASE_URL": f"sqlite://{tmp_path}/t.db", "PORT": str(free_port())})
    assert result.returncode != 0
    assert "AUTH_SECRET" in result.stderr + result.stdout


def test_api_refuses_a_short_secret(tmp_path):
    result = run_todo("api", env={"AUTH_SECRET": "short", "DATABASE_URL": f"sqlite://{tmp_path}/t.db"})
    assert result.returncode != 0
    assert "at least 32" in result.stderr + result.stdout


def test_bad_setting_names_the_variable(tmp_path):
    result = run_todo("api", env={"AUTH_SECRET": SECRET, "DATABASE_POOL_SIZE": "lots"})
    assert result.returncode != 0
    assert "DATABASE_POOL_SIZE" in result.stderr + result.stdout


def test_better_auth_secret_is_accepted_as_alias(start, tmp_path):
    server = start("api", AUTH_SECRET=None, BETTER_AUTH_SECRET=SECRET)
    server.wait_ready()
    Client(server.base)


def test_serve_generates_a_secret_once_and_keeps_sessions_across_restarts(start, tmp_path):
    data = tmp_path / "data"
    first = start("serve", AUTH_SECRET=None, DATABASE_URL=None, TODO_DATA_DIR=data)
    first.wait_ready()
    secret_file = data / "auth-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    user = Client(first.base)
    assert first.stop() == 0
    second = start("serve", AUTH_SECRET=None, DATABASE_URL=None, TODO_DATA_DIR=data, PORT=first.port)
    second.wait_ready()
    assert user.session.get(user.url("/tasks"), timeout=5).status_code == 200
    assert (data / "todo.db").exists()


def test_a_new_user_can_do_everything_with_curl_style_requests(start, tmp_path):
    server = start("serve", AUTH_SECRET=None, DATABASE_URL=None, TODO_DATA_DIR=tmp_path / "data")
    server.wait_ready()
    user = Client(server.base)
    created = user.session.post(user.url("/tasks"), json={"title": "Buy milk", "priority": "high", "tags": ["shop"]}, timeout=5)
    assert created.status_code == 201
    task_id = created.json()["id"]
    user.session.post(user.url("/tasks"), json={"title": "Walk dog"}, timeout=5)
    listed = user.session.get(user.url("/tasks"), timeout=5).json()["items"]
    assert [t["title"] for t in listed] == ["Walk dog", "Buy milk"]
    high = user.session.get(user.url("/tasks?priority=high"), timeout=5).json()["items"]
    assert [t["id"] for t in high] == [task_id]
    done = user.session.patch(user.url(f"/tasks/{task_id}/complete"), timeout=5).json()
    assert done["completed"] is True
    pending = user.session.get(user.url("/tasks?status=pending"), timeout=5).json()["items"]
    assert [t["title"] for t in pending] == ["Walk dog"]
    assert user.session.delete(user.url(f"/tasks/{task_id}"), timeout=5).status_code == 204
    assert user.session.get(user.url(f"/tasks/{task_id}"), timeout=5).status_code == 404


def test_logs_are_json_lines_with_request_ids_and_no_secrets(start):
    server = start("api")
    server.wait_ready()
    password = "super-secret-password-123"
    user = Client(server.base, password=password)
    reply = user.session.get(user.url("/tasks"), headers={"X-Request-Id": "trace-me-42"}, timeout=5)
    assert reply.headers["X-Request-Id"] == "trace-me-42"
    server.stop()
    lines = [json.loads(line) for line in server.output().splitlines() if line.strip()]
    assert all({"time", "level", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line.get("request_id") == "trace-me-42"]
    assert access and access[0]["status"] == 200 and access[0]["path"] == "/api/me/tasks"
    # Numbers stay numbers: log queries compare them (duration_ms > 100).
    assert isinstance(access[0]["duration_ms"], float) and access[0]["duration_ms"] >= 0
    migrated = [line for line in lines if line["message"] == "applied migration"]
    assert migrated and isinstance(migrated[0]["version"], int), migrated
    text = server.output()
    for secret in (password, SECRET, user.token):
        assert secret not in text


def test_sigterm_turns_unready_then_drains_without_cutting_requests(start):
    server = start("api", SHUTDOWN_DRAIN_SECONDS=2, ACCESS_LOG="false")
    server.wait_ready()
    user = Client(server.base)
    user.session.post(user.url("/tasks"), json={"title": "x"}, timeout=5)
    results, stop = [], threading.Event()

    def load():
        session = requests.Session()
        session.headers.update(user.session.headers)
        while not stop.is_set():
            try:
                results.append(session.get(user.url("/tasks"), timeout=5).status_code)
            except requests.ConnectionError:
                # Refused before the request was accepted: only allowed once the drain is over.
                results.append("refused")
                return

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    sent_at = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert requests.get(server.base + "/readyz", timeout=2).status_code == 503
    assert requests.get(server.base + "/healthz", timeout=2).status_code == 200
    served_while_draining = len(results)
    server.process.wait(15)
    elapsed = time.monotonic() - sent_at
    stop.set()
    for thread in threads:
        thread.join(5)
    assert server.process.returncode == 0
    assert 2 <= elapsed < 10
    answered = [r for r in results if r != "refused"]
    assert set(answered) == {200}
    assert len(results) > served_while_draining  # kept serving during the drain delay


def test_api_serves_on_postgres_and_migrate_is_idempotent(postgres_url, start):
    url, (psql, plain) = postgres_url
    runs = [subprocess.Popen([str(BINARY), "migrate"], env={"PATH": os.environ["PATH"], "DATABASE_URL": url, "LOG_FORMAT": "json"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
    assert [run.wait(30) for run in runs] == [0, 0, 0]
    versions = subprocess.run([psql, plain, "-Atc", "SELECT version FROM schema_migrations ORDER BY version"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert versions == [str(version) for version in range(1, len(versions) + 1)], "each migration once, in order"
    server = start("api", DATABASE_URL=url, MIGRATE_ON_START="false")
    server.wait_ready()
    # Ready without migrating: the three runs applied every migration this build has.
    assert requests.get(server.base + "/version", timeout=5).json()["schema_version"] == len(versions)
    user = Client(server.base)
    assert user.session.post(user.url("/tasks"), json={"title": "on postgres"}, timeout=5).status_code == 201
    assert [t["title"] for t in user.session.get(user.url("/tasks"), timeout=5).json()["items"]] == ["on postgres"]


def test_unreachable_database_is_unready_but_alive(start):
    server = start("api", DATABASE_URL=f"postgres://todo@127.0.0.1:{free_port()}/todo?sslmode=disable",
                   DATABASE_TIMEOUT_SECONDS=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(server.base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    assert requests.get(server.base + "/healthz", timeout=2).status_code == 200
    assert requests.get(server.base + "/readyz", timeout=5).status_code == 503


def test_healthcheck_subcommand_reports_status(start):
    server = start("api")
    server.wait_ready()
    assert run_todo("healthcheck", f"{server.base}/healthz").returncode == 0
    assert run_todo("healthcheck", f"{server.base}/nope").returncode == 1
    assert run_todo("healthcheck", f"http://127.0.0.1:{free_port()}/healthz").returncode != 0


def test_serve_reads_dot_env_under_the_environment_and_flags_over_both(tmp_path):
    api, web, mcp, flagged = free_port(), free_port(), free_port(), free_port()
    (tmp_path / ".env").write_text(f"PORT={api}\nWEB_PORT={web}\nMCP_PORT={mcp}\nSIGNUP=closed\nPASSWORD_HASH_COST=4\n")
    env = {"TODO_DATA_DIR": str(tmp_path / "data"), "SIGNUP": "invite", "HOST": "127.0.0.1"}
    server = TodoProcess("serve", env, tmp_path / "serve.log", args=("--port", str(flagged)))
    try:
        server.base = f"http://127.0.0.1:{flagged}"  # the flag, not .env's PORT
        server.wait_ready()
        signup = requests.post(server.base + "/api/auth/signup", json={"email": "a@example.com", "password": "a long password"}, timeout=5)
        assert signup.status_code == 403 and signup.json()["error"]["code"] == "invitation_required", "the environment wins over .env"
        assert requests.get(f"http://127.0.0.1:{web}/healthz", timeout=5).status_code == 200, ".env's WEB_PORT"
        assert requests.get(f"http://127.0.0.1:{mcp}/healthz", timeout=5).status_code == 200, ".env's MCP_PORT"
    finally:
        server.stop()


def test_config_prints_each_settings_source_and_hides_secrets(tmp_path):
    (tmp_path / ".env").write_text("LLM_API_KEY=sk-dotenv-0123\nSIGNUP=closed\n")
    (tmp_path / "todo.json").write_text(json.dumps({"database": {"pool": {"size": 30}}, "log.level": "debug"}))
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": "postgres://todo:hunter2@db.internal/todo", "LOG_LEVEL": "warning"}
    result = subprocess.run([str(BINARY), "config", "--config-file", "todo.json", "--signup", "invite"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    rows = {name: rest for name, *rest in (re.split(r"\s{2,}", line) for line in result.stdout.splitlines()[1:])}
    assert rows["DATABASE_URL"] == ["postgres://todo:redacted@db.internal/todo", "environment"]
    assert rows["DATABASE_POOL_SIZE"] == ["30", "config file todo.json"]
    assert rows["LOG_LEVEL"] == ["warning", "environment"], "the environment wins over the file"
    assert rows["SIGNUP"] == ["invite", "flag --signup"], "a flag wins over .env"
    assert rows["LLM_API_KEY"] == ["(secret, 14 characters)", ".env"]
    assert rows["AUTH_SECRET"][1].startswith("generated"), rows["AUTH_SECRET"]
    assert "hunter2" not in result.stdout and "sk-dotenv" not in result.stdout
    assert not (tmp_path / "data").exists(), "todo config changes nothing: no secret is generated"


def test_config_and_the_roles_stop_on_the_same_bad_setting_whatever_its_layer(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"database.pool.size": 0}))
    env = {"PATH": os.environ.get("PATH", ""), "AUTH_SECRET": SECRET, "TODO_CONFIG_FILE": str(tmp_path / "bad.json")}
    for args in (["config", "--role", "api"], ["api"]):
        result = subprocess.run([str(BINARY), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=20)
        assert result.returncode == 1 and "DATABASE_POOL_SIZE must be a whole number from 1 to 500, got '0'" in result.stderr, result.stderr
    typo = subprocess.run([str(BINARY), "api", "--databse-pool-size", "4"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=20)
    assert typo.returncode != 0 and "unknown setting --databse-pool-size" in typo.stderr, typo.stderr
