"""Notices service: the operator posts and withdraws notices; every page shows the ones in force."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update

from phonecloud.accounts.models import User
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.notices.models import Notice

LEVELS = ("info", "warning", "critical")
MAX_MESSAGE_CHARS = 2000
MAX_REGION_CHARS = 64


class NoticeService:
    def __init__(self, db: Database):
        self.db = db

    def post(self, message: str, level: str = "info", region: str | None = None,
             starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None) -> Notice:
        message = message.strip()
        if not message or len(message) > MAX_MESSAGE_CHARS or "\x00" in message:
            raise BadRequest(f"a notice's message must be 1 to {MAX_MESSAGE_CHARS} characters, without NUL")
        if level not in LEVELS:
            raise BadRequest(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        region = (region or "").strip() or None
        if region is not None and len(region) > MAX_REGION_CHARS:
            raise BadRequest(f"region must be at most {MAX_REGION_CHARS} characters")
        starts_at = bounded(starts_at, "starts_at") if starts_at is not None else utcnow()
        ends_at = bounded(ends_at, "ends_at") if ends_at is not None else None
        if ends_at is not None and ends_at <= starts_at:
            raise BadRequest("a notice must end after it starts")
        notice = Notice(message=message, level=level, region=region, starts_at=starts_at, ends_at=ends_at,
                        created_at=utcnow())
        with self.db.write() as session:
            session.add(notice)
        return notice

    def withdraw(self, notice_id: int) -> None:
        with self.db.write() as session:
            result = session.execute(update(Notice).where(Notice.id == notice_id, Notice.withdrawn_at.is_(None))
                                     .values(withdrawn_at=utcnow()))
            if result.rowcount == 0 and session.get(Notice, notice_id) is None:
                raise NotFound(f"no notice {notice_id}")

    def in_force(self, user_id: int | None = None) -> list[Notice]:
        """The notices shown now: everyone's, plus those of the user's region when a user is signed in."""
        now = utcnow()
        regions = [Notice.region.is_(None)]
        if user_id is not None:
            regions.append(Notice.region == select(User.region).where(User.id == user_id).scalar_subquery())
        query = (select(Notice)
                 .where(Notice.withdrawn_at.is_(None), Notice.starts_at <= now,
                        or_(Notice.ends_at.is_(None), Notice.ends_at > now), or_(*regions))
                 .order_by(Notice.starts_at.desc(), Notice.id.desc()))
        with self.db.read() as session:
            return list(session.scalars(query))

    def recent(self, limit: int = 100) -> list[Notice]:
        """Every notice, newest first, withdrawn and ended ones included (for the operator)."""
        with self.db.read() as session:
            return list(session.scalars(select(Notice).order_by(Notice.id.desc()).limit(limit)))
