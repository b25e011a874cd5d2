"""A shared project's live events, through two `todo api` replicas on one PostgreSQL."""
import queue
import urllib.parse

import pytest

from server import Client
from sse import EventStream


def join(owner: Client, member: Client, project: str, role: str, through: str) -> None:
    """Invites `member` by e-mail and accepts through the replica at `through`, with the link's
    secret: open sign-up proves no address, so the invitation is not listed to the account."""
    invited = owner.session.post(owner.url(f"/projects/{project}/invitations"), json={"email": member.email, "role": role}, timeout=5)
    assert invited.status_code == 202, invited.text
    assert member.session.get(f"{through}/api/me/invitations", timeout=5).json()["items"] == []
    link = urllib.parse.urlsplit(invited.json()["accept_url"])
    token = urllib.parse.parse_qs(link.query)["token"][0]
    accepted = member.session.post(f"{through}/api/me{link.path}/accept", json={"token": token}, timeout=5)
    assert accepted.status_code == 200 and accepted.json()["role"] == role


def test_an_editors_change_on_one_replica_reaches_members_on_the_other_and_a_removed_member_hears_nothing_more(postgres_url, start):
    url, _ = postgres_url
    # Replica A polls only every 10 s: events within 3 s came through NOTIFY.
    a = start("api", DATABASE_URL=url, EVENT_HEARTBEAT_SECONDS=1, EVENT_POLL_INTERVAL_MS=10_000)
    a.wait_ready()
    b = start("api", DATABASE_URL=url, EVENT_HEARTBEAT_SECONDS=1, EVENT_POLL_INTERVAL_MS=10_000)
    b.wait_ready()
    owner, editor, viewer = Client(a.base), Client(a.base), Client(a.base)
    project = owner.session.post(owner.url("/projects"), json={"name": "Household"}, timeout=5).json()["id"]
    join(owner, editor, project, "editor", a.base)
    join(owner, viewer, project, "viewer", b.base)

    owners_stream = EventStream(f"{b.base}/api/me/events", owner.token)
    viewers_stream = EventStream(f"{b.base}/api/me/events", viewer.token)
    try:
        created = editor.session.post(editor.url("/tasks"), json={"title": "milk", "project_id": project}, timeout=5)
        assert created.status_code == 201, created.text
        for stream in (owners_stream, viewers_stream):
            event = stream.next(timeout=3)
            assert (event["event"], event["data"]["title"], event["data"]["project_id"]) == ("task.created", "milk", project)

        removed = owner.session.delete(f"{b.base}/api/me/projects/{project}/members/{viewer.user_id}", timeout=5)
        assert removed.status_code == 204
        task = created.json()["id"]
        assert editor.session.patch(editor.url(f"/tasks/{task}"), json={"title": "oat milk"}, timeout=5).status_code == 200
        assert editor.session.post(editor.url("/tasks"), json={"title": "eggs", "project_id": project}, timeout=5).status_code == 201
        assert [e["data"]["title"] for e in owners_stream.collect(2, timeout=3)] == ["oat milk", "eggs"]
        with pytest.raises(queue.Empty):
            viewers_stream.next(timeout=2)
        assert viewer.session.get(f"{b.base}/api/me/tasks/{task}", timeout=5).status_code == 404
    finally:
        owners_stream.close()
        viewers_stream.close()

    # Nor does a stream the removed member opens again, resuming from before the removal.
    resumed = EventStream(f"{a.base}/api/me/events", viewer.token, last_event_id="0")
    try:
        with pytest.raises(queue.Empty):
            resumed.next(timeout=1.5)
    finally:
        resumed.close()
