"""Hostile and unusual text in every writable field, on SQLite and PostgreSQL.

Policy (docs/SECURITY.md): right-to-left text and overrides, zero-width characters, combining
marks, 4-byte emoji (ZWJ sequences, flags) are stored and returned exactly, code point for code
point (no normalisation); NUL and other control characters are a 422 that names the field (line
breaks and tabs are allowed in multi-line fields); lone surrogates (`"\\ud800"`) and invalid
UTF-8 are a 400 `invalid_json`. Nothing rejected is stored; nothing is a 500.
"""
import json
import sqlite3
import subprocess
import time
import unicodedata

import pytest
import requests

from server import Client, free_port

# Each is stored and returned exactly. None has leading or trailing white space (titles and names
# are trimmed, as documented) or letters with case (tags are stored lowercase).
FAITHFUL = {
    "rtl": "שלום \u202eעולם\u202c مرحبا",
    "zero-width": "a\u200bb\ufeffc\u200d",
    "combining": "e\u0301 n\u0303 \u0915\u094d\u0937 z\u0351\u0334\u0353",
    "emoji": "\U0001f600 \U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f1e9\U0001f1ea \U0001f44d\U0001f3fd",
    "astral": "\U00010348\U0001d11e\U0002a6a5",
}
# Characters that are refused wherever they appear (multi-line fields still take \n, \r, \t).
CONTROLS = {"nul": "\u0000", "soh": "\u0001", "escape": "\u001b", "delete": "\u007f", "c1": "\u0085", "csi": "\u009b"}
# JSON text that is not a string of Unicode scalars: escaped lone or reversed surrogates.
SURROGATES = {"lone high": r"\ud800", "lone low": r"\udfff", "reversed": r"\udc00\ud800", "high then text": r"\ud83dx"}
# Bytes that are not UTF-8, inside a JSON string.
INVALID_UTF8 = {
    "ff fe": b"\xff\xfe", "overlong slash": b"\xc0\xaf", "overlong 3-byte": b"\xe0\x80\xaf",
    "encoded surrogate": b"\xed\xa0\x80", "truncated": b"\xe2\x82", "lone continuation": b"\x80",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
}


def tag_form(text):
    """A tag cannot hold spaces: the same characters without them."""
    return text.replace(" ", "")


def fragment(text):
    """A piece of the text for search: a few code points from the middle."""
    return text[2:6]


@pytest.fixture(params=["sqlite", "postgres"])
def api(request, start):
    """The backend, with the MCP server its assistant adds tasks through."""
    url = None
    if request.param == "postgres":
        url, _ = request.getfixturevalue("postgres_url")
    mcp_port = free_port()
    database = {"DATABASE_URL": url} if url else {}
    server = start("api", ACCESS_LOG="false", MCP_URL=f"http://127.0.0.1:{mcp_port}/mcp", **database)
    server.wait_ready()
    start("mcp", PORT=mcp_port, BACKEND_URL=server.base).wait_ready()
    return server


def assert_rejected(reply, field, status=422):
    assert reply.status_code == status, f"{field}: {reply.status_code} {reply.text[:300]}"
    error = reply.json()["error"]
    if status == 422:
        assert field in [issue["field"] for issue in error["details"]], error
    else:
        assert error["code"] == "invalid_json" and "UTF-8" in error["message"], error


def raw_post(user, path, template, value_bytes):
    """POSTs JSON text with `value_bytes` spliced into a string unchanged (escapes and bad bytes included)."""
    body = template.encode().replace(b"@", value_bytes)
    return user.session.post(user.base + path, data=body, headers={"Content-Type": "application/json"}, timeout=10)


def all_tasks(user):
    return user.session.get(user.url("/tasks"), params={"limit": 200}, timeout=10).json()["items"]


# --- tasks ------------------------------------------------------------------------------------

