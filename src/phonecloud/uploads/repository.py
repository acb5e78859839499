"""Queries of resumable uploads; every one that a request reaches is scoped to the owner."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from phonecloud.uploads.models import ACTIVE, COMPLETED, EXPIRED, ResumableUpload


def owned(session: Session, owner_id: int, upload_id: uuid.UUID) -> ResumableUpload | None:
    return session.scalar(select(ResumableUpload).where(ResumableUpload.id == upload_id,
                                                        ResumableUpload.owner_id == owner_id))


def leave_active(session: Session, upload_id: uuid.UUID, state: str, unlocked_at: dt.datetime | None = None,
                 **values) -> ResumableUpload | None:
    """Move an active upload to `state` (only if no live writer holds it at `unlocked_at`, when given);
    None when it was no longer active or still held."""
    query = update(ResumableUpload).where(ResumableUpload.id == upload_id, ResumableUpload.state == ACTIVE)
    if unlocked_at is not None:
        query = query.where(or_(ResumableUpload.lock_until.is_(None), ResumableUpload.lock_until < unlocked_at))
    result = session.execute(query.values(state=state, lock_token=None, lock_until=None, **values))
    return session.get(ResumableUpload, upload_id) if result.rowcount == 1 else None


def lock(session: Session, upload_id: uuid.UUID, token: str, until: dt.datetime, now: dt.datetime,
         stale: str | None = None) -> bool:
    """Take the writer's lock when it is free, its lease ran out, or its holder is known to be dead."""
    free = or_(ResumableUpload.lock_token.is_(None), ResumableUpload.lock_until < now,
               ResumableUpload.lock_token == token)
    if stale is not None:
        free = or_(free, ResumableUpload.lock_token == stale)
    result = session.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id, free)
                             .values(lock_token=token, lock_until=until))
    return result.rowcount == 1


def holder(session: Session, upload_id: uuid.UUID) -> str | None:
    return session.scalar(select(ResumableUpload.lock_token).where(ResumableUpload.id == upload_id))


def progress(session: Session, upload_id: uuid.UUID, token: str, offset: int, lock_until: dt.datetime,
             expires_at: dt.datetime) -> bool:
    """Acknowledge bytes up to `offset` and renew the lease; False if the lock is no longer ours."""
    result = session.execute(update(ResumableUpload)
                             .where(ResumableUpload.id == upload_id, ResumableUpload.lock_token == token,
                                    ResumableUpload.state == ACTIVE)
                             .values(offset=offset, lock_until=lock_until, expires_at=expires_at))
    return result.rowcount == 1


def unlock(session: Session, upload_id: uuid.UUID, token: str) -> None:
    session.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id,
                                                  ResumableUpload.lock_token == token)
                    .values(lock_token=None, lock_until=None))


def due_to_expire(session: Session, now: dt.datetime) -> list[uuid.UUID]:
    """Active uploads past their expiry that no live writer holds."""
    return list(session.scalars(
        select(ResumableUpload.id).where(ResumableUpload.state == ACTIVE, ResumableUpload.expires_at < now,
                                         or_(ResumableUpload.lock_until.is_(None),
                                             ResumableUpload.lock_until < now))))


def forget_finished(session: Session, before: dt.datetime) -> int:
    """Drop the records of uploads that completed or expired before `before` (their 410/asset answers)."""
    result = session.execute(delete(ResumableUpload).where(ResumableUpload.state.in_([COMPLETED, EXPIRED]),
                                                           ResumableUpload.expires_at < before))
    return result.rowcount


def active_ids(session: Session) -> set[str]:
    return {upload_id.hex for upload_id in session.scalars(
        select(ResumableUpload.id).where(ResumableUpload.state == ACTIVE))}


def reserved_by_user(session: Session) -> dict[int, int]:
    rows = session.execute(select(ResumableUpload.owner_id, func.sum(ResumableUpload.length))
                           .where(ResumableUpload.state == ACTIVE).group_by(ResumableUpload.owner_id))
    return {owner_id: int(total) for owner_id, total in rows}
