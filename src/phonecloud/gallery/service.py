"""The gallery's library: listing, originals, trash, favourites, deletion for good, and purging a user."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.dates import clamped
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, Gone, NotFound
from phonecloud.core.kinds import Purged, Record
from phonecloud.gallery import repository
from phonecloud.gallery.albums import owned_album, readable_album
from phonecloud.gallery.sharing import repository as shared
from phonecloud.gallery.models import Album, Asset
from phonecloud.gallery.search import index as search_index
from phonecloud.jobs.queue import JobQueue
from phonecloud.media.models import AssetMedia

MAX_PAGE = 1000
TRASH_PURGE_JOB = "gallery.purge_trash"
TRASH_RETENTION = dt.timedelta(days=30)
_PURGE_BATCH = 500
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

log = logging.getLogger("phonecloud.gallery")
# A photo is read whole at once (one worker-thread hop): a mirror fetching a library asks for little else.
_ORIGINAL_CHUNK = 4 << 20


@dataclass(frozen=True)
class Page:
    items: list[Asset]
    next_cursor: str | None


def encode_cursor(asset: Asset) -> str:
    raw = f"{asset.sort_at.isoformat()}|{asset.id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_before(moment: dt.datetime) -> str:
    """A cursor for what comes after moment in a newest-first listing: where a jump to a date starts."""
    return encode_cursor(Asset(sort_at=moment, id=uuid.UUID(int=0)))


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, asset_id = raw.split("|")
        return clamped(dt.datetime.fromisoformat(moment)), uuid.UUID(asset_id)  # a jump past the end: the end
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadRequest("invalid cursor: pass back the next_cursor of a previous page unchanged") from None


@dataclass(frozen=True)
class TrashMove:
    """What one "move to the trash" did: the items it moved share the moment it gave them, which names them
    for an undo (`undo_token`), and nothing else of their owner's has that moment."""

    moment: dt.datetime
    moved: int

    @property
    def undo_token(self) -> str:
        return str((self.moment - _EPOCH) // _MICROSECOND)


def moment_of_undo(token: str) -> dt.datetime | None:
    """The moment an undo token names (microseconds since 1970), or None for what is not a token."""
    if not token.isascii() or not token.isdigit() or len(token) > 17:  # 17 digits: until the year 5138
        return None
    return _EPOCH + dt.timedelta(microseconds=int(token))


def _chunks(ids: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    size = _PURGE_BATCH
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _in_trash(owner_id: int):
    """The owner's items in the trash (a range on trashed_at, which both planners index, as IS NOT NULL)."""
    return (Asset.owner_id == owner_id, Asset.trashed_at >= repository.TRASHED_EVER)


class GalleryService:
    """The library: listing, originals, trash, favourites, deletion for good, and purging a user."""

    def __init__(self, db: Database, blobs: BlobStore, quota: QuotaLedger):
        self.db = db
        self.blobs = blobs
        self.quota = quota

    # -- reading -----------------------------------------------------------------------------------------

    def list_assets(self, principal: Principal, cursor: str | None, limit: int, trashed: bool = False,
                    album_id: uuid.UUID | None = None) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else None
        with self.db.read() as session:
            if album_id is not None and not trashed:  # the album's owner's or one shared with the caller
                readable_album(session, principal, album_id)
                query = shared.album_page(album_id, after, limit + 1)
            else:
                if album_id is not None:
                    owned_album(session, principal, album_id)
                query = repository.timeline_page(principal.user_id, trashed, after, limit + 1, album_id)
            items = list(session.scalars(query))
        more = len(items) > limit
        items = items[:limit]
        return Page(items, encode_cursor(items[-1]) if more else None)

    def get_asset(self, principal: Principal, asset_id: uuid.UUID) -> Asset:
        with self.db.read() as session:
            asset = repository.owned_asset(session, principal.user_id, asset_id)
        if asset is None:
            raise NotFound(f"no asset {asset_id}")
        return asset

    def readable_asset(self, principal: Principal, asset_id: uuid.UUID) -> Asset:
        """An asset the caller may look at: their own, or one that an album they own or that is shared with
        them shows (outside the trash: see gallery/sharing). For the viewer, thumbnails, previews and originals
        only; everything that changes an asset takes get_asset's owner check, or its own."""
        with self.db.read() as session:
            asset = (repository.owned_asset(session, principal.user_id, asset_id)
                     or shared.album_shared_asset(session, principal.user_id, asset_id))
        if asset is None:
            raise NotFound(f"no asset {asset_id}")
        return asset

    def media_of(self, assets: list[Asset]) -> dict[uuid.UUID, AssetMedia]:
        """What the media pipeline knows of these assets (those it has not processed yet are absent)."""
        with self.db.read() as session:
            return repository.media_rows(session, [asset.id for asset in assets])

    def read_original(self, asset: Asset, start: int, end: int) -> Iterator[bytes]:
        try:
            return self.blobs.get(asset.blob_key, start, end, chunk_size=_ORIGINAL_CHUNK)
        except BlobNotFound:
            log.error("original of asset %s (%s) is missing from storage", asset.id, asset.blob_key)
            raise Gone(f"the original of asset {asset.id} is missing from the server's storage; "
                       "tell the server's administrator") from None

    def owned_assets(self, principal: Principal, asset_ids: list[uuid.UUID]) -> list[Asset]:
        """The caller's assets in the order asked; NotFound naming those that are not (or no longer) theirs."""
        with self.db.read() as session:
            found = {asset.id: asset for asset in repository.owned_assets(session, principal.user_id, asset_ids)}
        missing = [str(asset_id) for asset_id in dict.fromkeys(asset_ids) if asset_id not in found]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise NotFound(f"no asset {', '.join(missing[:5])}{more}", missing=missing)
        return [found[asset_id] for asset_id in asset_ids]

    def read_originals(self, assets: list[Asset]) -> Iterator[bytes]:
        """The originals one after another, each exactly its size: a reader splits them by their sizes. An
        original that went missing or shrank since stops the stream short of its length (and is logged),
        so that a reader can never take the bytes of one file for another's."""
        for asset in assets:
            sent = 0
            try:
                for chunk in self.blobs.get(asset.blob_key, 0, asset.size_bytes, chunk_size=_ORIGINAL_CHUNK):
                    sent += len(chunk)
                    yield chunk
            except BlobNotFound:
                pass
            if sent != asset.size_bytes:
                log.error("original of asset %s (%s) gave %d of its %d bytes; a download of several originals "
                          "was cut short", asset.id, asset.blob_key, sent, asset.size_bytes)
                return

    # -- trash -------------------------------------------------------------------------------------------

    def set_trashed(self, principal: Principal, asset_id: uuid.UUID, trashed: bool) -> Asset:
        with self.db.write() as session:
            asset = repository.owned_asset(session, principal.user_id, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id}")
            if trashed and asset.trashed_at is None:
                asset.trashed_at = utcnow()
            elif not trashed:
                asset.trashed_at = None
        return asset

    def move_to_trash(self, principal: Principal, asset_ids: list[uuid.UUID]) -> TrashMove:
        """Move these items to the trash in one step: those not there yet get one moment, unused by any other
        item of the owner's, so that an undo (restore_moved) brings back exactly them. NotFound, with nothing
        moved, when any of them is not (or no longer) the caller's."""
        ids = list(dict.fromkeys(asset_ids))
        with self.db.write() as session:
            owned: set[uuid.UUID] = set()
            for chunk in _chunks(ids):
                owned |= repository.owned_asset_ids(session, principal.user_id, chunk)
            missing = [asset_id for asset_id in ids if asset_id not in owned]
            if missing:
                raise NotFound(f"no asset {missing[0]}")
            moment = utcnow()
            while session.scalar(select(Asset.id).where(Asset.owner_id == principal.user_id,
                                                        Asset.trashed_at == moment).limit(1)) is not None:
                moment += _MICROSECOND  # another move of the same microsecond: each undo names its own items
            moved = 0
            for chunk in _chunks(ids):
                moved += session.execute(
                    update(Asset).where(Asset.owner_id == principal.user_id, Asset.id.in_(chunk),
                                        Asset.trashed_at.is_(None)).values(trashed_at=moment)
                    .execution_options(synchronize_session=False)).rowcount
        return TrashMove(moment, moved)

    def moved_together(self, principal: Principal, moment: dt.datetime) -> tuple[int, Asset | None]:
        """(how many, one of them): the caller's items a move to the trash at moment put there that are still
        in the trash, which an undo would bring back."""
        with self.db.read() as session:
            where = (Asset.owner_id == principal.user_id, Asset.trashed_at == moment)
            count = session.scalar(select(func.count()).select_from(Asset).where(*where)) or 0
            first = session.scalar(select(Asset).where(*where).limit(1)) if count else None
        return count, first

    def restore_moved(self, principal: Principal, moment: dt.datetime) -> int:
        """Undo a move to the trash: restore the caller's items it moved (those still in the trash); the count."""
        with self.db.write() as session:
            return session.execute(
                update(Asset).where(Asset.owner_id == principal.user_id, Asset.trashed_at == moment)
                .values(trashed_at=None).execution_options(synchronize_session=False)).rowcount

    def restore_trash(self, principal: Principal, asset_ids: list[uuid.UUID] | None = None) -> int:
        """Restore the caller's items in the trash: these (those of them that are the caller's and in the
        trash; others are not counted), or with None all that were there when asked, a batch per transaction
        so that a large trash never holds the database for long. The count restored."""
        owner = principal.user_id
        restored = 0
        if asset_ids is not None:
            with self.db.write() as session:
                for chunk in _chunks(list(dict.fromkeys(asset_ids))):
                    restored += session.execute(
                        update(Asset).where(*_in_trash(owner), Asset.id.in_(chunk)).values(trashed_at=None)
                        .execution_options(synchronize_session=False)).rowcount
            return restored
        cutoff = utcnow()
        while True:
            with self.db.write() as session:
                batch = select(Asset.id).where(*_in_trash(owner), Asset.trashed_at <= cutoff).limit(_PURGE_BATCH)
                done = session.execute(
                    update(Asset).where(*_in_trash(owner), Asset.id.in_(batch.scalar_subquery()))
                    .values(trashed_at=None).execution_options(synchronize_session=False)).rowcount
            restored += done
            if not done:
                return restored

    def empty_trash(self, principal: Principal, asset_ids: list[uuid.UUID] | None = None) -> int:
        """Delete for good the caller's items in the trash, as delete_forever does each (rows, originals and
        derivatives; their bytes leave the quota): these (those of them that are the caller's and in the
        trash; others are left alone and not counted), or with None all that were there when asked. A batch
        per transaction, its blobs deleted once it committed: a large trash is never read whole. The count."""
        in_trash = select(Asset).where(*_in_trash(principal.user_id))
        if asset_ids is not None:
            return self._delete_batches((in_trash.where(Asset.id.in_(chunk))
                                         for chunk in _chunks(list(dict.fromkeys(asset_ids)))), until_short=False)
        cutoff = utcnow()  # what is moved to the trash meanwhile stays there
        return self._delete_batches(itertools.repeat(in_trash.where(Asset.trashed_at <= cutoff)
                                                     .order_by(Asset.trashed_at).limit(_PURGE_BATCH)), until_short=True)

    def _delete_batches(self, queries: Iterable[Select], until_short: bool) -> int:
        """Delete for good the assets each query finds, a transaction each, their blobs once it committed; with
        until_short, the queries (one repeated) end at the first batch short of _PURGE_BATCH. The count."""
        deleted = 0
        for query in queries:
            with self.db.write() as session:
                # locked (PostgreSQL): a restore or another deletion at the same time waits, or is waited for
                assets = list(session.scalars(query.with_for_update()))
                keys = self._forget(session, assets)
            self.blobs.delete_unreferenced(keys)
            deleted += len(assets)
            if until_short and len(assets) < _PURGE_BATCH:
                break
        return deleted

    def trash_totals(self, principal: Principal) -> tuple[int, int]:
        """(items, bytes) in the caller's trash."""
        with self.db.read() as session:
            items, size = session.execute(select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
                                          .where(*_in_trash(principal.user_id))).one()
        return items, size

    def month_counts(self, principal: Principal) -> list[tuple[str, int]]:
        """("YYYY-MM", items) of the caller's library per month (UTC), newest first: the timeline's scrubber."""
        with self.db.read() as session:
            return repository.month_counts(session, principal.user_id)

    def neighbours(self, principal: Principal, asset: Asset,
                   album_id: uuid.UUID | None = None) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(newer, older): the items beside an asset in its listing (library, trash, or an album)."""
        position, trashed = (asset.sort_at, asset.id), asset.trashed_at is not None
        with self.db.read() as session:
            if album_id is not None and not trashed:  # the album's owner's or one shared with the caller
                readable_album(session, principal, album_id)
                newer = session.scalar(shared.album_newer(album_id, position, 1))
                older = session.scalar(shared.album_page(album_id, position, 1))
                return (newer.id if newer else None), (older.id if older else None)
            if album_id is not None:
                owned_album(session, principal, album_id)
            newer = session.scalar(repository.newer_page(principal.user_id, trashed, position, 1, album_id))
            older = session.scalar(repository.timeline_page(principal.user_id, trashed, position, 1, album_id))
        return (newer.id if newer else None), (older.id if older else None)

    # -- favourites and deletion for good ----------------------------------------------------------------

    def set_favorite(self, principal: Principal, asset_id: uuid.UUID, favorite: bool) -> Asset:
        with self.db.write() as session:
            asset = repository.owned_asset(session, principal.user_id, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id}")
            asset.is_favorite = favorite
        return asset

    def describe(self, principal: Principal, asset_id: uuid.UUID, description: str | None = None,
                 archived: bool | None = None, people: list[str] | None = None,
                 place: tuple[float, float, float | None] | None = None) -> Asset:
        """Set what is given of an asset's description, archived flag, people's names and place (latitude,
        longitude, altitude) as Google Photos had them (None: unchanged)."""
        for text in [description or "", *(people or ())]:
            if "\x00" in text:
                raise BadRequest("a description or a name cannot hold a NUL character")
        with self.db.write() as session:
            asset = repository.owned_asset(session, principal.user_id, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id}")
            if description is not None:
                asset.description = description
            if archived is not None:
                asset.is_archived = archived
            if people is not None:
                asset.people = json.dumps(list(dict.fromkeys(people)), ensure_ascii=False)
            if place is not None:
                asset.place_latitude, asset.place_longitude, asset.place_altitude = place
                search_index.refresh(session, asset.id)  # found by its new place
        return asset

    def delete_forever(self, principal: Principal, asset_id: uuid.UUID) -> None:
        """Delete a trashed asset for good: its row and album places, its original and derivatives; its
        bytes leave the quota. Only from the trash, so that one call can never lose a library item."""
        with self.db.write() as session:
            asset = repository.owned_asset(session, principal.user_id, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id}")
            if asset.trashed_at is None:
                raise Conflict(f"asset {asset_id} is not in the trash; move it there first")
            keys = self._forget(session, [asset])
        self.blobs.delete_unreferenced(keys)

    def purge_trash(self, older_than: dt.timedelta = TRASH_RETENTION) -> int:
        """Delete for good what has been in the trash longer than older_than, every user's; the count."""
        cutoff = utcnow() - older_than
        return self._delete_batches(itertools.repeat(repository.trashed_before(cutoff, _PURGE_BATCH)),
                                    until_short=True)

    def schedule_trash_purge(self, day: dt.date) -> None:
        """The purge job of that day (UTC), to run from its midnight; once per day however often asked."""
        with self.db.write() as session:
            JobQueue.enqueue_in(session, TRASH_PURGE_JOB, f"day:{day.isoformat()}",
                                run_after=dt.datetime.combine(day, dt.time(), dt.UTC))

    def run_trash_purge(self, subject: str) -> None:
        """The `gallery.purge_trash` job: purge, then schedule the next day's run (a daily chain)."""
        purged = self.purge_trash()
        if purged:
            log.info("trash purge (%s): deleted %d items trashed more than %s ago", subject, purged, TRASH_RETENTION)
        self.schedule_trash_purge(utcnow().date() + dt.timedelta(days=1))

    def _forget(self, session: Session, assets: list[Asset]) -> list[str]:
        """Delete the rows (album places and media rows go with them) and give the bytes back to their
        owners' quotas, in the caller's transaction; returns the blob keys to delete once it committed."""
        keys = self._keys_of(session, assets)
        for asset in assets:
            session.delete(asset)
            self.quota.release(session, asset.owner_id, asset.size_bytes)
        return keys

    @staticmethod
    def _keys_of(session: Session, assets: list[Asset]) -> list[str]:
        """Every blob of these assets: originals and derivatives."""
        media = repository.media_rows(session, [asset.id for asset in assets])
        keys = []
        for asset in assets:
            row = media.get(asset.id)
            keys += [asset.blob_key] + ([key for key in (row.thumbnail_key, row.preview_key) if key] if row else [])
        return keys

    def purge_user(self, owner_id: int, record: Record) -> None:
        """Everything the owner keeps in the gallery, a batch at a time (account deletion): the batch's blobs
        are measured, its rows deleted and counted (blobs included) in one transaction, then the blobs go.
        Idempotent: a run cut short leaves rows for the next one, or blobs that the deletion's final sweep
        of the owner's prefix removes."""
        while True:
            with self.db.read() as session:
                assets = repository.owner_assets_batch(session, owner_id, _PURGE_BATCH)
                keys = self._keys_of(session, assets)
            sizes = self._sizes(keys)
            with self.db.write() as session:
                present = repository.owned_assets(session, owner_id, [asset.id for asset in assets])
                rows = len(present) + repository.dependent_rows(session, [asset.id for asset in present])
                self._forget(session, present)
                record(Purged(items=len(present), rows=rows, blobs=len(sizes), bytes=sum(sizes.values())), session)
            self.blobs.delete_unreferenced(list(sizes))
            if len(assets) < _PURGE_BATCH:
                break
        with self.db.write() as session:
            albums = session.execute(Album.__table__.delete().where(Album.owner_id == owner_id))
            record(Purged(rows=albums.rowcount), session)

    def _sizes(self, keys: list[str]) -> dict[str, int]:
        """The size of each of these blobs that exists."""
        sizes = {}
        for key in keys:
            try:
                sizes[key] = self.blobs.size(key)
            except BlobNotFound:
                continue
        return sizes