def test_task_text_is_stored_exactly_or_refused(api):
    user = Client(api.base)
    for name, text in FAITHFUL.items():
        body = {"title": text, "description": f"{text}\n\t{text}", "tags": [tag_form(text)]}
        created = user.session.post(user.url("/tasks"), json=body, timeout=10)
        assert created.status_code == 201, f"{name}: {created.text}"
        task = created.json()
        read = user.session.get(user.url(f"/tasks/{task['id']}"), timeout=10).json()
        listed = [t for t in all_tasks(user) if t["id"] == task["id"]]
        found = user.session.get(user.url("/tasks"), params={"q": fragment(text)}, timeout=10).json()["items"]
        by_tag = user.session.get(user.url("/tasks"), params={"tag": tag_form(text)}, timeout=10).json()["items"]
        for source, seen in (("create", task), ("get", read), ("list", listed[0]), ("search", found[0] if found else None)):
            assert seen is not None, f"{name}: search for {fragment(text)!r} found nothing"
            assert (seen["title"], seen["description"], seen["tags"]) == (body["title"], body["description"], body["tags"]), \
                f"{name} changed in {source}: {seen['title']!r}"
        assert [t["id"] for t in by_tag] == [task["id"]], f"{name}: tag filter"
        # A composed and a decomposed "é" are different strings: no normalisation on the way.
        if name == "combining":
            assert unicodedata.normalize("NFC", text) != read["title"]
    exported = user.session.get(user.url("/export"), timeout=10).json()
    assert sorted(t["title"] for t in exported["tasks"]) == sorted(FAITHFUL.values())
    count = len(all_tasks(user))

    for name, control in CONTROLS.items():
        for field, body in (("title", {"title": f"a{control}b"}), ("description", {"title": "ok", "description": f"a{control}b"}),
                            ("tags[0]", {"title": "ok", "tags": [f"a{control}b"]})):
            assert_rejected(user.session.post(user.url("/tasks"), json=body, timeout=10), field)
        assert_rejected(user.session.patch(user.url(f"/tasks/{task['id']}"), json={"title": f"a{control}b"}, timeout=10), "title")
    for name, escape in SURROGATES.items():
        for template in ('{"title": "a@b"}', '{"title": "ok", "description": "@"}', '{"title": "ok", "tags": ["@"]}'):
            assert_rejected(raw_post(user, "/api/me/tasks", template, escape.encode()), name, status=400)
    for name, raw in INVALID_UTF8.items():
        for template in ('{"title": "a@b"}', '{"title": "ok", "description": "@"}', '{"title": "ok", "tags": ["@"]}'):
            assert_rejected(raw_post(user, "/api/me/tasks", template, raw), name, status=400)
    # A valid escaped pair is one astral character.
    pair = raw_post(user, "/api/me/tasks", '{"title": "a@b"}', rb"\ud83d\ude00")
    assert pair.status_code == 201 and pair.json()["title"] == "a\U0001f600b"
    assert len(all_tasks(user)) == count + 1, "a refused write changed the stored tasks"
    assert user.session.get(user.url(f"/tasks/{task['id']}"), timeout=10).json()["title"] == FAITHFUL["astral"]


def test_search_text_with_controls_is_a_clear_400(api):
    user = Client(api.base)
    for control in CONTROLS.values():
        reply = user.session.get(user.url("/tasks"), params={"q": f"a{control}b"}, timeout=10)
        assert reply.status_code == 400 and reply.json()["error"]["details"][0]["field"] == "q", reply.text
    reply = user.session.get(user.url("/tasks") + "?q=%FF%FE", timeout=10)
    assert reply.status_code == 400, reply.text


# --- accounts and tokens ------------------------------------------------------------------------

def test_account_text_is_stored_exactly_or_refused(api):
    for name, text in FAITHFUL.items():
        email = f"{tag_form(text)}-{time.monotonic_ns()}@example.com"
        password = f"pw {text}"
        reply = requests.post(api.base + "/api/auth/signup", json={"email": email, "password": password, "name": text}, timeout=10)
        assert reply.status_code == 201, f"{name}: {reply.text}"
        assert (reply.json()["user"]["name"], reply.json()["user"]["email"]) == (text, email)
        login = requests.post(api.base + "/api/auth/login", json={"email": email, "password": password}, timeout=10)
        assert login.status_code == 200, f"{name}: {login.text}"
        me = requests.get(api.base + "/api/auth/me", headers={"Authorization": f"Bearer {login.json()['token']}"}, timeout=10)
        assert (me.json()["name"], me.json()["email"]) == (text, email)
    for name, control in CONTROLS.items():
        for field, body in (("name", {"email": f"c{time.monotonic_ns()}@example.com", "password": "correct horse", "name": f"a{control}b"}),
                            ("email", {"email": f"a{control}b@example.com", "password": "correct horse"})):
            assert_rejected(requests.post(api.base + "/api/auth/signup", json=body, timeout=10), field)
        login = requests.post(api.base + "/api/auth/login", json={"email": f"a{control}b@example.com", "password": "x"}, timeout=10)
        assert login.status_code == 401, f"log-in with {name} in the e-mail: {login.status_code} {login.text}"


