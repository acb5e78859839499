"""Queries of the gallery tables; every one of them is scoped to an owner."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Select, String, func, select, tuple_
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.db import one_of
from phonecloud.core.kinds import BlobCheck, ScrubItem
from phonecloud.gallery.models import Album, AlbumAsset, Asset
from phonecloud.media.models import DERIVATIVES, READY, AssetMedia

TRASHED_EVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # trashed_at >= this: in the trash (IS NOT NULL, as a range)


def owned_asset(session: Session, owner_id: int, asset_id: uuid.UUID) -> Asset | None:
    return session.scalar(select(Asset).where(Asset.id == asset_id, Asset.owner_id == owner_id))


def owned_album(session: Session, owner_id: int, album_id: uuid.UUID, lock: bool = False) -> Album | None:
    """lock: hold the album's row until the transaction ends (FOR UPDATE; SQLite's writers are serial anyway)."""
    query = select(Album).where(Album.id == album_id, Album.owner_id == owner_id)
    return session.scalar(query.with_for_update() if lock else query)


def asset_by_sha1(session: Session, owner_id: int, sha1: str) -> Asset | None:
    return session.scalar(select(Asset).where(Asset.owner_id == owner_id, Asset.sha1 == sha1))


def assets_by_sha1(session: Session, owner_id: int, sha1s: Iterable[str]) -> dict[str, tuple[uuid.UUID, bool]]:
    """sha1 → (asset id, trashed) for those of the given hashes the owner already has: one query."""
    wanted = one_of(session.get_bind().dialect.name, Asset.sha1, list(set(sha1s)))
    query = select(Asset.sha1, Asset.id, Asset.trashed_at.is_not(None)).where(Asset.owner_id == owner_id, wanted)
    rows = session.connection().execute(query)  # plain rows: up to 10,000 of them, without the ORM's loading
    return {sha1: (asset_id, bool(trashed)) for sha1, asset_id, trashed in rows}


def _listing(owner_id: int, trashed: bool, album_id: uuid.UUID | None) -> tuple[Select, ColumnElement]:
    """The listing's query and its order key (sort_at, asset id). An album is ordered by its own copy of
    sort_at, so that both database planners read it from the album's index (album_id, sort_at, asset_id)
    rather than walking the owner's whole timeline."""
    query = select(Asset).where(Asset.owner_id == owner_id)
    query = query.where(Asset.trashed_at.is_not(None) if trashed else Asset.trashed_at.is_(None))
    if album_id is None:
        return query, tuple_(Asset.sort_at, Asset.id)
    query = query.join(AlbumAsset, AlbumAsset.asset_id == Asset.id).where(AlbumAsset.album_id == album_id)
    return query, tuple_(AlbumAsset.sort_at, AlbumAsset.asset_id)


def timeline_page(owner_id: int, trashed: bool, after: tuple[dt.datetime, uuid.UUID] | None,
                  limit: int, album_id: uuid.UUID | None = None) -> Select:
    """Newest first by (sort_at, id): keyset pagination, so page N costs what page 1 costs."""
    query, key = _listing(owner_id, trashed, album_id)
    if after is not None:
        query = query.where(key < tuple_(*after))
    return query.order_by(*(column.desc() for column in key.clauses)).limit(limit)


def album_counts(session: Session, album_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Items outside the trash per album: its members, counted on its own index, less those in the trash,
    found from the trash's index; a large album costs no visit to each of its assets."""
    counts = dict(session.execute(select(AlbumAsset.album_id, func.count()).where(
        AlbumAsset.album_id.in_(album_ids)).group_by(AlbumAsset.album_id)).all())
    in_trash = select(Asset.id).where(Asset.trashed_at >= TRASHED_EVER)  # a range, which both planners index
    for album_id, trashed in session.execute(select(AlbumAsset.album_id, func.count()).where(
            AlbumAsset.album_id.in_(album_ids), AlbumAsset.asset_id.in_(in_trash)).group_by(AlbumAsset.album_id)):
        counts[album_id] -= trashed
    return counts


def month_counts(session: Session, owner_id: int) -> list[tuple[str, int]]:
    """("YYYY-MM", items) of the owner's library outside the trash per month of sort_at (UTC), newest first:
    every item counted from the timeline's index alone (no visit to the rows), less those in the trash,
    found from the trash's index (owner_id + 0: SQLite's planner would otherwise walk the owner's timeline)."""
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(func.timezone("UTC", Asset.sort_at), "YYYY-MM")
    else:  # SQLite keeps a time as text, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: its first seven characters
        month = func.substr(Asset.sort_at, 1, 7, type_=String)
    counts = dict(session.execute(select(month, func.count()).where(Asset.owner_id == owner_id).group_by(month)).all())
    for key, trashed in session.execute(select(month, func.count()).where(
            Asset.trashed_at >= TRASHED_EVER, (Asset.owner_id + 0) == owner_id).group_by(month)):
        counts[key] -= trashed
    return sorted(((key, count) for key, count in counts.items() if count > 0), reverse=True)


def owned_assets(session: Session, owner_id: int, asset_ids: Sequence[uuid.UUID]) -> list[Asset]:
    return list(session.scalars(select(Asset).where(Asset.owner_id == owner_id, Asset.id.in_(asset_ids))))


def owned_asset_ids(session: Session, owner_id: int, asset_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = session.scalars(select(Asset.id).where(Asset.owner_id == owner_id, Asset.id.in_(asset_ids)))
    return set(rows)


def album_member_ids(session: Session, album_id: uuid.UUID, asset_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = session.scalars(
        select(AlbumAsset.asset_id).where(AlbumAsset.album_id == album_id, AlbumAsset.asset_id.in_(asset_ids))
    )
    return set(rows)


def media_rows(session: Session, asset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AssetMedia]:
    if not asset_ids:
        return {}
    return {row.asset_id: row for row in session.scalars(select(AssetMedia).where(AssetMedia.asset_id.in_(asset_ids)))}


def owner_assets_with_media(owner_id: int) -> Select:
    """Every asset of the owner, the trash included, with what the media pipeline knows (or None)."""
    return (select(Asset, AssetMedia).outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
            .where(Asset.owner_id == owner_id).order_by(Asset.sort_at, Asset.id))


def owner_albums(owner_id: int) -> Select:
    return select(Album).where(Album.owner_id == owner_id).order_by(Album.created_at, Album.id)


def owner_album_members(owner_id: int) -> Select:
    """(album id, asset id) of every album of the owner."""
    return (select(AlbumAsset.album_id, AlbumAsset.asset_id).join(Album, Album.id == AlbumAsset.album_id)
            .where(Album.owner_id == owner_id).order_by(AlbumAsset.album_id, AlbumAsset.added_at, AlbumAsset.asset_id))


def newer_page(owner_id: int, trashed: bool, before: tuple[dt.datetime, uuid.UUID], limit: int,
               album_id: uuid.UUID | None = None) -> Select:
    """The items just newer than a position, nearest first: the way back in a newest-first listing."""
    query, key = _listing(owner_id, trashed, album_id)
    return query.where(key > tuple_(*before)).order_by(*(column.asc() for column in key.clauses)).limit(limit)


def trashed_before(cutoff: dt.datetime, limit: int) -> Select:
    """Every user's assets moved to the trash before cutoff (the purge is the one query across owners)."""
    return select(Asset).where(Asset.trashed_at < cutoff).order_by(Asset.trashed_at).limit(limit)


def usage(session: Session, owner_id: int) -> tuple[int, int]:
    """(items, bytes) the owner keeps, trashed ones included (they keep their bytes until deleted)."""
    items, size = session.execute(select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
                                  .where(Asset.owner_id == owner_id)).one()
    return items, size


def counts_by_kind(session: Session, owner_id: int) -> dict[str, int]:
    """How many photos and videos the owner keeps outside the trash: {"photo": n, "video": n}."""
    return dict(session.execute(select(Asset.kind, func.count()).where(
        Asset.owner_id == owner_id, Asset.trashed_at.is_(None)).group_by(Asset.kind)).all())


def usage_by_owner(session: Session) -> dict[int, tuple[int, int]]:
    rows = session.execute(select(Asset.owner_id, func.count(), func.sum(Asset.size_bytes)).group_by(Asset.owner_id))
    return {owner_id: (items, size) for owner_id, items, size in rows}


def owner_assets_batch(session: Session, owner_id: int, limit: int) -> list[Asset]:
    return list(session.scalars(select(Asset).where(Asset.owner_id == owner_id).limit(limit)))


def rows_of_owner(session: Session, owner_id: int) -> int:
    """Every gallery row that is the owner's: assets (their media rows and album places go with them) and albums."""
    assets = session.scalar(select(func.count()).select_from(Asset).where(Asset.owner_id == owner_id)) or 0
    albums = session.scalar(select(func.count()).select_from(Album).where(Album.owner_id == owner_id)) or 0
    return assets + albums


def manifest(session: Session, owner_id: int):
    """One line per asset of the owner, "id size sha1", by SHA-1 (the ids of its originals)."""
    for asset_id, size, sha1 in session.execute(select(Asset.id, Asset.size_bytes, Asset.sha1)
                                                .where(Asset.owner_id == owner_id).order_by(Asset.sha1)):
        yield f"{asset_id} {size} {sha1}"


def dependent_rows(session: Session, asset_ids: Sequence[uuid.UUID]) -> int:
    """Media rows and album places of these assets: deleted with them (ON DELETE CASCADE)."""
    media = session.scalar(select(func.count()).select_from(AssetMedia).where(AssetMedia.asset_id.in_(asset_ids)))
    places = session.scalar(select(func.count()).select_from(AlbumAsset).where(AlbumAsset.asset_id.in_(asset_ids)))
    return (media or 0) + (places or 0)


def scrub_totals(session: Session) -> tuple[int, int]:
    count, size = session.execute(select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
                                  .select_from(Asset)).one()
    return count, size


def scrub_page(session: Session, after: str | None, derivatives: bool, limit: int = 500) -> list[ScrubItem]:
    """The next assets by id (keyset pagination: each page costs the same, and no read stays open), with the
    blobs to read back: the original, and the thumbnail the pipeline reports ready with the preview once it
    is made (it follows the thumbnail, or waits for its first view)."""
    query = (select(Asset.id, User.email, Asset.blob_key, Asset.sha1, Asset.size_bytes, AssetMedia.state,
                    AssetMedia.thumbnail_key, AssetMedia.preview_key)
             .join(User, User.id == Asset.owner_id).outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
             .order_by(Asset.id).limit(limit))
    if after is not None:
        query = query.where(Asset.id > uuid.UUID(after))
    items = []
    for asset_id, email, key, sha1, size, state, thumbnail, preview in session.execute(query):
        blobs = [BlobCheck("original", key, size, sha1)]
        if derivatives and state == READY:
            blobs += [BlobCheck(name, derived, mime=DERIVATIVES[name][1])
                      for name, derived in (("thumbnail", thumbnail), ("preview", preview)) if derived]
        items.append(ScrubItem(str(asset_id), email, tuple(blobs)))
    return items
