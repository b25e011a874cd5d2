"""Fixtures of the contract tests: the real backend binary on a fresh SQLite database.

The binary is `$TODO_BIN`, by default `<repo>/.build/debug/todo` (build it first with
`swift build`). It runs as `todo api` on a free local port, next to `todo mcp` (the MCP server
the chat assistant calls its tools through, as in a cluster), and both are stopped with SIGTERM
(SIGKILL after 10 s) when the session ends. The assistant is the built-in offline agent: the
`LLM_*` variables of the environment are not passed on. Live-event heartbeats come every second,
so that a closed event stream is noticed at once, and reminders are checked four times a second.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from oidc import MockProvider
from openapi_contract import (CHAT_MESSAGE_LIMIT, CHAT_RATE_LIMIT, MAX_BODY_SIZE, MAX_IMPORT_SIZE, TASK_QUOTA, Account, ContractClient,
                              OpenAPIDocument, sign_up)

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = REPO_ROOT / "Sources" / "TodoAPI" / "openapi.json"
DEFAULT_BINARY = REPO_ROOT / ".build" / "debug" / "todo"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path
    mcp: "Server | None" = None
    # The `todo` binary it runs, for commands on its database (`todo user`).
    binary: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        warnings.warn(f"todo {process.args[1]} (pid {process.pid}) ignored SIGTERM for {STOP_TIMEOUT:.0f} s; killing it")
        process.kill()
        process.wait()


def _wait_ready(server: Server, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"todo {name} exited with {server.process.returncode} before it was ready:\n{server.log_tail()}",
                        pytrace=False)
        try:
            if requests.get(server.base_url + "/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"todo {name} not ready within {READY_TIMEOUT:.0f} s:\n{server.log_tail()}", pytrace=False)
        time.sleep(0.05)


# Variables of the caller's environment that would change what the servers under test do.
_NOT_INHERITED = {
    "BETTER_AUTH_SECRET", "API_PORT", "MIGRATE_ON_START", "SHUTDOWN_DRAIN_SECONDS", "MCP_PORT", "MCP_URL",
    "MCP_ALLOWED_ORIGINS", "MCP_PUBLIC_URL", "BACKEND_URL", "ASSISTANT_MAX_STEPS", "LLM_BASE_URL", "LLM_API_KEY",
    "LLM_MODEL", "LLM_TIMEOUT_SECONDS", "LLM_ATTEMPTS", "CHAT_TIME_LIMIT_SECONDS", "CHAT_RATE_LIMIT", "CHAT_CONVERSATION_LIMIT",
    "CHAT_MESSAGE_LIMIT", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_NAME", "PASSWORD_LOGIN", "PUBLIC_WEB_URL",
}

_running: list[Server] = []


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> MockProvider:
    """A real OpenID Connect provider for single sign-on, `OIDC_ISSUER` of the server."""
    provider = MockProvider(tmp_path_factory.mktemp("oidc") / "provider.log")
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, oidc_provider: MockProvider) -> Server:
    binary = Path(os.environ.get("TODO_BIN") or DEFAULT_BINARY)
    if not binary.is_file():
        pytest.fail(f"backend binary not found at {binary}: run `swift build` first or set TODO_BIN", pytrace=False)
    directory = tmp_path_factory.mktemp("todo-api")
    port, mcp_port = _free_port(), _free_port()
    inherited = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    environment = dict(inherited)
    environment.update(
        DATABASE_URL=f"sqlite://{directory}/todo.db",
        TODO_DATA_DIR=str(directory),
        AUTH_SECRET="contract-tests-secret-" + uuid.uuid4().hex,
        PASSWORD_HASH_COST="4",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        MAX_BODY_SIZE=str(MAX_BODY_SIZE),
        MAX_IMPORT_SIZE=str(MAX_IMPORT_SIZE),
        TASKS_PER_USER_LIMIT=str(TASK_QUOTA),
        EVENT_HEARTBEAT_SECONDS="1",
        EVENT_POLL_INTERVAL_MS="100",
        EVENT_RETENTION_HOURS="24",
        REMINDER_INTERVAL_MS="250",
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        PUSH_ALLOWED_NETWORKS="127.0.0.0/8",
        # A throwaway VAPID key: 32 random bytes are a P-256 private key (but for odds of 2^-32).
        VAPID_PRIVATE_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode(),
        MCP_URL=f"http://127.0.0.1:{mcp_port}/mcp",
        CHAT_RATE_LIMIT=str(CHAT_RATE_LIMIT),
        CHAT_MESSAGE_LIMIT=str(CHAT_MESSAGE_LIMIT),
        OIDC_ISSUER=oidc_provider.issuer,
        OIDC_CLIENT_ID="todo-contract-tests",
        OIDC_CLIENT_SECRET="contract-client-secret",
    )
    log_path = directory / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(binary), "api"], env=environment, cwd=directory, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, binary=binary)
    _running.append(server)
    try:
        _wait_ready(server, "api")
        # The MCP server the assistant calls its tools through; it calls the API back with the user's token.
        mcp_environment = {key: value for key, value in inherited.items() if key not in {"DATABASE_URL", "AUTH_SECRET"}}
        mcp_environment.update(HOST="127.0.0.1", PORT=str(mcp_port), BACKEND_URL=server.base_url, LOG_FORMAT="json",
                               LOG_LEVEL="info")
        mcp_log_path = directory / "mcp.log"
        with open(mcp_log_path, "wb") as log:
            mcp_process = subprocess.Popen(
                [str(binary), "mcp"], env=mcp_environment, cwd=directory, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
            )
        server.mcp = Server(f"http://127.0.0.1:{mcp_port}", mcp_process, mcp_log_path)
        _wait_ready(server.mcp, "mcp")
        yield server
    finally:
        if server.mcp is not None:
            _stop(server.mcp.process)
        _stop(process)
        _running.remove(server)


@pytest.fixture(scope="session")
def document_path() -> Path:
    return DOCUMENT_PATH


@pytest.fixture(scope="session")
def document() -> dict:
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def spec(document: dict) -> OpenAPIDocument:
    return OpenAPIDocument(document)


@pytest.fixture(scope="session")
def api(server: Server, spec: OpenAPIDocument) -> ContractClient:
    """One client for the whole session, so that coverage adds up across the tests."""
    client = ContractClient(server.base_url, spec)
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def alice(api: ContractClient) -> Account:
    return sign_up(api, name="Alice")


@pytest.fixture(scope="session")
def bob(api: ContractClient) -> Account:
    return sign_up(api)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running:
        report.sections.append(("todo api log (tail)", _running[-1].log_tail()))
        if _running[-1].mcp is not None:
            report.sections.append(("todo mcp log (tail)", _running[-1].mcp.log_tail(20)))
