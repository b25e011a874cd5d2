"""The MCP server with an independent client (the official Python SDK) and raw protocol probes."""
import asyncio
import time

import pytest
import requests
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from server import Client, free_port

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def servers(start):
    api = start("api")
    api.wait_ready()
    port = free_port()
    mcp = start("mcp", PORT=port, BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None,
                MCP_PUBLIC_URL=f"http://127.0.0.1:{port}", MCP_WEB_URL="http://127.0.0.1:3000")
    mcp.wait_ready()
    return api, mcp


def personal_token(user):
    reply = user.session.post(f"{user.base}/api/tokens", json={"name": "mcp client"}, timeout=5)
    assert reply.status_code == 201
    return reply.json()["token"]


async def with_session(url, token, work):
    async with streamablehttp_client(url, headers={"Authorization": f"Bearer {token}"}) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


def test_an_sdk_client_lists_and_calls_every_tool(servers):
    api, mcp = servers
    user = Client(api.base)
    token = personal_token(user)

    async def work(session):
        names = sorted(tool.name for tool in (await session.list_tools()).tools)
        added = await session.call_tool("add_task", {"title": "Buy milk", "priority": "high", "tags": ["shop"],
                                                     "due_at": "2026-12-01T09:00:00Z"})
        task_id = added.structuredContent["task"]["id"]
        listed = await session.call_tool("list_tasks", {"status": "pending"})
        found = await session.call_tool("search_tasks", {"query": "MILK"})
        updated = await session.call_tool("update_task", {"task_id": task_id, "title": "Buy oat milk"})
        completed = await session.call_tool("complete_task", {"task_id": task_id})
        deleted = await session.call_tool("delete_task", {"task_id": task_id})
        return names, added, listed, found, updated, completed, deleted

    names, added, listed, found, updated, completed, deleted = asyncio.run(with_session(f"{mcp.base}/mcp", token, work))
    assert names == ["add_task", "complete_task", "delete_task", "list_projects", "list_tasks", "search_tasks", "update_task"]
    assert not added.isError and added.structuredContent["task"]["priority"] == "high"
    assert [t["title"] for t in listed.structuredContent["tasks"]] == ["Buy milk"]
    assert len(found.structuredContent["tasks"]) == 1
    assert updated.structuredContent["task"]["title"] == "Buy oat milk"
    assert completed.structuredContent["task"]["completed"] is True
    assert deleted.structuredContent == {"deleted": added.structuredContent["task"]["id"]}
    assert user.session.get(user.url("/tasks"), timeout=5).json()["items"] == []


def test_tools_act_only_as_the_caller(servers):
    api, mcp = servers
    ann, bob = Client(api.base), Client(api.base)
    secret = ann.session.post(ann.url("/tasks"), json={"title": "Ann's secret"}, timeout=5).json()

    async def work(session):
        listed = await session.call_tool("list_tasks", {})
        completed = await session.call_tool("complete_task", {"task_id": secret["id"]})
        deleted = await session.call_tool("delete_task", {"task_id": secret["id"]})
        bad = await session.call_tool("add_task", {"title": ""})
        return listed, completed, deleted, bad

    listed, completed, deleted, bad = asyncio.run(with_session(f"{mcp.base}/mcp", personal_token(bob), work))
    assert listed.structuredContent["tasks"] == []
    assert completed.isError and "No such task" in completed.content[0].text
    assert deleted.isError
    assert bad.isError and "title" in bad.content[0].text
    assert ann.session.get(ann.url(f"/tasks/{secret['id']}"), timeout=5).json()["completed"] is False


def test_the_project_argument_names_a_project_by_name_and_reaches_only_the_callers(servers):
    api, mcp = servers
    ann, bob = Client(api.base), Client(api.base)
    groceries = ann.session.post(ann.url("/projects"), json={"name": "Groceries"}, timeout=5).json()
    bob.session.post(bob.url("/projects"), json={"name": "Secret plans"}, timeout=5)

    async def work(session):
        projects = await session.call_tool("list_projects", {})
        added = await session.call_tool("add_task", {"title": "Milk", "project": "groceries"})
        inbox = await session.call_tool("add_task", {"title": "Call mum"})
        listed = await session.call_tool("list_tasks", {"project": "Groceries"})
        found = await session.call_tool("search_tasks", {"query": "mum", "project": groceries["id"]})
        foreign = await session.call_tool("add_task", {"title": "Spy", "project": "Secret plans"})
        return projects, added, inbox, listed, found, foreign

    projects, added, inbox, listed, found, foreign = asyncio.run(with_session(f"{mcp.base}/mcp", personal_token(ann), work))
    assert [p["name"] for p in projects.structuredContent["projects"]] == ["Inbox", "Groceries"]
    assert "Groceries (project " in projects.content[0].text
    assert added.structuredContent["task"]["project_id"] == groceries["id"]
    assert inbox.structuredContent["task"]["project_id"] != groceries["id"]
    assert [t["title"] for t in listed.structuredContent["tasks"]] == ["Milk"]
    assert found.structuredContent["tasks"] == []
    assert foreign.isError and "No project is named" in foreign.content[0].text
    assert [t["title"] for t in ann.session.get(ann.url("/tasks"), timeout=5).json()["items"]] == ["Call mum", "Milk"]
    assert bob.session.get(bob.url("/tasks"), timeout=5).json()["items"] == []


