"""Notices by email: a job per notice (`notices.email`) addresses one delivery row to each user of its
audience, then sends them through the configured mailer, at most `email_per_minute`, recording every
attempt and the server's answer.

A delivery is marked `sending` (committed) before its message goes and `sent` after the server accepted it,
so no run ever sends it again; one found `sending` at the start of a run was cut off mid-way and becomes
`uncertain`, never resent (at most once: a person is not told twice). A refusal for good (SMTP 5xx) is
`failed`; one that may pass later (4xx, a server down) stays `queued` and the job is retried with backoff.
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path

import jinja2
from sqlalchemy import select, update

from phonecloud.accounts.models import User
from phonecloud.core.db import Database, dialect_insert, utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.core.mailer import MailRefused, SmtpMailer
from phonecloud.notices.audience import Holders, audience
from phonecloud.notices.models import Notice, NoticeDelivery

QUEUED, SENDING, SENT, FAILED, UNCERTAIN, SKIPPED = "queued", "sending", "sent", "failed", "uncertain", "skipped"
_BUILT_IN = Path(__file__).with_name("email_templates")
_PAGE = 200
# Bodies 7-bit clean (quoted-printable or base64 where they are not ASCII): the mailer does not ask the
# server for 8BITMIME, and names, templates and messages in any language are not ASCII.
_MESSAGE_POLICY = default_policy.clone(cte_type="7bit")


class MailLater(Exception):
    """Some deliveries could not be made now and may be later: the job is retried."""


@dataclass(frozen=True)
class EmailSettings:
    sender: str  # the From header
    public_url: str  # where links in emails point
    per_minute: float
    templates: Path | None  # the operator's templates, before the built-in ones


@dataclass(frozen=True)
class DeliveryRow:
    email: str
    state: str
    attempts: int
    answer: str
    last_attempt_at: object
    sent_at: object

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class NoticeMail:
    def __init__(self, db: Database, mailer: SmtpMailer | None, settings: EmailSettings, holders: Holders,
                 personal: Callable[[Notice, int], list[str]] = lambda notice, user_id: [],
                 sleep: Callable[[float], None] = time.sleep):
        self.db = db
        self.personal = personal  # (notice, user id): what it means for that user, as lines of the email
        self.mailer = mailer
        self.settings = settings
        self.holders = holders
        self._sleep = sleep
        folders = [str(folder) for folder in (settings.templates, _BUILT_IN) if folder is not None]
        self._templates = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), undefined=jinja2.StrictUndefined,
                                             autoescape=jinja2.select_autoescape(["html"]))

    # -- the job ---------------------------------------------------------------------------------------------

    def run(self, subject: str) -> None:
        """The `notices.email` job of notice `subject`: address, then send what is queued."""
        notice_id = int(subject)
        with self.db.read() as session:
            notice = session.get(Notice, notice_id)
        if notice is None:
            return
        if notice.withdrawn_at is not None:
            self._skip(NoticeDelivery.notice_id == notice_id, "not sent: the notice was withdrawn")
            return
        if notice.ends_at is not None and notice.ends_at <= utcnow():
            self._skip(NoticeDelivery.notice_id == notice_id, "not sent: the notice ended before it could be sent")
            return
        self._address(notice)
        self._send_queued(notice)

    def _address(self, notice: Notice) -> None:
        """One delivery row per user of the audience (idempotent: a second run adds only newcomers)."""
        with self.db.write() as session:
            dialect = session.get_bind().dialect.name
            for user_id, email, wanted in audience(session, notice, self.holders, utcnow()):
                skipped = not wanted and not notice.required
                session.execute(dialect_insert(dialect, NoticeDelivery.__table__).values(
                    notice_id=notice.id, user_id=user_id, email=email, state=SKIPPED if skipped else QUEUED,
                    attempts=0, answer="not sent: unsubscribed from notice emails" if skipped else "",
                    token=secrets.token_urlsafe(32), created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["notice_id", "user_id"]))
            session.execute(update(NoticeDelivery).where(NoticeDelivery.notice_id == notice.id,
                                                         NoticeDelivery.state == SENDING)
                            .values(state=UNCERTAIN, answer="cut off while sending: not sent again"))

    def _send_queued(self, notice: Notice) -> None:
        if self.mailer is None:
            raise MailLater("no mail server configured (PHONECLOUD_SMTP_URL)")
        interval = 60.0 / self.settings.per_minute
        later = 0
        after = 0
        try:
            with self.mailer.connect() if self._any_queued(notice.id) else nullcontext() as connection:
                while connection is not None:
                    page = self._queued_page(notice.id, after)
                    for delivery, user in page:
                        after = delivery.id
                        if not notice.required and not user.notice_emails:
                            self._skip(NoticeDelivery.id == delivery.id, "not sent: unsubscribed from notice emails")
                            continue
                        started = time.monotonic()
                        if not self._send_one(connection, notice, delivery, user):
                            later += 1
                        self._sleep(max(0.0, interval - (time.monotonic() - started)))
                    if len(page) < _PAGE:
                        break
        except MailRefused as unreachable:  # from connect(): the server is down, or turned us away
            with self.db.write() as session:
                session.execute(update(NoticeDelivery).where(NoticeDelivery.notice_id == notice.id,
                                                             NoticeDelivery.state == QUEUED)
                                .values(answer=unreachable.answer, last_attempt_at=utcnow()))
            raise MailLater(unreachable.answer) from None
        if later:
            raise MailLater(f"{later} emails of notice {notice.id} could not be sent now; trying again later")

    def _send_one(self, connection, notice: Notice, delivery: NoticeDelivery, user: User) -> bool:
        """Send one delivery; False when it may work later."""
        with self.db.write() as session:
            taken = session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery.id,
                                                                 NoticeDelivery.state == QUEUED)
                                    .values(state=SENDING, attempts=NoticeDelivery.attempts + 1,
                                            last_attempt_at=utcnow()))
        if taken.rowcount != 1:
            return True
        try:
            answer = connection.send(self.message(notice, delivery, user), _address_of(self.settings.sender),
                                     delivery.email)
        except MailRefused as refused:
            with self.db.write() as session:
                state = UNCERTAIN if refused.uncertain else FAILED if refused.permanent else QUEUED
                session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery.id).values(
                    state=state, answer=refused.answer))
            if refused.connection_lost:  # the rest would fail alike: later, on a new connection
                raise MailLater(refused.answer) from None
            return refused.permanent
        with self.db.write() as session:
            session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery.id).values(
                state=SENT, answer=answer, sent_at=utcnow()))
        return True

    def _any_queued(self, notice_id: int) -> bool:
        with self.db.read() as session:
            return session.scalar(select(NoticeDelivery.id).where(NoticeDelivery.notice_id == notice_id,
                                                                  NoticeDelivery.state == QUEUED).limit(1)) is not None

    def _queued_page(self, notice_id: int, after: int) -> list[tuple[NoticeDelivery, User]]:
        with self.db.read() as session:
            return list(session.execute(
                select(NoticeDelivery, User).join(User, User.id == NoticeDelivery.user_id)
                .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.state == QUEUED,
                       NoticeDelivery.id > after).order_by(NoticeDelivery.id).limit(_PAGE)))

    def _skip(self, which, why: str) -> None:
        """Deliveries still queued that are not to be sent after all (which: a condition on them)."""
        with self.db.write() as session:
            session.execute(update(NoticeDelivery).where(which, NoticeDelivery.state == QUEUED)
                            .values(state=SKIPPED, answer=why))

    # -- the message -------------------------------------------------------------------------------------

    def message(self, notice: Notice, delivery: NoticeDelivery, user: User) -> EmailMessage:
        """The email of a notice to one user, from the templates of their language (English if none)."""
        base = self.settings.public_url.rstrip("/")
        unsubscribe = None if notice.required else f"{base}/unsubscribe?token={delivery.token}"
        context = dict(name=user.display_name or user.email.split("@", 1)[0], email=user.email,
                       message=notice.message, subject=notice.subject or _first_line(notice.message),
                       level=notice.level, starts_at=notice.starts_at, ends_at=notice.ends_at,
                       app_url=f"{base}/", notices_url=f"{base}/api/v1/notices", unsubscribe_url=unsubscribe,
                       required=notice.required, personal=self.personal(notice, user.id))
        locale = user.locale if self._has_locale(user.locale) else "en"
        message = EmailMessage(policy=_MESSAGE_POLICY)
        message["Subject"] = " ".join(self._render(locale, "notice.subject.txt", context).split())
        message["From"] = self.settings.sender
        message["To"] = user.email
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid("notice")
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        if unsubscribe is not None:  # RFC 2369 and RFC 8058 (one-click)
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(self._render(locale, "notice.txt", context))
        message.add_alternative(self._render(locale, "notice.html", context), subtype="html")
        return message

    def _has_locale(self, locale: str) -> bool:
        return bool(locale) and f"{locale}/notice.txt" in self._templates.list_templates()

    def _render(self, locale: str, name: str, context: dict) -> str:
        return self._templates.get_template(f"{locale}/{name}").render(context)

    # -- what was sent -------------------------------------------------------------------------------------

    def deliveries(self, notice_id: int, email: str | None = None) -> list[DeliveryRow]:
        with self.db.read() as session:
            if session.get(Notice, notice_id) is None:
                raise NotFound(f"no notice {notice_id}")
            query = select(NoticeDelivery).where(NoticeDelivery.notice_id == notice_id).order_by(NoticeDelivery.id)
            if email is not None:
                query = query.where(NoticeDelivery.email == email.strip().lower())
            return [DeliveryRow(row.email, row.state, row.attempts, row.answer, row.last_attempt_at, row.sent_at)
                    for row in session.scalars(query)]

    def unsubscribe(self, token: str) -> str:
        """Stop notice emails to whoever received the email with this token (required ones still go)."""
        with self.db.write() as session:
            user_id = session.scalar(select(NoticeDelivery.user_id).where(NoticeDelivery.token == token))
            if user_id is None:
                raise BadRequest("this unsubscribe link is not valid (or its account was deleted)")
            session.execute(update(User).where(User.id == user_id).values(notice_emails=False))
            return session.scalar(select(User.email).where(User.id == user_id))


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0]
    return line if len(line) <= 78 else line[:77] + "…"


def _address_of(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender
