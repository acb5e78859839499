"""Notices service: the operator posts notices to an audience (everyone, a country, a region group, a plan's
members, the holders of a kind of data: criteria combine), shown in the app and the API while in force, and
sent by email when asked (see notices.email)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from phonecloud.core.countries import country_code
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.jobs.queue import JobQueue
from phonecloud.notices.audience import Holds, reaches, targeted
from phonecloud.notices.models import Notice
from phonecloud.plans.models import Plan
from phonecloud.regions.models import RegionGroup

LEVELS = ("info", "warning", "critical")
MAX_MESSAGE_CHARS = 2000
MAX_SUBJECT_CHARS = 200
MAX_REGION_CHARS = 64
EMAIL_JOB = "notices.email"


@dataclass(frozen=True)
class Audience:
    """Who a notice is for; every criterion given must hold (none: everyone)."""

    region: str | None = None  # a country code
    group: str | None = None  # a region group's name
    plan: str | None = None  # a plan's name: its members now
    kind: str | None = None  # users who hold data of this kind
    countries: tuple[str, ...] | None = None  # users of any of these countries (a retirement's)
    receipts_of: int | None = None  # users a retirement deleted data of (and gave a receipt)


class NoticeService:
    def __init__(self, db: Database, jobs: JobQueue, kind_titles: Callable[[], dict[str, str]],
                 holds: Holds, email_configured: bool):
        self.db = db
        self.jobs = jobs
        self.kind_titles = kind_titles
        self.holds = holds
        self.email_configured = email_configured

    def post(self, message: str, level: str = "info", region: str | None = None,
             starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None, *,
             audience: Audience | None = None, email: bool = False, required: bool = False,
             subject: str = "", origin: str | None = None, retirement_id: int | None = None) -> Notice:
        """Post a notice (from starts_at, default now, until ends_at or withdrawn); with email, send it to
        its audience from starts_at on. region: the same as audience.region (kept for older callers)."""
        message = message.strip()
        if not message or len(message) > MAX_MESSAGE_CHARS or "\x00" in message:
            raise BadRequest(f"a notice's message must be 1 to {MAX_MESSAGE_CHARS} characters, without NUL")
        subject = " ".join(subject.split())
        if len(subject) > MAX_SUBJECT_CHARS:
            raise BadRequest(f"a notice's subject is at most {MAX_SUBJECT_CHARS} characters")
        if level not in LEVELS:
            raise BadRequest(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        audience = audience or Audience()
        region = (region or audience.region or "").strip() or None
        starts_at = bounded(starts_at, "starts_at") if starts_at is not None else utcnow()
        ends_at = bounded(ends_at, "ends_at") if ends_at is not None else None
        if ends_at is not None and ends_at <= starts_at:
            raise BadRequest("a notice must end after it starts")
        if email and not self.email_configured:
            raise BadRequest("this server sends no email: set PHONECLOUD_SMTP_URL (smtp://… or smtps://…) first")
        notice = Notice(message=message, subject=subject, level=level,
                        region=country_code(region) if region else None, starts_at=starts_at, ends_at=ends_at,
                        email=email, required=required, created_at=utcnow())
        notice.countries = (",".join(country_code(code) for code in audience.countries)
                            if audience.countries is not None else None)
        notice.origin, notice.retirement_id, notice.receipts_of = origin, retirement_id, audience.receipts_of
        with self.db.write() as session:
            if origin is not None:  # posted by a step that may run again: once
                posted = session.scalar(select(Notice).where(Notice.origin == origin))
                if posted is not None:
                    return posted
            notice.group_name = self._named(session, RegionGroup, audience.group, "region group")
            notice.plan_name = self._named(session, Plan, audience.plan, "plan")
            if audience.kind is not None and audience.kind not in self.kind_titles():
                raise BadRequest(f"no kind of data {audience.kind!r} on this server "
                                 f"(there are: {', '.join(self.kind_titles())})")
            notice.kind = audience.kind
            session.add(notice)
            session.flush()
            if email:
                self.jobs.enqueue_in(session, EMAIL_JOB, str(notice.id), max_attempts=50, run_after=starts_at)
        if email:
            self.jobs.wake()
        return notice

    @staticmethod
    def _named(session, model, name: str | None, what: str) -> str | None:
        if name is None or not name.strip():
            return None
        found = session.scalar(select(model.name).where(model.name == name.strip()))
        if found is None:
            raise NotFound(f"no {what} {name!r}")
        return found

    def withdraw(self, notice_id: int) -> None:
        """Stop showing a notice; emails not sent yet are not sent."""
        with self.db.write() as session:
            result = session.execute(update(Notice).where(Notice.id == notice_id, Notice.withdrawn_at.is_(None))
                                     .values(withdrawn_at=utcnow()))
            if result.rowcount == 0 and session.get(Notice, notice_id) is None:
                raise NotFound(f"no notice {notice_id}")

    def in_force(self, user_id: int | None = None) -> list[Notice]:
        """The notices shown now: to everyone; to a signed-in user, also those whose audience they are in."""
        now = utcnow()
        query = (select(Notice)
                 .where(Notice.withdrawn_at.is_(None), Notice.starts_at <= now,
                        or_(Notice.ends_at.is_(None), Notice.ends_at > now))
                 .order_by(Notice.starts_at.desc(), Notice.id.desc()))
        with self.db.read() as session:
            notices = list(session.scalars(query))
            if user_id is None:
                return [notice for notice in notices if not targeted(notice)]
            return [notice for notice in notices if reaches(session, notice, user_id, self.holds, now)]

    def recent(self, limit: int = 100) -> list[Notice]:
        """Every notice, newest first, withdrawn and ended ones included (for the operator)."""
        with self.db.read() as session:
            return list(session.scalars(select(Notice).order_by(Notice.id.desc()).limit(limit)))

    def notice(self, notice_id: int) -> Notice:
        with self.db.read() as session:
            notice = session.get(Notice, notice_id)
        if notice is None:
            raise NotFound(f"no notice {notice_id}")
        return notice




def state_of(notice: Notice, now: dt.datetime) -> str:
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if notice.ends_at is not None and notice.ends_at <= now:
        return "ended"
    return "in force" if notice.starts_at <= now else "scheduled"
