"""The document lists exactly the routes the backend serves.

Every documented route exists (it answers something other than the router's
`404 no such route`), and paths and methods the document does not list do not.

CalDAV (`/dav/…`, `/.well-known/caldav`, and PROPFIND on `/`) is WebDAV with XML bodies, not
part of the JSON API: the document leaves it out on purpose and these checks do not look there;
tests/e2e/test_caldav.py covers it.
"""

from __future__ import annotations

import pytest
import requests

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_no_such_route(response: requests.Response) -> bool:
    if response.status_code not in (404, 405):
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return error["code"] in ("not_found", "method_not_allowed") and error["message"] not in (
        "no such task", "no such conversation", "no such calendar feed")


def concrete(template: str) -> str:
    return (template.replace("{user_id}", "me").replace("{id}", "1").replace("{token_id}", "1")
            .replace("{conversation_id}", "1"))


def test_every_documented_route_exists(api, spec):
    for operation in spec.operations():
        # Through the contract client: the answer (without a token or a body) must be documented too.
        # Streamed, so that an event stream answered by mistake cannot hang the test.
        with api.request(operation.method, concrete(operation.template), stream=True) as response:
            assert not is_no_such_route(response), f"{operation.name} is documented but the backend has no such route"
            assert response.status_code != 500


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/me",
        "/api/tasks",
        "/api/auth",
        "/api/auth/signout",
        "/api/me/task",
        "/api/me/tasks/1/completed",
        "/api/me/tasks/1/complete/now",
        "/healthz/deep",
        "/openapi.yaml",
        "/api/token",
        "/api/tokens/1/revoke",
        "/api/me/tokens",
        "/api/me/export.json",
        "/api/me/exports",
        "/api/me/import/1",
        "/api/me/events/1",
        "/api/me/event",
        "/api/export",
        "/api/events",
        "/api/chat",
        "/api/conversations",
        "/api/me/chats",
        "/api/me/chat/1",
        "/api/me/conversation",
        "/api/me/conversations/1",
        "/api/me/conversations/1/message",
        "/api/me/conversations/1/messages/1",
        "/api/me/messages",
    ],
)
def test_undocumented_paths_are_not_served(server, spec, path):
    assert spec.template_for(path) is None
    for method in METHODS:
        response = requests.request(method, server.base_url + path, timeout=5)
        assert is_no_such_route(response), f"{method} {path} answered {response.status_code}: {response.text[:200]}"
        assert response.json()["error"]["details"] is None


def test_undocumented_methods_are_not_served(server, spec, document):
    for template, item in document["paths"].items():
        for method in METHODS:
            if method.lower() in item:
                continue
            response = requests.request(method, server.base_url + concrete(template), timeout=5)
            assert is_no_such_route(response), (
                f"{method} {template} is not documented but answered {response.status_code}: {response.text[:200]}"
            )
