"""Checks HTTP exchanges against the OpenAPI document of the backend.

`ContractClient` sends requests with `requests` and checks every response against the
operation the document gives for its method and path: the status must be documented, every
required response header present and valid, the media type documented, and the JSON body
valid against the documented schema (JSON Schema 2020-12, `$ref`s resolved inside the
document). It also records which (method, path, status) triples were seen, so that a test
can check that the walk covered every operation.

A `text/event-stream` body never ends: its status, headers and media type are checked, and
`EventStream` reads its frames so that a test can check each `data:` against a schema.
"""

from __future__ import annotations

import codecs
import http.client
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from jsonschema import Draft202012Validator, FormatChecker

# The body size limit the tests configure (MAX_BODY_SIZE); also the backend's default.
MAX_BODY_SIZE = 1 << 20
# The import body limit the tests configure (MAX_IMPORT_SIZE; 16 MiB by default): above
# MAX_BODY_SIZE, so that a test can show that imports have their own limit, and small enough
# to send an oversize import quickly.
MAX_IMPORT_SIZE = 2 * MAX_BODY_SIZE
# The chat limits the tests configure: one account starts 101 conversations in a test, and the
# 409 and 429 of the chat route are reached in a few requests.
CHAT_RATE_LIMIT = 120
CHAT_MESSAGE_LIMIT = 5
# The task quota the tests configure (TASKS_PER_USER_LIMIT; 100,000 by default): small enough for
# a test to fill an account, far above what any other test stores in one.
TASK_QUOTA = 500

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 `date-time` (jsonschema checks it only with an optional extra package)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    text = value.upper()
    date, _, rest = text.partition("T")
    datetime.fromisoformat(date + "T" + rest.replace("Z", "+00:00"))
    return True


class ContractError(AssertionError):
    """A response (or request) that the document does not allow."""


