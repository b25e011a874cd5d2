"""Slow and abusive clients against a real `todo api`: the server stays up, bounded in memory,
and keeps serving everyone else quickly.

Each test starts its own backend on a free 127.0.0.1 port, abuses it, then checks that
`/healthz` and a normal sign-up/create/list still answer.
"""
import json
import resource
import selectors
import socket
import statistics
import threading
import time

import pytest
import requests

from server import Client

MIB = 1 << 20
# Far above what this backend needs (~30 MiB idle), far below what an unbounded buffer would take.
RSS_LIMIT = 200 * MIB


def rss(pid):
    """Resident memory of a process in bytes, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def assert_still_serving(server, latency=2.0):
    """The process is alive, /healthz answers, and a new user can write and read a task quickly."""
    assert server.process.poll() is None, f"the server died: {server.output()[-2000:]}"
    started = time.monotonic()
    assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    user = Client(server.base)
    created = user.session.post(user.url("/tasks"), json={"title": "still here"}, timeout=5)
    assert created.status_code == 201, created.text
    listed = user.session.get(user.url("/tasks"), timeout=5).json()
    assert [task["title"] for task in listed["items"]] == ["still here"]
    elapsed = time.monotonic() - started
    assert elapsed < latency, f"a normal client took {elapsed:.2f} s"


def exchange(port, payload, timeout=10.0):
    """Sends raw bytes and returns (status or None, seconds); None means the server closed without answering."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
            head = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return None, time.monotonic() - started
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else None
    return status, time.monotonic() - started


def raise_open_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def api(start):
    """A backend that closes connections without a complete request head after 2 s."""
    raise_open_file_limit(4096)  # inherited by the server: room for the idle-connection test
    server = start("api", HTTP_IDLE_TIMEOUT_SECONDS=2, ACCESS_LOG="false")
    server.wait_ready()
    return server


def slowloris(server, count):
    """Opens `count` connections that trickle a header byte per second until the server closes
    them (at most 15 s), checking /healthz once a second meanwhile. Returns the seconds after
    which each was closed and the normal client's latencies."""
    slow = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        slow.append(sock)
    opened = time.monotonic()
    closed_after = {}
    latencies = []
    session = requests.Session()
    while len(closed_after) < len(slow) and time.monotonic() - opened < 15:
        for index, sock in enumerate(slow):
            if index in closed_after:
                continue
            try:
                if sock.recv(4096) == b"":
                    closed_after[index] = time.monotonic() - opened
                    continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_after[index] = time.monotonic() - opened
                continue
            try:
                sock.send(b"a")
            except (BrokenPipeError, ConnectionResetError):
                closed_after[index] = time.monotonic() - opened
        started = time.monotonic()
        assert session.get(server.base + "/healthz", timeout=5).status_code == 200
        latencies.append(time.monotonic() - started)
        time.sleep(1.0)
    for sock in slow:
        sock.close()
    print(f"\nslowloris on {server.role}: {len(closed_after)}/{len(slow)} slow connections closed, last after "
          f"{max(closed_after.values(), default=float('nan')):.1f} s; normal client median "
          f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    assert len(closed_after) == len(slow), f"{len(slow) - len(closed_after)} slow connections still open after 15 s"
    assert max(closed_after.values()) < 6, "slow connections were held far longer than the idle timeout"
    assert max(latencies) < 0.5, f"a normal request took {max(latencies):.2f} s next to the slow clients"


def test_slowloris_connections_are_closed_and_others_are_served(api):
    """Fifty clients trickle a header byte per second; the server drops them after its idle
    timeout (2 s here) while a normal client keeps its usual latency."""
    slowloris(api, 50)
    assert_still_serving(api)


@pytest.mark.parametrize("role, path, content_type", [
    ("api", "/api/auth/login", "application/json"),
    ("web", "/login", "application/x-www-form-urlencoded"),
])
def test_a_body_sent_a_byte_at_a_time_is_cut_off(api, start, role, path, content_type):
    """Every byte restarts the idle timeout; the whole body must still arrive within it (2 s
    here) of the request head, or the connection is closed."""
    server = api if role == "api" else start(role, BACKEND_URL=api.base, HTTP_IDLE_TIMEOUT_SECONDS=2, ACCESS_LOG="false")
    server.wait_ready()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                 "Content-Length: 1000\r\n\r\n".encode())
    sock.setblocking(False)
    started, closed_after, sent = time.monotonic(), None, 0
    while closed_after is None and time.monotonic() - started < 15:
        try:
            if sock.recv(4096) == b"":
                closed_after = time.monotonic() - started
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed_after = time.monotonic() - started
            break
        try:
            sent += sock.send(b" ")
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - started
            break
        time.sleep(0.25)
    sock.close()
    print(f"\nbody trickle on {role}: {sent} of 1000 bytes sent, closed after {closed_after} s")
    assert closed_after is not None, "a body trickled a byte at a time held the connection for 15 s"
    assert closed_after < 6
    assert_still_serving(api)


@pytest.mark.parametrize("role", ["web", "mcp"])
def test_the_web_ui_and_mcp_server_close_slow_connections_too(api, start, role):
    """The same server settings (HTTP_IDLE_TIMEOUT_SECONDS) hold for the other roles."""
    server = start(role, BACKEND_URL=api.base, HTTP_IDLE_TIMEOUT_SECONDS=2, ACCESS_LOG="false")
    server.wait_ready()
    slowloris(server, 20)


