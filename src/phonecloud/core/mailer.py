"""Sending email: the mailer interface and its SMTP implementation, chosen by a URL.

`smtp://user:password@host:587` speaks STARTTLS when the server offers it (`?starttls=required` insists,
`?starttls=no` never tries); `smtps://user:password@host:465` is TLS from the first byte. Credentials in the
URL are percent-decoded. A refusal says whether trying again later can help (an SMTP 4xx reply, a server that
cannot be reached) or not (a 5xx reply): the caller records it and retries only the former.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import parse_qs, unquote, urlsplit

_TIMEOUT_SECONDS = 30.0


class MailRefused(Exception):
    """The message was not accepted. answer: the server's own reply (or why it could not be reached)."""

    def __init__(self, answer: str, permanent: bool, connection_lost: bool = False, uncertain: bool = False):
        super().__init__(answer)
        self.answer = answer
        self.permanent = permanent
        self.connection_lost = connection_lost  # the connection broke: nothing more can go through it
        self.uncertain = uncertain  # it broke after the message was sent: it may have been delivered


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    implicit_tls: bool
    starttls: str  # "auto" | "required" | "no"
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpMailer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL (smtp://host:port or smtps://host:port): {parts.scheme}://…")
        starttls = parse_qs(parts.query).get("starttls", ["auto"])[0]
        if starttls not in ("auto", "required", "no"):
            raise ValueError("starttls must be auto, required or no")
        implicit = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if implicit else 25), implicit, starttls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    @property
    def address(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"

    @contextmanager
    def connect(self) -> Iterator[MailConnection]:
        """One connection for a run of messages; MailRefused (temporary) when the server cannot be reached."""
        try:
            client = self._open()
        except (OSError, smtplib.SMTPException) as error:
            raise MailRefused(f"cannot reach {self.address}: {_reply(error)}", _permanent(error)) from None
        try:
            yield MailConnection(client)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def _open(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=_TIMEOUT_SECONDS)
            client.ehlo()
            if self.starttls == "required" or (self.starttls == "auto" and client.has_extn("starttls")):
                client.starttls(context=context)
                client.ehlo()
        if self.username:
            client.login(self.username, self.password or "")
        return client


class MailConnection:
    def __init__(self, client: smtplib.SMTP):
        self._client = client

    def send(self, message: EmailMessage, sender: str, recipient: str) -> str:
        """Send one message to one recipient: the server's reply to its data when it accepted it, else
        MailRefused (the envelope is reset, so the connection can go on with the next one)."""
        client = self._client
        try:
            for step in (lambda: client.mail(sender), lambda: client.rcpt(recipient)):
                code, reply = step()
                if code not in (250, 251):
                    client.rset()
                    raise MailRefused(f"{code} {_text(reply)}", code >= 500)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            raise MailRefused(f"connection lost: {_reply(error)}", False, connection_lost=True) from None
        except smtplib.SMTPException as error:
            raise MailRefused(_reply(error), _permanent(error)) from None
        try:
            code, reply = client.data(message.as_bytes(policy=SMTP))
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            # Cut off after the message went out: it may have been accepted, and must not go twice.
            raise MailRefused(f"connection lost while sending: {_reply(error)}", False, connection_lost=True,
                              uncertain=True) from None
        except smtplib.SMTPException as error:
            raise MailRefused(_reply(error), _permanent(error)) from None
        return f"{code} {_text(reply)}"


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()[:1000]


def _reply(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _permanent(error: BaseException) -> bool:
    """5xx replies are final; anything else (4xx, a connection that failed or broke) may work later."""
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def open_mailer(url: str | None) -> SmtpMailer | None:
    """The mailer a settings URL names; None when email is not configured."""
    return SmtpMailer.from_url(url) if url else None
