"""Webhooks end to end: real `todo api` processes, a receiver that verifies every signature with
the `standardwebhooks` reference library, retries, the address policy, and two replicas on one
PostgreSQL with one killed mid-way."""
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from server import Client, wait_for_counter
from webhook_receiver import Receiver

ALL_EVENTS = ["task.created", "task.updated", "task.completed", "task.deleted", "reminder.due"]


def in_seconds(seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def subscribe(user: Client, receiver: Receiver, path: str, events=ALL_EVENTS, project_id: str | None = None) -> dict:
    body = {"url": receiver.base + path, "events": events} | ({"project_id": project_id} if project_id else {})
    reply = user.session.post(user.url("/webhooks"), json=body, timeout=10)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert created["secret"].startswith("whsec_") and created["events"] == events and created["project_id"] == project_id
    receiver.secrets[path] = created["secret"]
    return created


def test_every_kind_of_event_arrives_signed(start, receiver):
    server = start("api", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", REMINDER_INTERVAL_MS=100)
    server.wait_ready()
    user = Client(server.base)
    webhook = subscribe(user, receiver, "/all")
    task = user.session.post(user.url("/tasks"), json={"title": "water the plants", "remind_at": in_seconds(1)}, timeout=5).json()
    receiver.wait_for("/all", 2)  # created, then the reminder
    # A payload holds the task as it is when sent: each step waits for the one before to arrive.
    user.session.patch(user.url(f"/tasks/{task['id']}"), json={"title": "water the ferns"}, timeout=5)
    receiver.wait_for("/all", 3)
    user.session.patch(user.url(f"/tasks/{task['id']}/complete"), timeout=5)
    receiver.wait_for("/all", 4)
    user.session.delete(user.url(f"/tasks/{task['id']}"), timeout=5)

    # Sends run concurrently, so arrival order is not event order; the ids are (they grow).
    received = sorted(receiver.wait_for("/all", 5), key=lambda d: int(d["id"]))
    assert [d["type"] for d in received] == ALL_EVENTS[:1] + ["reminder.due", "task.updated", "task.completed", "task.deleted"]
    assert received[2]["data"]["title"] == "water the ferns" and received[3]["data"]["completed"] is True
    assert received[4]["data"] == {"id": task["id"]}
    assert all(d["id"] == d["webhook_id"] for d in received), "the payload's id is the webhook-id header"
    assert len({d["id"] for d in received}) == 5

    listed = user.session.get(user.url("/webhooks"), timeout=5).json()["items"]
    assert [w["id"] for w in listed] == [webhook["id"]] and "secret" not in listed[0]
    deliveries = user.session.get(user.url(f"/webhooks/{webhook['id']}/deliveries"), timeout=5).json()["items"]
    assert [(d["type"], d["attempt"], d["status"]) for d in deliveries][0] == ("task.deleted", 1, 200)
    assert all(d["delivered_at"] for d in deliveries) and len(deliveries) == 5


def test_a_subscription_gets_only_the_events_it_chose_and_only_its_users(start, receiver):
    server = start("api", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    server.wait_ready()
    ann, bob = Client(server.base), Client(server.base)
    subscribe(ann, receiver, "/completions", events=["task.completed"])
    subscribe(ann, receiver, "/updates", events=["task.updated"])
    bob.session.post(bob.url("/tasks"), json={"title": "bob's"}, timeout=5)
    task = ann.session.post(ann.url("/tasks"), json={"title": "ann's"}, timeout=5).json()
    ann.session.patch(ann.url(f"/tasks/{task['id']}/complete"), timeout=5)
    assert [d["type"] for d in receiver.wait_for("/completions", 1)] == ["task.completed"]
    assert [d["type"] for d in receiver.wait_for("/updates", 1)] == ["task.updated"], "a completion is an update to who asked only for those"
    time.sleep(1)
    assert len(receiver.verified("/completions")) == 1 and len(receiver.verified("/updates")) == 1


def test_a_projects_webhook_gets_the_events_of_that_projects_tasks_and_not_the_inboxs(start, receiver):
    server = start("api", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    server.wait_ready()
    user = Client(server.base)
    garden = user.session.post(user.url("/projects"), json={"name": "Garden"}, timeout=5).json()
    hook = subscribe(user, receiver, "/garden", events=["task.created", "task.completed"], project_id=garden["id"])
    subscribe(user, receiver, "/everything", events=["task.created"])
    user.session.post(user.url("/tasks"), json={"title": "in the inbox"}, timeout=5)
    task = user.session.post(user.url("/tasks"), json={"title": "sow", "project_id": garden["id"]}, timeout=5).json()
    user.session.patch(user.url(f"/tasks/{task['id']}/complete"), timeout=5)

    received = sorted(receiver.wait_for("/garden", 2), key=lambda d: int(d["id"]))
    assert [(d["type"], d["data"]["id"], d["data"]["project_id"]) for d in received] == [
        ("task.created", task["id"], garden["id"]), ("task.completed", task["id"], garden["id"])]
    assert {d["data"]["title"] for d in receiver.wait_for("/everything", 2)} == {"in the inbox", "sow"}
    # Deliveries are queued with their event: the list is complete as soon as the writes answered.
    deliveries = user.session.get(user.url(f"/webhooks/{hook['id']}/deliveries"), timeout=5).json()["items"]
    assert [d["type"] for d in deliveries] == ["task.completed", "task.created"]
    assert len(receiver.verified("/garden")) == 2


def test_a_failing_receiver_gets_the_same_event_again_until_it_answers(start, receiver):
    server = start("api", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    server.wait_ready()
    user = Client(server.base)
    webhook = subscribe(user, receiver, "/flaky", events=["task.created"])
    receiver.scripts["/flaky"] = [500, 500]
    user.session.post(user.url("/tasks"), json={"title": "try again"}, timeout=5)
    received = receiver.wait_for("/flaky", 3, timeout=20)
    assert [d["status"] for d in received] == [500, 500, 200]
    assert len({d["webhook_id"] for d in received}) == 1, "every attempt carries the same id, so the receiver can deduplicate"
    deliveries = user.session.get(user.url(f"/webhooks/{webhook['id']}/deliveries"), timeout=5).json()["items"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(3, 200)]
    wait_for_counter(server.base, 'webhook_attempts_total{outcome="retry"}', 2)
    wait_for_counter(server.base, 'webhook_attempts_total{outcome="delivered"}', 1)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.1.2.3/hook", "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook", "ftp://example.com/hook",
    "/relative", "http://user:pass@example.com/hook",
])
def test_webhooks_to_the_servers_own_networks_are_refused(start, url):
    server = start("api")
    server.wait_ready()
    user = Client(server.base)
    reply = user.session.post(user.url("/webhooks"), json={"url": url, "events": ["task.created"]}, timeout=10)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["details"][0]["field"] == "url"
    assert user.session.get(user.url("/webhooks"), timeout=5).json()["items"] == []


def test_bad_subscriptions_are_refused_with_the_field(start, receiver):
    server = start("api", WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    server.wait_ready()
    user, stranger = Client(server.base), Client(server.base)
    for body in ({"url": receiver.base, "events": []}, {"url": receiver.base, "events": ["task.exploded"]},
                 {"url": receiver.base}, {"url": receiver.base, "events": ["task.created"], "project_id": "7"}):
        reply = user.session.post(user.url("/webhooks"), json=body, timeout=10)
        assert reply.status_code == 422, (body, reply.text)
    webhook = subscribe(user, receiver, "/mine", events=["task.created"])
    assert stranger.session.get(stranger.url(f"/webhooks/{webhook['id']}/deliveries"), timeout=5).status_code == 404
    assert stranger.session.delete(stranger.url(f"/webhooks/{webhook['id']}"), timeout=5).status_code == 404
    assert user.session.delete(user.url(f"/webhooks/{webhook['id']}"), timeout=5).status_code == 204
    assert user.session.get(user.url("/webhooks"), timeout=5).json()["items"] == []


def test_two_replicas_deliver_fifty_reminders_once_each_though_one_is_killed(postgres_url, start):
    url, _ = postgres_url
    receiver = Receiver(delay=0.05)  # slow enough that deliveries are in flight when a replica dies
    try:
        first = start("api", DATABASE_URL=url, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", REMINDER_INTERVAL_MS=100)
        first.wait_ready()
        second = start("api", DATABASE_URL=url, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", REMINDER_INTERVAL_MS=100)
        second.wait_ready()
        user = Client(first.base)
        subscribe(user, receiver, "/reminders", events=["reminder.due"])
        due = in_seconds(2)
        for number in range(50):
            reply = user.session.post(user.url("/tasks"), json={"title": f"reminder {number}", "remind_at": due}, timeout=5)
            assert reply.status_code == 201
        receiver.wait_for("/reminders", 5, timeout=20)
        first.stop(signal.SIGKILL)
        # A delivery the killed replica had claimed goes out again once its 30 s lease ends.
        received = receiver.wait_for("/reminders", 50, timeout=60)
        time.sleep(1)
        ids = [d["webhook_id"] for d in receiver.verified("/reminders")]
        tasks = {d["data"]["id"] for d in receiver.verified("/reminders")}
        assert len(tasks) == 50, "lost reminders"
        assert len(set(ids)) == 50, "one id per reminder"
        print(f"reminders: 50, requests received: {len(ids)} (repeats of an id after the kill: {len(ids) - len(set(ids))})")
        assert len(received) >= 50
    finally:
        receiver.close()
