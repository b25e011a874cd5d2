"""A scripted walk through every documented operation, success and error paths.

Every exchange goes through `ContractClient`, which fails the test when a status is not
documented for the operation or a body does not match the documented schema. The last test
checks that the walk covered every documented (operation, status) pair that a test can
provoke.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from oidc import AuthorizationRequest
from openapi_contract import (
    CHAT_MESSAGE_LIMIT, CHAT_RATE_LIMIT, MAX_BODY_SIZE, MAX_IMPORT_SIZE, TASK_QUOTA, Account, ContractClient, EventStream, sign_up,
)

TASKS = "/api/me/tasks"


def error_of(response) -> dict:
    return response.json()["error"]


def detail_fields(response) -> set[str]:
    return {issue["field"] for issue in error_of(response)["details"] or []}


def etag(response) -> str:
    return response.headers["ETag"]


def create(api, account, **fields) -> dict:
    fields.setdefault("title", "a task")
    return api.post(TASKS, token=account.token, json_body=fields, expect=201).json()


# ---------------------------------------------------------------------------------------------
# Accounts


def test_accounts(api, alice):
    me = api.get("/api/auth/me", token=alice.token, expect=200).json()
    assert me["id"] == alice.id and me["email"] == alice.email and me["name"] == "Alice"

    # E-mail addresses are trimmed and compared without case.
    session = api.post(
        "/api/auth/login", json_body={"email": "  " + alice.email.upper() + " ", "password": alice.password}, expect=200
    ).json()
    assert session["user"]["id"] == alice.id and session["token_type"] == "Bearer"
    assert api.get("/api/auth/me", token=session["token"], expect=200).json()["id"] == alice.id

    wrong_password = api.post("/api/auth/login", json_body={"email": alice.email, "password": "not the password"}, expect=401)
    unknown_email = api.post("/api/auth/login", json_body={"email": "nobody@example.com", "password": "whatever1"}, expect=401)
    assert error_of(wrong_password) == error_of(unknown_email), "login must not reveal whether the e-mail exists"

    taken = api.post("/api/auth/signup", json_body={"email": alice.email.upper(), "password": "another password"}, expect=409)
    assert error_of(taken)["code"] == "email_taken"

    bob_like = sign_up(api)  # without a name
    user = api.get("/api/auth/me", token=bob_like.token, expect=200).json()
    assert "name" in user and user["name"] is None, "name is always present, null when unset"
    blank = api.post("/api/auth/signup", json_body={"email": f"blank-{bob_like.email}", "password": "long enough",
                                                     "name": "   "}, expect=201).json()
    assert blank["user"]["name"] is None

    for header in ({"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, {}):
        response = api.get("/api/auth/me", headers=header, expect=401)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_single_sign_on(api, server, oidc_provider):
    start = api.get("/api/auth/oidc", expect=200).json()
    assert start["issuer"] == oidc_provider.issuer and start["client_id"] == "todo-contract-tests"
    assert start["authorization_endpoint"].startswith(oidc_provider.issuer + "/") and "openid" in start["scope"].split()

    def provider_answer(subject: str) -> tuple[AuthorizationRequest, str]:
        request = AuthorizationRequest(start, redirect_uri="http://127.0.0.1:9/auth/oidc/callback")
        return request, oidc_provider.authorize(request.url, subject)

    # A new verified e-mail: an account is made, without a password.
    email = f"sso-{uuid.uuid4().hex[:12]}@example.com"
    oidc_provider.add_user("subject-" + email, email, name="Sam")
    request, callback = provider_answer("subject-" + email)
    made = api.post("/api/auth/oidc", json_body=request.body(callback), expect=200).json()
    assert made["user"]["email"] == email and made["user"]["name"] == "Sam" and made["token_type"] == "Bearer"
    assert api.get("/api/auth/me", token=made["token"], expect=200).json()["id"] == made["user"]["id"]
    # A code works once.
    assert error_of(api.post("/api/auth/oidc", json_body=request.body(callback), expect=400))["code"] == "invalid_oidc"

    # The provider's subject finds the account again, even after the e-mail changed there.
    oidc_provider.add_user("subject-" + email, "renamed-" + email)
    request, callback = provider_answer("subject-" + email)
    assert api.post("/api/auth/oidc", json_body=request.body(callback), expect=200).json()["user"]["id"] == made["user"]["id"]

    # A password account with the verified e-mail is linked, not duplicated; its password still works.
    carol = sign_up(api)
    oidc_provider.add_user("carol-at-provider", carol.email.upper())
    request, callback = provider_answer("carol-at-provider")
    assert api.post("/api/auth/oidc", json_body=request.body(callback), expect=200).json()["user"]["id"] == carol.id
    api.post("/api/auth/login", json_body={"email": carol.email, "password": carol.password}, expect=200)

    # A nonce other than the authorization request's, or an e-mail the provider did not verify: refused.
    request, callback = provider_answer("carol-at-provider")
    wrong_nonce = api.post("/api/auth/oidc", json_body=request.body(callback, nonce="another nonce"), expect=400)
    assert error_of(wrong_nonce)["code"] == "invalid_oidc" and "nonce" in error_of(wrong_nonce)["message"]
    unverified = f"unverified-{uuid.uuid4().hex[:12]}@example.com"
    oidc_provider.add_user("subject-" + unverified, unverified, verified=False)
    request, callback = provider_answer("subject-" + unverified)
    assert error_of(api.post("/api/auth/oidc", json_body=request.body(callback), expect=400))["code"] == "invalid_oidc"
    request, callback = provider_answer("subject-" + unverified)
    unknown_code = api.post("/api/auth/oidc", json_body=request.body(callback, code="not-a-code"), expect=400)
    assert error_of(unknown_code)["code"] == "invalid_oidc"

    # A disabled account stays out, whichever way it signs in.
    database = f"sqlite://{server.log_path.parent}/todo.db"
    subprocess.run([str(server.binary), "user", "disable", carol.email], env={"PATH": os.environ["PATH"], "DATABASE_URL": database,
                   "LOG_LEVEL": "error"}, check=True, capture_output=True, timeout=60)
    request, callback = provider_answer("carol-at-provider")
    assert error_of(api.post("/api/auth/oidc", json_body=request.body(callback), expect=403))["code"] == "account_disabled"

    body = {"code": "c", "code_verifier": "v", "redirect_uri": "http://127.0.0.1:9/auth/oidc/callback", "nonce": "n"}
    assert error_of(api.post("/api/auth/oidc", data="{nope", expect=400))["code"] == "invalid_json"
    api.post("/api/auth/oidc", data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    assert detail_fields(api.post("/api/auth/oidc", json_body={**body, "extra": 1}, expect=422)) == {"extra"}
    assert detail_fields(api.post("/api/auth/oidc", json_body={"code": "c"}, expect=422)) >= {"code_verifier"}


def test_repeated_failed_logins_are_throttled(api):
    email = f"throttled-{uuid.uuid4().hex[:8]}@example.com"
    api.post("/api/auth/signup", json_body={"email": email, "password": "the right one"}, expect=201)
    for _ in range(10):
        api.post("/api/auth/login", json_body={"email": email, "password": "a wrong one"}, expect=401)
    throttled = api.post("/api/auth/login", json_body={"email": email, "password": "the right one"}, expect=429)
    assert error_of(throttled)["code"] == "too_many_attempts"
    assert int(throttled.headers["Retry-After"]) > 0


def test_account_input_errors(api):
    invalid = api.post(
        "/api/auth/signup", json_body={"email": "not-an-address", "password": "short"}, expect=422, schema_rejects=False
    )
    assert detail_fields(invalid) == {"email", "password"}, "every problem is reported, not just the first"
    assert detail_fields(api.post("/api/auth/signup", json_body={"email": "x@example.com"}, expect=422)) == {"password"}
    unknown = api.post(
        "/api/auth/signup", json_body={"email": "y@example.com", "password": "long enough", "admin": True}, expect=422
    )
    assert detail_fields(unknown) == {"admin"}
    assert detail_fields(api.post("/api/auth/login", json_body={"email": "y@example.com"}, expect=422)) == {"password"}
    assert detail_fields(api.post("/api/auth/login", json_body={"email": 1, "password": "x"}, expect=422)) == {"email"}
    assert detail_fields(api.post("/api/auth/login", json_body=["a"], expect=422)) == {"body"}
    for path in ("/api/auth/signup", "/api/auth/login"):
        assert error_of(api.post(path, data="{nope", expect=400))["code"] == "invalid_json"
        assert error_of(api.post(path, data="", expect=400))["code"] == "invalid_json"
        oversize = api.post(path, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
        assert error_of(oversize)["code"] == "payload_too_large"


# ---------------------------------------------------------------------------------------------
# One task from creation to deletion


def test_task_lifecycle(api, alice):
    body = {
        "title": "  Pay rent  ",
        "description": "Transfer to the landlord.\nReference: flat 3",
        "completed": False,
        "priority": "high",
        "tags": ["#Home", "Money", "home"],
        "due_at": "2030-01-31T09:00:00+01:00",
        "remind_at": "2030-01-31T07:30:00Z",
        "recurrence": {"frequency": "monthly", "interval": 1, "until": "2031-01-01T00:00:00Z", "count": 12,
                       "timezone": "Europe/Berlin"},
        # Server-owned members are accepted and ignored.
        "id": "999999",
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "completed_at": None,
    }
    created = api.post(TASKS, token=alice.token, json_body=body, expect=201)
    task = created.json()
    assert task["id"] != "999999" and task["created_at"] != "2000-01-01T00:00:00.000Z"
    assert task["title"] == "Pay rent"
    assert task["tags"] == ["home", "money"]
    assert task["priority"] == "high" and task["completed"] is False and task["completed_at"] is None
    assert task["due_at"] == "2030-01-31T08:00:00.000Z"
    assert task["remind_at"] == "2030-01-31T07:30:00.000Z"
    assert task["recurrence"] == {"frequency": "monthly", "interval": 1, "until": "2031-01-01T00:00:00.000Z",
                                  "count": 12, "timezone": "Europe/Berlin"}
    assert created.headers["Location"] == f"{TASKS}/{task['id']}"
    version = etag(created)

    fetched = api.get(created.headers["Location"], token=alice.token, expect=200)
    assert fetched.json() == task and etag(fetched) == version
    by_id = api.get(f"/api/{alice.id}/tasks/{task['id']}", token=alice.token, expect=200)
    assert by_id.json() == task, "the caller's own id works like `me`"

    url = f"{TASKS}/{task['id']}"
    # A task read with GET can be sent back with PUT as it is.
    same = api.put(url, token=alice.token, json_body=task, headers={"If-Match": version}, expect=200)
    assert {k: v for k, v in same.json().items() if k != "updated_at"} == {k: v for k, v in task.items() if k != "updated_at"}
    assert etag(same) != version
    version = etag(same)

    # PUT replaces: absent fields take their defaults.
    replaced = api.put(url, token=alice.token, json_body={"title": "Pay the rent", "priority": "medium"},
                       headers={"If-Match": version}, expect=200)
    assert replaced.json() | {"updated_at": None} == task | {
        "title": "Pay the rent", "priority": "medium", "description": "", "tags": [], "due_at": None,
        "remind_at": None, "recurrence": None, "updated_at": None}
    version = etag(replaced)

    # PATCH changes only what it names; null clears.
    patched = api.patch(url, token=alice.token, headers={"If-Match": version},
                        json_body={"tags": ["bills"], "due_at": "2030-02-01T10:00:00Z", "description": "monthly"},
                        expect=200).json()
    assert (patched["title"], patched["priority"], patched["tags"], patched["due_at"], patched["description"]) == (
        "Pay the rent", "medium", ["bills"], "2030-02-01T10:00:00.000Z", "monthly")
    patched = api.patch(url, token=alice.token, expect=200, json_body={
        "description": None, "priority": None, "tags": None, "due_at": None, "remind_at": None, "recurrence": None})
    cleared = patched.json()
    assert (cleared["description"], cleared["priority"], cleared["tags"], cleared["due_at"]) == ("", "none", [], None)
    assert api.patch(url, token=alice.token, json_body={}, expect=200).json()["title"] == "Pay the rent"

    # Complete: without a body it toggles; with one it sets.
    done = api.patch(url + "/complete", token=alice.token, expect=200)
    assert done.json()["completed"] is True and done.json()["completed_at"] is not None
    undone = api.patch(url + "/complete", token=alice.token, json_body={"completed": False},
                       headers={"If-Match": etag(done)}, expect=200).json()
    assert undone["completed"] is False and undone["completed_at"] is None
    again = api.patch(url + "/complete", token=alice.token, json_body={"completed": True}, headers={"If-Match": "*"},
                      expect=200)
    assert again.json()["completed"] is True

    # Lost updates are refused; the current version wins.
    assert error_of(api.delete(url, token=alice.token, headers={"If-Match": version}, expect=412))["code"] == "precondition_failed"
    assert api.delete(url, token=alice.token, headers={"If-Match": etag(again)}, expect=204).content == b""
    assert error_of(api.get(url, token=alice.token, expect=404))["code"] == "not_found"
    api.delete(url, token=alice.token, expect=404)
    api.patch(url + "/complete", token=alice.token, expect=404)


def test_field_limits_are_accepted_at_the_boundary(api, alice):
    task = create(api, alice, title="t" * 200, description="d" * 1000, tags=[f"tag{i}" for i in range(20)],
                  due_at="2030-01-01T00:00:00Z",
                  recurrence={"frequency": "yearly", "interval": 999, "count": 10000, "until": None, "timezone": None})
    assert len(task["title"]) == 200 and len(task["tags"]) == 20
    assert task["recurrence"] == {"frequency": "yearly", "interval": 999, "count": 10000}
    task = create(api, alice, title="x", tags=["a" * 40], due_at="2030-01-01T00:00:00Z",
                  recurrence={"frequency": "daily"})
    assert task["recurrence"] == {"frequency": "daily", "interval": 1}


# ---------------------------------------------------------------------------------------------
# Lists: filters, search, sort, pages


def test_list_filters_sort_and_paging(api):
    carol = sign_up(api)
    token = carol.token
    empty = api.get(TASKS, token=token, expect=200).json()
    assert empty == {"items": [], "next_cursor": None}

    specs = [
        dict(title="Buy milk", priority="high", tags=["shop", "food"], due_at="2030-01-01T09:00:00Z"),
        dict(title="buy bread", priority="low", tags=["shop"], due_at="2030-01-03T09:00:00Z"),
        dict(title="Call mum", priority="medium", tags=["family"]),
        dict(title="Dentist", priority="high", tags=["health"], due_at="2030-01-02T09:00:00Z",
             description="Bring the MILK-free snack"),
        dict(title="Email boss", priority="none", completed=True, due_at="2029-12-31T09:00:00Z"),
        dict(title="Fix bike", priority="medium", tags=["shop", "bike"]),
        dict(title="Garden", priority="low", completed=True),
    ]
    ids = {s["title"]: create(api, carol, **s)["id"] for s in specs}

    def titles(**params) -> list[str]:
        page = api.get(TASKS, token=token, params=params, expect=200).json()
        assert page["next_cursor"] is None
        return [task["title"] for task in page["items"]]

    assert titles() == [s["title"] for s in reversed(specs)], "default order is newest first"
    assert set(titles(status="pending")) == {"Buy milk", "buy bread", "Call mum", "Dentist", "Fix bike"}
    assert set(titles(status="completed")) == {"Email boss", "Garden"}
    assert set(titles(priority="high,medium")) == {"Buy milk", "Call mum", "Dentist", "Fix bike"}
    assert set(titles(priority=["high", "low"])) == {"Buy milk", "buy bread", "Dentist", "Garden"}
    assert set(titles(tag="shop")) == {"Buy milk", "buy bread", "Fix bike"}
    assert set(titles(tag=["shop", "#Food"])) == {"Buy milk"}, "several tags: every one must be present"
    assert set(titles(due_after="2030-01-01T09:00:00Z", due_before="2030-01-03T09:00:00Z")) == {"Buy milk", "Dentist"}
    assert set(titles(q="milk")) == {"Buy milk", "Dentist"}, "search is case-insensitive, title and description"
    assert set(titles(q="BUY", status="pending", tag="shop", priority="low")) == {"buy bread"}

    assert titles(sort="title") == sorted((s["title"] for s in specs), key=str.lower)
    assert titles(sort="-title") == sorted((s["title"] for s in specs), key=str.lower, reverse=True)
    assert titles(sort="due") == ["Email boss", "Buy milk", "Dentist", "buy bread", "Call mum", "Fix bike", "Garden"]
    assert titles(sort="-due")[:4] == ["buy bread", "Dentist", "Buy milk", "Email boss"], "no due date: last"
    assert titles(sort="created") == [s["title"] for s in specs]
    priorities = [s["priority"] for s in specs]
    by_priority = api.get(TASKS, token=token, params={"sort": "-priority"}, expect=200).json()["items"]
    rank = {"none": 0, "low": 1, "medium": 2, "high": 3}
    assert [rank[t["priority"]] for t in by_priority] == sorted((rank[p] for p in priorities), reverse=True)
    for sort in ("updated", "-updated", "priority", "-created"):
        assert len(titles(sort=sort)) == len(specs)

    # Keyset pages: every task exactly once, in the order of the full list.
    for sort in ("due", "-due", "title", "-created", "priority"):
        full = [t["id"] for t in api.get(TASKS, token=token, params={"sort": sort, "limit": 200}, expect=200).json()["items"]]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"sort": sort, "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = api.get(TASKS, token=token, params=params, expect=200).json()
            assert len(page["items"]) <= 2
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            pages += 1
            if cursor is None:
                break
            assert pages < 10
        assert seen == full, f"paging with sort={sort}"
        assert pages == 4

    # A task added meanwhile does not disturb a walk in creation order.
    first = api.get(TASKS, token=token, params={"sort": "created", "limit": 3}, expect=200).json()
    create(api, carol, title="Late arrival")
    rest = api.get(TASKS, token=token, params={"sort": "created", "limit": 200, "cursor": first["next_cursor"]},
                   expect=200).json()
    assert [t["title"] for t in first["items"] + rest["items"]] == [s["title"] for s in specs] + ["Late arrival"]
    assert set(ids.values()) < {t["id"] for t in first["items"] + rest["items"]}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"sort": "due_date"}, "sort"),
        ({"status": "done"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ("tag=has%20space", "tag"),
        ({"due_after": "tomorrow"}, "due_after"),
        ({"due_before": "2030-13-01T00:00:00Z"}, "due_before"),
        ({"q": "x" * 201}, "q"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"page": "2"}, "page"),
    ],
)
def test_list_rejects_bad_parameters(api, alice, params, field):
    response = api.get(TASKS, token=alice.token, params=params, expect=400)
    assert error_of(response)["code"] == "invalid_parameter"
    assert detail_fields(response) == {field}


def test_plus_in_query_string_is_a_space(api):
    """`requests`, HTML forms and URLSearchParams all encode a space as `+` in a query."""
    dave = sign_up(api)
    create(api, dave, title="buy milk")
    assert len(api.get(TASKS, token=dave.token, params="q=buy%20milk", expect=200).json()["items"]) == 1
    assert len(api.get(TASKS, token=dave.token, params="q=buy+milk", expect=200).json()["items"]) == 1


@pytest.mark.parametrize("query", ["q=%zz", "q=100%", "q=%4", "q=%C3%28", "q%ZZ=1", "tag=%FF"])
def test_malformed_query_string_is_rejected(api, alice, query):
    """A malformed %-escape or invalid UTF-8 is an error, never taken literally."""
    response = api.get(TASKS, token=alice.token, raw_query=query, expect=400)
    assert error_of(response)["code"] == "invalid_parameter"
    assert detail_fields(response) == {"query"}


def test_percent_escapes_decode_as_utf8(api):
    erin = sign_up(api)
    create(api, erin, title="Café 100% + more")
    for query in ("q=caf%C3%A9", "q=Caf%c3%a9+100%25", "q=%2B+more"):
        items = api.get(TASKS, token=erin.token, raw_query=query, expect=200).json()["items"]
        assert [task["title"] for task in items] == ["Café 100% + more"], query


def test_cursor_of_another_sort_is_rejected(api, alice):
    for _ in range(3):
        create(api, alice, title="for paging")
    cursor = api.get(TASKS, token=alice.token, params={"limit": 1, "sort": "title"}, expect=200).json()["next_cursor"]
    assert cursor
    response = api.get(TASKS, token=alice.token, params={"limit": 1, "sort": "-title", "cursor": cursor}, expect=400)
    assert detail_fields(response) == {"cursor"}


# ---------------------------------------------------------------------------------------------
# Errors on every operation


TASK_OPERATIONS = [
    ("GET", "/api/{user}/tasks", None),
    ("POST", "/api/{user}/tasks", {"title": "x"}),
    ("GET", "/api/{user}/tasks/{id}", None),
    ("PUT", "/api/{user}/tasks/{id}", {"title": "x"}),
    ("PATCH", "/api/{user}/tasks/{id}", {"title": "x"}),
    ("DELETE", "/api/{user}/tasks/{id}", None),
    ("PATCH", "/api/{user}/tasks/{id}/complete", {"completed": True}),
]
ITEM_OPERATIONS = [op for op in TASK_OPERATIONS if "{id}" in op[1]]
BODY_OPERATIONS = [op for op in TASK_OPERATIONS if op[2] is not None]


def test_authentication_and_ownership(api, alice, bob):
    bobs = api.post(TASKS, token=bob.token, json_body={"title": "Bob's secret"}, expect=201)
    bob_task = bobs.json()["id"]

    for method, template, body in TASK_OPERATIONS:
        path = template.format(user="me", id=bob_task)
        for headers in ({}, {"Authorization": "Bearer " + alice.token[:-4] + "AAAA"}, {"Authorization": alice.token}):
            response = api.request(method, path, headers=headers, json_body=body, expect=401)
            assert error_of(response)["code"] == "unauthorized"
        # Another user's path: 403, whatever the task.
        path = template.format(user=bob.id, id=bob_task)
        assert error_of(api.request(method, path, token=alice.token, json_body=body, expect=403))["code"] == "forbidden"
        assert error_of(api.request(method, template.format(user="someone", id=1), token=alice.token,
                                    json_body=body, expect=403))["code"] == "forbidden"

    # Another user's task under one's own path: 404, as if it did not exist.
    for method, template, body in ITEM_OPERATIONS:
        for task_id in (bob_task, "0", "abc", "99999999999999999999"):
            path = template.format(user="me", id=task_id)
            response = api.request(method, path, token=alice.token, json_body=body, expect=404)
            assert error_of(response) == {"code": "not_found", "message": "no such task", "details": None}

    after = api.get(f"{TASKS}/{bob_task}", token=bob.token, expect=200)
    assert after.json() == bobs.json() and etag(after) == etag(bobs), "nothing happened to bob's task"


def test_malformed_and_oversize_bodies(api, alice):
    task = create(api, alice, title="target")
    for method, template, _ in BODY_OPERATIONS:
        path = template.format(user="me", id=task["id"])
        for data in ("{\"title\": ", "not json", b'{"title": "\xc3\x28"}'):
            assert error_of(api.request(method, path, token=alice.token, data=data, expect=400))["code"] == "invalid_json"
        oversize = json.dumps({"title": "big", "description": "x" * MAX_BODY_SIZE})
        response = api.request(method, path, token=alice.token, data=oversize, expect=413, fresh_connection=True,
                               headers={"Content-Type": "application/json"})
        assert error_of(response)["code"] == "payload_too_large"
        if not path.endswith("/complete"):
            assert error_of(api.request(method, path, token=alice.token, data="", expect=400))["code"] == "invalid_json"

    # Without Content-Length (chunked), the limit holds too.
    chunks = iter([b'{"title": "big", "description": "', b"x" * MAX_BODY_SIZE, b'"}'])
    api.post(TASKS, token=alice.token, data=chunks, expect=413, fresh_connection=True)
    after = api.get(f"{TASKS}/{task['id']}", token=alice.token, expect=200).json()
    assert after == task, "rejected requests changed nothing"


def test_stale_if_match(api, alice):
    task = api.post(TASKS, token=alice.token, json_body={"title": "v1"}, expect=201)
    path = f"{TASKS}/{task.json()['id']}"
    current = etag(api.patch(path, token=alice.token, json_body={"title": "v2"}, expect=200))
    for method, template, body in ITEM_OPERATIONS:
        if method == "GET":
            continue
        path_ = template.format(user="me", id=task.json()["id"])
        for stale in (etag(task), 'W/' + current, '"abc"', "garbage"):
            response = api.request(method, path_, token=alice.token, json_body=body, headers={"If-Match": stale},
                                   expect=412)
            assert error_of(response)["code"] == "precondition_failed"
    assert etag(api.get(path, token=alice.token, expect=200)) == current


CREATE_422 = [
    ({"title": "x", "colour": "red"}, {"colour"}, True),
    ({"description": "no title"}, {"title"}, True),
    ({"title": ""}, {"title"}, True),
    ({"title": "   "}, {"title"}, False),
    ({"title": "t" * 201}, {"title"}, True),
    ({"title": "two\nlines"}, {"title"}, False),
    ({"title": 7}, {"title"}, True),
    ({"title": "x", "description": "d" * 1001}, {"description"}, True),
    ({"title": "x", "completed": "yes"}, {"completed"}, True),
    ({"title": "x", "priority": "urgent"}, {"priority"}, True),
    ({"title": "x", "tags": "home"}, {"tags"}, True),
    ({"title": "x", "tags": [f"t{i}" for i in range(21)]}, {"tags"}, True),
    ({"title": "x", "tags": ["a" * 41]}, {"tags[0]"}, True),
    ({"title": "x", "tags": ["ok", ""]}, {"tags[1]"}, True),
    ({"title": "x", "tags": ["has space"]}, {"tags[0]"}, False),
    ({"title": "x", "tags": [1]}, {"tags[0]"}, True),
    ({"title": "x", "due_at": "tomorrow"}, {"due_at"}, True),
    ({"title": "x", "due_at": "2030-02-30T00:00:00Z"}, {"due_at"}, True),
    ({"title": "x", "remind_at": 1700000000}, {"remind_at"}, True),
    ({"title": "x", "recurrence": {"frequency": "weekly"}}, {"recurrence"}, False),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": "weekly"}, {"recurrence"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "hourly"}}, {"recurrence.frequency"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"interval": 2}}, {"recurrence.frequency"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 0}},
     {"recurrence.interval"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 1000}},
     {"recurrence.interval"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 1.5}},
     {"recurrence.interval"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "count": 0}},
     {"recurrence.count"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "count": 10001}},
     {"recurrence.count"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "until": "soon"}},
     {"recurrence.until"}, True),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "timezone": "Mars/Base"}},
     {"recurrence.timezone"}, False),
    ({"title": "x", "due_at": "2030-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "byday": "MO"}},
     {"recurrence.byday"}, True),
    ({"title": "", "priority": "urgent", "bogus": 1}, {"title", "priority", "bogus"}, True),
    ([{"title": "x"}], {"body"}, True),
    ("just a string", {"body"}, True),
]


@pytest.mark.parametrize("body, fields, expressible", CREATE_422, ids=[f"case{i}" for i in range(len(CREATE_422))])
def test_create_validation(api, alice, body, fields, expressible):
    response = api.post(TASKS, token=alice.token, json_body=body, expect=422, schema_rejects=expressible)
    assert error_of(response)["code"] == "validation_failed"
    assert detail_fields(response) == fields


def test_update_validation(api, alice):
    task = create(api, alice, title="valid")
    path = f"{TASKS}/{task['id']}"
    assert detail_fields(api.put(path, token=alice.token, json_body={"priority": "high"}, expect=422)) == {"title"}
    assert detail_fields(api.put(path, token=alice.token, json_body={"title": "x", "extra": 1}, expect=422)) == {"extra"}
    assert detail_fields(api.patch(path, token=alice.token, json_body={"title": None}, expect=422)) == {"title"}
    assert detail_fields(api.patch(path, token=alice.token, json_body={"completed": None}, expect=422)) == {"completed"}
    assert detail_fields(api.patch(path, token=alice.token, json_body={"titel": "typo"}, expect=422)) == {"titel"}
    assert detail_fields(api.patch(path, token=alice.token, json_body={"recurrence": {"frequency": "daily"}},
                                   expect=422, schema_rejects=False)) == {"recurrence"}
    assert detail_fields(api.patch(path + "/complete", token=alice.token, json_body={"completed": "yes"},
                                   expect=422)) == {"completed"}
    assert detail_fields(api.patch(path + "/complete", token=alice.token, json_body={"done": True},
                                   expect=422)) == {"done"}
    assert detail_fields(api.patch(path + "/complete", token=alice.token, json_body=[True], expect=422)) == {"body"}
    assert api.get(path, token=alice.token, expect=200).json() == task, "rejected changes changed nothing"


# ---------------------------------------------------------------------------------------------
# Recurring tasks


def test_completing_a_recurring_task_creates_the_next_occurrence(api):
    """Through /complete, PATCH and PUT alike; once per occurrence; until the series ends."""
    jack = sign_up(api)
    first = create(api, jack, title="Water plants", tags=["home"], priority="low",
                   due_at="2030-01-31T09:00:00Z", remind_at="2030-01-31T08:30:00Z",
                   recurrence={"frequency": "monthly", "count": 3, "timezone": "Europe/Berlin"})

    def tasks() -> list[dict]:
        return api.get(TASKS, token=jack.token, params={"sort": "created"}, expect=200).json()["items"]

    done = api.patch(f"{TASKS}/{first['id']}/complete", token=jack.token, expect=200).json()
    assert done["completed"] is True and done["id"] == first["id"]
    _, second = tasks()
    assert second["id"] != first["id"] and second["completed"] is False and second["completed_at"] is None
    # Anchored to the series start in Berlin time: the last day of February, same wall-clock time.
    assert (second["due_at"], second["remind_at"]) == ("2030-02-28T09:00:00.000Z", "2030-02-28T08:30:00.000Z")
    assert second["recurrence"] == {"frequency": "monthly", "interval": 1, "count": 2, "timezone": "Europe/Berlin"}
    assert (second["title"], second["tags"], second["priority"]) == ("Water plants", ["home"], "low")

    # Reopening and completing again creates no second follow-up.
    api.patch(f"{TASKS}/{first['id']}", token=jack.token, json_body={"completed": False}, expect=200)
    api.patch(f"{TASKS}/{first['id']}", token=jack.token, json_body={"completed": True}, expect=200)
    assert len(tasks()) == 2

    # PUT that completes: the next one, across the change to summer time (10:00 in Berlin).
    api.put(f"{TASKS}/{second['id']}", token=jack.token, json_body=second | {"completed": True}, expect=200)
    third = tasks()[2]
    assert (third["due_at"], third["recurrence"]["count"]) == ("2030-03-31T08:00:00.000Z", 1)

    # The last occurrence (count 1) has no successor.
    api.patch(f"{TASKS}/{third['id']}/complete", token=jack.token, json_body={"completed": True}, expect=200)
    assert [task["completed"] for task in tasks()] == [True, True, True]


# ---------------------------------------------------------------------------------------------
# Personal API tokens


def later(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


def test_personal_tokens(api, bob):
    frank = sign_up(api, name="Frank")
    jwt = frank.token
    assert api.get("/api/tokens", token=jwt, expect=200).json() == {"items": []}

    created = api.post("/api/tokens", token=jwt, expect=201,
                       json_body={"name": "  laptop  ", "expires_at": "2030-01-01T01:00:00+01:00"}).json()
    assert created["name"] == "laptop" and created["expires_at"] == "2030-01-01T00:00:00.000Z"
    assert created["last_used_at"] is None and created["token"].startswith("todo_pat_")
    forever = api.post("/api/tokens", token=jwt, json_body={"name": "ci", "expires_at": None}, expect=201).json()
    assert forever["expires_at"] is None and forever["token"] != created["token"]
    brief = api.post("/api/tokens", token=jwt, json_body={"name": "brief", "expires_at": later(1.5)}, expect=201).json()
    pat = created["token"]

    # A personal token works as a bearer token on the other routes.
    assert api.get("/api/auth/me", token=pat, expect=200).json()["id"] == frank.id
    task = api.post(TASKS, token=pat, json_body={"title": "made by a script"}, expect=201).json()
    assert api.get(f"/api/{frank.id}/tasks/{task['id']}", token=pat, expect=200).json() == task
    assert api.get(f"/api/{frank.id}/tasks", token=brief["token"], expect=200).json()["items"] == [task]
    api.get(f"/api/{bob.id}/tasks", token=pat, expect=403)

    # ...but cannot manage tokens, not even to list or revoke its own.
    for method, path, body in (("POST", "/api/tokens", {"name": "escalation"}), ("GET", "/api/tokens", None),
                               ("DELETE", f"/api/tokens/{forever['id']}", None),
                               ("DELETE", f"/api/tokens/{created['id']}", None)):
        response = api.request(method, path, token=pat, json_body=body, expect=403)
        assert error_of(response)["code"] == "forbidden"

    listed = api.get("/api/tokens", token=jwt, expect=200).json()["items"]
    assert [t["id"] for t in listed] == [created["id"], forever["id"], brief["id"]], "oldest first"
    assert all("token" not in t for t in listed), "the secret is never shown again"
    assert listed[0]["last_used_at"] is not None and listed[1]["last_used_at"] is None
    assert listed[1] == {k: v for k, v in forever.items() if k != "token"}

    # Another user's token and unknown ids: 404.
    for token_id in (created["id"], "0", "not-a-token"):
        response = api.delete(f"/api/tokens/{token_id}", token=bob.token, expect=404)
        assert error_of(response) == {"code": "not_found", "message": "no such token", "details": None}

    # Revoked: 401 at once.
    assert api.delete(f"/api/tokens/{created['id']}", token=jwt, expect=204).content == b""
    api.delete(f"/api/tokens/{created['id']}", token=jwt, expect=404)
    for path in ("/api/auth/me", TASKS):
        response = api.get(path, token=pat, expect=401)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert api.get(TASKS, token=forever["token"], expect=200).json()["items"] == [task]

    # Expired: 401 (the token was made to last 1.5 seconds).
    time.sleep(max(0.0, (datetime.fromisoformat(brief["expires_at"].replace("Z", "+00:00"))
                         - datetime.now(timezone.utc)).total_seconds() + 0.05))
    assert error_of(api.get(TASKS, token=brief["token"], expect=401))["code"] == "unauthorized"
    assert [t["id"] for t in api.get("/api/tokens", token=jwt, expect=200).json()["items"]] == [forever["id"], brief["id"]]

    # Without a (valid) token: 401.
    forged = "todo_pat_" + "A" * 43
    for method, path in (("POST", "/api/tokens"), ("GET", "/api/tokens"), ("DELETE", f"/api/tokens/{forever['id']}")):
        for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": forever["token"]}):
            body = {"name": "x"} if method == "POST" else None
            response = api.request(method, path, headers=headers, json_body=body, expect=401)
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert api.get(TASKS, token=forever["token"], expect=200).status_code == 200


# ---------------------------------------------------------------------------------------------
# Log-in sessions


def test_sessions_and_log_out(api, bob):
    gina = sign_up(api, name="Gina")
    phone = api.post("/api/auth/login", json_body={"email": gina.email, "password": gina.password},
                     headers={"User-Agent": "Phone/2.0"}, expect=200).json()["token"]
    listed = api.get("/api/auth/sessions", token=gina.token, expect=200).json()["items"]
    assert len(listed) == 2 and [s["current"] for s in listed].count(True) == 1
    other = next(s for s in listed if not s["current"])
    assert other["user_agent"] == "Phone/2.0" and set(other) == {"id", "created_at", "last_used_at", "user_agent", "current"}

    # Personal tokens cannot manage sessions; log-out with one changes nothing.
    pat = api.post("/api/tokens", token=gina.token, json_body={"name": "script"}, expect=201).json()["token"]
    for method, path in (("GET", "/api/auth/sessions"), ("POST", "/api/auth/logout-all"),
                         ("DELETE", f"/api/auth/sessions/{other['id']}")):
        assert error_of(api.request(method, path, token=pat, expect=403))["code"] == "forbidden"
    api.post("/api/auth/logout", token=pat, expect=204)
    api.get("/api/auth/me", token=pat, expect=200)

    # Another user's session and unknown ids: 404.
    for session_id in (other["id"], "not-a-session"):
        assert error_of(api.delete(f"/api/auth/sessions/{session_id}", token=bob.token, expect=404))["code"] == "not_found"
    assert api.delete(f"/api/auth/sessions/{other['id']}", token=gina.token, expect=204).content == b""
    api.get("/api/auth/me", token=phone, expect=401)

    # Log-out ends this session; log-out-all every one.
    laptop = api.post("/api/auth/login", json_body={"email": gina.email, "password": gina.password}, expect=200).json()["token"]
    api.post("/api/auth/logout", token=laptop, expect=204)
    api.get("/api/auth/me", token=laptop, expect=401)
    tablet = api.post("/api/auth/login", json_body={"email": gina.email, "password": gina.password}, expect=200).json()["token"]
    api.post("/api/auth/logout-all", token=gina.token, expect=204)
    for token in (gina.token, tablet):
        api.get("/api/auth/sessions", token=token, expect=401)
    api.get("/api/auth/me", token=pat, expect=200)


def run_cli(server, *arguments: str, **environment: str) -> str:
    """`todo ARGUMENTS` on the server's database, as an operator runs it."""
    database = f"sqlite://{server.log_path.parent}/todo.db"
    done = subprocess.run([str(server.binary), *arguments], env={"PATH": os.environ["PATH"], "DATABASE_URL": database,
                          "LOG_LEVEL": "error", **environment}, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout


def test_password_change_account_deletion_and_a_disabled_account(api, server, bob):
    hugo = sign_up(api)
    pat = api.post("/api/tokens", token=hugo.token, json_body={"name": "script"}, expect=201).json()["token"]
    other = api.post("/api/auth/login", json_body={"email": hugo.email, "password": hugo.password}, expect=200).json()["token"]
    change = {"current_password": hugo.password, "new_password": "a brand new password"}
    for path, method, body in (("/api/auth/password", "POST", change), ("/api/auth/me", "DELETE", {"password": hugo.password})):
        assert error_of(api.request(method, path, token=pat, json_body=body, expect=403))["code"] == "forbidden"
        api.request(method, path, json_body=body, expect=401)
        assert error_of(api.request(method, path, token=hugo.token, data="{nope", expect=400))["code"] == "invalid_json"
        api.request(method, path, token=hugo.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
        assert detail_fields(api.request(method, path, token=hugo.token, json_body={**body, "extra": 1}, expect=422)) == {"extra"}
    wrong = api.post("/api/auth/password", token=hugo.token, json_body={**change, "current_password": "not it"}, expect=403)
    assert error_of(wrong)["code"] == "wrong_password"
    short = api.post("/api/auth/password", token=hugo.token, json_body={**change, "new_password": "short"}, expect=422,
                     schema_rejects=False)
    assert detail_fields(short) == {"new_password"}

    assert api.post("/api/auth/password", token=hugo.token, json_body=change, expect=204).content == b""
    api.get("/api/auth/me", token=other, expect=401)
    api.get("/api/auth/me", token=pat, expect=200)
    api.post("/api/auth/login", json_body={"email": hugo.email, "password": hugo.password}, expect=401)

    # Wrong passwords are counted like log-ins: the tenth is the last one checked.
    for _ in range(9):
        api.request("DELETE", "/api/auth/me", token=hugo.token, json_body={"password": "not it"}, expect=403)
    throttled = api.request("DELETE", "/api/auth/me", token=hugo.token, json_body={"password": "a brand new password"}, expect=429)
    assert error_of(throttled)["code"] == "too_many_attempts"
    api.post("/api/auth/password", token=hugo.token, json_body={**change, "current_password": "a brand new password"}, expect=429)

    # A disabled account (an operator's `todo user disable`) hears so only with the right password.
    ivy = sign_up(api)
    run_cli(server, "user", "disable", ivy.email)
    disabled = api.post("/api/auth/login", json_body={"email": ivy.email, "password": ivy.password}, expect=403)
    assert error_of(disabled)["code"] == "account_disabled"
    api.post("/api/auth/login", json_body={"email": ivy.email, "password": "not it"}, expect=401)

    # Deleted: every token stops, the e-mail is free again.
    ada = sign_up(api)
    create(api, ada, title="mine")
    assert api.request("DELETE", "/api/auth/me", token=ada.token, json_body={"password": ada.password}, expect=204).content == b""
    api.get(TASKS, token=ada.token, expect=401)
    api.post("/api/auth/signup", json_body={"email": ada.email, "password": ada.password}, expect=201)



def test_admins_and_invitations(api, server):
    root, someone = sign_up(api), sign_up(api)
    for method, path, body in (("GET", "/api/admin/users", None), ("POST", "/api/admin/invitations", {"email": "x@example.com"}),
                               ("PATCH", f"/api/admin/users/{someone.id}", {"disabled": True})):
        api.request(method, path, json_body=body, expect=401)
        assert error_of(api.request(method, path, token=someone.token, json_body=body, expect=403))["code"] == "admin_required"
    run_cli(server, "user", "admin", root.email)
    pat = api.post("/api/tokens", token=root.token, json_body={"name": "script"}, expect=201).json()["token"]
    assert error_of(api.get("/api/admin/users", token=pat, expect=403))["code"] == "forbidden"

    listed = api.get("/api/admin/users", token=root.token, expect=200).json()["items"]
    assert {(item["email"], item["admin"], item["disabled"]) for item in listed} >= {(root.email, True, False), (someone.email, False, False)}
    changed = api.patch(f"/api/admin/users/{someone.id}", token=root.token, json_body={"disabled": True}, expect=200).json()
    assert changed["disabled"] is True and changed["email"] == someone.email
    api.get("/api/auth/me", token=someone.token, expect=401)
    api.patch(f"/api/admin/users/{someone.id}", token=root.token, json_body={"disabled": False}, expect=200)
    assert error_of(api.patch(f"/api/admin/users/{root.id}", token=root.token, json_body={"admin": False}, expect=409))["code"] == "own_account"
    api.patch(f"/api/admin/users/{uuid.uuid4()}", token=root.token, json_body={"disabled": True}, expect=404)
    api.patch(f"/api/admin/users/not-an-id", token=root.token, json_body={"disabled": True}, expect=404)
    path = f"/api/admin/users/{someone.id}"
    for method, route, body in (("PATCH", path, {"disabled": True}), ("POST", "/api/admin/invitations", {"email": "x@example.com"})):
        assert error_of(api.request(method, route, token=root.token, data="{nope", expect=400))["code"] == "invalid_json"
        api.request(method, route, token=root.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
        assert detail_fields(api.request(method, route, token=root.token, json_body={**body, "extra": 1}, expect=422)) == {"extra"}

    assert error_of(api.post("/api/admin/invitations", token=root.token, json_body={"email": someone.email}, expect=409))["code"] == "email_taken"
    email = f"invited-{uuid.uuid4().hex[:8]}@example.com"
    invitation = api.post("/api/admin/invitations", token=root.token, json_body={"email": email}, expect=201).json()
    assert invitation["email"] == email
    # SIGNUP=open honours an invitation too: a made-up one is refused, the real one works once.
    body = {"email": email, "password": "correct horse", "invitation": "made-up"}
    assert error_of(api.post("/api/auth/signup", json_body=body, expect=400))["code"] == "invalid_token"
    api.post("/api/auth/signup", json_body={**body, "invitation": invitation["token"]}, expect=201)
    stranger = {"email": f"other-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse", "invitation": invitation["token"]}
    assert error_of(api.post("/api/auth/signup", json_body=stranger, expect=400))["code"] == "invalid_token"


def reset_link(server, email: str) -> str:
    """A one-time reset link from the operator's `todo user reset-password --link`."""
    made = run_cli(server, "user", "reset-password", email, "--link", PUBLIC_WEB_URL="https://todo.example")
    link = made.strip().splitlines()[-1]
    assert link.startswith("https://todo.example/reset?token="), made
    return link.split("token=", 1)[1]


def test_forgot_and_reset_password(api, server):
    jo = sign_up(api)
    # Without SMTP_URL the answer says so, the same for an account and for no account.
    for email in (jo.email, "nobody-" + jo.email):
        assert api.post("/api/auth/forgot", json_body={"email": email}, expect=202).json() == {"mail_configured": False}
    for path in ("/api/auth/forgot", "/api/auth/reset"):
        assert error_of(api.post(path, data="{nope", expect=400))["code"] == "invalid_json"
        api.post(path, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    assert detail_fields(api.post("/api/auth/forgot", json_body={"email": "not-an-address"}, expect=422, schema_rejects=False)) == {"email"}
    assert detail_fields(api.post("/api/auth/reset", json_body={"token": "x"}, expect=422)) == {"new_password"}

    token = reset_link(server, jo.email)
    short = api.post("/api/auth/reset", json_body={"token": token, "new_password": "short"}, expect=422, schema_rejects=False)
    assert detail_fields(short) == {"new_password"}
    new = {"token": token, "new_password": "reset by a link"}
    assert api.post("/api/auth/reset", json_body=new, expect=204).content == b""
    api.get("/api/auth/me", token=jo.token, expect=401)
    api.post("/api/auth/login", json_body={"email": jo.email, "password": "reset by a link"}, expect=200)
    again = api.post("/api/auth/reset", json_body={**new, "new_password": "a second reset"}, expect=400)
    assert error_of(again)["code"] == "invalid_token"
    assert error_of(api.post("/api/auth/reset", json_body={**new, "token": "made up"}, expect=400))["code"] == "invalid_token"


TOKEN_422 = [
    ({}, {"name"}, True),
    ({"name": ""}, {"name"}, True),
    ({"name": "   "}, {"name"}, False),
    ({"name": "n" * 101}, {"name"}, True),
    ({"name": 5}, {"name"}, True),
    ({"name": "bell\u0007"}, {"name"}, False),
    ({"name": "x", "expires_at": "tomorrow"}, {"expires_at"}, True),
    ({"name": "x", "expires_at": 1893456000}, {"expires_at"}, True),
    ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, {"expires_at"}, False),
    ({"name": "x", "scope": "all"}, {"scope"}, True),
    (["x"], {"body"}, True),
]


def test_token_input_errors(api):
    grace = sign_up(api)
    for body, fields, expressible in TOKEN_422:
        response = api.post("/api/tokens", token=grace.token, json_body=body, expect=422, schema_rejects=expressible)
        assert error_of(response)["code"] == "validation_failed"
        assert detail_fields(response) == fields, body
    for data in ("{nope", ""):
        assert error_of(api.post("/api/tokens", token=grace.token, data=data, expect=400))["code"] == "invalid_json"
    oversize = json.dumps({"name": "x" * MAX_BODY_SIZE})
    response = api.post("/api/tokens", token=grace.token, data=oversize, expect=413, fresh_connection=True,
                        headers={"Content-Type": "application/json"})
    assert error_of(response)["code"] == "payload_too_large"
    assert api.get("/api/tokens", token=grace.token, expect=200).json() == {"items": []}, "nothing was made"

    # At most 50 tokens per account.
    for index in range(50):
        api.post("/api/tokens", token=grace.token, json_body={"name": f"token {index}"}, expect=201)
    assert len(api.get("/api/tokens", token=grace.token, expect=200).json()["items"]) == 50
    response = api.post("/api/tokens", token=grace.token, json_body={"name": "one too many"}, expect=409)
    assert error_of(response) == {"code": "quota_exceeded", "message": "an account holds at most 50 personal tokens; revoke one first",
                                  "details": [{"field": "tokens", "message": "at most 50 per account"}]}
    assert len(api.get("/api/tokens", token=grace.token, expect=200).json()["items"]) == 50


# ---------------------------------------------------------------------------------------------
# Export and import

EMPTY_IMPORT = {"format": "todo-export", "version": 1, "tasks": []}


def without_ids(tasks: list[dict]) -> list[dict]:
    """The tasks without what an import assigns anew: ids, and the project (the importer's Inbox)."""
    return [{k: v for k, v in task.items() if k not in ("id", "project_id")} for task in tasks]


def test_calendar_feed_is_a_secret_url_that_calendar_apps_read_and_its_owner_revokes(api):
    import icalendar

    jill, kim = sign_up(api), sign_up(api)
    create(api, jill, title="Pay rent, then call; Ann", description="line one\nline two", priority="high", tags=["home", "a;b"],
           due_at="2030-05-01T10:00:00+02:00", remind_at="2030-05-01T07:00:00Z")
    create(api, jill, title="No due date")
    done = create(api, jill, title="Done", due_at="2030-01-01T00:00:00Z")
    api.patch(f"/api/{jill.id}/tasks/{done['id']}/complete", token=jill.token, expect=200)
    url = api.get(f"/api/{jill.id}/feed-url", token=jill.token, expect=200).json()["url"]
    assert url.startswith(f"/api/feed/{jill.id}.") and url.endswith(".ics")
    api.get(f"/api/{jill.id}/feed-url", expect=401)
    api.get(f"/api/{jill.id}/feed-url", token=kim.token, expect=403)

    feed = api.get(url, expect=200)  # no sign-in: the URL is the credential
    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(feed.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(event["SUMMARY"]) for event in events] == ["Pay rent, then call; Ann"], "open tasks with a due date only"
    event = events[0]
    assert event.decoded("DTSTART").isoformat() == "2030-05-01T08:00:00+00:00"
    assert str(event["DESCRIPTION"]) == "line one\nline two"
    assert [str(category) for category in event["CATEGORIES"].cats] == ["home", "a;b"]
    assert int(event["PRIORITY"]) == 1
    assert [alarm.decoded("TRIGGER").isoformat() for alarm in event.walk("VALARM")] == ["2030-05-01T07:00:00+00:00"]

    api.delete(f"/api/{jill.id}/feed-url", token=jill.token, expect=204)
    api.delete(f"/api/{jill.id}/feed-url", expect=401)
    api.delete(f"/api/{jill.id}/feed-url", token=kim.token, expect=403)
    assert api.get(url, expect=404).json()["error"]["code"] == "not_found"
    renewed = api.get("/api/me/feed-url", token=jill.token, expect=200).json()["url"]
    assert renewed != url
    api.get(renewed, expect=200)


def test_webhooks(api, bob):
    """Managing webhooks; delivery itself is tested end to end in tests/e2e/test_webhooks.py."""
    owner = sign_up(api, name="Hooks")
    base = f"/api/{owner.id}/webhooks"
    receiver = "http://127.0.0.1:9/hook"  # allowed by the server's WEBHOOK_ALLOWED_NETWORKS; nothing listens there
    assert api.get(base, token=owner.token, expect=200).json() == {"items": []}
    created = api.post(base, token=owner.token, json_body={"url": receiver, "events": ["task.completed", "task.created"]},
                       expect=201).json()
    assert created["secret"].startswith("whsec_") and created["events"] == ["task.completed", "task.created"]
    listed = api.get(base, token=owner.token, expect=200).json()["items"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    create(api, owner, title="sent to the hook")
    deliveries = f"{base}/{created['id']}/deliveries"
    items = api.get(deliveries, token=owner.token, expect=200).json()["items"]
    assert [d["type"] for d in items] == ["task.created"] and items[0]["delivered_at"] is None
    assert created["project_id"] is None

    # A project's webhook hears of that project's tasks only; a project the caller is not in is refused.
    garden = api.post(f"/api/{owner.id}/projects", token=owner.token, json_body={"name": "Garden"}, expect=201).json()
    scoped = api.post(base, token=owner.token, json_body={"url": receiver, "events": ["task.created"], "project_id": garden["id"]},
                      expect=201).json()
    assert scoped["project_id"] == garden["id"]
    assert [w["project_id"] for w in api.get(base, token=owner.token, expect=200).json()["items"]] == [None, garden["id"]]
    create(api, owner, title="in the garden", project_id=garden["id"])
    assert len(api.get(f"{base}/{scoped['id']}/deliveries", token=owner.token, expect=200).json()["items"]) == 1
    assert len(api.get(deliveries, token=owner.token, expect=200).json()["items"]) == 2, "the account's webhook hears of every project"
    bobs_inbox = next(p for p in api.get("/api/me/projects", token=bob.token, expect=200).json()["items"] if p["is_inbox"])
    for project_id, expressible in ((bobs_inbox["id"], False), ("garden", True), (7, True)):
        refused = api.post(base, token=owner.token, json_body={"url": receiver, "events": ["task.created"], "project_id": project_id},
                           expect=422, schema_rejects=expressible)
        assert detail_fields(refused) == {"project_id"}
    api.delete(f"/api/{owner.id}/projects/{garden['id']}", token=owner.token, params={"tasks": "delete"}, expect=204)
    api.get(f"{base}/{scoped['id']}/deliveries", token=owner.token, expect=404)

    # Refused input names its field; nothing is stored.
    # The address checks resolve the host: no schema can express them.
    for body, field, expressible in (({"url": "http://10.0.0.1/", "events": ["task.created"]}, "url", False),
                                     ({"url": "gopher://127.0.0.1/", "events": ["task.created"]}, "url", False),
                                     ({"url": receiver, "events": []}, "events", True),
                                     ({"url": receiver, "events": ["task.exploded"]}, "events", True),
                                     ({"url": receiver, "events": ["task.created"], "secret": "mine"}, "secret", True)):
        response = api.post(base, token=owner.token, json_body=body, expect=422, schema_rejects=expressible)
        assert detail_fields(response) == {field}
    api.post(base, token=owner.token, data="{\"url\": ", expect=400)
    api.post(base, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)

    # Other users and unknown ids.
    for method, path in (("GET", base), ("POST", base), ("DELETE", f"{base}/{created['id']}"), ("GET", deliveries)):
        api.request(method, path, token=bob.token, json_body={"url": receiver, "events": ["task.created"]} if method == "POST" else None,
                    expect=403)
        api.request(method, path, json_body={"url": receiver, "events": ["task.created"]} if method == "POST" else None, expect=401)
    for webhook_id in (str(uuid.uuid4()), "not-a-webhook"):
        api.delete(f"{base}/{webhook_id}", token=owner.token, expect=404)
        api.get(f"{base}/{webhook_id}/deliveries", token=owner.token, expect=404)

    # At most 20 per account.
    for _ in range(19):
        api.post(base, token=owner.token, json_body={"url": receiver, "events": ["task.deleted"]}, expect=201)
    quota = api.post(base, token=owner.token, json_body={"url": receiver, "events": ["task.deleted"]}, expect=409)
    assert error_of(quota)["code"] == "quota_exceeded"
    assert api.delete(f"{base}/{created['id']}", token=owner.token, expect=204).content == b""
    api.get(deliveries, token=owner.token, expect=404)
    assert len(api.get(base, token=owner.token, expect=200).json()["items"]) == 19


def push_subscription(endpoint: str = "http://127.0.0.1:9/push/device") -> dict:
    """A browser's subscription: a fresh P-256 public key and a 16-byte secret, in base64url."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    encode = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return {"endpoint": endpoint, "keys": {"p256dh": encode(point), "auth": encode(os.urandom(16))}, "expirationTime": None}


def test_push_subscriptions(api, bob):
    """Managing push subscriptions; sending is tested end to end in tests/e2e/test_push.py."""
    key = api.get("/api/push/vapid-public-key", expect=200).json()["key"]
    assert len(base64.urlsafe_b64decode(key + "=")) == 65 and base64.urlsafe_b64decode(key + "=")[0] == 4
    owner = sign_up(api, name="Pushy")
    base = f"/api/{owner.id}/push-subscriptions"
    device = push_subscription()  # 127.0.0.1 is allowed by the server's PUSH_ALLOWED_NETWORKS; nothing listens there
    created = api.post(base, token=owner.token, json_body=device, expect=201).json()
    assert api.post(base, token=owner.token, json_body={**device, "keys": push_subscription()["keys"]}, expect=201).json() == created, \
        "the same endpoint again is the same subscription, with new keys"

    # Refused input names its field; the address and key checks are beyond a schema.
    good = push_subscription("http://127.0.0.1:9/push/other")
    for body, field, expressible in (({**good, "endpoint": "http://198.51.100.7/push"}, "endpoint", False),
                                     ({**good, "endpoint": "https://10.0.0.1/push"}, "endpoint", False),
                                     ({**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}, "keys", False),
                                     ({"endpoint": good["endpoint"]}, "keys", True),
                                     ({**good, "topic": "x"}, "topic", True)):
        response = api.post(base, token=owner.token, json_body=body, expect=422, schema_rejects=expressible)
        assert detail_fields(response) == {field}
    api.post(base, token=owner.token, data="{\"endpoint\": ", expect=400)
    api.post(base, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)

    # Other users and unknown ids.
    for method, path in (("POST", base), ("DELETE", f"{base}/{created['id']}")):
        api.request(method, path, token=bob.token, json_body=device if method == "POST" else None, expect=403)
        api.request(method, path, json_body=device if method == "POST" else None, expect=401)
    for subscription_id in (str(uuid.uuid4()), "not-a-subscription"):
        api.delete(f"{base}/{subscription_id}", token=owner.token, expect=404)

    # At most 50 per account.
    for number in range(49):
        api.post(base, token=owner.token, json_body=push_subscription(f"http://127.0.0.1:9/push/{number}"), expect=201)
    quota = api.post(base, token=owner.token, json_body=push_subscription("http://127.0.0.1:9/push/one-too-many"), expect=409)
    assert error_of(quota)["code"] == "quota_exceeded"
    assert api.delete(f"{base}/{created['id']}", token=owner.token, expect=204).content == b""
    api.delete(f"{base}/{created['id']}", token=owner.token, expect=404)


def test_notification_settings(api, bob):
    """E-mail reminder settings on a server without mail; mails themselves are tested end to end in
    tests/e2e/test_mail_reminders.py."""
    owner = sign_up(api, name="Mailer")
    base = f"/api/{owner.id}/notification-settings"
    defaults = {"email_reminders": False, "daily_digest": False, "digest_time": "07:00", "time_zone": "UTC", "mail_enabled": False}
    shown = api.get(base, token=owner.token, expect=200)
    assert shown.json() == defaults
    assert api.patch(base, token=owner.token, json_body=shown.json(), expect=200).json() == defaults, "what was read can be sent back"
    changed = api.patch(base, token=owner.token, json_body={"digest_time": "18:30", "time_zone": "Europe/Paris"}, expect=200).json()
    assert changed == {**defaults, "digest_time": "18:30", "time_zone": "Europe/Paris"}
    assert api.patch(base, token=owner.token, json_body={}, expect=200).json() == changed, "no field, no change"

    # No mail server: turning either on is refused, and nothing changes.
    for body in ({"email_reminders": True}, {"daily_digest": True, "digest_time": "06:00"}):
        assert error_of(api.patch(base, token=owner.token, json_body=body, expect=409))["code"] == "mail_disabled"
    assert api.get(base, token=owner.token, expect=200).json() == changed

    # Refused input names its field; a zone's existence is beyond a schema.
    for body, field, expressible in (({"digest_time": "7:00"}, "digest_time", True), ({"digest_time": "24:00"}, "digest_time", True),
                                     ({"time_zone": "Mars/Olympus"}, "time_zone", False), ({"email_reminders": "yes"}, "email_reminders", True),
                                     ({"colour": "blue"}, "colour", True)):
        response = api.patch(base, token=owner.token, json_body=body, expect=422, schema_rejects=expressible)
        assert detail_fields(response) == {field}
    api.patch(base, token=owner.token, data="{\"digest_time\": ", expect=400)
    api.patch(base, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    for method in ("GET", "PATCH"):
        api.request(method, base, token=bob.token, json_body={} if method == "PATCH" else None, expect=403)
        api.request(method, base, json_body={} if method == "PATCH" else None, expect=401)


def test_export_and_import_round_trip(api):
    henry, ivy = sign_up(api), sign_up(api)
    assert api.get("/api/me/export", token=henry.token, expect=200).json()["tasks"] == []
    create(api, henry, title="Plain")
    create(api, henry, title="Rich", description="line one\nline two\ttabbed", priority="high", tags=["a", "#B"],
           due_at="2030-05-01T10:00:00+02:00", remind_at="2030-05-01T07:00:00Z",
           recurrence={"frequency": "weekly", "interval": 2, "until": "2031-01-01T00:00:00Z", "count": 5,
                       "timezone": "America/New_York"})
    done = create(api, henry, title="Done", due_at="2030-01-01T00:00:00Z", recurrence={"frequency": "daily"})
    api.patch(f"{TASKS}/{done['id']}/complete", token=henry.token, expect=200)  # also makes the next occurrence

    exported = api.get(f"/api/{henry.id}/export", token=henry.token, expect=200)
    assert exported.headers["Content-Disposition"] == 'attachment; filename="todo-export.json"'
    document = exported.json()
    assert (document["format"], document["version"]) == ("todo-export", 2)
    assert [p["name"] for p in document["projects"]] == ["Inbox"]
    listed = api.get(TASKS, token=henry.token, params={"sort": "created"}, expect=200).json()["items"]
    assert document["tasks"] == listed, "every task, oldest first, as the API shows it"
    assert len(listed) == 4 and listed[2]["completed"] and listed[2]["completed_at"]

    # Into another account: the same tasks, every field kept, new ids.
    assert api.post("/api/me/import", token=ivy.token, json_body=document, expect=200).json() == {"imported": 4, "projects": 0}
    copied = api.get("/api/me/export", token=ivy.token, expect=200).json()["tasks"]
    assert without_ids(copied) == without_ids(document["tasks"]), "the round trip is lossless"
    assert not {t["id"] for t in copied} & {t["id"] for t in document["tasks"]}

    # A hand-written document; an import adds to what is there.
    minimal = {"format": "todo-export", "version": 1, "exported_at": None,
               "tasks": [{"title": "By hand"},
                         {"title": "Old and done", "completed": True, "created_at": "2020-01-01T00:00:00Z",
                          "updated_at": "2020-01-02T00:00:00+01:00"}]}
    assert api.post("/api/me/import", token=ivy.token, json_body=minimal, expect=200).json() == {"imported": 2, "projects": 0}
    tasks = api.get("/api/me/export", token=ivy.token, expect=200).json()["tasks"]
    assert len(tasks) == 6
    old = next(t for t in tasks if t["title"] == "Old and done")
    assert tasks[0] == old, "oldest first: the kept creation time counts"
    assert (old["created_at"], old["updated_at"], old["completed_at"]) == (
        "2020-01-01T00:00:00.000Z", "2020-01-01T23:00:00.000Z", "2020-01-01T23:00:00.000Z")
    by_hand = next(t for t in tasks if t["title"] == "By hand")
    assert (by_hand["description"], by_hand["priority"], by_hand["tags"], by_hand["completed"]) == ("", "none", [], False)
    assert api.post("/api/me/import", token=ivy.token, json_body=EMPTY_IMPORT, expect=200).json() == {"imported": 0, "projects": 0}

    # Imports have their own body limit, above MAX_BODY_SIZE.
    padded = json.dumps(EMPTY_IMPORT) + " " * MAX_BODY_SIZE
    assert api.post("/api/me/import", token=ivy.token, data=padded, expect=200).json() == {"imported": 0, "projects": 0}


IMPORT_422 = [
    ({"format": "todo-export", "version": 1}, {"tasks"}),
    ({"format": "todo-export", "version": 1, "tasks": {"title": "x"}}, {"tasks"}),
    ({"format": "todo-backup", "version": 3, "tasks": []}, {"format", "version"}),
    ({"format": "todo-export", "version": 2, "projects": [{"id": "1", "name": "Trip", "color": "red"}], "tasks": []}, {"projects[0].color"}),
    ({"format": "todo-export", "version": 2, "projects": [{"name": "Trip"}], "tasks": []}, {"projects[0].id"}),
    ({"version": 1, "tasks": []}, {"format"}),
    ({"format": "todo-export", "version": "1", "tasks": []}, {"version"}),
    ({"format": "todo-export", "version": 1, "tasks": [], "owner": "me"}, {"owner"}),
    ({"format": "todo-export", "version": 1, "tasks": [{"title": "fine"}, {"title": ""}, "task",
                                                       {"title": "x", "priority": "urgent", "colour": "red"},
                                                       {"title": "x", "created_at": "yesterday"},
                                                       {"title": "x", "tags": ["ok", 1]}]},
     {"tasks[1].title", "tasks[2].body", "tasks[3].priority", "tasks[3].colour", "tasks[4].created_at", "tasks[5].tags[1]"}),
    ({"format": "todo-export", "version": 1, "tasks": [{"title": "x"}] * 10001}, {"tasks"}),
    ([], {"body"}),
]


def version2(projects, tasks):
    return {"format": "todo-export", "version": 2, "projects": projects, "tasks": tasks}


TRIP = {"id": "7", "name": "Trip"}
IMPORT_422_ACROSS_ENTRIES = [
    (version2([], [{"title": "x", "project_id": "7"}]), {"tasks[0].project_id"}),
    (version2([{"id": "7"}], []), {"projects[0].name"}),
    (version2([TRIP, TRIP], []), {"projects[1].id"}),
    (version2([TRIP], [{"id": "1", "title": "a", "project_id": "7"}, {"id": "2", "title": "b", "parent_id": "1"}]), {"tasks[1].parent_id"}),
    (version2([], [{"id": "1", "title": "a", "parent_id": "2"}, {"id": "2", "title": "b", "parent_id": "1"}]),
     {"tasks[0].parent_id", "tasks[1].parent_id"}),
    (version2([], [{"id": str(n), "title": "x", "parent_id": str(n - 1) if n > 1 else None} for n in range(1, 6)]), {"tasks[4].parent_id"}),
    (version2([], [{"id": "1", "title": "a"}, {"id": "1", "title": "b"}]), {"tasks[1].id"}),
    ({**EMPTY_IMPORT, "projects": []}, {"projects"}),
]


def test_an_export_carries_projects_sub_tasks_and_order_to_another_account(api):
    lena, mo = sign_up(api), sign_up(api)
    trip = api.post("/api/me/projects", token=lena.token, json_body={"name": "Trip", "color": "#336699"}, expect=201).json()
    pack = create(api, lena, title="Pack", project_id=trip["id"])
    create(api, lena, title="Book flights", project_id=trip["id"], position=1)
    create(api, lena, title="Socks", parent_id=pack["id"])
    create(api, lena, title="Milk")
    document = api.get("/api/me/export", token=lena.token, expect=200).json()
    assert [p["name"] for p in document["projects"]] == ["Inbox", "Trip"]
    assert api.post("/api/me/import", token=mo.token, json_body=document, expect=200).json() == {"imported": 4, "projects": 1}
    copied = api.get("/api/me/export", token=mo.token, expect=200).json()
    projects = {p["name"]: p for p in copied["projects"]}
    assert projects["Trip"]["color"] == "#336699" and projects["Trip"]["open_count"] == 3
    by_title = {t["title"]: t for t in copied["tasks"]}
    assert by_title["Socks"]["parent_id"] == by_title["Pack"]["id"]
    assert {by_title[t]["project_id"] for t in ("Pack", "Book flights", "Socks")} == {projects["Trip"]["id"]}
    assert by_title["Milk"]["project_id"] == projects["Inbox"]["id"]
    assert by_title["Book flights"]["position"] < by_title["Pack"]["position"], "the manual order is kept"


TODOIST = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG\r\n"
    "section,Aisle 1,,,,,,,,,,,,\r\n"
    "task,Buy groceries @errands,,1,1,Sam (1),,every friday,en,Europe/Berlin,,,,\r\n"
    "task,Milk,,4,2,Sam (1),,,en,,,,,\r\n"
)


def test_a_todoist_csv_export_becomes_a_new_project(api):
    nia = sign_up(api)
    url = "/api/me/import/todoist"
    made = api.post(url, token=nia.token, params={"name": "Groceries", "timezone": "Europe/Berlin"}, data=TODOIST,
                    headers={"Content-Type": "text/csv"}, expect=201).json()
    assert (made["project"]["name"], made["imported"], made["project"]["open_count"]) == ("Groceries", 2, 2)
    assert made["not_mapped"] == ["Sections are not kept; the tasks under them are imported (row 2)."]
    tasks = api.get(TASKS, token=nia.token, params={"project": made["project"]["id"], "sort": "position"}, expect=200).json()["items"]
    assert [(t["title"], t["priority"]) for t in tasks] == [("Buy groceries", "high"), ("Milk", "none")]
    assert tasks[1]["parent_id"] == tasks[0]["id"] and tasks[0]["tags"] == ["errands"]

    for data, field in (("title,due\r\nMilk,tomorrow\r\n", "file"), (TODOIST + "task,,,,1,,,,,,,,,\r\n", "file")):
        assert error_of(api.post(url, token=nia.token, data=data, expect=422))["code"] == "validation_failed"
    assert detail_fields(api.post(url, token=nia.token, params={"timezone": "Mars/Olympus"}, data=TODOIST, expect=422)) == {"timezone"}
    assert detail_fields(api.post(url, token=nia.token, params={"name": ""}, data=TODOIST, expect=422)) == {"name"}
    oversize = TODOIST + " " * MAX_IMPORT_SIZE
    assert error_of(api.post(url, token=nia.token, data=oversize, expect=413, fresh_connection=True))["code"] == "payload_too_large"
    assert [p["name"] for p in api.get("/api/me/projects", token=nia.token, expect=200).json()["items"]] == ["Inbox", "Groceries"]


def test_task_quota(api):
    """The contract server holds each account to TASK_QUOTA tasks (TASKS_PER_USER_LIMIT)."""
    kim = sign_up(api)
    series = create(api, kim, title="Water plants", due_at="2030-01-31T09:00:00Z", recurrence={"frequency": "daily"})
    filler = [{"title": f"filler {index}"} for index in range(TASK_QUOTA - 1)]
    imported = api.post("/api/me/import", token=kim.token, json_body={**EMPTY_IMPORT, "tasks": filler}, expect=200)
    assert imported.json() == {"imported": TASK_QUOTA - 1, "projects": 0}
    full = {"code": "quota_exceeded", "message": f"an account holds at most {TASK_QUOTA} tasks; delete some first",
            "details": [{"field": "tasks", "message": f"at most {TASK_QUOTA} per account"}]}
    assert error_of(api.post(TASKS, token=kim.token, json_body={"title": "one too many"}, expect=409)) == full
    assert error_of(api.post("/api/me/import", token=kim.token, json_body={**EMPTY_IMPORT, "tasks": [{"title": "more"}]},
                             expect=409)) == full
    assert error_of(api.post("/api/me/import/todoist", token=kim.token, data=TODOIST, expect=409)) == full

    # Completing the recurring task would store its next occurrence: refused whole, the task stays open.
    path = f"{TASKS}/{series['id']}"
    assert error_of(api.patch(path + "/complete", token=kim.token, expect=409)) == full
    assert error_of(api.patch(path, token=kim.token, json_body={"completed": True}, expect=409)) == full
    assert error_of(api.put(path, token=kim.token, json_body=series | {"completed": True}, expect=409)) == full
    assert api.get(path, token=kim.token, expect=200).json() == series

    # A deleted task makes room again.
    newest = api.get(TASKS, token=kim.token, expect=200).json()["items"][0]
    api.delete(f"{TASKS}/{newest['id']}", token=kim.token, expect=204)
    assert api.patch(path + "/complete", token=kim.token, expect=200).json()["completed"] is True
    assert error_of(api.post(TASKS, token=kim.token, json_body={"title": "still full"}, expect=409)) == full


def test_import_errors(api):
    kate = sign_up(api)
    for body, fields in IMPORT_422:
        response = api.post("/api/me/import", token=kate.token, json_body=body, expect=422)
        assert error_of(response)["code"] == "validation_failed"
        assert detail_fields(response) == fields, fields
    response = api.post("/api/me/import", token=kate.token, expect=422, schema_rejects=False, json_body={
        "format": "todo-export", "version": 1, "tasks": [{"title": "x", "recurrence": {"frequency": "daily"}}]})
    assert detail_fields(response) == {"tasks[0].recurrence"}
    # Rules across entries, which a schema cannot say.
    for body, fields in IMPORT_422_ACROSS_ENTRIES:
        response = api.post("/api/me/import", token=kate.token, json_body=body, expect=422, schema_rejects=False)
        assert detail_fields(response) == fields, fields
    for data in ("{nope", "", b'{"format": "\xc3\x28"}'):
        assert error_of(api.post("/api/me/import", token=kate.token, data=data, expect=400))["code"] == "invalid_json"

    oversize = json.dumps(EMPTY_IMPORT) + " " * MAX_IMPORT_SIZE
    response = api.post("/api/me/import", token=kate.token, data=oversize, expect=413, fresh_connection=True,
                        headers={"Content-Type": "application/json"})
    assert error_of(response)["code"] == "payload_too_large"
    chunks = iter([json.dumps(EMPTY_IMPORT).encode(), b" " * MAX_IMPORT_SIZE])
    api.post("/api/me/import", token=kate.token, data=chunks, expect=413, fresh_connection=True)
    assert api.get("/api/me/export", token=kate.token, expect=200).json()["tasks"] == [], "all or nothing"


# ---------------------------------------------------------------------------------------------
# Live events


def open_events(api, account_or_token, **kwargs) -> EventStream:
    token = getattr(account_or_token, "token", account_or_token)
    response = api.get("/api/me/events", token=token, stream=True, fresh_connection=True, expect=200, **kwargs)
    assert response.headers["Content-Type"].split(";")[0] == "text/event-stream"
    assert "no-cache" in response.headers["Cache-Control"]
    stream = EventStream(response)
    opening = stream.next_frame()
    assert opening.retry == "3000" and opening.comments == ["connected"]
    return stream


def test_live_events(api, spec, bob):
    lena = sign_up(api)
    passed = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    with open_events(api, lena) as stream:
        task = create(api, lena, title="Watch me", remind_at=passed)
        created = stream.next_event()
        assert created.event == "task.created" and created.id.isdigit()
        assert not spec.errors(spec.schema("Task"), created.json()), created.data
        assert created.json() == task

        # The reminder has passed: it fires at once, exactly once.
        reminder = stream.next_event()
        assert reminder.event == "reminder.due" and int(reminder.id) > int(created.id)
        assert reminder.json() == task

        updated = api.patch(f"{TASKS}/{task['id']}", token=lena.token, json_body={"title": "Watched"}, expect=200).json()
        api.post(TASKS, token=bob.token, json_body={"title": "not for lena"}, expect=201)
        api.delete(f"{TASKS}/{task['id']}", token=lena.token, expect=204)
        change = stream.next_event()
        assert (change.event, change.json()) in (("task.updated", updated), ("task.updated", {"id": task["id"]}))
        deleted = stream.next_event()
        assert deleted.event == "task.deleted" and deleted.json() == {"id": task["id"]}
        assert not spec.errors(spec.schema("DeletedTask"), deleted.json())
        assert int(created.id) < int(reminder.id) < int(change.id) < int(deleted.id)
        # Idle: heartbeats.
        assert stream.next_frame(timeout=3).comments == ["heartbeat"]

    # Resuming after the first event replays the rest (the task is gone now: ids only), with a personal token too.
    pat = api.post("/api/tokens", token=lena.token, json_body={"name": "events"}, expect=201).json()["token"]
    with open_events(api, pat, headers={"Last-Event-ID": created.id}) as stream:
        replayed = [stream.next_event() for _ in range(3)]
        assert [(e.id, e.event) for e in replayed] == [(reminder.id, "reminder.due"), (change.id, "task.updated"),
                                                      (deleted.id, "task.deleted")]
        assert all(e.json() == {"id": task["id"]} for e in replayed)


def test_a_user_holds_at_most_ten_streams(api, bob):
    mona = sign_up(api)
    streams = [open_events(api, mona) for _ in range(10)]
    try:
        with api.get("/api/me/events", token=mona.token, stream=True, fresh_connection=True, expect=429) as refused:
            assert error_of(refused)["code"] == "too_many_streams" and refused.headers["Retry-After"].isdigit()
        with open_events(api, bob):
            pass
    finally:
        for stream in streams:
            stream.close()


def test_transfer_and_events_need_the_callers_token(api, alice, bob):
    operations = [("GET", "/api/{user}/export", None), ("POST", "/api/{user}/import", EMPTY_IMPORT),
                  ("POST", "/api/{user}/import/todoist", None), ("GET", "/api/{user}/events", None)]
    for method, template, body in operations:
        path = template.format(user="me")
        for headers in ({}, {"Authorization": "Bearer " + alice.token[:-4] + "AAAA"}, {"Authorization": alice.token}):
            with api.request(method, path, headers=headers, json_body=body, stream=True, expect=401) as response:
                assert error_of(response)["code"] == "unauthorized"
                assert response.headers["WWW-Authenticate"] == "Bearer"
        for user in (bob.id, "someone"):
            with api.request(method, template.format(user=user), token=alice.token, json_body=body, stream=True,
                             expect=403) as response:
                assert error_of(response)["code"] == "forbidden"
    everything = api.get(TASKS, token=bob.token, params={"sort": "created", "limit": 200}, expect=200).json()["items"]
    assert api.get("/api/me/export", token=bob.token, expect=200).json()["tasks"] == everything


# ---------------------------------------------------------------------------------------------
# The assistant (the built-in offline agent, its tools run by the MCP server of the fixture)

CHAT = "/api/me/chat"
CONVERSATIONS = "/api/me/conversations"


def chat(api, account_or_token, message, **fields) -> dict:
    token = getattr(account_or_token, "token", account_or_token)
    return api.post(CHAT, token=token, json_body={"message": message, **fields}, expect=200).json()


def conversations_of(api, account) -> list[dict]:
    return api.get(CONVERSATIONS, token=account.token, expect=200).json()["items"]


def messages_of(api, account, conversation_id) -> list[dict]:
    return api.get(f"{CONVERSATIONS}/{conversation_id}/messages", token=account.token, expect=200).json()["items"]


def test_chat_with_the_assistant(api, spec):
    nina = sign_up(api)
    assert api.get(CONVERSATIONS, token=nina.token, expect=200).json() == {"items": []}

    # A new conversation; "tomorrow" is read in the time zone given.
    berlin = ZoneInfo("Europe/Berlin")
    tomorrow = {(datetime.now(berlin) + timedelta(days=1)).date()}
    first = chat(api, nina, "  add buy milk tomorrow \n", time_zone="Europe/Berlin")
    tomorrow.add((datetime.now(berlin) + timedelta(days=1)).date())
    [call] = first["tool_calls"]
    assert (call["name"], call["is_error"], call["arguments"]["title"]) == ("add_task", False, "buy milk")
    task = call["result"]["task"]
    assert not spec.errors(spec.schema("Task"), task), task
    assert task["title"] == "buy milk"
    assert datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")).astimezone(berlin).date() in tomorrow
    assert "buy milk" in first["response"]
    assert api.get(TASKS, token=nina.token, expect=200).json()["items"] == [task], "the tool made a real task"

    # The same conversation goes on.
    conversation = first["conversation_id"]
    second = chat(api, nina, "what's pending?", conversation_id=conversation, time_zone=None)
    assert second["conversation_id"] == conversation
    [call] = second["tool_calls"]
    assert (call["name"], call["is_error"], call["result"]["tasks"]) == ("list_tasks", False, [task])
    assert "1 pending task" in second["response"]

    [listed] = conversations_of(api, nina)
    assert (listed["id"], listed["title"]) == (conversation, "add buy milk tomorrow")
    assert listed["created_at"] <= listed["updated_at"]

    # Stored as a model would replay it: each user message, the step with its tool calls, one tool message per
    # call, the answer.
    messages = messages_of(api, nina, conversation)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"] * 2
    assert [m["content"] for m in messages[::4]] == ["add buy milk tomorrow", "what's pending?"], "stored trimmed"
    assert (messages[1]["tool_calls"], messages[5]["tool_calls"]) == (first["tool_calls"], second["tool_calls"])
    assert messages[2]["tool_call_id"] == first["tool_calls"][0]["id"]
    assert messages[6]["tool_call_id"] == second["tool_calls"][0]["id"]
    assert (messages[3]["content"], messages[7]["content"]) == (first["response"], second["response"])
    assert all("tool_call_id" not in m for m in messages if m["role"] != "tool")
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)

    # A deletion waits for the user's yes: the question is stored with the call held (not run, no result).
    asked = chat(api, nina, "delete task 999999999", conversation_id=None, time_zone=None)
    assert asked["tool_calls"] == [] and "yes" in asked["response"]
    [held] = messages_of(api, nina, asked["conversation_id"])[1]["tool_calls"]
    assert (held["name"], held["needs_confirmation"], held["result"]) == ("delete_task", True, None)
    # A tool that fails is an answer, not an error; null means absent.
    failed = chat(api, nina, "yes", conversation_id=asked["conversation_id"], time_zone=None)
    [call] = failed["tool_calls"]
    assert (call["name"], call["is_error"]) == ("delete_task", True) and isinstance(call["result"], str)
    assert "needs_confirmation" not in call
    assert failed["conversation_id"] != conversation and failed["response"]

    # A personal token works too (the MCP server acts with it); continuing a conversation makes it the most recent.
    pat = api.post("/api/tokens", token=nina.token, json_body={"name": "chat"}, expect=201).json()["token"]
    again = chat(api, pat, "show my tasks", conversation_id=conversation)
    assert again["tool_calls"][0]["result"]["tasks"] == [task]
    assert [c["id"] for c in conversations_of(api, nina)] == [conversation, failed["conversation_id"]]

    # The longest message; a long first message gives a shortened title.
    longest = "tell me " + "a" * 3992
    assert len(longest) == 4000
    titled = chat(api, nina, longest)
    assert titled["tool_calls"] == []
    listed = conversations_of(api, nina)
    assert [c["id"] for c in listed] == [titled["conversation_id"], conversation, failed["conversation_id"]]
    assert listed[0]["title"] == longest[:59] + "…"
    assert messages_of(api, nina, titled["conversation_id"])[0]["content"] == longest


def test_conversation_list_shows_the_latest_100(api):
    olga = sign_up(api)

    def start(index: int) -> str:
        client = ContractClient(api.base_url, api.spec)  # one per thread
        try:
            return chat(client, olga, f"hello {index}")["conversation_id"]
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        started = set(pool.map(start, range(101)))
    assert len(started) == 101
    listed = conversations_of(api, olga)
    assert len(listed) == 100 and {c["id"] for c in listed} < started
    assert [c["updated_at"] for c in listed] == sorted((c["updated_at"] for c in listed), reverse=True)
    [oldest] = started - {c["id"] for c in listed}
    chat(api, olga, "hello again", conversation_id=oldest)
    relisted = conversations_of(api, olga)
    assert len(relisted) == 100 and relisted[0]["id"] == oldest
    assert [c["id"] for c in relisted[1:]] == [c["id"] for c in listed[:99]]


def test_chat_quota_and_rate_limit(api):
    quinn = sign_up(api)
    conversation = chat(api, quinn, "hi")["conversation_id"]
    for _ in range(CHAT_MESSAGE_LIMIT - 1):
        chat(api, quinn, "hi", conversation_id=conversation)
    full = api.post(CHAT, token=quinn.token, json_body={"message": "hi", "conversation_id": conversation}, expect=409)
    assert error_of(full)["code"] == "quota_exceeded"
    assert [m["role"] for m in messages_of(api, quinn, conversation)].count("user") == CHAT_MESSAGE_LIMIT
    # Every message counted against the rate, the refused one too.
    for _ in range(CHAT_RATE_LIMIT - CHAT_MESSAGE_LIMIT - 1):
        chat(api, quinn, "hi")
    refused = api.post(CHAT, token=quinn.token, json_body={"message": "hi"}, expect=429)
    assert error_of(refused)["code"] == "too_many_requests" and int(refused.headers["Retry-After"]) >= 1


CHAT_422 = [
    ({}, {"message"}, True),
    ({"message": ""}, {"message"}, True),
    ({"message": " \n\t "}, {"message"}, False),
    ({"message": "x" * 4001}, {"message"}, True),
    ({"message": 5}, {"message"}, True),
    ({"message": None}, {"message"}, True),
    ({"message": ["hi"]}, {"message"}, True),
    ({"message": "hi", "time_zone": "Mars/Base"}, {"time_zone"}, False),
    ({"message": "hi", "time_zone": ""}, {"time_zone"}, True),
    ({"message": "hi", "time_zone": 1}, {"time_zone"}, True),
    ({"message": "hi", "conversation_id": 7}, {"conversation_id"}, True),
    ({"message": "hi", "role": "system"}, {"role"}, True),
    ({"text": "hi"}, {"text"}, True),
    (["hi"], {"body"}, True),
    ("hi", {"body"}, True),
]


def test_chat_input_errors(api):
    pia = sign_up(api)
    for body, fields, expressible in CHAT_422:
        response = api.post(CHAT, token=pia.token, json_body=body, expect=422, schema_rejects=expressible)
        assert error_of(response)["code"] == "validation_failed"
        assert detail_fields(response) == fields, body
    for data in ("{nope", "", b'{"message": "\xc3\x28"}'):
        assert error_of(api.post(CHAT, token=pia.token, data=data, expect=400))["code"] == "invalid_json"
    oversize = json.dumps({"message": "x" * MAX_BODY_SIZE})
    response = api.post(CHAT, token=pia.token, data=oversize, expect=413, fresh_connection=True,
                        headers={"Content-Type": "application/json"})
    assert error_of(response)["code"] == "payload_too_large"
    chunks = iter([b'{"message": "', b"x" * MAX_BODY_SIZE, b'"}'])
    api.post(CHAT, token=pia.token, data=chunks, expect=413, fresh_connection=True)
    assert conversations_of(api, pia) == [], "rejected messages start no conversation"
    assert api.get(TASKS, token=pia.token, expect=200).json()["items"] == []


def test_assistant_needs_the_callers_token_and_conversation(api, alice, bob):
    secret = chat(api, bob, "add bob's secret plan")
    conversation = secret["conversation_id"]
    bobs_messages = messages_of(api, bob, conversation)
    bobs_tasks = api.get(TASKS, token=bob.token, params={"limit": 200}, expect=200).json()["items"]
    operations = [("POST", "/api/{user}/chat", {"message": "what's pending?"}),
                  ("GET", "/api/{user}/conversations", None),
                  ("GET", "/api/{user}/conversations/{conversation}/messages", None)]
    for method, template, body in operations:
        path = template.format(user="me", conversation=conversation)
        for headers in ({}, {"Authorization": "Bearer " + alice.token[:-4] + "AAAA"}, {"Authorization": alice.token}):
            response = api.request(method, path, headers=headers, json_body=body, expect=401)
            assert error_of(response)["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == "Bearer"
        for user in (bob.id, "someone"):
            path = template.format(user=user, conversation=conversation)
            assert error_of(api.request(method, path, token=alice.token, json_body=body, expect=403))["code"] == "forbidden"

    # Another user's conversation, or none at all: 404, as if it did not exist.
    not_found = {"code": "not_found", "message": "no such conversation", "details": None}
    for conversation_id in (conversation, str(uuid.uuid4()), "0", "not-a-conversation"):
        response = api.post(CHAT, token=alice.token, expect=404,
                            json_body={"message": "delete all my tasks", "conversation_id": conversation_id})
        assert error_of(response) == not_found
        response = api.get(f"{CONVERSATIONS}/{conversation_id}/messages", token=alice.token, expect=404)
        assert error_of(response) == not_found
    assert conversation not in {c["id"] for c in conversations_of(api, alice)}

    # The assistant acts as the caller only.
    ruth = sign_up(api)
    assert chat(api, ruth, "show my tasks")["tool_calls"][0]["result"]["tasks"] == []
    assert messages_of(api, bob, conversation) == bobs_messages, "nothing was added to bob's conversation"
    assert api.get(TASKS, token=bob.token, params={"limit": 200}, expect=200).json()["items"] == bobs_tasks


# ---------------------------------------------------------------------------------------------
# Coverage of the document

def test_projects(api, bob):
    """Projects: the Inbox every account has, a project's life, tasks placed in it, and refusals."""
    owner = sign_up(api, name="Projects")
    base = f"/api/{owner.id}/projects"
    projects = api.get(base, token=owner.token, expect=200).json()["items"]
    assert [(p["name"], p["is_inbox"], p["role"]) for p in projects] == [("Inbox", True, "owner")]
    inbox = projects[0]
    task = create(api, owner, title="no project given")
    assert task["project_id"] == inbox["id"] and task["parent_id"] is None and task["position"] == 1024

    created = api.post(base, token=owner.token, json_body={"name": "Garden", "color": "#22AA44"}, expect=201)
    garden = created.json()
    assert created.headers["Location"] == f"{base}/{garden['id']}"
    assert (garden["color"], garden["position"], garden["role"], garden["open_count"]) == ("#22aa44", 2048, "owner", 0)
    url = f"{base}/{garden['id']}"
    seeds = create(api, owner, title="buy seeds", project_id=garden["id"], due_at="2020-05-01T00:00:00Z")
    sub = create(api, owner, title="tomatoes", parent_id=seeds["id"])
    assert sub["project_id"] == garden["id"], "a sub-task goes to its parent's project"
    shown = api.get(url, token=owner.token, expect=200).json()
    assert (shown["open_count"], shown["overdue_count"]) == (2, 1)
    listed = api.get(TASKS, token=owner.token, params={"project": garden["id"], "parent": "none", "sort": "position"}, expect=200)
    assert [t["title"] for t in listed.json()["items"]] == ["buy seeds"]

    # Owners change the project; every member moves it in their own order.
    changed = api.patch(url, token=owner.token, json_body={"name": "Allotment", "color": None, "position": 512}, expect=200).json()
    assert (changed["name"], changed["color"], changed["position"]) == ("Allotment", None, 512)
    assert [p["name"] for p in api.get(base, token=owner.token, expect=200).json()["items"]] == ["Allotment", "Inbox"]
    # A task moves by naming another project; it goes to the end there.
    moved = api.patch(f"{TASKS}/{task['id']}", token=owner.token, json_body={"project_id": garden["id"]}, expect=200).json()
    assert moved["project_id"] == garden["id"] and moved["position"] == 3072

    # Refused input names its field; nothing changes.
    for body, field, expressible in (({}, "name", True), ({"name": ""}, "name", True), ({"name": "x", "color": "green"}, "color", True),
                                     ({"name": "x", "owner": "me"}, "owner", True)):
        response = api.post(base, token=owner.token, json_body=body, expect=422, schema_rejects=expressible)
        assert detail_fields(response) == {field}
    response = api.patch(f"{base}/{inbox['id']}", token=owner.token, json_body={"archived": True}, expect=422, schema_rejects=False)
    assert detail_fields(response) == {"archived"}
    assert detail_fields(api.patch(url, token=owner.token, json_body={"position": "top"}, expect=422)) == {"position"}
    bad_parent = api.post(TASKS, token=owner.token, json_body={"title": "x", "parent_id": seeds["id"], "project_id": inbox["id"]},
                          expect=422, schema_rejects=False)
    assert detail_fields(bad_parent) == {"parent_id"}
    for path in (base, url):
        method = "POST" if path == base else "PATCH"
        api.request(method, path, token=owner.token, data="{\"name\": ", expect=400)
        api.request(method, path, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    api.delete(url, token=owner.token, params={"tasks": "keep"}, expect=400)
    assert error_of(api.delete(f"{base}/{inbox['id']}", token=owner.token, expect=409))["code"] == "inbox"

    # Other users: their path is forbidden, and a project they are not in is not found.
    for method, path, body in (("GET", base, None), ("POST", base, {"name": "x"}), ("GET", url, None),
                               ("PATCH", url, {"name": "x"}), ("DELETE", url, None)):
        api.request(method, path, token=bob.token, json_body=body, expect=403)
        api.request(method, path, json_body=body, expect=401)
        if path == url:
            api.request(method, f"/api/me/projects/{garden['id']}", token=bob.token, json_body=body, expect=404)
    api.get(TASKS, token=bob.token, params={"project": garden["id"]}, expect=404)
    api.get("/api/me/projects/0", token=bob.token, expect=404)
    refused = api.post(TASKS, token=bob.token, json_body={"title": "x", "project_id": garden["id"]}, expect=422, schema_rejects=False)
    assert detail_fields(refused) == {"project_id"}

    # Deleting: the tasks move to the Inbox (the default) or go with the project.
    assert api.delete(url, token=owner.token, params={"tasks": "move"}, expect=204).content == b""
    api.get(url, token=owner.token, expect=404)
    inbox_tasks = api.get(TASKS, token=owner.token, params={"project": inbox["id"], "sort": "position"}, expect=200).json()["items"]
    assert {t["title"] for t in inbox_tasks} == {"no project given", "buy seeds", "tomatoes"}
    doomed = api.post(base, token=owner.token, json_body={"name": "Doomed"}, expect=201).json()
    gone = create(api, owner, title="goes with it", project_id=doomed["id"])
    api.delete(f"{base}/{doomed['id']}", token=owner.token, params={"tasks": "delete"}, expect=204)
    api.get(f"{TASKS}/{gone['id']}", token=owner.token, expect=404)
    api.delete(f"{base}/{doomed['id']}", token=owner.token, expect=404)


def proven(api, server, account: Account) -> Account:
    """The account after its address was proven through a reset link (`todo user reset-password
    --link`, as a mail would carry it); open sign-up alone proves no address."""
    link = run_cli(server, "user", "reset-password", account.email, "--link", PUBLIC_WEB_URL="https://todo.example").strip()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    api.post("/api/auth/reset", json_body={"token": token, "new_password": account.password}, expect=204)
    session = api.post("/api/auth/login", json_body={"email": account.email, "password": account.password}, expect=200).json()
    return Account(account.id, account.email, account.password, session["token"])


def link_token(invitation: dict) -> dict:
    """The body that claims an invitation with the secret of its link."""
    return {"token": urllib.parse.parse_qs(urllib.parse.urlsplit(invitation["accept_url"]).query)["token"][0]}


def test_sharing(api, server, bob):
    """Sharing: invitations by e-mail, members and roles, leaving, the last owner, assignees."""
    owner, editor = sign_up(api, name="Sharer"), proven(api, server, sign_up(api, name="Editor"))
    project = api.post("/api/me/projects", token=owner.token, json_body={"name": "Shared"}, expect=201).json()
    base = f"/api/{owner.id}/projects/{project['id']}"
    invitations, members = f"{base}/invitations", f"{base}/members"

    # The same answer whether or not the address has an account; a proven address sees it listed.
    for email in (editor.email.upper(), f"nobody-{uuid.uuid4().hex[:8]}@example.com"):
        made = api.post(invitations, token=owner.token, json_body={"email": email, "role": "editor"}, expect=202).json()
        assert set(made) == {"id", "email", "role", "created_at", "accept_url", "mailed"} and made["mailed"] is False
    listed = api.get(members, token=owner.token, expect=200).json()
    assert [m["role"] for m in listed["items"]] == ["owner"] and len(listed["invitations"]) == 2
    received = api.get(f"/api/{editor.id}/invitations", token=editor.token, expect=200).json()["items"]
    assert [(i["project"]["name"], i["role"], i["invited_by"]["name"]) for i in received] == [("Shared", "editor", "Sharer")]
    invitation = received[0]["id"]
    api.post(f"/api/me/invitations/{invitation}/accept", token=bob.token, expect=404)
    api.post(f"/api/me/invitations/{invitation}/decline", token=bob.token, expect=404)
    for action in ("accept", "decline"):
        api.post(f"/api/{editor.id}/invitations/{invitation}/{action}", token=bob.token, expect=403)
        api.post(f"/api/me/invitations/{invitation}/{action}", expect=401)
    accepted = api.post(f"/api/me/invitations/{invitation}/accept", token=editor.token, expect=200).json()
    assert (accepted["id"], accepted["role"]) == (project["id"], "editor")
    api.post(f"/api/me/invitations/{invitation}/decline", token=editor.token, expect=404)
    api.get(f"/api/{editor.id}/invitations", token=bob.token, expect=403)
    api.get("/api/me/invitations", expect=401)
    assert error_of(api.post(invitations, token=owner.token, json_body={"email": editor.email, "role": "viewer"}, expect=409))["code"] == \
        "already_member"
    # An address nobody answers for: not listed to its account; the link claims the invitation.
    again = sign_up(api)
    made = api.post(invitations, token=owner.token, json_body={"email": again.email, "role": "viewer"}, expect=202).json()
    assert api.get("/api/me/invitations", token=again.token, expect=200).json()["items"] == []
    for action in ("accept", "decline"):
        path = f"/api/me/invitations/{made['id']}/{action}"
        api.post(path, token=again.token, expect=404)
        api.post(path, token=again.token, json_body={"token": "not the link's"}, expect=404)
        assert detail_fields(api.post(path, token=again.token, json_body={"token": 7}, expect=422)) == {"token"}
        api.post(path, token=again.token, data="{\"token\": ", expect=400)
        api.post(path, token=again.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    assert api.post(f"/api/me/invitations/{made['id']}/decline", token=again.token, json_body=link_token(made), expect=204).content == b""

    # Only owners share; refusals name their field; the Inbox is never shared.
    api.post(f"/api/me/projects/{project['id']}/invitations", token=editor.token, json_body={"email": "x@example.com", "role": "viewer"},
             expect=403)
    api.post(f"/api/me/projects/{project['id']}/invitations", token=bob.token, json_body={"email": "x@example.com", "role": "viewer"},
             expect=404)
    api.post(invitations, token=bob.token, json_body={"email": "x@example.com", "role": "viewer"}, expect=403)
    api.post(invitations, json_body={"email": "x@example.com", "role": "viewer"}, expect=401)
    bad = api.post(invitations, token=owner.token, json_body={"email": "x@example.com", "role": "admin"}, expect=422)
    assert detail_fields(bad) == {"role"}
    assert detail_fields(api.post(invitations, token=owner.token, json_body={"email": "x", "role": "viewer"}, expect=422,
                                  schema_rejects=False)) == {"email"}
    api.post(invitations, token=owner.token, data="{\"email\": ", expect=400)
    api.post(invitations, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    inbox = next(p for p in api.get("/api/me/projects", token=owner.token, expect=200).json()["items"] if p["is_inbox"])
    refused = api.post(f"/api/me/projects/{inbox['id']}/invitations", token=owner.token, json_body={"email": "x@example.com", "role": "viewer"},
                       expect=409)
    assert error_of(refused)["code"] == "inbox"

    # Members: every member reads them; owners change roles; assignees are members.
    seen = api.get(f"/api/me/projects/{project['id']}/members", token=editor.token, expect=200).json()
    assert [(m["user_id"], m["role"]) for m in seen["items"]] == [(owner.id, "owner"), (editor.id, "editor")] and seen["invitations"] == []
    api.get(f"/api/me/projects/{project['id']}/members", token=bob.token, expect=404)
    api.get(members, token=bob.token, expect=403)
    api.get(members, expect=401)
    task = create(api, owner, title="shared task", project_id=project["id"])
    assigned = api.patch(f"{TASKS}/{task['id']}", token=editor.token, json_body={"assignee_id": owner.id}, expect=200).json()
    assert assigned["assignee_id"] == owner.id
    assert [t["id"] for t in api.get(TASKS, token=owner.token, params={"assignee": "me"}, expect=200).json()["items"]] == [task["id"]]
    stranger = api.patch(f"{TASKS}/{task['id']}", token=owner.token, json_body={"assignee_id": bob.id}, expect=422, schema_rejects=False)
    assert detail_fields(stranger) == {"assignee_id"}

    editor_url, owner_url = f"{members}/{editor.id}", f"{members}/{owner.id}"
    last = api.patch(owner_url, token=owner.token, json_body={"role": "viewer"}, expect=409)
    assert error_of(last)["code"] == "last_owner"
    assert error_of(api.delete(f"{members}/me", token=owner.token, expect=409))["code"] == "last_owner"
    api.patch(f"/api/me/projects/{project['id']}/members/{owner.id}", token=editor.token, json_body={"role": "viewer"}, expect=403)
    api.delete(f"/api/me/projects/{project['id']}/members/{owner.id}", token=editor.token, expect=403)
    api.patch(f"{members}/{bob.id}", token=owner.token, json_body={"role": "viewer"}, expect=404)
    api.delete(f"{members}/{bob.id}", token=owner.token, expect=404)
    for method, body in (("PATCH", {"role": "viewer"}), ("DELETE", None)):
        api.request(method, editor_url, token=bob.token, json_body=body, expect=403)
        api.request(method, editor_url, json_body=body, expect=401)
    assert detail_fields(api.patch(editor_url, token=owner.token, json_body={"role": "boss"}, expect=422)) == {"role"}
    api.patch(editor_url, token=owner.token, data="{\"role\": ", expect=400)
    api.patch(editor_url, token=owner.token, data=b"{" + b" " * MAX_BODY_SIZE + b"}", expect=413, fresh_connection=True)
    assert api.patch(editor_url, token=owner.token, json_body={"role": "viewer"}, expect=204).content == b""
    api.patch(f"{TASKS}/{task['id']}", token=editor.token, json_body={"title": "x"}, expect=403)

    # A member leaves (their own id, or me); an owner removes one.
    assert api.delete(f"/api/me/projects/{project['id']}/members/me", token=editor.token, expect=204).content == b""
    api.get(f"/api/me/projects/{project['id']}", token=editor.token, expect=404)
    api.post(invitations, token=owner.token, json_body={"email": editor.email, "role": "viewer"}, expect=202)
    again_id = api.get("/api/me/invitations", token=editor.token, expect=200).json()["items"][0]["id"]
    api.post(f"/api/me/invitations/{again_id}/accept", token=editor.token, expect=200)
    api.delete(editor_url, token=owner.token, expect=204)
    assert [m["user_id"] for m in api.get(members, token=owner.token, expect=200).json()["items"]] == [owner.id]


# Statuses a black-box test cannot provoke on demand: 503 needs a database outage. (The 409 of a
# task change is provoked by the task quota; its `conflict` needs a task that keeps changing
# under five attempts in a row.)
UNPROVOKABLE = {"503"}
UNPROVOKABLE_BY_OPERATION = {
    ("GET", "/readyz", "503"),
    # Needs a server with SIGNUP=closed or invite: Tests/TodoAPITests/AccountTests.swift and AdminTests.swift,
    # tests/e2e/test_user_cli.py and tests/web cover them.
    ("POST", "/api/auth/signup", "403"),
    # Need a server without single sign-on, or with a provider that does not answer: tests/e2e/test_single_sign_on.py.
    ("GET", "/api/auth/oidc", "404"),
    ("GET", "/api/auth/oidc", "502"),
    ("POST", "/api/auth/oidc", "404"),
    ("POST", "/api/auth/oidc", "502"),
    # Need a server with PASSWORD_LOGIN=false (so with single sign-on): tests/e2e/test_single_sign_on.py.
    ("POST", "/api/auth/forgot", "403"),
    ("POST", "/api/auth/reset", "403"),
    # Need a server without VAPID_PRIVATE_KEY: tests/e2e/test_push.py.
    ("GET", "/api/push/vapid-public-key", "404"),
    ("POST", "/api/{user_id}/push-subscriptions", "404"),
}


def test_every_documented_operation_and_status_was_exercised(api, spec, request):
    module_tests = {item.name for item in request.session.items if item.module is request.module}
    defined = {name for name in dir(request.module) if name.startswith("test_")}
    if not all(any(test == name or test.startswith(name + "[") for test in module_tests) for name in defined):
        pytest.skip("needs the whole walk-through module to run")
    missing = []
    for operation in spec.operations():
        if operation.template in ("/healthz", "/readyz", "/version", "/metrics", "/openapi.json") and (
            (operation.method, operation.template, "200") not in api.covered
        ):
            api.get(operation.template, expect=200)
        for status in operation.spec["responses"]:
            key = (operation.method, operation.template, status)
            if status in UNPROVOKABLE or key in UNPROVOKABLE_BY_OPERATION:
                continue
            if key not in api.covered:
                missing.append(" ".join(key))
    assert not missing, "documented but never exercised: " + ", ".join(missing)
