"""Queries of recovery and scrub: whole-table reads in bounded batches, never a table in memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia

BATCH = 500  # stays under every database's limit on bound parameters


def referenced_originals(session: Session, candidates: Sequence[tuple[int, str]]) -> set[str]:
    """The blob keys of the assets with these (owner, SHA-1) pairs: one query per owner, each a range of
    the (owner, SHA-1) unique index (SQLite scans the whole table for a list of row values)."""
    by_owner: dict[int, list[str]] = {}
    for owner_id, sha1 in candidates:
        by_owner.setdefault(owner_id, []).append(sha1)
    keys: set[str] = set()
    for owner_id, sha1s in by_owner.items():
        keys.update(session.scalars(select(Asset.blob_key).where(Asset.owner_id == owner_id, Asset.sha1.in_(sha1s))))
    return keys


def existing_assets(session: Session, candidates: Sequence[tuple[int, uuid.UUID]]) -> set[tuple[int, uuid.UUID]]:
    """Those of these (owner, asset id) pairs that are assets."""
    ids = [asset_id for _, asset_id in candidates]
    return {(owner_id, asset_id) for owner_id, asset_id in session.execute(
        select(Asset.owner_id, Asset.id).where(Asset.id.in_(ids)))}


def lock_users(session: Session) -> list[tuple[int, str, int]]:
    """(id, email, used bytes) of every user, row-locked until the transaction ends (in id order, so two
    processes doing this at once queue instead of deadlocking)."""
    rows = session.execute(select(User.id, User.email, User.used_bytes).order_by(User.id).with_for_update())
    return [(user_id, email, used) for user_id, email, used in rows]


def stored_bytes_by_owner(session: Session) -> dict[int, int]:
    """The sizes of every owner's assets, trashed ones included (they keep their bytes until deleted)."""
    rows = session.execute(select(Asset.owner_id, func.sum(Asset.size_bytes)).group_by(Asset.owner_id))
    return {owner_id: size for owner_id, size in rows}


@dataclass(frozen=True)
class ScrubItem:
    asset_id: uuid.UUID
    owner_email: str
    blob_key: str
    sha1: str
    size_bytes: int
    media_state: str | None
    thumbnail_key: str | None
    preview_key: str | None


def asset_totals(session: Session) -> tuple[int, int]:
    count, size = session.execute(select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
                                  .select_from(Asset)).one()
    return count, size


def scrub_page(session: Session, after: uuid.UUID | None, limit: int = BATCH) -> list[ScrubItem]:
    """The next assets by id (keyset pagination: each page costs the same, and no read stays open)."""
    query = (
        select(Asset.id, User.email, Asset.blob_key, Asset.sha1, Asset.size_bytes, AssetMedia.state,
               AssetMedia.thumbnail_key, AssetMedia.preview_key)
        .join(User, User.id == Asset.owner_id)
        .outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
        .order_by(Asset.id).limit(limit)
    )
    if after is not None:
        query = query.where(Asset.id > after)
    return [ScrubItem(*row) for row in session.execute(query)]