def test_passwords_with_nul_are_refused_not_truncated(api):
    """bcrypt reads a password up to its first NUL: "secret\\0anything" would equal "secret"."""
    email = f"nul-{time.monotonic_ns()}@example.com"
    refused = requests.post(api.base + "/api/auth/signup", json={"email": email, "password": "correct horse\u0000battery"}, timeout=10)
    assert_rejected(refused, "password")
    user = Client(api.base, email=email, password="correct horse")
    for attempt in ("correct horse\u0000", "correct horse\u0000anything"):
        login = requests.post(api.base + "/api/auth/login", json={"email": email, "password": attempt}, timeout=10)
        assert login.status_code == 401, f"{attempt!r} logged in as 'correct horse'"
    assert user.session.get(api.base + "/api/auth/me", timeout=10).status_code == 200


def test_token_names_are_stored_exactly_or_refused(api):
    user = Client(api.base)
    for name, text in FAITHFUL.items():
        created = user.session.post(api.base + "/api/tokens", json={"name": text}, timeout=10)
        assert created.status_code == 201, f"{name}: {created.text}"
        assert created.json()["name"] == text
    listed = user.session.get(api.base + "/api/tokens", timeout=10).json()["items"]
    assert sorted(t["name"] for t in listed) == sorted(FAITHFUL.values())
    for control in CONTROLS.values():
        assert_rejected(user.session.post(api.base + "/api/tokens", json={"name": f"a{control}b"}, timeout=10), "name")
    for name, raw in {**{k: v.encode() for k, v in SURROGATES.items()}, **INVALID_UTF8}.items():
        assert_rejected(raw_post(user, "/api/tokens", '{"name": "a@b"}', raw), name, status=400)
    for bad_id in ("\u0000", "a\u0000b", "\U0001f600", "\u202e"):
        reply = user.session.delete(api.base + "/api/tokens/" + requests.utils.quote(bad_id), timeout=10)
        assert reply.status_code == 404, f"revoking {bad_id!r}: {reply.status_code}"
    assert len(user.session.get(api.base + "/api/tokens", timeout=10).json()["items"]) == len(FAITHFUL)


# --- chat (and the quick-add text the assistant parses) -----------------------------------------

def test_chat_messages_are_stored_exactly_or_refused(api):
    user = Client(api.base)
    for name, text in FAITHFUL.items():
        reply = user.session.post(user.url("/chat"), json={"message": f"add {text}"}, timeout=30)
        assert reply.status_code == 200, f"{name}: {reply.text}"
        conversation = reply.json()["conversation_id"]
        messages = user.session.get(user.url(f"/conversations/{conversation}/messages"), timeout=10).json()["items"]
        assert messages[0]["role"] == "user" and messages[0]["content"] == f"add {text}", f"{name}: {messages[0]!r}"
    titles = sorted(t["title"] for t in all_tasks(user))
    assert titles == sorted(FAITHFUL.values()), "the assistant's quick add changed the text"
    conversations = len(user.session.get(user.url("/conversations"), timeout=10).json()["items"])

    for name, control in CONTROLS.items():
        assert_rejected(user.session.post(user.url("/chat"), json={"message": f"add a{control}b"}, timeout=30), "message")
        reply = user.session.post(user.url("/chat"), json={"message": "hi", "conversation_id": f"a{control}b"}, timeout=30)
        assert reply.status_code == 404, f"conversation id with {name}: {reply.status_code} {reply.text}"
        path = user.url("/conversations/" + requests.utils.quote(f"a{control}b") + "/messages")
        assert user.session.get(path, timeout=10).status_code == 404
    for name, raw in {**{k: v.encode() for k, v in SURROGATES.items()}, **INVALID_UTF8}.items():
        assert_rejected(raw_post(user, "/api/me/chat", '{"message": "add a@b"}', raw), name, status=400)
    assert len(user.session.get(user.url("/conversations"), timeout=10).json()["items"]) == conversations
    assert sorted(t["title"] for t in all_tasks(user)) == titles
