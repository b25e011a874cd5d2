"""The assistant through the real chat route, the real MCP server and the real backend."""
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from server import Client, free_port


@pytest.fixture
def stack(start, tmp_path):
    """A backend and an MCP server (separate processes, as in the cluster)."""
    def launch(**api_env):
        mcp_port = free_port()
        api = start("api", MCP_URL=f"http://127.0.0.1:{mcp_port}/mcp", **api_env)
        api.wait_ready()
        mcp = start("mcp", PORT=mcp_port, BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None)
        mcp.wait_ready()
        return api, mcp
    return launch


def chat(user, message, conversation=None, zone="UTC"):
    body = {"message": message, "time_zone": zone}
    if conversation:
        body["conversation_id"] = conversation
    reply = user.session.post(f"{user.base}/api/me/chat", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def tasks(user, **params):
    return user.session.get(user.url("/tasks"), params={"limit": 200, "sort": "created", **params}, timeout=5).json()["items"]


TOMORROW = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")

# (phrase, tasks to seed, check on the resulting tasks, words the answer must contain)
OFFLINE_CASES = [
    ("add buy milk", [], lambda t: [x["title"] for x in t] == ["buy milk"], "buy milk"),
    ("Add buy milk tomorrow", [], lambda t: t[0]["due_at"].startswith(TOMORROW), "Added"),
    ("add buy milk tomorrow 9am", [], lambda t: t[0]["due_at"] == f"{TOMORROW}T09:00:00.000Z", "09:00"),
    ("add pay rent !high #home", [], lambda t: (t[0]["priority"], t[0]["tags"]) == ("high", ["home"]), "high priority"),
    ("add task: call mum", [], lambda t: t[0]["title"] == "call mum", "call mum"),
    ("add a task call the bank", [], lambda t: t[0]["title"] == "call the bank", "Added"),
    ("create a task to renew passport", [], lambda t: t[0]["title"] == "to renew passport", "Added"),
    ("new task: water plants every 2 weeks", [], lambda t: t[0]["recurrence"]["interval"] == 2, "Added"),
    ("remind me to call mum on friday", [], lambda t: t[0]["title"] == "call mum" and t[0]["due_at"], "call mum"),
    ("I need to file taxes !medium", [], lambda t: t[0]["priority"] == "medium", "file taxes"),
    ("don't forget to buy eggs #shop", [], lambda t: t[0]["tags"] == ["shop"], "buy eggs"),
    ("todo: book dentist", [], lambda t: t[0]["title"] == "book dentist", "book dentist"),
    ("what's pending?", ["a", "b*"], lambda t: len(t) == 2, "1 pending task"),
    ("show my tasks", ["a", "b"], lambda t: len(t) == 2, "2 tasks"),
    ("list tasks", ["a"], lambda t: len(t) == 1, "“a”"),
    ("what do I have to do?", ["a", "b*"], lambda t: True, "1 pending task"),
    ("show completed tasks", ["a", "b*"], lambda t: True, "1 completed task"),
    ("what did I finish", ["a*"], lambda t: True, "1 completed task"),
    ("list high priority tasks", ["a", "b!high"], lambda t: True, "1 high-priority task"),
    ("show tasks tagged work", ["a#work", "b"], lambda t: True, "tagged #work"),
    ("which tasks are left?", [], lambda t: True, "no pending tasks"),
    ("find milk", ["buy milk", "walk dog"], lambda t: True, "buy milk"),
    ("search for dentist", ["book dentist", "x"], lambda t: True, "book dentist"),
    ("look for nothing-like-this", ["x"], lambda t: True, "no tasks matching"),
    ("mark 'buy milk' done", ["buy milk", "walk dog"], lambda t: [x["completed"] for x in t] == [True, False], "as done"),
    ("mark buy milk as done", ["buy milk"], lambda t: t[0]["completed"], "as done"),
    ("complete task {0}", ["buy milk"], lambda t: t[0]["completed"], "as done"),
    ("finish “walk dog”", ["buy milk", "walk dog"], lambda t: [x["completed"] for x in t] == [False, True], "walk dog"),
    ("check off task {1}", ["a", "b"], lambda t: [x["completed"] for x in t] == [False, True], "as done"),
    ("I finished walk dog", ["walk dog"], lambda t: t[0]["completed"], "as done"),
    ("buy milk is done", ["buy milk"], lambda t: t[0]["completed"], "as done"),
    ("done with task {0}", ["a"], lambda t: t[0]["completed"], "as done"),
    ("reopen task {0}", ["a*"], lambda t: not t[0]["completed"], "Reopened"),
    ("mark 'a' as not done", ["a*"], lambda t: not t[0]["completed"], "Reopened"),
    ("delete task {0}", ["a", "b"], lambda t: [x["title"] for x in t] == ["b"], "Deleted task"),
    ("remove 'buy milk'", ["buy milk", "walk dog"], lambda t: [x["title"] for x in t] == ["walk dog"], "Deleted “buy milk”"),
    ("delete the walk dog task", ["walk dog"], lambda t: t == [], "Deleted"),
    ("rename task {0} to Buy oat milk", ["buy milk"], lambda t: t[0]["title"] == "Buy oat milk", "Updated"),
    ("set priority of task {0} to high", ["a"], lambda t: t[0]["priority"] == "high", "priority to high"),
    ("make 'a' low priority", ["a"], lambda t: t[0]["priority"] == "low", "priority to low"),
    ("move 'dentist' to tomorrow 10am", ["dentist"], lambda t: t[0]["due_at"] == f"{TOMORROW}T10:00:00.000Z", "moved it"),
    ("complete 'nothing like this'", ["a"], lambda t: not t[0]["completed"], "couldn't find"),
    ("mark 'milk' done", ["buy milk", "oat milk"], lambda t: not any(x["completed"] for x in t), "Several tasks match"),
    ("delete task 999999", ["a"], lambda t: len(t) == 1, "couldn't do that"),
    ("what can you do?", [], lambda t: t == [], "offline assistant"),
    ("tell me a joke", [], lambda t: t == [], "offline assistant"),
]


def seed(user, specs):
    """'title', 'title*' (completed), 'title!high', 'title#tag' → task ids in order."""
    ids = []
    for spec in specs:
        body = {"title": spec.rstrip("*").split("!")[0].split("#")[0]}
        if "!" in spec:
            body["priority"] = spec.split("!")[1]
        if "#" in spec:
            body["tags"] = [spec.split("#")[1]]
        body["completed"] = spec.endswith("*")
        ids.append(user.session.post(user.url("/tasks"), json=body, timeout=5).json()["id"])
    return ids


def test_offline_agent_understands_common_requests(stack):
    api, _ = stack()
    failures = []
    for phrase, specs, check, expected in OFFLINE_CASES:
        user = Client(api.base)
        ids = seed(user, specs)
        answer = chat(user, phrase.format(*ids))
        state = tasks(user)
        try:
            passed = check(state)
        except (IndexError, KeyError, TypeError):
            passed = False
        if not passed or expected.lower() not in answer["response"].lower():
            failures.append(f"{phrase!r}: {answer['response']!r} / {[(x['title'], x['completed']) for x in state]}")
    assert len(OFFLINE_CASES) >= 40
    assert not failures, "\n".join(failures)


def test_chat_answers_and_stores_the_conversation(stack):
    api, _ = stack()
    user = Client(api.base)
    first = chat(user, "add buy milk tomorrow 9am !high #shop")
    assert [call["name"] for call in first["tool_calls"]] == ["add_task"]
    assert first["tool_calls"][0]["result"]["task"]["title"] == "buy milk"
    second = chat(user, "what's pending?", conversation=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    conversations = user.session.get(f"{api.base}/api/me/conversations", timeout=5).json()["items"]
    assert [c["id"] for c in conversations] == [first["conversation_id"]]
    messages = user.session.get(f"{api.base}/api/me/conversations/{first['conversation_id']}/messages", timeout=5).json()["items"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]


def test_chat_is_isolated_and_validated(stack):
    api, _ = stack()
    ann, bob = Client(api.base), Client(api.base)
    conversation = chat(ann, "add secret plan")["conversation_id"]
    reply = bob.session.post(f"{api.base}/api/me/chat", json={"message": "what's pending", "conversation_id": conversation}, timeout=10)
    assert reply.status_code == 404
    assert bob.session.get(f"{api.base}/api/me/conversations/{conversation}/messages", timeout=5).status_code == 404
    assert "secret" not in chat(bob, "show my tasks")["response"]
    for body in ({}, {"message": ""}, {"message": "x" * 4001}, {"message": "hi", "time_zone": "Mars/Base"}, {"message": 5}):
        assert bob.session.post(f"{api.base}/api/me/chat", json=body, timeout=5).status_code == 422
    assert requests.post(f"{api.base}/api/me/chat", json={"message": "hi"}, timeout=5).status_code == 401


def test_mcp_server_down_gives_a_friendly_answer(start):
    api = start("api", MCP_URL=f"http://127.0.0.1:{free_port()}/mcp")
    api.wait_ready()
    answer = chat(Client(api.base), "add buy milk")
    assert "unavailable" in answer["response"]


class FakeModel:
    """An OpenAI-compatible server that scripts tool calls and records what it was sent."""

    def __init__(self, busy_first=0, refusal=None):
        self.requests = []
        self.busy = busy_first
        self.refusal = refusal  # (status, body) answered to every request
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                if model.refusal:
                    status, text = model.refusal
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(text.encode())))
                    self.end_headers()
                    self.wfile.write(text.encode())
                    return
                if model.busy > 0:
                    model.busy -= 1
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                payload = json.dumps({"choices": [{"message": model.answer(body["messages"])}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def answer(messages):
        last = messages[-1]
        if last["role"] == "tool":
            return {"role": "assistant", "content": f"Done: {last['content']}"}
        text = last["content"]
        if text.startswith("please add "):
            return FakeModel.call("add_task", {"title": text.removeprefix("please add "), "priority": "high"})
        if text == "complete the one you added":
            added = [json.loads(m["function"]["arguments"]) for m in messages if m["role"] == "assistant" for m in m.get("tool_calls") or []]
            results = [m["content"] for m in messages if m["role"] == "tool"]
            if not added or not results:
                return {"role": "assistant", "content": "I have no history"}
            task_id = results[-1].split("task ")[1].split(":")[0]
            return FakeModel.call("complete_task", {"task_id": task_id})
        return {"role": "assistant", "content": "I only know two tricks"}

    @staticmethod
    def call(name, arguments):
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}

    def close(self):
        self.server.shutdown()


def test_model_tool_calls_run_through_mcp_and_history_survives_a_restart(stack, start):
    model = FakeModel()
    try:
        api, mcp = stack(LLM_BASE_URL=model.url, LLM_API_KEY="sk-test", LLM_MODEL="fake-1")
        user = Client(api.base)
        first = chat(user, "please add buy bread")
        assert first["response"].startswith("Done: Added task")
        assert tasks(user)[0]["title"] == "buy bread" and tasks(user)[0]["priority"] == "high"
        sent = model.requests[0]
        assert sent["auth"] == "Bearer sk-test" and sent["body"]["model"] == "fake-1"
        assert {tool["function"]["name"] for tool in sent["body"]["tools"]} == {
            "add_task", "list_tasks", "search_tasks", "complete_task", "update_task", "delete_task"}
        api.stop()
        restarted = start("api", PORT=api.port, DATABASE_URL=f"sqlite://{api.log_path.parent}/todo.db",
                          MCP_URL=f"http://127.0.0.1:{mcp.port}/mcp", LLM_BASE_URL=model.url, LLM_API_KEY="sk-test")
        restarted.wait_ready()
        second = chat(user, "complete the one you added", conversation=first["conversation_id"])
        assert [call["name"] for call in second["tool_calls"]] == ["complete_task"]
        assert tasks(user)[0]["completed"] is True
        replayed = model.requests[-2]["body"]["messages"]
        assert [m["role"] for m in replayed] == ["system", "user", "assistant", "tool", "assistant", "user"]
    finally:
        model.close()


def test_a_busy_provider_is_retried(stack):
    model = FakeModel(busy_first=2)
    try:
        api, _ = stack(LLM_BASE_URL=model.url, LLM_API_KEY="k")
        answer = chat(Client(api.base), "please add retry me")
        assert answer["response"].startswith("Done")
        assert len(model.requests) == 4  # two 429s, the tool call, the answer
    finally:
        model.close()


def test_chat_messages_reuse_one_mcp_session_and_reopen_one_the_server_forgot(stack, start):
    """The assistant keeps its MCP session from one message to the next (a tool call is then
    one exchange, no handshake), and opens a new one when the MCP server no longer knows it."""
    api, mcp = stack()
    user = Client(api.base)
    for number in range(3):
        assert [call["name"] for call in chat(user, f"add buy milk {number}")["tool_calls"]] == ["add_task"]
    assert mcp.output().count("mcp session opened") == 1
    # A restarted MCP server has forgotten every session: the next message opens a new one.
    port = mcp.port
    mcp.stop()
    mcp = start("mcp", PORT=port, BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None)
    mcp.wait_ready()
    assert [call["name"] for call in chat(user, "add buy bread")["tool_calls"]] == ["add_task"]
    assert mcp.output().count("mcp session opened") == 1
    assert len(tasks(user)) == 4


def test_a_providers_error_text_reaches_neither_the_user_nor_the_history_nor_the_log_with_its_key(stack):
    """A provider that refuses with internals and a key in its answer: the user and the stored
    conversation get a plain apology; the log keeps the status but not the key."""
    leak = '{"error": {"message": "Incorrect API key provided: sk-live-TOPSECRET42. Internal shard db-7 at 10.1.2.3"}}'
    model = FakeModel(refusal=(401, leak))
    try:
        api, _ = stack(LLM_BASE_URL=model.url, LLM_API_KEY="sk-live-TOPSECRET42", LLM_MODEL="fake-1")
        user = Client(api.base)
        answer = chat(user, "please add anything")
        assert answer["response"] == "Sorry, the assistant is unavailable right now. Please try again in a moment."
        stored = user.session.get(f"{user.base}/api/me/conversations/{answer['conversation_id']}/messages", timeout=5).json()["items"]
        assert not any("TOPSECRET" in m["content"] or "shard" in m["content"] or "401" in m["content"] for m in stored)
        log = api.output()
        assert "401" in log and "TOPSECRET" not in log
    finally:
        model.close()
