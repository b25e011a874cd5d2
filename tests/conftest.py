"""Fixtures shared by the end-to-end and fault tests: real `todo` processes and PostgreSQL databases."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "e2e"))

import shutil
import subprocess
import uuid

import pytest

from server import SECRET, TodoProcess, free_port


@pytest.fixture
def start(tmp_path):
    """Starts `todo <role>` processes; every one is stopped (by its PID) after the test."""
    processes = []

    def launch(role="api", **env):
        if role == "serve":  # every role in one process: keep the web and MCP ports off the defaults
            env.setdefault("WEB_PORT", free_port())
            env.setdefault("MCP_PORT", free_port())
        env.setdefault("AUTH_SECRET", SECRET)
        env.setdefault("DATABASE_URL", f"sqlite://{tmp_path}/todo.db")
        process = TodoProcess(role, {k: str(v) for k, v in env.items() if v is not None}, tmp_path / f"{role}-{len(processes)}.log")
        processes.append(process)
        return process

    yield launch
    for process in processes:
        process.stop()


@pytest.fixture
def postgres_url():
    """A new, empty PostgreSQL database on the test server started by scripts/with-postgres.sh."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        if os.environ.get("TODO_REQUIRE_POSTGRES") == "1":
            pytest.fail("TEST_DATABASE_URL is not set")
        pytest.skip("no PostgreSQL (run through scripts/test.sh)")
    name = "e2e_" + uuid.uuid4().hex[:12]
    admin = base.split("?")[0]
    psql = shutil.which("psql") or os.path.join(os.environ.get("TEST_POSTGRES_BIN", ""), "psql")
    subprocess.run([psql, admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    yield admin.rsplit("/", 1)[0] + f"/{name}?sslmode=disable", (psql, admin.rsplit("/", 1)[0] + f"/{name}")
    subprocess.run([psql, admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)
