"""OpenTelemetry tracing across the roles (docs/OPERATIONS.md, "Tracing"): a tiny OTLP/HTTP receiver
gets the spans of `todo web`, `todo api` and `todo mcp` for one chat turn that calls a tool, and
checks that they form one connected trace down to the database call; without the OTEL variables
nothing is exported and no connection is tried."""
from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

from server import Client, free_port
from test_assistant import FakeModel

REQUEST_ID = "trace-e2e-0001"
# Span.SpanKind of the OTLP protocol.
SERVER, CLIENT = 2, 3


class OTLPReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: decodes every ExportTraceServiceRequest posted to
    /v1/traces and keeps its spans, each with the service.name of its resource. It also counts the
    TCP connections it accepts, so that a test can show that none was tried."""

    def __init__(self, port: int = 0):
        self.spans: list[dict] = []
        self.connections = 0
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.paths.append(self.path)
                receiver.add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        class Server(ThreadingHTTPServer):
            def process_request(self, request, client_address):
                receiver.connections += 1
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", port), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, export: ExportTraceServiceRequest):
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append({
                        "service": resource.get("service.name"),
                        "name": span.name,
                        "kind": span.kind,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "attributes": {a.key: attribute_value(a.value) for a in span.attributes},
                    })

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def attribute_value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver():
    receiver = OTLPReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def model():
    model = FakeModel()
    yield model
    model.close()


def launch_roles(start, model, database_url, otel: dict[str, str]):
    """`todo api`, `todo mcp` and `todo web` as in the cluster, each with the `otel` variables, the
    assistant's model scripted by `model`. Returns (web, api, mcp)."""
    api_port, mcp_port = free_port(), free_port()
    api = start("api", PORT=api_port, DATABASE_URL=database_url, MCP_URL=f"http://127.0.0.1:{mcp_port}/mcp",
                LLM_BASE_URL=model.url, LLM_API_KEY="k", **otel)
    mcp = start("mcp", PORT=mcp_port, BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None, **otel)
    web = start("web", BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None, **otel)
    for process in (api, mcp, web):
        process.wait_ready()
    return web, api, mcp


def chat_through_the_web_ui(web, api) -> dict:
    """What the chat panel's script does in a browser: POST /api/me/chat to the web UI's origin."""
    user = Client(api.base)
    reply = requests.post(f"{web.base}/api/me/chat", json={"message": "please add buy bread", "time_zone": "UTC"},
                          headers={"Authorization": f"Bearer {user.token}", "X-Request-Id": REQUEST_ID,
                                   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) e2e"}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert [call["name"] for call in reply.json()["tool_calls"]] == ["add_task"]
    return reply.json()


def header(model_request: dict, name: str) -> str:
    """A header of a request the scripted model received, whatever its case; "" when absent."""
    return next((v for k, v in model_request["headers"].items() if k.lower() == name.lower()), "")


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The backend's DATABASE_URL and the db.system its spans name."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/todo.db", "sqlite"
    url, _ = request.getfixturevalue("postgres_url")
    return url, "postgresql"


def test_a_chat_turn_that_calls_a_tool_is_one_connected_trace(start, receiver, model, database):
    database_url, db_system = database
    # A schedule delay longer than the test: spans leave only when each process flushes at shutdown.
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "600000"}
    web, api, mcp = launch_roles(start, model, database_url, otel)
    chat_through_the_web_ui(web, api)
    assert receiver.spans == []
    for process in (web, mcp, api):
        assert process.stop() == 0, process.output()
    assert set(receiver.paths) == {"/v1/traces"}

    # Every trace starts at a request some client made: probes (/readyz, polled while the roles
    # started) and background work (the reminder scheduler polls the database every second) make none.
    assert {s["kind"] for s in receiver.spans if not s["parent_span_id"]} == {SERVER}
    assert not [s for s in receiver.spans if s["attributes"].get("url.path") in ("/healthz", "/readyz", "/metrics")]

    chat_spans = [s for s in receiver.spans if s["attributes"].get("url.path") == "/api/me/chat"]
    assert {s["service"] for s in chat_spans} == {"todo-web", "todo-api"}, chat_spans
    trace_ids = {s["trace_id"] for s in chat_spans}
    assert len(trace_ids) == 1, chat_spans
    trace_id = trace_ids.pop()
    trace = [s for s in receiver.spans if s["trace_id"] == trace_id]
    assert {s["service"] for s in trace} == {"todo-web", "todo-api", "todo-mcp"}

    # Connected: one root (the web UI's server span), every other span's parent is in the trace.
    ids = {s["span_id"] for s in trace}
    roots = [s for s in trace if not s["parent_span_id"]]
    assert [(r["service"], r["attributes"].get("url.path")) for r in roots] == [("todo-web", "/api/me/chat")]
    orphans = [s for s in trace if s["parent_span_id"] and s["parent_span_id"] not in ids]
    assert orphans == []

    by_id = {s["span_id"]: s for s in trace}

    def ancestors(span):
        while span["parent_span_id"]:
            span = by_id[span["parent_span_id"]]
            yield span

    # The tool's call back to the API (MCP server -> API) reaches the database, below the MCP span.
    tool_span = next(s for s in trace if s["service"] == "todo-mcp" and s["name"] == "tools/call add_task")
    database_spans = [s for s in trace if s["attributes"].get("db.system") == db_system]
    assert database_spans and all(s["service"] == "todo-api" for s in database_spans)
    under_tool = [s for s in database_spans if tool_span in ancestors(s)]
    assert any(s["name"].endswith("TaskStore.insertTask") or s["name"].endswith("TaskStore.insertTogether") for s in under_tool), \
        [s["name"] for s in under_tool]
    # Client spans for the internal hops: web -> API, API -> model, API -> MCP, MCP -> API.
    client_spans = [s for s in trace if s["kind"] == CLIENT and "db.system" not in s["attributes"]]
    assert {s["service"] for s in client_spans} == {"todo-web", "todo-api", "todo-mcp"}
    assert model.requests and all(f"-{trace_id}-" in header(r, "traceparent") for r in model.requests)

    # The backend's log lines of the turn name the trace, and the request id came along every hop.
    api_lines = json_lines(api.output())
    traced = [line for line in api_lines if line.get("trace_id") == trace_id]
    assert any(line.get("message") == "request" and line.get("path") == "/api/me/chat" for line in traced)
    assert all(line.get("span_id") in ids for line in traced)
    # The chat request, and the MCP server's token check and task creation, all under the browser's id.
    access = [line for line in traced if line.get("message") == "request"]
    assert {line["path"] for line in access} == {"/api/me/chat", "/api/auth/me", "/api/me/tasks"}
    assert all(line.get("request_id") == REQUEST_ID for line in access), access
    assert all(header(r, "X-Request-Id") == REQUEST_ID for r in model.requests)


# Variables that must leave tracing off: none at all (the default endpoint would be
# 127.0.0.1:4318), an explicit "none" exporter, and the SDK switched off, each with an endpoint.
OFF = {
    "no variables": None,
    "exporter none": {"OTEL_TRACES_EXPORTER": "none"},
    "sdk disabled": {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
}


@pytest.mark.parametrize("variables", OFF.values(), ids=OFF.keys())
def test_without_the_otel_variables_nothing_is_exported_and_no_connection_is_tried(start, model, tmp_path, variables):
    if variables is None:
        try:  # where an SDK would send by default
            receiver = OTLPReceiver(port=4318)
        except OSError:
            pytest.skip("127.0.0.1:4318 is taken: cannot watch the default OTLP endpoint")
        otel = {}
    else:
        receiver = OTLPReceiver()
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "10", **variables}
    try:
        web, api, mcp = launch_roles(start, model, f"sqlite://{tmp_path}/todo.db", otel)
        chat_through_the_web_ui(web, api)
        for process in (web, mcp, api):
            assert process.stop() == 0, process.output()
        assert receiver.connections == 0 and receiver.spans == []
        for process in (web, api, mcp):
            assert "exporting traces" not in process.output()
        assert not any("trace_id" in line for line in json_lines(api.output()))
        assert model.requests and not any(header(r, "traceparent") for r in model.requests)
    finally:
        receiver.close()


@pytest.mark.parametrize("variables, named", [
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
])
def test_an_exporter_this_build_lacks_stops_the_process_at_start(start, variables, named):
    api = start("api", **variables)
    assert api.process.wait(20) != 0
    assert named in api.output()
