"""Property-based fuzzing of every route of the served OpenAPI document with Schemathesis.

For each operation, Schemathesis generates a fixed number of requests from the document (valid
ones, and invalid ones that break the schema), sent with a signed-up user's bearer token to a
real `todo api`. Every answer must be no 5xx, have a documented status and media type, and a body
that matches the documented schema. Generation is derandomized: the same document gives the same
requests on every run, so a failure reproduces.

`FUZZ_EXAMPLES` (default 25) sets the examples per operation and mode.
"""
import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import Client

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# Invalid requests are checked for these too, not for being refused: the document's optional
# headers (X-Request-Id, If-Match) are lenient by design, and the bearer token is set by the test.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The event stream never ends, so a response body cannot be read and checked; tests/e2e/test_live.py
# and the contract walkthrough cover it.
EXCLUDED = {("GET", "/api/{user_id}/events")}
# These end the seed's session: fuzzed last, so that the other operations run signed in.
ENDS_SESSION = {("POST", "/api/auth/logout"), ("POST", "/api/auth/logout-all")}


def operations(schema):
    found = [result.ok() for result in schema.get_all_operations()]
    found = [operation for operation in found if (operation.method.upper(), operation.path) not in EXCLUDED]
    return sorted(found, key=lambda operation: (operation.method.upper(), operation.path) in ENDS_SESSION)


def fuzz(operation, mode, base_url, token, tally, failures):
    """Runs EXAMPLES generated requests of one operation; records every failing check."""
    # Most valid requests should reach the handler: the path's user is the caller ("me").
    path_parameters = {"user_id": "me"} if mode == GenerationMode.POSITIVE and "{user_id}" in operation.path else None
    strategy = operation.as_strategy(mode, path_parameters=path_parameters)
    session = requests.Session()

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=strategy)
    def run(case):
        response = case.call(base_url=base_url, session=session, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        tally[(operation.method.upper(), operation.path, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers={"Authorization": f"Bearer {token}"})
        except (AssertionError, FailureGroup) as error:  # every failing case, not only the first
            failures.append(f"{mode.value} {case.as_curl_command()}\n    -> {response.status_code} "
                            f"{response.text[:300]}\n    {str(error).strip()[:600]}")

    try:
        run()
    except Unsatisfiable:
        # Every input of the operation is optional and unconstrained (GET /healthz): nothing can be invalid.
        if mode != GenerationMode.NEGATIVE:
            raise


def fuzz_server(server):
    """Fuzzes every operation of the server's own /openapi.json; returns (cases per status, failures)."""
    seed = Client(server.base)
    for title in ("one", "two", "three"):  # ids 1-3: small generated ids hit real tasks
        seed.session.post(seed.url("/tasks"), json={"title": title}, timeout=10)
    schema = schemathesis.openapi.from_url(server.base + "/openapi.json")
    tally, failures = Counter(), []
    for operation in operations(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, server.base, seed.token, tally, failures)
    return tally, failures


def report(name, tally, failures, seconds):
    by_status = Counter()
    for (_, _, status), count in tally.items():
        by_status[status] += count
    operations = len({(method, path) for method, path, _ in tally})
    print(f"\nfuzz ({name}): {sum(tally.values())} requests over {operations} operations in {seconds:.0f} s; "
          f"statuses {dict(sorted(by_status.items()))}; {len(failures)} failing checks")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_fuzzing_the_document_finds_no_server_error_and_no_undocumented_answer(backend, start, request):
    url = request.getfixturevalue("postgres_url")[0] if backend == "postgres" else None
    environment = {"ACCESS_LOG": "false", "LOGIN_ATTEMPT_LIMIT": "10000", "MCP_URL": "http://127.0.0.1:9/mcp"}
    server = start("api", **environment, **({"DATABASE_URL": url} if url else {}))
    server.wait_ready()
    started = time.monotonic()
    tally, failures = fuzz_server(server)
    report(backend, tally, failures, time.monotonic() - started)
    assert server.process.poll() is None, "the server died"
    assert not failures, f"{len(failures)} failing checks:\n" + "\n".join(failures[:20])
    # Every fuzzed operation was reached, and positive cases got past authentication somewhere.
    assert len({(method, path) for method, path, _ in tally}) >= 20
    assert any(status < 300 for (_, path, status) in tally if path.startswith("/api/{user_id}"))
