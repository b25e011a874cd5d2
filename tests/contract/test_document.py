"""The OpenAPI document: served as kept in the repo, and a valid OpenAPI 3.1 document."""

from __future__ import annotations

import json

from openapi_spec_validator import OpenAPIV31SpecValidator, validate


def test_served_document_is_the_one_in_the_repo(api, document_path):
    response = api.get("/openapi.json", expect=200)
    served = response.content
    kept = document_path.read_bytes()
    assert json.loads(served) == json.loads(kept), (
        "GET /openapi.json differs from Sources/TodoAPI/openapi.json: rebuild the binary (swift build)"
    )
    assert served == kept, "the served document is not byte-for-byte the file in the repo"


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert not errors, errors
    validate(document)  # auto-detects the version; raises on any problem


def test_document_is_pretty_printed_with_two_spaces(document, document_path):
    text = document_path.read_text(encoding="utf-8")
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_every_operation_is_complete(spec, document):
    operation_ids = set()
    for operation in spec.operations():
        assert operation.spec.get("operationId"), f"{operation.name}: no operationId"
        assert operation.spec["operationId"] not in operation_ids, f"{operation.name}: duplicate operationId"
        operation_ids.add(operation.spec["operationId"])
        assert operation.spec.get("summary"), f"{operation.name}: no summary"
        for status, response in operation.spec["responses"].items():
            response = spec.resolve(response)
            assert "X-Request-Id" in response.get("headers", {}), f"{operation.name} {status}: no X-Request-Id header"
            if status.startswith(("4", "5")) and operation.template != "/readyz":
                schema = response["content"]["application/json"]["schema"]
                assert "#/components/schemas/Error" in json.dumps(schema), f"{operation.name} {status}: not the Error shape"
        secured = operation.template.startswith("/api/") and operation.template not in (
            "/api/auth/signup",
            "/api/auth/login",
            "/api/auth/oidc",
            "/api/auth/forgot",
            "/api/auth/reset",
            "/api/feed/{token}",
            "/api/push/vapid-public-key",  # a public key, which browsers need before they subscribe
        )
        # Token and session management need a log-in JWT; everywhere else a personal token does too.
        manages_sessions = operation.template.startswith("/api/auth/sessions") or operation.template == "/api/auth/logout-all"
        manages_tokens = operation.template.startswith("/api/tokens")
        manages_accounts = operation.template.startswith("/api/admin")
        if not secured:
            assert "security" not in operation.spec, f"{operation.name}: security"
        elif (operation.method, operation.template) in (("POST", "/api/auth/password"), ("DELETE", "/api/auth/me")):
            assert operation.spec.get("security") == [{"bearerAuth": []}], f"{operation.name}: security"
            assert "PasswordCheckFailed" in json.dumps(operation.spec["responses"]["403"]), f"{operation.name}: 403"
        elif manages_sessions:
            assert operation.spec.get("security") == [{"bearerAuth": []}], f"{operation.name}: security"
            assert "SessionManagementForbidden" in json.dumps(operation.spec["responses"]["403"]), (
                f"{operation.name}: 403 for a personal token")
        elif manages_accounts:
            assert operation.spec.get("security") == [{"bearerAuth": []}], f"{operation.name}: security"
            assert "AdminRequired" in json.dumps(operation.spec["responses"]["403"]), f"{operation.name}: 403 for others"
        elif manages_tokens:
            assert operation.spec.get("security") == [{"bearerAuth": []}], f"{operation.name}: security"
            assert "TokenManagementForbidden" in json.dumps(operation.spec["responses"]["403"]), (
                f"{operation.name}: 403 for a personal token")
        else:
            assert operation.spec.get("security") == [{"bearerAuth": []}, {"personalToken": []}], (
                f"{operation.name}: security")
        if secured:
            assert "401" in operation.spec["responses"], f"{operation.name}: a protected route without 401"
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"bearerAuth", "personalToken"}
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["personalToken"] == {**schemes["personalToken"], "type": "http", "scheme": "bearer"}
    assert "todo_pat_" in schemes["personalToken"]["bearerFormat"]


