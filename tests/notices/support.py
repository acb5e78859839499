"""What the notice tests share: people with a country, a language and a name; an audience of exactly the
given users (the members of a plan of the test's own); and a real SMTP server on loopback (aiosmtpd) that
records what it accepts and refuses recipients as told."""

from __future__ import annotations

import email
import email.policy
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from conftest import User, free_port

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def person(accounts, tag: str, region: str | None = None, locale: str = "en", display_name: str = "",
           is_admin: bool = False) -> User:
    """A user of the accounts' server with this country, language and name, signed in with an API key."""
    services = accounts.services
    address = f"{unique(tag)}@example.org"
    created = services.accounts.create_user(address, PASSWORD, None, is_admin=is_admin, region=region,
                                            locale=locale, display_name=display_name)
    key = services.accounts.create_api_key(created.id, "notice tests").key
    client = accounts.server.client(key)
    accounts._clients.append(client)  # closed with the accounts
    return User(created.email, PASSWORD, key, client)


def members_of_new_plan(services, *users: User) -> str:
    """A plan of this test's own whose members are exactly users: an audience no other test shares."""
    name = unique("Plan")
    services.plans.add(name, 10 * 2**30, "1.99", "EUR", "month")
    for user in users:
        services.plans.start(user.email, name)
    return name


def seen(user: User) -> list[str]:
    """The messages of the notices the user's app shows now (GET /api/v1/notices)."""
    response = user.http.get("/notices")
    assert response.status_code == 200, response.text
    return [notice["message"] for notice in response.json()]


def wait_for(condition: Callable[[], object], what: str, deadline: float = 60) -> object:
    until = time.monotonic() + deadline
    while not (result := condition()):
        assert time.monotonic() < until, f"gave up waiting for {what}"
        time.sleep(0.1)
    return result


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    raw: bytes  # as it came over the wire


class Mailbox:
    """An aiosmtpd handler: accepts every recipient except those given a reply in `refuse` (an SMTP reply
    such as "550 5.1.1 mailbox unavailable"), and keeps every message it accepted."""

    def __init__(self):
        self.refuse: dict[str, str] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self._received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message,
                                           envelope.original_content or envelope.content))
            number = len(self._received)
        return f"250 2.0.0 Ok: queued as M{number}"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def to(self, address: str) -> list[EmailMessage]:
        """Every message accepted for this recipient."""
        return [got.message for got in self.received if address.lower() in (r.lower() for r in got.recipients)]


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    """aiosmtpd on loopback (on port, or a free one) for as long as the block runs; yields its port."""
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()
