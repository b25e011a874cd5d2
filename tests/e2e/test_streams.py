"""Live-event streams cannot starve a server: each user (through the web UI, each session) holds
at most EVENT_STREAMS_PER_USER of them, and the web UI gives streams a pool of backend
connections of their own (EVENT_STREAM_CONNECTIONS), so that pages never wait behind them.

Before, any account could open streams until the web UI's one pool of backend connections was
spent, and every page then waited for a connection until its timeout."""
import time

import requests

from server import Client, free_port

HEADERS = {"Accept": "text/event-stream"}


def open_stream(base, token):
    return requests.get(f"{base}/api/me/events", headers={**HEADERS, "Authorization": f"Bearer {token}"},
                        stream=True, timeout=(5, 30))


def close(streams):
    for stream in streams:
        stream.close()


def test_the_backend_caps_streams_per_user_and_frees_a_place_when_one_closes(start):
    api = start("api", EVENT_STREAMS_PER_USER=3, EVENT_HEARTBEAT_SECONDS=1)
    api.wait_ready()
    ann, bob = Client(api.base), Client(api.base)
    streams = [open_stream(api.base, ann.token) for _ in range(3)]
    try:
        assert [s.status_code for s in streams] == [200, 200, 200]
        refused = open_stream(api.base, ann.token)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_streams" and refused.headers["Retry-After"] == "30"
        # Another user is not affected.
        other = open_stream(api.base, bob.token)
        assert other.status_code == 200
        other.close()
        # A closed stream gives its place back (noticed at the next heartbeat at the latest).
        streams.pop().close()
        deadline = time.monotonic() + 5
        while (again := open_stream(api.base, ann.token)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert again.status_code == 200
        streams.append(again)
    finally:
        close(streams)


def test_streams_through_the_web_ui_have_their_own_pool_and_a_cap_per_session(start):
    api = start("api", EVENT_STREAMS_PER_USER=100, EVENT_HEARTBEAT_SECONDS=1)
    api.wait_ready()
    web = start("web", PORT=free_port(), BACKEND_URL=api.base, EVENT_STREAMS_PER_USER=2, EVENT_STREAM_CONNECTIONS=4,
                DATABASE_URL=None, AUTH_SECRET=None)
    web.wait_ready()
    users = [Client(api.base) for _ in range(3)]
    streams = []
    try:
        # Per session: two streams, the third refused at once.
        streams += [open_stream(web.base, users[0].token) for _ in range(2)]
        assert [s.status_code for s in streams] == [200, 200]
        third = open_stream(web.base, users[0].token)
        assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_streams"
        # The pool for streams holds four: the fifth stream is refused at once, not left waiting.
        streams += [open_stream(web.base, users[1].token) for _ in range(2)]
        assert [s.status_code for s in streams] == [200] * 4
        started = time.monotonic()
        fifth = open_stream(web.base, users[2].token)
        assert fifth.status_code == 503 and time.monotonic() - started < 2, fifth.text
        # Pages and API calls do not wait behind the streams.
        started = time.monotonic()
        listed = requests.get(f"{web.base}/api/me/tasks", headers={"Authorization": f"Bearer {users[2].token}"}, timeout=5)
        assert listed.status_code == 200 and time.monotonic() - started < 2
        assert requests.get(f"{web.base}/login", timeout=5).status_code == 200
    finally:
        close(streams)
