"""Every channel at once, as the reminders issue asks: two `todo api` replicas on one PostgreSQL,
one user with a webhook and two push devices, 50 reminders due together. With no process dying,
each channel and device gets each reminder exactly once: not one lost, not one twice.
(test_webhooks.py and test_push.py kill a replica mid-way: nothing lost, and only what was in
flight at the kill may come again, with the same id.)"""
import time

from push_service import PushService
from server import Client
from test_push import in_seconds, new_vapid_key, start_api, subscribe
from webhook_receiver import Receiver

REMINDERS = 50


def test_two_replicas_send_each_reminder_once_per_channel_and_device(postgres_url, start):
    url, _ = postgres_url
    service = PushService(delay=0.01)
    receiver = Receiver(delay=0.01)
    try:
        key = new_vapid_key()
        environment = {"DATABASE_URL": url, "VAPID_PRIVATE_KEY": key, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
        first = start_api(start, service, **environment)
        start_api(start, service, **environment)
        user = Client(first.base)
        hook = user.session.post(user.url("/webhooks"), json={"url": receiver.base + "/due", "events": ["reminder.due"]}, timeout=10)
        assert hook.status_code == 201, hook.text
        receiver.secrets["/due"] = hook.json()["secret"]
        for name in ("phone", "laptop"):
            subscribe(user, service.device(name).subscription())

        due = in_seconds(2)
        created = set()
        for number in range(REMINDERS):
            reply = user.session.post(user.url("/tasks"), json={"title": f"reminder {number}", "remind_at": due}, timeout=5)
            assert reply.status_code == 201
            created.add(reply.json()["id"])
        receiver.wait_for("/due", REMINDERS, timeout=30)
        service.wait_for(2 * REMINDERS, timeout=30)
        time.sleep(1.5)  # a second replica's duplicate, if any, would arrive by now

        deliveries = receiver.verified("/due")
        assert sorted(d["data"]["id"] for d in deliveries) == sorted(created), "each reminder once by webhook"
        assert len({d["webhook_id"] for d in deliveries}) == REMINDERS
        for device in ("phone", "laptop"):
            tasks = sorted(m["payload"]["task"]["id"] for m in service.received(device))
            assert tasks == sorted(created), f"each reminder once on the {device}"
        print(f"reminders: {REMINDERS}; webhook requests: {len(deliveries)}, push messages: {len(service.received())}, "
              "repeats: 0, lost: 0")
    finally:
        service.close()
        receiver.close()
