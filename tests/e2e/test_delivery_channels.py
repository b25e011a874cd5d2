"""Every channel at once, as the reminders issue asks: two `todo api` replicas on one PostgreSQL,
one user with a webhook, two push devices and e-mail reminders, 50 reminders due together. With no process dying,
each channel and device gets each reminder exactly once: not one lost, not one twice.
(test_webhooks.py, test_push.py and test_mail_reminders.py kill a replica mid-way: nothing lost, and only what was in
flight at the kill may come again, with the same id.)"""
import time

from push_service import PushService
from server import Client
from smtp_sink import Mailbox
from test_push import in_seconds, new_vapid_key, start_api, subscribe
from webhook_receiver import Receiver

REMINDERS = 50


def test_two_replicas_send_each_reminder_once_per_channel_and_device(postgres_url, start):
    url, _ = postgres_url
    service = PushService(delay=0.01)
    receiver = Receiver(delay=0.01)
    mailbox = Mailbox(delay=0.01).__enter__()
    try:
        key = new_vapid_key()
        environment = {"DATABASE_URL": url, "VAPID_PRIVATE_KEY": key, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                       "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}", "MAIL_FROM": "todo@example.com", "PUBLIC_WEB_URL": "https://todo.example"}
        first = start_api(start, service, **environment)
        start_api(start, service, **environment)
        user = Client(first.base)
        hook = user.session.post(user.url("/webhooks"), json={"url": receiver.base + "/due", "events": ["reminder.due"]}, timeout=10)
        assert hook.status_code == 201, hook.text
        receiver.secrets["/due"] = hook.json()["secret"]
        for name in ("phone", "laptop"):
            subscribe(user, service.device(name).subscription())
        mail = user.session.patch(user.url("/notification-settings"), json={"email_reminders": True}, timeout=10)
        assert mail.status_code == 200, mail.text

        due = in_seconds(2)
        created = set()
        for number in range(REMINDERS):
            reply = user.session.post(user.url("/tasks"), json={"title": f"reminder {number}", "remind_at": due}, timeout=5)
            assert reply.status_code == 201
            created.add(reply.json()["id"])
        receiver.wait_for("/due", REMINDERS, timeout=30)
        service.wait_for(2 * REMINDERS, timeout=30)
        mailbox.wait_for(REMINDERS, timeout=30)
        time.sleep(1.5)  # a second replica's duplicate, if any, would arrive by now

        deliveries = receiver.verified("/due")
        assert sorted(d["data"]["id"] for d in deliveries) == sorted(created), "each reminder once by webhook"
        assert len({d["webhook_id"] for d in deliveries}) == REMINDERS
        for device in ("phone", "laptop"):
            tasks = sorted(m["payload"]["task"]["id"] for m in service.received(device))
            assert tasks == sorted(created), f"each reminder once on the {device}"
        mails = mailbox.mails_to(user.email)
        links = sorted(m.get_content().split("https://todo.example/tasks/")[1].split()[0] for m in mails)
        assert links == sorted(created), "each reminder once by mail"
        assert len({m["Message-ID"] for m in mails}) == REMINDERS
        print(f"reminders: {REMINDERS}; webhook requests: {len(deliveries)}, push messages: {len(service.received())}, "
              f"mails: {len(mails)}, repeats: 0, lost: 0")
    finally:
        service.close()
        receiver.close()
        mailbox.__exit__()