@dataclass
class Operation:
    method: str  # upper case
    template: str  # "/api/{user_id}/tasks/{id}"
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class OpenAPIDocument:
    """The document with `$ref` resolution and schema validation."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self._validators: dict[str, Draft202012Validator] = {}
        self._routes: list[tuple[re.Pattern[str], str, int]] = []
        for template in document["paths"]:
            literal_segments = sum(1 for part in template.split("/") if part and not part.startswith("{"))
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            self._routes.append((pattern, template, literal_segments))
        # Prefer the template with the most literal segments when several match.
        self._routes.sort(key=lambda route: -route[2])

    # -- navigation ---------------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        """Follows `$ref` (local references only) until a non-reference object remains."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            ref = node["$ref"]
            if ref in seen:
                raise ContractError(f"reference cycle at {ref}")
            seen.add(ref)
            if not ref.startswith("#/"):
                raise ContractError(f"only local references are supported: {ref}")
            node = self.document
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def operations(self) -> list[Operation]:
        result = []
        for template, item in self.document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    result.append(Operation(method.upper(), template, item[method]))
        return result

    def template_for(self, path: str) -> str | None:
        for pattern, template, _ in self._routes:
            if pattern.match(path):
                return template
        return None

    def operation(self, method: str, path: str) -> Operation:
        template = self.template_for(path)
        if template is None:
            raise ContractError(f"{method} {path}: no documented path matches")
        item = self.document["paths"][template]
        spec = item.get(method.lower())
        if spec is None:
            raise ContractError(f"{method} {template}: the path is documented but not this method")
        return Operation(method.upper(), template, spec)

    # -- schemas ------------------------------------------------------------------------

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            # The schema is embedded in a root that carries the document's components, so that
            # `#/components/...` references resolve against it.
            root = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": self.document.get("components", {}),
                "allOf": [schema],
            }
            Draft202012Validator.check_schema(root)
            validator = Draft202012Validator(root, format_checker=FORMAT_CHECKER)
            self._validators[key] = validator
        return validator

    def errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in sorted(self.validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
        ]

    def schema(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def request_schema(self, operation: Operation) -> dict[str, Any] | None:
        body = operation.spec.get("requestBody")
        if body is None:
            return None
        json_body = self.resolve(body)["content"].get("application/json")
        return json_body["schema"] if json_body else None

    # -- responses ----------------------------------------------------------------------

    def check_response(self, operation: Operation, response: requests.Response) -> None:
        status = str(response.status_code)
        where = f"{operation.name} -> {status}"
        responses = operation.spec["responses"]
        if status not in responses:
            raise ContractError(
                f"{where}: status not documented (documented: {sorted(responses)}); body: {response.text[:500]}"
            )
        documented = self.resolve(responses[status])

        for name, header in documented.get("headers", {}).items():
            header = self.resolve(header)
            value = response.headers.get(name)
            if value is None:
                if header.get("required"):
                    raise ContractError(f"{where}: required response header {name} is missing")
                continue
            if "schema" in header:
                problems = self.errors(header["schema"], value)
                if problems:
                    raise ContractError(f"{where}: header {name}: {value!r}: {problems}")

        content = documented.get("content")
        if not content:
            if response.content:
                raise ContractError(f"{where}: documented without a body, got {response.content[:200]!r}")
            return
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type not in content:
            raise ContractError(f"{where}: media type {media_type!r} not documented (documented: {sorted(content)})")
        if media_type == "text/event-stream":
            return  # an endless stream: `EventStream` reads it
        schema = content[media_type].get("schema")
        if media_type == "application/json":
            try:
                body = response.json()
            except ValueError as error:
                raise ContractError(f"{where}: body is not JSON: {error}: {response.text[:200]}") from None
        else:
            body = response.text
        if schema is not None:
            problems = self.errors(schema, body)
            if problems:
                raise ContractError(f"{where}: body does not match the documented schema: {problems}; body: {body}")


@dataclass
class ContractClient:
    """`requests` with every exchange checked against the document."""

    base_url: str
    spec: OpenAPIDocument
    session: requests.Session = field(default_factory=requests.Session)
    covered: set[tuple[str, str, str]] = field(default_factory=set)

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
        expect: int | None = None,
        schema_rejects: bool | None = None,
        fresh_connection: bool = False,
        raw_query: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Sends one request and checks the response against the documented operation.

        `expect` is the status the scenario expects. When a JSON body is sent and the server
        accepts it (2xx), the documented request schema must accept it too; when the server
        answers 422, the request schema must reject it unless `schema_rejects=False` (a rule
        JSON Schema cannot express, such as a recurrence without a due date).

        `raw_query` is sent exactly as given (`requests` would re-encode a malformed `%`
        escape). With `stream=True` the body is read only when it is checked, so that an event
        stream can be read with `EventStream`; close the response when done.
        """
        operation = self.spec.operation(method, urlsplit(path).path)
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        if fresh_connection:
            all_headers["Connection"] = "close"
            sender = requests
        else:
            sender = self.session
        if raw_query is None:
            response = sender.request(method, self.base_url + path, data=data, headers=all_headers, params=params,
                                      timeout=10, stream=stream)
        else:
            response = self._send_raw(method, path + "?" + raw_query, data, all_headers)
        self.covered.add((operation.method, operation.template, str(response.status_code)))
        self.spec.check_response(operation, response)
        if expect is not None and response.status_code != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {response.status_code}: {response.text[:500]}")

        request_schema = self.spec.request_schema(operation)
        if json_body is not None and request_schema is not None:
            problems = self.spec.errors(request_schema, json_body)
            if 200 <= response.status_code < 300 and problems:
                raise ContractError(
                    f"{operation.name}: the server accepted a body that the documented request schema rejects: "
                    f"{problems}; body: {json_body}"
                )
            wanted = True if schema_rejects is None else schema_rejects
            if response.status_code == 422 and wanted and not problems:
                raise ContractError(
                    f"{operation.name}: the server rejected (422) a body that the documented request schema "
                    f"accepts: {json_body}; server said: {response.text[:300]}"
                )
        return response

    def _send_raw(self, method: str, target: str, data: Any, headers: dict[str, str]) -> requests.Response:
        """Sends the request target byte for byte: `requests` and `urllib3` both re-encode a malformed
        `%` escape, so this goes through `http.client`."""
        location = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(location.hostname, location.port, timeout=10)
        try:
            body = data.encode() if isinstance(data, str) else data
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            answer = connection.getresponse()
            response = requests.Response()
            response.status_code = answer.status
            response.reason = answer.reason
            response.headers = CaseInsensitiveDict(answer.getheaders())
            response._content = answer.read()
            response.encoding = "utf-8"
            response.url = self.base_url + target
            return response
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


# ---------------------------------------------------------------------------------------------
# Server-Sent Events


@dataclass
class ServerSentEvent:
    """One frame of an event stream: its fields (`data` lines joined by newlines) and comments."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: str | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    """Reads the frames of a streamed `text/event-stream` response, as `EventSource` would."""

    def __init__(self, response: requests.Response):
        self.response = response
        self._chunks = response.iter_content(chunk_size=None)
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""

    def next_frame(self, timeout: float = 5.0) -> ServerSentEvent:
        """The next frame (events, comment-only frames and the `retry` frame alike)."""
        deadline = time.monotonic() + timeout
        while "\n\n" not in self._buffer:
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete event-stream frame within {timeout} s; got {self._buffer!r}")
            try:
                chunk = next(self._chunks)
            except StopIteration:
                raise AssertionError(f"the event stream ended; unread: {self._buffer!r}") from None
            self._buffer += self._decoder.decode(chunk).replace("\r\n", "\n").replace("\r", "\n")
        text, self._buffer = self._buffer.split("\n\n", 1)
        frame = ServerSentEvent()
        data: list[str] = []
        for line in text.split("\n"):
            if line.startswith(":"):
                frame.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name in ("id", "event", "retry"):
                setattr(frame, name, value)
            else:
                raise AssertionError(f"unknown event-stream field {name!r} in {text!r}")
        frame.data = "\n".join(data) if data else None
        return frame

    def next_event(self, timeout: float = 5.0) -> ServerSentEvent:
        """The next frame that carries an event, skipping comments (heartbeats) and `retry`."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(timeout=max(0.0, deadline - time.monotonic()))
            if frame.data is not None or frame.event is not None:
                return frame

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Scenario helpers


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str


def sign_up(api: ContractClient, name: str | None = None) -> Account:
    """A new account with a unique e-mail address."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse " + uuid.uuid4().hex[:6]
    body = {"email": email, "password": password}
    if name is not None:
        body["name"] = name
    session = api.post("/api/auth/signup", json_body=body, expect=201).json()
    return Account(session["user"]["id"], email, password, session["token"])