def test_documented_limits_match_the_backend(spec):
    """The numbers of TaskLimits and TaskQuery, as the document states them."""
    create = spec.resolve(spec.schema("TaskCreate"))["properties"]
    assert (create["title"]["minLength"], create["title"]["maxLength"]) == (1, 200)
    assert create["description"]["maxLength"] == 1000
    assert create["tags"]["maxItems"] == 20
    assert (create["tags"]["items"]["minLength"], create["tags"]["items"]["maxLength"]) == (1, 40)
    recurrence = spec.resolve(spec.schema("RecurrenceInput"))["properties"]
    assert (recurrence["interval"]["minimum"], recurrence["interval"]["maximum"]) == (1, 999)
    assert (recurrence["count"]["minimum"], recurrence["count"]["maximum"]) == (1, 10000)
    parameters = {
        spec.resolve(p)["name"]: spec.resolve(p)
        for p in spec.operation("GET", "/api/me/tasks").spec["parameters"]
    }
    assert set(parameters) >= {"status", "priority", "tag", "due_after", "due_before", "q", "sort", "limit", "cursor", "project",
                               "parent", "assignee"}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert len(parameters["sort"]["schema"]["enum"]) == 12
    project = spec.resolve(spec.schema("ProjectCreate"))["properties"]
    assert (project["name"]["minLength"], project["name"]["maxLength"]) == (1, 100)


def test_documented_token_and_import_limits_match_the_backend(spec):
    """The numbers of TokenController, PersonalToken and TaskExport, as the document states them."""
    name = spec.resolve(spec.schema("TokenCreate"))["properties"]["name"]
    assert (name["minLength"], name["maxLength"]) == (1, 100)
    assert spec.resolve(spec.schema("TokenList"))["properties"]["items"]["maxItems"] == 50
    assert "50 tokens" in spec.resolve(spec.schema("TokenCreate"))["description"]
    imported = spec.resolve(spec.schema("ImportDocument"))["properties"]
    assert imported["tasks"]["maxItems"] == 10000
    assert (imported["format"], imported["version"]["enum"]) == ({"const": "todo-export"}, [1, 2])
    assert spec.resolve(spec.schema("ExportDocument"))["properties"]["version"]["const"] == 2
    assert imported["projects"]["maxItems"] == 501, "the 500 projects an account may have, and its Inbox"
    assert spec.resolve(spec.schema("ImportResult"))["properties"]["imported"]["maximum"] == 10000
    assert "16 MiB" in spec.operation("POST", "/api/me/import").spec["description"]
    events = spec.operation("GET", "/api/me/events").spec
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    for kind in ("task.created", "task.updated", "task.deleted", "reminder.due", "Last-Event-ID", "heartbeat"):
        assert kind in events["description"], kind


def test_documented_assistant_limits_match_the_backend(spec):
    """The numbers of ChatLimits and ChatController, and how the assistant is set up."""
    request = spec.resolve(spec.schema("ChatRequest"))
    message = request["properties"]["message"]
    assert (message["minLength"], message["maxLength"]) == (1, 4000)
    assert request["required"] == ["message"] and request["additionalProperties"] is False
    assert "40 messages" in request["properties"]["conversation_id"]["description"]
    assert spec.resolve(spec.schema("ConversationList"))["properties"]["items"]["maxItems"] == 100
    assert spec.resolve(spec.schema("ChatMessageList"))["properties"]["items"]["maxItems"] == 500
    assert "60 characters" in spec.resolve(spec.schema("Conversation"))["properties"]["title"]["description"]
    tool_call = spec.resolve(spec.schema("ToolCall"))
    assert set(tool_call["required"]) == {"id", "name", "arguments", "result", "is_error"}
    chat = spec.operation("POST", "/api/me/chat").spec
    for word in ("MCP_URL", "MCP server", "LLM_BASE_URL", "LLM_API_KEY", "offline agent", "bearer token", "ASSISTANT_MAX_STEPS",
                 "CHAT_TIME_LIMIT_SECONDS", "8 tool calls per step", "needs_confirmation", "CHAT_RATE_LIMIT", "CHAT_CONVERSATION_LIMIT",
                 "CHAT_MESSAGE_LIMIT"):
        assert word in chat["description"], word
    assert set(chat["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503"}
    assert "needs_confirmation" in tool_call["properties"]
