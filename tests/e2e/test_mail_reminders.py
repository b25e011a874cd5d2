"""E-mail reminders and the daily digest end to end, with a real SMTP server (aiosmtpd): a reminder
mail reaches a user who turned them on, once; a digest arrives at its local time with what is due
that day; a server answering 451 gets the mail again; two replicas on one PostgreSQL with one killed
mid-way lose no mail."""
import signal
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from server import Client, wait_for_counter
from smtp_sink import Mailbox
from test_push import in_seconds

WEB_URL = "https://todo.example"


@pytest.fixture
def mailbox():
    with Mailbox() as box:
        yield box


def start_api(start, mailbox: Mailbox, **env):
    server = start("api", SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}", MAIL_FROM="Todo <todo@example.com>", PUBLIC_WEB_URL=WEB_URL,
                   REMINDER_INTERVAL_MS=100, **env)
    server.wait_ready()
    return server


def settings(user: Client, **fields) -> dict:
    reply = user.session.patch(user.url("/notification-settings"), json=fields, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def add_task(user: Client, **fields) -> dict:
    reply = user.session.post(user.url("/tasks"), json=fields, timeout=10)
    assert reply.status_code == 201, reply.text
    return reply.json()


def utc(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_settings_start_off_change_in_part_and_refuse_bad_values(start, mailbox):
    user = Client(start_api(start, mailbox).base)
    reply = user.session.get(user.url("/notification-settings"), timeout=10)
    assert reply.status_code == 200
    assert reply.json() == {"email_reminders": False, "daily_digest": False, "digest_time": "07:00", "time_zone": "UTC", "mail_enabled": True}
    assert settings(user, daily_digest=True, time_zone="Europe/Paris") == {
        "email_reminders": False, "daily_digest": True, "digest_time": "07:00", "time_zone": "Europe/Paris", "mail_enabled": True}
    for body, field in (({"digest_time": "7:00"}, "digest_time"), ({"digest_time": "24:00"}, "digest_time"),
                        ({"time_zone": "Mars/Olympus"}, "time_zone"), ({"email_reminders": "yes"}, "email_reminders")):
        reply = user.session.patch(user.url("/notification-settings"), json=body, timeout=10)
        assert reply.status_code == 422, (body, reply.text)
        error = reply.json()["error"]
        assert error["code"] == "validation_failed" and error["details"][0]["field"] == field
    assert user.session.get(user.url("/notification-settings"), timeout=10).json()["time_zone"] == "Europe/Paris", "nothing saved"


def test_without_a_mail_server_both_stay_off(start):
    server = start("api")
    server.wait_ready()
    user = Client(server.base)
    reply = user.session.patch(user.url("/notification-settings"), json={"email_reminders": True}, timeout=10)
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "mail_disabled"
    assert settings(user, digest_time="08:15")["digest_time"] == "08:15", "the rest can be saved"
    assert user.session.get(user.url("/notification-settings"), timeout=10).json()["email_reminders"] is False


def test_a_reminder_mail_arrives_once_with_its_title_due_time_and_link(start, mailbox):
    server = start_api(start, mailbox)
    ann, bob = Client(server.base), Client(server.base)
    settings(ann, email_reminders=True, time_zone="Asia/Tokyo")
    title = "Pay the café bill ☕ — ünïcode"
    due = datetime(2030, 6, 1, 3, 30, tzinfo=timezone.utc)
    task = add_task(ann, title=title, due_at=utc(due), remind_at=in_seconds(1))
    add_task(bob, title="bob's reminder", remind_at=in_seconds(1))

    mail = mailbox.wait_for_mail_to(ann.email)
    mailbox.quiet(1.5)
    assert len(mailbox.mails_to(ann.email)) == 1, "once"
    assert mailbox.mails_to(bob.email) == [], "reminder mails are opt-in"
    assert mail["Subject"] == f"Reminder: {title}"
    body = mail.get_content()
    assert f"{WEB_URL}/tasks/{task['id']}" in body
    assert "Sat 1 Jun 2030, 12:30 (Asia/Tokyo)" in body, body
    assert mail["Message-ID"].startswith("<reminder-") and mail["Message-ID"].endswith("@example.com>")


def test_a_server_that_answers_451_gets_the_mail_again(start):
    with Mailbox(refusals=["451 4.3.0 try again later"]) as mailbox:
        server = start_api(start, mailbox)
        user = Client(server.base)
        settings(user, email_reminders=True)
        add_task(user, title="retry me", remind_at=in_seconds(0.5))
        mail = mailbox.wait_for_mail_to(user.email, timeout=20)
        assert len(mailbox.refused) == 1 and mailbox.refused[0]["Message-ID"] == mail["Message-ID"], "the same mail, again"
        assert mail["Subject"] == "Reminder: retry me"
        wait_for_counter(server.base, 'mail_attempts_total{outcome="retry"}', 1)
        wait_for_counter(server.base, 'mail_attempts_total{outcome="delivered"}', 1)


def test_the_digest_arrives_at_its_local_time_with_what_is_due_that_day(start, mailbox):
    server = start_api(start, mailbox)
    zone_name = "Asia/Kolkata"  # +05:30: the digest's minute is local, not UTC's
    zone = ZoneInfo(zone_name)
    now = datetime.now(zone)
    if now.second > 50:  # too close to the next minute to set it up before it passes
        time.sleep(61 - now.second)
        now = datetime.now(zone)
    at = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if at.date() != now.date() or now.hour == 23 and now.minute >= 50:
        pytest.skip("too close to local midnight for a 'today'")
    ann, idle = Client(server.base), Client(server.base)
    start_of_day = at.replace(hour=0, minute=0)
    add_task(ann, title="overdue since yesterday", due_at=utc(start_of_day - timedelta(hours=3)))
    add_task(ann, title="due later today", due_at=utc(at.replace(hour=23, minute=59)))
    add_task(ann, title="due tomorrow", due_at=utc(start_of_day + timedelta(days=1, hours=9)))
    done = add_task(ann, title="done already", due_at=utc(at))
    assert ann.session.patch(ann.url(f"/tasks/{done['id']}"), json={"completed": True}, timeout=10).status_code == 200
    add_task(ann, title="no due date")
    add_task(idle, title="due next year", due_at=utc(now + timedelta(days=365)))
    for user in (ann, idle):
        settings(user, daily_digest=True, digest_time=at.strftime("%H:%M"), time_zone=zone_name)

    mail = mailbox.wait_for_mail_to(ann.email, timeout=90)
    arrived = datetime.now(zone)
    assert arrived >= at, f"sent at {arrived}, before its time {at}"
    assert mail["Subject"] == f"Todo digest for {at.date().isoformat()}: 2 tasks due"
    body = mail.get_content()
    assert "due later today" in body and "overdue since yesterday" in body
    assert "due tomorrow" not in body and "done already" not in body and "no due date" not in body
    assert "(due " + at.replace(hour=23, minute=59).strftime("%a %-d %b %Y, %H:%M") + ")" in body, body
    assert f"Times are in {zone_name}." in body
    assert mail["Message-ID"].startswith(f"<digest-{at.date().isoformat()}.")
    mailbox.quiet(2)
    assert len(mailbox.mails_to(ann.email)) == 1 and mailbox.mails_to(idle.email) == [], "nothing due: no digest"


def test_two_replicas_send_fifty_reminder_mails_though_one_is_killed(postgres_url, start):
    url, _ = postgres_url
    with Mailbox(delay=0.2) as mailbox:  # slow enough that mails are in flight when a replica dies
        first = start_api(start, mailbox, DATABASE_URL=url)
        start_api(start, mailbox, DATABASE_URL=url)
        user = Client(first.base)
        settings(user, email_reminders=True)
        due = in_seconds(2)
        tasks = [add_task(user, title=f"reminder {number}", remind_at=due) for number in range(50)]
        mailbox.wait_for(5, timeout=20)
        first.stop(signal.SIGKILL)
        # A mail the killed replica had claimed goes out again once its 30 s lease ends.
        deadline = time.monotonic() + 75
        while len({m["Subject"] for m in mailbox.mails_to(user.email)}) < 50 and time.monotonic() < deadline:
            time.sleep(0.5)
        mailbox.quiet(1.5)
        received = mailbox.mails_to(user.email)
        subjects = {m["Subject"] for m in received}
        assert subjects == {f"Reminder: {t['title']}" for t in tasks}, f"lost: {50 - len(subjects)}"
        ids = [m["Message-ID"] for m in received]
        repeats = len(ids) - len(set(ids))
        assert len(set(ids)) == 50, "one Message-ID per reminder"
        print(f"reminder mails: 50 due, {len(ids)} received, 0 lost, {repeats} repeats (same Message-ID) after the kill")
        assert repeats <= 50, "only mails in flight at the kill may come twice"


def test_a_reminder_due_while_the_service_was_down_is_mailed_at_the_next_start(start, mailbox, tmp_path):
    database = f"sqlite://{tmp_path}/down.db"
    first = start_api(start, mailbox, DATABASE_URL=database)
    user = Client(first.base)
    settings(user, email_reminders=True)
    add_task(user, title="while you were away", remind_at=in_seconds(2))
    first.stop()
    time.sleep(3)  # the reminder comes due with no backend running
    assert mailbox.mails_to(user.email) == []
    start_api(start, mailbox, DATABASE_URL=database)
    mail = mailbox.wait_for_mail_to(user.email, timeout=20)
    assert mail["Subject"] == "Reminder: while you were away"
    mailbox.quiet(1)
    assert len(mailbox.mails_to(user.email)) == 1
