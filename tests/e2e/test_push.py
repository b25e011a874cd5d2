"""Web Push end to end: real `todo api` processes send due reminders to a local push service that
verifies the VAPID signature and decrypts every message (push_service.py); gone subscriptions,
retries, the address policy, and two replicas on one PostgreSQL with one killed mid-way."""
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from push_service import PushService, b64url
from server import Client, wait_for_counter


def in_seconds(seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_vapid_key() -> str:
    """What `VAPID_PRIVATE_KEY` takes: the private scalar, 32 bytes in base64url."""
    return b64url(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


def start_api(start, service: PushService, **env):
    env.setdefault("VAPID_PRIVATE_KEY", new_vapid_key())
    server = start("api", PUSH_ALLOWED_NETWORKS="127.0.0.0/8", VAPID_SUBJECT="mailto:ops@example.com", REMINDER_INTERVAL_MS=100, **env)
    server.wait_ready()
    key = requests.get(f"{server.base}/api/push/vapid-public-key", timeout=5)
    assert key.status_code == 200, key.text
    service.server_key = key.json()["key"]
    return server


def subscribe(user: Client, subscription: dict) -> str:
    reply = user.session.post(user.url("/push-subscriptions"), json=subscription, timeout=10)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_a_due_reminder_reaches_each_device_of_its_user_once(start, push_service):
    server = start_api(start, push_service)
    ann, bob = Client(server.base), Client(server.base)
    phone, laptop = push_service.device("phone"), push_service.device("laptop")
    phone_id = subscribe(ann, phone.subscription())
    subscribe(ann, laptop.subscription())
    assert subscribe(ann, phone.subscription()) == phone_id, "the same endpoint again is the same subscription"
    subscribe(bob, push_service.device("bobs").subscription())
    ann.session.post(ann.url("/tasks"), json={"title": "no reminder"}, timeout=5)
    due = in_seconds(3600)
    task = ann.session.post(ann.url("/tasks"), json={"title": "water the plants", "due_at": due, "remind_at": in_seconds(1)}, timeout=5).json()

    received = push_service.wait_for(2)
    time.sleep(1.5)
    received = push_service.received()
    assert sorted(m["device"] for m in received) == ["laptop", "phone"], "once to each of the user's devices, nothing to others"
    for message in received:
        payload = message["payload"]
        assert payload["type"] == "reminder.due" and payload["task"]["id"] == task["id"]
        assert payload["task"]["title"] == "water the plants" and payload["task"]["due_at"] == task["due_at"]
        assert message["headers"]["topic"] == f"reminder-{payload['id']}"
    assert received[0]["payload"]["id"] == received[1]["payload"]["id"]


def test_a_subscription_the_push_service_says_is_gone_is_removed(start, push_service):
    server = start_api(start, push_service)
    user = Client(server.base)
    old, current = push_service.device("old"), push_service.device("current")
    old_id = subscribe(user, old.subscription())
    subscribe(user, current.subscription())
    push_service.scripts["old"] = [410]
    user.session.post(user.url("/tasks"), json={"title": "first", "remind_at": in_seconds(0.5)}, timeout=5)
    push_service.wait_for(1, "old")
    push_service.wait_for(1, "current")
    time.sleep(0.5)
    user.session.post(user.url("/tasks"), json={"title": "second", "remind_at": in_seconds(0.5)}, timeout=5)
    push_service.wait_for(2, "current")
    time.sleep(1)
    assert [m["status"] for m in push_service.received("old")] == [410], "nothing more to a gone subscription"
    assert user.session.delete(user.url(f"/push-subscriptions/{old_id}"), timeout=5).status_code == 404, "already deleted"
    wait_for_counter(server.base, 'push_attempts_total{outcome="gone"}', 1)
    wait_for_counter(server.base, 'push_attempts_total{outcome="delivered"}', 2)


def test_a_busy_push_service_gets_the_message_again(start, push_service):
    server = start_api(start, push_service)
    user = Client(server.base)
    device = push_service.device("busy")
    subscribe(user, device.subscription())
    push_service.scripts["busy"] = [503, 429]
    user.session.post(user.url("/tasks"), json={"title": "retry me", "remind_at": in_seconds(0.5)}, timeout=5)
    received = push_service.wait_for(3, "busy", timeout=20)
    time.sleep(1)
    received = push_service.received("busy")
    assert [m["status"] for m in received] == [503, 429, 201]
    assert len({m["payload"]["id"] for m in received}) == 1 and received[0]["payload"]["task"]["title"] == "retry me"


def test_push_is_off_without_a_key(start):
    server = start("api")
    server.wait_ready()
    user = Client(server.base)
    reply = requests.get(f"{server.base}/api/push/vapid-public-key", timeout=5)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "push_disabled"
    service = PushService()
    try:
        reply = user.session.post(user.url("/push-subscriptions"), json=service.device("d").subscription(), timeout=5)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "push_disabled"
    finally:
        service.close()


def test_bad_subscriptions_are_refused_and_others_cannot_delete_them(start, push_service):
    server = start_api(start, push_service)
    user, stranger = Client(server.base), Client(server.base)
    good = push_service.device("good").subscription()
    for body in ({**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}},
                 {**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "c2hvcnQ"}},
                 {"endpoint": good["endpoint"]},
                 {**good, "endpoint": "http://198.51.100.7/push/x"},
                 {**good, "endpoint": "https://10.1.2.3/push/x"},
                 {**good, "endpoint": "ftp://example.com/x"}):
        reply = user.session.post(user.url("/push-subscriptions"), json=body, timeout=10)
        assert reply.status_code == 422, (body, reply.text)
    subscription_id = subscribe(user, good)
    assert stranger.session.delete(stranger.url(f"/push-subscriptions/{subscription_id}"), timeout=5).status_code == 404
    assert user.session.delete(user.url(f"/push-subscriptions/{subscription_id}"), timeout=5).status_code == 204
    assert user.session.delete(user.url("/push-subscriptions/not-an-id"), timeout=5).status_code == 404


def test_two_replicas_send_fifty_reminders_to_two_devices_though_one_is_killed(postgres_url, start):
    url, _ = postgres_url
    service = PushService(delay=0.05)  # slow enough that messages are in flight when a replica dies
    try:
        key = new_vapid_key()  # every replica signs with the same key
        first = start_api(start, service, DATABASE_URL=url, VAPID_PRIVATE_KEY=key)
        start_api(start, service, DATABASE_URL=url, VAPID_PRIVATE_KEY=key)
        user = Client(first.base)
        for name in ("phone", "laptop"):
            subscribe(user, service.device(name).subscription())
        due = in_seconds(2)
        for number in range(50):
            reply = user.session.post(user.url("/tasks"), json={"title": f"reminder {number}", "remind_at": due}, timeout=5)
            assert reply.status_code == 201
        service.wait_for(10, timeout=20)
        first.stop(signal.SIGKILL)
        # A message the killed replica had claimed goes out again once its 30 s lease ends.
        service.wait_for(100, timeout=60)
        time.sleep(1)
        received = service.received()
        pairs = [(m["device"], m["payload"]["task"]["id"]) for m in received]
        assert len(set(pairs)) == 100, "lost reminders"
        assert {device for device, _ in pairs} == {"phone", "laptop"}
        print(f"reminders: 50 x 2 devices, messages received: {len(pairs)} (repeats after the kill: {len(pairs) - len(set(pairs))})")
        assert len(pairs) - len(set(pairs)) <= 50, "only messages in flight at the kill may come twice"
    finally:
        service.close()
