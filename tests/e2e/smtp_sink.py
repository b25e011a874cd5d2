"""A real SMTP server for the tests (aiosmtpd) that keeps what it receives, and password-reset
links read from the mails."""
from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from server import free_port

LINK = re.compile(r"https?://\S+/(?:reset|invitations/[0-9a-f-]+)\?token=[A-Za-z0-9_-]+")


class Mailbox:
    """aiosmtpd on 127.0.0.1 and a free port; `messages` are the mails received, parsed.
    `refusals` are replies given to the first mails instead of accepting them (such as
    "451 4.3.0 try again later"), counted in `refused`; `delay` seconds pass before each answer
    to DATA, so that mails are in flight when a sender dies. Other keyword arguments go to
    aiosmtpd's Controller (TLS, authentication)."""

    def __init__(self, refusals: list[str] | None = None, delay: float = 0.0, **controller_options):
        self.refusals = list(refusals or [])
        self.refused: list[email.message.EmailMessage] = []
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.received = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **controller_options)

    def __enter__(self) -> "Mailbox":
        self.controller.start()
        return self

    def __exit__(self, *_) -> None:
        self.controller.stop()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's handler hook)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.received:
            if self.refusals:
                self.refused.append(message)
                return self.refusals.pop(0)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        """The first `count` mails, once that many arrived."""
        with self.received:
            assert self.received.wait_for(lambda: len(self.messages) >= count, timeout), (
                f"{len(self.messages)} mails after {timeout} s, expected {count}")
            return self.messages[:count]

    def wait_for_mail_to(self, address: str, timeout: float = 15.0):
        """The first mail to `address`, once it arrived."""
        with self.received:
            assert self.received.wait_for(lambda: self.mails_to(address), timeout), f"no mail to {address} after {timeout} s"
            return self.mails_to(address)[0]

    def mails_to(self, address: str) -> list:
        with self.received:  # re-entrant: a Condition's default lock is an RLock
            return [message for message in self.messages if message["To"].addresses[0].addr_spec == address]

    def quiet(self, seconds: float = 1.0) -> int:
        """The number of mails once none arrived for `seconds`."""
        while True:
            count = len(self.messages)
            time.sleep(seconds)
            if len(self.messages) == count:
                return count


def link_in(message) -> str:
    found = LINK.findall(message.get_content())
    assert len(found) == 1, message.get_content()
    return found[0]


def token_in(message) -> str:
    return parse_qs(urlsplit(link_in(message)).query)["token"][0]
