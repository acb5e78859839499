"""Gallery service: upload, de-duplication and quota, listing, originals, trash and albums."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import errno
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.accounts.quota import UploadsInFlight
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.dates import bounded, clamped
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, Gone, InsufficientStorage, NotFound, QuotaExceeded, TooLarge
from phonecloud.gallery import repository
from phonecloud.gallery.ingest import StagedUpload
from phonecloud.gallery.models import Album, AlbumAsset, Asset
from phonecloud.gallery.names import MAX_FILENAME_CHARS, record_filename
from phonecloud.jobs.queue import JobQueue
from phonecloud.media.jobs import MEDIA_JOB, job_subject
from phonecloud.media.models import AssetMedia

MAX_PAGE = 1000
MAX_PRECHECK_ITEMS = 10_000
MAX_ALBUM_CHANGE = 10_000
SMALL_UPLOAD = 1 << 20  # declared this small, an upload is received whole before the quota decides
MAX_TITLE_CHARS = 500
TRASH_PURGE_JOB = "gallery.purge_trash"
TRASH_RETENTION = dt.timedelta(days=30)
_PURGE_BATCH = 500

log = logging.getLogger("phonecloud.gallery")
# A photo is read whole at once (one worker-thread hop): a mirror fetching a library asks for little else.
_ORIGINAL_CHUNK = 4 << 20


@dataclass(frozen=True)
class UploadMeta:
    filename: str
    file_modified_at: dt.datetime
    declared_size: int | None = None
    declared_sha1: str | None = None


@dataclass(frozen=True)
class UploadResult:
    asset: Asset
    created: bool


class Prepaid(Protocol):
    """An upload whose size the quota already holds (a resumable upload's reservation): the asset is not
    charged again, and the uploader settles its own records in the same transaction as the asset."""

    def settle(self, session: Session, asset_id: uuid.UUID, created: bool) -> None: ...


@dataclass(frozen=True)
class Page:
    items: list[Asset]
    next_cursor: str | None


def original_key(owner_id: int, sha1: str) -> str:
    """Per owner, so one user's data can be found and deleted without a scan; named by content, with a
    random suffix that makes each upload the only writer of its key."""
    return f"users/{owner_id}/originals/{sha1[:2]}/{sha1}.{secrets.token_hex(4)}"


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


class GalleryService:
    def __init__(self, db: Database, blobs: BlobStore, max_upload_bytes: int,
                 after_store: Callable[[], None] = lambda: None):
        self.db = db
        self.blobs = blobs
        self.max_upload_bytes = max_upload_bytes
        self.after_store = after_store  # tells this process's workers that a job is waiting
        self.uploads_in_flight = UploadsInFlight()

    # -- upload ------------------------------------------------------------------------------------------

    def check_meta(self, meta: UploadMeta) -> None:
        bounded(meta.file_modified_at, "modified_at")
        if not meta.filename or len(meta.filename) > MAX_FILENAME_CHARS:
            raise BadRequest(f"filename must be 1 to {MAX_FILENAME_CHARS} characters")
        if meta.declared_size is not None and meta.declared_size <= 0:
            raise BadRequest("declared size must be a positive number of bytes")
        if meta.declared_size is not None and meta.declared_size > self.max_upload_bytes:
            raise self._too_large(meta.declared_size)
        sha1 = meta.declared_sha1
        if sha1 is not None and (len(sha1) != 40 or any(c not in "0123456789abcdefABCDEF" for c in sha1)):
            raise BadRequest("sha1 must be 40 hexadecimal digits")

    def check_room(self, principal: Principal, size: int, declared_sha1: str | None) -> None:
        """Refuse early, before any byte is read, an upload that cannot fit (the final check is atomic).

        A duplicate costs nothing, so without a declared SHA-1 that is known to be new, only a file
        larger than the whole quota is refused this early.
        """
        if size > self.max_upload_bytes:
            raise self._too_large(size)
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
            known_new = declared_sha1 is not None and repository.asset_by_sha1(
                session, user.id, declared_sha1.lower()) is None
        if size > user.quota_bytes or (known_new and user.used_bytes + size > user.quota_bytes):
            raise self._quota_error(user, size)

    def start_upload(self, principal: Principal, declared_size: int | None = None,
                     declared_sha1: str | None = None) -> StagedUpload:
        """Staging for one upload, stopped as soon as it passes the owner's free quota (see accounts.quota).
        A small file is always taken whole (it may be a duplicate, which costs nothing; the charge decides),
        unless the owner's other uploads in flight already fill the room."""
        room = principal.room_bytes
        if room is None:
            with self.db.read() as session:
                user = session.get(User, principal.user_id)
            room = max(0, user.quota_bytes - user.used_bytes)
        small = declared_size if declared_size is not None and declared_size <= SMALL_UPLOAD else 0

        def refusal(received: int, in_flight: int) -> QuotaExceeded:
            with self.db.read() as session:
                user = session.get(User, principal.user_id)
            return self._quota_error(user, declared_size or received, at_least=declared_size is None,
                                     in_flight=in_flight)

        allowance = self.uploads_in_flight.allowance(
            principal.user_id, room + small, lambda: self._stored_size(principal.user_id, declared_sha1), refusal)
        return StagedUpload(self.blobs, self.max_upload_bytes, allowance)

    def _stored_size(self, owner_id: int, sha1: str | None) -> int | None:
        existing = self._existing(owner_id, sha1.lower()) if sha1 else None
        return existing.size_bytes if existing is not None else None

    def finish_upload(self, principal: Principal, staged: StagedUpload, meta: UploadMeta,
                      last_chunks: list[bytes] = (), prepaid: Prepaid | None = None) -> UploadResult:
        """Store a fully received upload once: de-duplicate, commit the blob, charge the quota atomically.

        The blob is committed under a key of its own (content hash plus a random suffix) before the
        transaction, so the slow fsyncs run in parallel with other uploads; if the transaction then
        refuses it (quota, or a concurrent upload of the same bytes won), the key is ours alone to delete.
        A crash between the two leaves an unreferenced blob, never a row without its bytes.
        """
        try:
            staged.feed(list(last_chunks))
            staged.finish(meta.declared_size, meta.declared_sha1)
            existing = self._existing(principal.user_id, staged.sha1)
            if existing is not None:
                return self._duplicate(existing, prepaid)
            key = original_key(principal.user_id, staged.sha1)
            self._commit_blob(staged, key)
        finally:
            staged.abort()
        try:
            return UploadResult(self._insert(principal, staged, meta, key, prepaid), created=True)
        except IntegrityError:  # a concurrent upload of the same bytes won the race
            self.blobs.delete(key)
            winner = self._existing(principal.user_id, staged.sha1)
            if winner is None:
                raise
            return self._duplicate(winner, prepaid)
        except BaseException:
            self.blobs.delete(key)
            raise

    @staticmethod
    def _commit_blob(staged: StagedUpload, key: str) -> None:
        try:
            staged.commit(key)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage("the server's storage is full; nothing was stored") from error
            raise

    def _duplicate(self, existing: Asset, prepaid: Prepaid | None) -> UploadResult:
        if prepaid is not None:
            with self.db.write() as session:
                prepaid.settle(session, existing.id, created=False)
        return UploadResult(existing, created=False)

    def _existing(self, owner_id: int, sha1: str) -> Asset | None:
        with self.db.read() as session:
            return repository.asset_by_sha1(session, owner_id, sha1)

    def _insert(self, principal: Principal, staged: StagedUpload, meta: UploadMeta, key: str,
                prepaid: Prepaid | None = None) -> Asset:
        with self.db.write() as session:
            charged = None if prepaid is not None else session.execute(
                update(User)
                .where(User.id == principal.user_id, User.used_bytes + staged.size <= User.quota_bytes)
                .values(used_bytes=User.used_bytes + staged.size)
            )
            if charged is not None and charged.rowcount != 1:
                raise self._quota_error(session.get(User, principal.user_id), staged.size)
            values = dict(
                id=uuid.uuid4(), owner_id=principal.user_id, device_id=principal.device_id,
                kind=staged.media_type.kind, mime_type=staged.media_type.mime,
                original_filename=record_filename(meta.filename), size_bytes=staged.size, sha1=staged.sha1,
                crc32=staged.crc32, blob_key=key, file_modified_at=meta.file_modified_at,
                sort_at=meta.file_modified_at, uploaded_at=utcnow(), is_favorite=False, trashed_at=None,
            )
            session.execute(insert(Asset).values(values))  # a plain INSERT: every upload passes here
            # In the same transaction: an asset is never stored without the job that completes it.
            JobQueue.enqueue_in(session, MEDIA_JOB, job_subject(values["id"]), owner_id=principal.user_id)
            if prepaid is not None:
                prepaid.settle(session, values["id"], created=True)
        self.after_store()
        return Asset(**values)

    def _too_large(self, size: int) -> TooLarge:
        return TooLarge(f"a file of {size} bytes exceeds the server's limit of {self.max_upload_bytes} bytes",
                        limit=self.max_upload_bytes, file_size=size)

    @staticmethod
    def _quota_error(user: User, size: int, at_least: bool = False, in_flight: int = 0) -> QuotaExceeded:
        """size: the file's, or (at_least) what arrived of it before it passed the quota."""
        parallel = {"in_flight_bytes": in_flight} if in_flight else {}
        return QuotaExceeded(
            f"storage quota exceeded: {user.used_bytes} of {user.quota_bytes} bytes used, the file has {size}"
            + (" bytes or more" if at_least else "")
            + (f"; {in_flight} more bytes are being uploaded in parallel" if in_flight else ""),
            used_bytes=user.used_bytes, quota_bytes=user.quota_bytes, file_size=size, **parallel,
        )

    def upload_chunks(self, principal: Principal, chunks: Iterable[bytes], meta: UploadMeta) -> UploadResult:
        """Upload from a synchronous stream (importers, CLI); the HTTP route drives the same steps itself."""
        self.check_meta(meta)
        staged = self.start_upload(principal)
        try:
            for chunk in chunks:
                staged.feed([chunk])
        except BaseException:
            staged.abort()
            raise
        return self.finish_upload(principal, staged, meta)

    def precheck(self, principal: Principal, items: list[tuple[str, str]]) -> list[dict]:
        """For each (client id, SHA-1), whether the user already has those bytes, and as which asset."""
        if len(items) > MAX_PRECHECK_ITEMS:
            raise BadRequest(f"at most {MAX_PRECHECK_ITEMS} items per check; split the list")
        sha1s = [sha1.lower() for _, sha1 in items]
        with self.db.read() as session:
            found = repository.assets_by_sha1(session, principal.user_id, sha1s)
        results = []
        for (client_id, _), sha1 in zip(items, sha1s):
            asset_id, trashed = found.get(sha1, (None, False))
            results.append({"id": client_id, "sha1": sha1, "exists": asset_id is not None,
                            "asset_id": asset_id, "trashed": trashed})
        return results

    # -- reading -----------------------------------------------------------------------------------------

    def list_assets(self, principal: Principal, cursor: str | None, limit: int, trashed: bool = False,
                    album_id: uuid.UUID | None = None) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else None
        with self.db.read() as session:
            if album_id is not None:
                self._album(session, principal, album_id)
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

    def neighbours(self, principal: Principal, asset: Asset,
                   album_id: uuid.UUID | None = None) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(newer, older): the items beside an asset in its listing (library, trash, or an album)."""
        position, trashed = (asset.sort_at, asset.id), asset.trashed_at is not None
        with self.db.read() as session:
            if album_id is not None:
                self._album(session, principal, album_id)
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
        self._delete_blobs(keys)

    def purge_trash(self, older_than: dt.timedelta = TRASH_RETENTION) -> int:
        """Delete for good what has been in the trash longer than older_than, every user's; the count."""
        cutoff = utcnow() - older_than
        purged = 0
        while True:
            with self.db.write() as session:
                assets = list(session.scalars(repository.trashed_before(cutoff, _PURGE_BATCH)))
                keys = self._forget(session, assets)
            self._delete_blobs(keys)
            purged += len(assets)
            if len(assets) < _PURGE_BATCH:
                return purged

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

    @staticmethod
    def _forget(session: Session, assets: list[Asset]) -> list[str]:
        """Delete the rows (album places and media rows go with them) and give the bytes back to their
        owners' quotas, in the caller's transaction; returns the blob keys to delete once it committed."""
        media = repository.media_rows(session, [asset.id for asset in assets])
        keys = []
        for asset in assets:
            row = media.get(asset.id)
            keys += [asset.blob_key] + ([key for key in (row.thumbnail_key, row.preview_key) if key] if row else [])
            session.delete(asset)
            session.execute(update(User).where(User.id == asset.owner_id)
                            .values(used_bytes=User.used_bytes - asset.size_bytes))
        return keys

    def _delete_blobs(self, keys: list[str]) -> None:
        # After the commit: a failure here leaves blobs no row references, which startup recovery removes.
        for key in keys:
            try:
                self.blobs.delete(key)
            except Exception:
                log.warning("could not delete blob %s of a deleted asset; recovery will remove it", key, exc_info=True)

    # -- albums ------------------------------------------------------------------------------------------

    @staticmethod
    def _album(session, principal: Principal, album_id: uuid.UUID, lock: bool = False) -> Album:
        album = repository.owned_album(session, principal.user_id, album_id, lock)
        if album is None:
            raise NotFound(f"no album {album_id}")
        return album

    @staticmethod
    def _clean_title(title: str) -> str:
        title = title.strip()
        if not title or len(title) > MAX_TITLE_CHARS or "\x00" in title:
            raise BadRequest(f"album title must be 1 to {MAX_TITLE_CHARS} characters, without NUL")
        return title

    def create_album(self, principal: Principal, title: str, description: str = "",
                     created_at: dt.datetime | None = None) -> Album:
        if created_at is not None:
            created_at = bounded(created_at, "created_at")
            if created_at > utcnow():
                raise BadRequest("created_at is in the future: an album can only have been made already")
        album = Album(owner_id=principal.user_id, title=self._clean_title(title), description=description,
                      created_at=created_at or utcnow())
        with self.db.write() as session:
            session.add(album)
        return album

    def list_albums(self, principal: Principal) -> list[tuple[Album, int]]:
        with self.db.read() as session:
            albums = list(session.scalars(
                select(Album).where(Album.owner_id == principal.user_id).order_by(Album.created_at, Album.id)
            ))
            counts = repository.album_counts(session, [album.id for album in albums]) if albums else {}
        return [(album, counts.get(album.id, 0)) for album in albums]

    def get_album(self, principal: Principal, album_id: uuid.UUID) -> tuple[Album, int]:
        with self.db.read() as session:
            album = self._album(session, principal, album_id)
            return album, repository.album_counts(session, [album.id]).get(album.id, 0)

    def update_album(self, principal: Principal, album_id: uuid.UUID, title: str | None,
                     description: str | None) -> Album:
        with self.db.write() as session:
            album = self._album(session, principal, album_id)
            if title is not None:
                album.title = self._clean_title(title)
            if description is not None:
                album.description = description
            album.updated_at = utcnow()
        return album

    def delete_album(self, principal: Principal, album_id: uuid.UUID) -> None:
        """Removes the album only; its photos stay in the library."""
        with self.db.write() as session:
            session.delete(self._album(session, principal, album_id))

    def change_album_assets(self, principal: Principal, album_id: uuid.UUID, asset_ids: list[uuid.UUID],
                            add: bool) -> list[dict]:
        """Add or remove assets; answers per asset: added/removed, already/not_member, or not_found."""
        if len(asset_ids) > MAX_ALBUM_CHANGE:
            raise BadRequest(f"at most {MAX_ALBUM_CHANGE} assets per request")
        asset_ids = list(dict.fromkeys(asset_ids))
        with self.db.write() as session:
            # Changes to one album take turns, so that two at once (two API processes on PostgreSQL) both see
            # the other's members: adding the same asset twice answers "already", never a duplicate-key error.
            album = self._album(session, principal, album_id, lock=True)
            owned = repository.owned_asset_ids(session, principal.user_id, asset_ids)
            members = repository.album_member_ids(session, album.id, asset_ids)
            results = []
            for asset_id in asset_ids:
                if asset_id not in owned:
                    outcome = "not_found"
                elif add:
                    outcome = "already" if asset_id in members else "added"
                    if outcome == "added":
                        session.add(AlbumAsset(album_id=album.id, asset_id=asset_id))
                else:
                    outcome = "removed" if asset_id in members else "not_member"
                    if outcome == "removed":
                        session.execute(AlbumAsset.__table__.delete().where(
                            AlbumAsset.album_id == album.id, AlbumAsset.asset_id == asset_id))
                results.append({"asset_id": asset_id, "result": outcome})
            album.updated_at = utcnow()
        return results