def open_session(mcp, token):
    reply = requests.post(f"{mcp.base}/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}"}, timeout=5)
    assert reply.status_code == 200
    return reply.headers["Mcp-Session-Id"]


def test_protocol_errors_get_the_specified_answers(servers):
    api, mcp = servers
    ann, bob = Client(api.base), Client(api.base)
    url = f"{mcp.base}/mcp"
    auth = {**HEADERS, "Authorization": f"Bearer {ann.token}"}

    anonymous = requests.post(url, json=INIT, headers=HEADERS, timeout=5)
    assert anonymous.status_code == 401
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    metadata_url = challenge.split('resource_metadata="')[1].rstrip('"')
    metadata = requests.get(metadata_url, headers={"Host": "evil.example"}, timeout=5).json()
    assert metadata["resource"] == f"{mcp.base}/mcp" and metadata["bearer_methods_supported"] == ["header"]
    assert metadata["authorization_servers"] == ["http://127.0.0.1:3000"]
    assert requests.post(url, json=INIT, headers={**HEADERS, "Authorization": "Bearer forged"}, timeout=5).status_code == 401

    assert requests.post(url, json=INIT, headers={**auth, "Origin": "https://evil.example"}, timeout=5).status_code == 403
    assert requests.post(url, json=INIT, headers={**auth, "Origin": "http://localhost:3000"}, timeout=5).status_code == 200

    session = open_session(mcp, ann.token)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    versioned = {**auth, "MCP-Protocol-Version": "2025-11-25"}
    assert requests.post(url, json=call, headers={**versioned, "Mcp-Session-Id": session}, timeout=5).status_code == 200
    assert requests.post(url, json=call, headers={**versioned, "Mcp-Session-Id": "no-such-session"}, timeout=5).status_code == 404
    assert requests.post(url, json=call, headers=versioned, timeout=5).status_code == 400
    wrong_version = {**auth, "Mcp-Session-Id": session, "MCP-Protocol-Version": "1999-01-01"}
    assert requests.post(url, json=call, headers=wrong_version, timeout=5).status_code == 400
    malformed = requests.post(url, data="{not json", headers={**versioned, "Mcp-Session-Id": session}, timeout=5)
    assert malformed.status_code == 400
    stolen = {**HEADERS, "Authorization": f"Bearer {bob.token}", "MCP-Protocol-Version": "2025-11-25", "Mcp-Session-Id": session}
    assert requests.post(url, json=call, headers=stolen, timeout=5).status_code == 404
    assert requests.delete(url, headers={**versioned, "Mcp-Session-Id": session}, timeout=5).status_code == 200
    assert requests.post(url, json=call, headers={**versioned, "Mcp-Session-Id": session}, timeout=5).status_code == 404


def test_health_endpoints_report_the_backend(start):
    mcp = start("mcp", PORT=free_port(), BACKEND_URL=f"http://127.0.0.1:{free_port()}", DATABASE_URL=None, AUTH_SECRET=None)
    deadline = __import__("time").monotonic() + 10
    while True:
        try:
            assert requests.get(f"{mcp.base}/healthz", timeout=2).status_code == 200
            break
        except requests.ConnectionError:
            assert __import__("time").monotonic() < deadline
    assert requests.get(f"{mcp.base}/readyz", timeout=5).status_code == 503


def test_a_revoked_token_stops_working_on_the_mcp_server_within_a_second(servers):
    api, mcp = servers
    user = Client(api.base)
    secret = personal_token(user)
    session = open_session(mcp, secret)
    token_id = user.session.get(f"{user.base}/api/tokens", timeout=5).json()["items"][0]["id"]
    assert user.session.delete(f"{user.base}/api/tokens/{token_id}", timeout=5).status_code == 204
    revoked_at = time.monotonic()
    while True:
        reply = requests.post(f"{mcp.base}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                              headers={**HEADERS, "Authorization": f"Bearer {secret}", "Mcp-Session-Id": session}, timeout=5)
        if reply.status_code == 401:
            break
        assert time.monotonic() - revoked_at < 1.5, "the revoked token still worked after 1.5 s"
        time.sleep(0.05)


def test_without_a_public_url_the_metadata_never_comes_from_the_host_header(start, servers):
    """`todo mcp` without MCP_PUBLIC_URL: a request's Host cannot make the server send MCP clients
    to another site for their credentials."""
    api, _ = servers
    mcp = start("mcp", PORT=free_port(), BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None)
    mcp.wait_ready()
    forged = {**HEADERS, "Host": "evil.example"}
    anonymous = requests.post(f"{mcp.base}/mcp", json=INIT, headers=forged, timeout=5)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    metadata = requests.get(f"{mcp.base}/.well-known/oauth-protected-resource/mcp", headers=forged, timeout=5)
    assert metadata.status_code == 404 and "evil.example" not in metadata.text
    bad = start("mcp", PORT=free_port(), BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None, MCP_PUBLIC_URL="evil.example")
    assert bad.process.wait(timeout=10) != 0