def test_two_thousand_idle_connections_stay_cheap(start):
    """2,000 connections that send nothing: accepted (or refused cleanly), memory stays bounded,
    and a normal client is served quickly meanwhile."""
    raise_open_file_limit(4096)
    server = start("api", ACCESS_LOG="false")  # default idle timeout (65 s): the connections stay
    server.wait_ready()
    Client(server.base)  # warm up: the first request allocates pools and caches
    before = rss(server.process.pid)
    idle, refused = [], 0
    for _ in range(2000):
        try:
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        except OSError:
            refused += 1
    time.sleep(1.0)  # let the server accept and set up every connection
    during = rss(server.process.pid)
    started = time.monotonic()
    assert_still_serving(server, latency=2.0)
    served_in = time.monotonic() - started
    still_open = sum(1 for sock in idle if _is_open(sock))
    for sock in idle:
        sock.close()
    time.sleep(1.0)
    after = rss(server.process.pid)
    print(f"\n2,000 idle connections: {len(idle)} connected, {refused} refused, {still_open} still open; "
          f"RSS before {before / MIB:.1f} MiB, during {during / MIB:.1f} MiB, after {after / MIB:.1f} MiB; "
          f"a normal client was served in {served_in * 1000:.0f} ms")
    assert len(idle) + refused == 2000
    assert during < RSS_LIMIT and after < RSS_LIMIT
    assert_still_serving(server)


def _is_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize("size", [64 << 10, 1 << 20])
def test_oversized_header_is_refused_without_harm(api, size):
    status, _ = exchange(api.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
    assert status in (400, 431, None), f"a {size >> 10} KiB header got {status}"
    assert_still_serving(api)


def test_too_many_headers_are_refused_without_harm(api):
    headers = b"".join(b"X-H%d: v\r\n" % n for n in range(5000))
    status, _ = exchange(api.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert status in (400, 431, None), f"5,000 headers got {status}"
    assert_still_serving(api)


def _read_response(sock):
    """Reads one response with a Content-Length body: the head and body may arrive in separate
    segments, so one recv is not enough. Stops early when the server closes."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer) < _response_length(answer):
        piece = sock.recv(65536)
        if not piece:
            break
        answer += piece
    return answer


def _response_length(answer):
    head, _, _ = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(head) + 4


def _huge_post(port, token, chunked, total=50 * MIB):
    """Streams a 50 MiB body 256 KiB at a time until the server answers; returns (status, bytes sent, seconds)."""
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % total
    head = (b"POST /api/me/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n" + framing + b"\r\n")
    piece = b"[" * (256 << 10)
    if chunked:
        piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
    started, sent, answer = time.monotonic(), 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ)
        sock.settimeout(0.2)  # a server that stopped reading must not block the sender
        pending = memoryview(b"")  # the rest of the current piece: chunk framing must stay intact
        try:
            while sent < total and not selector.select(timeout=0) and time.monotonic() - started < 30:
                pending = pending or memoryview(piece)
                try:
                    written = sock.send(pending)
                except socket.timeout:
                    continue
                pending, sent = pending[written:], sent + written
            sock.settimeout(10)
            answer = _read_response(sock)
        except (BrokenPipeError, ConnectionResetError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return status, answer, sent, time.monotonic() - started


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_huge_body_gets_413_quickly_without_buffering_it(api, chunked):
    user = Client(api.base)
    before = rss(api.process.pid)
    status, answer, sent, seconds = _huge_post(api.port, user.token, chunked)
    after = rss(api.process.pid)
    print(f"\n50 MiB body ({'chunked' if chunked else 'Content-Length'}): {status} after {sent / MIB:.2f} MiB "
          f"in {seconds * 1000:.0f} ms; RSS {before / MIB:.1f} -> {after / MIB:.1f} MiB")
    assert status == 413, answer[:300]
    assert b"payload_too_large" in answer
    assert seconds < 5
    assert after - before < 20 * MIB, "the server seems to have buffered the body"
    assert user.session.get(user.url("/tasks"), timeout=5).json()["items"] == []
    assert_still_serving(api)


NESTED = {
    "array": "[" * 100_000,
    "array, closed": "[" * 100_000 + "]" * 100_000,
    "object": '{"a":' * 100_000,
    "in a field": '{"title": "x", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}",
}
NESTED_ROUTES = [
    ("POST", "/api/me/tasks"), ("PUT", "/api/me/tasks/{id}"), ("PATCH", "/api/me/tasks/{id}"),
    ("PATCH", "/api/me/tasks/{id}/complete"), ("POST", "/api/me/import"), ("POST", "/api/me/chat"),
    ("POST", "/api/tokens"), ("POST", "/api/auth/signup"), ("POST", "/api/auth/login"),
]


def test_deeply_nested_json_is_a_clear_400_everywhere(api):
    """100,000 levels of nesting on every route that parses JSON: 400 invalid_json, no crash
    (a recursive parser would overflow its stack), and nothing stored."""
    user = Client(api.base)
    task = user.session.post(user.url("/tasks"), json={"title": "keep me"}, timeout=5).json()
    answers = {}
    for method, path in NESTED_ROUTES:
        for name, body in NESTED.items():
            reply = user.session.request(method, api.base + path.format(id=task["id"]), data=body.encode(),
                                         headers={"Content-Type": "application/json"}, timeout=10)
            answers[(method, path, name)] = reply.status_code
            assert reply.status_code == 400, f"{method} {path} with {name}: {reply.status_code} {reply.text[:200]}"
            error = reply.json()["error"]
            assert error["code"] == "invalid_json" and "JSON" in error["message"], error
    print(f"\ndeeply nested JSON: {len(answers)} requests, all 400 invalid_json")
    titles = [t["title"] for t in user.session.get(user.url("/tasks"), timeout=5).json()["items"]]
    assert titles == ["keep me"]
    assert_still_serving(api)
