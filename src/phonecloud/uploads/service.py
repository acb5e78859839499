"""Resumable uploads: creation with a quota reservation, appending under a lock, completion into the
upload's destination in the general intake exactly as a plain upload, termination and expiry. Plain Python;
the routes speak tus over it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sqlalchemy import delete, func, select

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.dates import parse_moment
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, NotFound, TooLarge, UnsupportedMedia
from phonecloud.core.kinds import Purged, Record
from phonecloud.uploads import repository
from phonecloud.uploads.intake import Finished, Intake, IntakeMeta
from phonecloud.uploads.models import ACTIVE, COMPLETED, EXPIRED, ResumableUpload
from phonecloud.uploads.protocol import Checksum, UploadGone, UploadLocked, parse_metadata
from phonecloud.uploads.staging import UploadWriter, WriterCache

log = logging.getLogger("phonecloud.uploads")

LEASE_SECONDS = 30.0  # a writer silent this long loses the lock to the next request
LOCK_POLL_SECONDS = 0.05
HEAD_WAIT_SECONDS = 2.0  # HEAD lets a request that is just ending record its last bytes first
FINISHED_KEPT = dt.timedelta(days=7)  # how long a finished upload still answers HEAD (asset id, or 410)
SWEEP_EVERY_SECONDS = 60.0


@dataclass
class Append:
    """One request appending to an upload: the row as it was when the lock was taken, and its writer."""

    upload: ResumableUpload
    writer: UploadWriter
    token: str


class _Settlement:
    """How a finished upload settles in its destination's transaction: the reservation becomes the item's
    charge, or is released when the bytes were already stored."""

    def __init__(self, upload: ResumableUpload, quota: QuotaLedger):
        self.upload = upload
        self.quota = quota

    def settle(self, session: Session, item_id: uuid.UUID, created: bool) -> None:
        if repository.leave_active(session, self.upload.id, COMPLETED, asset_id=item_id,
                                     duplicate=not created) is None:
            raise Conflict("the upload was terminated or expired while it was being finished")
        if not created:
            self.quota.release(session, self.upload.owner_id, self.upload.length)


class UploadService:
    def __init__(self, db: Database, blobs: BlobStore, intake: Intake, quota: QuotaLedger, max_upload_bytes: int,
                 expiry: dt.timedelta, checkpoint_bytes: int):
        self.db = db
        self.blobs = blobs
        self.intake = intake
        self.quota = quota
        self.max_upload_bytes = max_upload_bytes
        self.expiry = expiry
        self.checkpoint_bytes = checkpoint_bytes
        self.cache = WriterCache()
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        self._holding: set[str] = set()  # lock tokens held by requests of this process
        self._holding_lock = threading.Lock()
        self._last_sweep = 0.0

    @staticmethod
    def reserved_bytes_by_user(session: Session) -> dict[int, int]:
        """user id -> bytes reserved by their unfinished uploads (part of their used_bytes)."""
        return repository.reserved_by_user(session)

    def room(self, principal: Principal) -> int:
        """The largest upload this user may start now: their free quota, at most the server's limit."""
        return min(self.max_upload_bytes, self.quota.room(principal.user_id))

    # -- creation -----------------------------------------------------------------------------------------

    def create(self, principal: Principal, length: int, metadata_header: str | None) -> ResumableUpload:
        """A new upload of `length` bytes into the destination its metadata names (else the default one), its
        whole length reserved in the owner's quota at once."""
        pairs = parse_metadata(metadata_header)
        destination_name, meta = self._meta(pairs, length)
        if length == 0:
            raise BadRequest("Upload-Length is 0: an empty file is not a photo or video")
        if length > self.max_upload_bytes:
            raise TooLarge(f"a file of {length} bytes exceeds the server's limit of {self.max_upload_bytes} bytes",
                           limit=self.max_upload_bytes, file_size=length)
        destination = self.intake.destination(destination_name)
        destination.check(principal, meta)
        now = utcnow()
        upload = ResumableUpload(
            id=uuid.uuid4(), owner_id=principal.user_id, device_id=principal.device_id, state=ACTIVE, length=length,
            offset=0, metadata_header=metadata_header, filename=meta.filename, file_modified_at=meta.file_modified_at,
            declared_sha1=meta.declared_sha1, destination=destination.name, created_at=now,
            expires_at=now + self.expiry)
        with self.db.write() as session:
            self.quota.charge(session, principal.user_id, length)  # the reservation
            session.add(upload)
        return upload

    @staticmethod
    def _meta(pairs: dict[str, bytes], length: int) -> tuple[str | None, IntakeMeta]:
        """destination, and filename, modified_at (ISO 8601) and sha1 (hex), from Upload-Metadata; all
        optional (the destination checks what it needs)."""
        try:
            text = {key: pairs[key].decode("utf-8") for key in ("destination", "filename", "modified_at", "sha1")
                    if key in pairs}
        except UnicodeDecodeError as error:
            raise BadRequest(f"Upload-Metadata value is not UTF-8: {error.reason}") from None
        modified = parse_moment(text["modified_at"], "modified_at") if "modified_at" in text else utcnow()
        sha1 = text.get("sha1")
        return text.get("destination"), IntakeMeta(text.get("filename") or "upload", modified, length,
                                                   sha1.lower() if sha1 else sha1)

    # -- reading ------------------------------------------------------------------------------------------

    def status(self, principal: Principal, upload_id: uuid.UUID) -> ResumableUpload:
        """The upload as HEAD reports it. One whose every byte is stored but that is not an asset yet (the
        server stopped while finishing it) is finished now, so the answer can name its asset."""
        upload = self._owned(principal, upload_id)
        deadline = time.monotonic() + HEAD_WAIT_SECONDS
        while upload.state == ACTIVE and self._held_by_live(upload) and time.monotonic() < deadline:
            time.sleep(LOCK_POLL_SECONDS)
            upload = self._owned(principal, upload_id)
        if upload.state == ACTIVE and upload.offset == upload.length:
            append = self.begin(principal, upload_id, upload.offset, None)
            return self.end(principal, append)
        return upload

    def _owned(self, principal: Principal, upload_id: uuid.UUID) -> ResumableUpload:
        with self.db.read() as session:
            upload = repository.owned(session, principal.user_id, upload_id)
        if upload is None:
            raise NotFound(f"no upload {upload_id}")
        if upload.state == EXPIRED:
            raise UploadGone(f"upload {upload_id} expired and its bytes were removed; start a new upload")
        if upload.state == ACTIVE and upload.expires_at < utcnow() and not self._held_by_live(upload):
            self._expire(upload.id)
            raise UploadGone(f"upload {upload_id} expired and its bytes were removed; start a new upload")
        return upload

    # -- appending ----------------------------------------------------------------------------------------

    def begin(self, principal: Principal, upload_id: uuid.UUID, offset: int, checksum: Checksum | None) -> Append:
        """Take the upload's lock and a writer at `offset`, which must be the upload's offset (409)."""
        upload = self._owned(principal, upload_id)
        self._check_offset(upload, offset)
        token = self._lock(upload)
        try:
            upload = self._owned(principal, upload_id)  # as it is now that nobody else writes
            self._check_offset(upload, offset)
            blob = self.blobs.resumable(upload.id.hex)
            identify = self.intake.destination(upload.destination).identify
            if upload.state == COMPLETED:  # nothing more to take: an empty PATCH is answered, bytes are 413
                return Append(upload, UploadWriter.finished(upload.id, upload.length, blob, self.max_upload_bytes,
                                                            identify), token)
            writer = self.cache.take(upload.id, offset) or UploadWriter.rebuilt(
                upload.id, upload.length, blob, self.max_upload_bytes, identify, offset)
            writer.start(lambda done: self._acknowledge(upload.id, token, done), self.checkpoint_bytes, checksum,
                         LEASE_SECONDS)
        except UnsupportedMedia:
            self._terminate(upload, token)
            raise
        except BlobNotFound:  # the staged bytes were lost (removed by hand?): the upload cannot go on
            self._unlock(upload.id, token)
            self._expire(upload.id)
            raise UploadGone(f"the bytes of upload {upload_id} are gone; start a new upload") from None
        except BaseException:
            self._unlock(upload.id, token)
            raise
        return Append(upload, writer, token)

    @staticmethod
    def _check_offset(upload: ResumableUpload, offset: int) -> None:
        if upload.state == COMPLETED:
            if offset != upload.length:
                raise Conflict(f"the upload is complete at {upload.length} bytes, not {offset}",
                               upload_offset=upload.length)
        elif offset != upload.offset:
            raise Conflict(f"Upload-Offset {offset} is not the upload's offset {upload.offset}: send HEAD and "
                           "resume from there", upload_offset=upload.offset)

    def end(self, principal: Principal, append: Append) -> ResumableUpload:
        """Finish one request, keeping every byte it brought; the last byte makes the upload an asset."""
        upload, writer = append.upload, append.writer
        if upload.state == COMPLETED:
            writer.stop()
            self._unlock(upload.id, append.token)
            return upload
        try:
            offset = writer.settle()
            if offset == upload.length:
                return self._complete(principal, upload, writer, append.token)
        except BaseException:
            self._unlock(upload.id, append.token)
            raise
        self.cache.put(writer)
        self._unlock(upload.id, append.token)
        return self._reloaded(upload.id)

    def fail(self, append: Append, error: BaseException) -> None:
        """The request failed: bytes it wrote but never acknowledged are dropped by the next request.
        Content that is not a photo or video ends the upload, as it would a plain upload."""
        append.writer.stop()
        if isinstance(error, UnsupportedMedia):
            self._terminate(append.upload, append.token)
        else:
            self._unlock(append.upload.id, append.token)

    def _complete(self, principal: Principal, upload: ResumableUpload, writer: UploadWriter,
                  token: str) -> ResumableUpload:
        meta = IntakeMeta(upload.filename, upload.file_modified_at, upload.length, upload.declared_sha1)
        owner = dataclasses.replace(principal, device_id=upload.device_id)
        destination = self.intake.destination(upload.destination)
        try:
            result: Finished = destination.finish(owner, writer.staged, meta,
                                                  prepaid=_Settlement(upload, self.quota))
        except (BadRequest, UnsupportedMedia):  # not what the destination takes, or not the declared SHA-1
            self._terminate(upload, token)
            raise
        self.cache.forget(upload.id)
        writer.blob.discard()
        log.info("resumable upload %s of user %s became %s %s%s", upload.id, upload.owner_id, destination.name,
                 result.item_id, "" if result.created else " (already stored)")
        return self._reloaded(upload.id)

    def _acknowledge(self, upload_id: uuid.UUID, token: str, offset: int) -> bool:
        now = utcnow()
        with self.db.write() as session:
            return repository.progress(session, upload_id, token, offset, now + dt.timedelta(seconds=LEASE_SECONDS),
                                       now + self.expiry)

    def _reloaded(self, upload_id: uuid.UUID) -> ResumableUpload:
        with self.db.read() as session:
            return session.get(ResumableUpload, upload_id)

    # -- the writer's lock --------------------------------------------------------------------------------

    def _lock(self, upload: ResumableUpload) -> str:
        """Wait for the lock: a request that is ending records its bytes first; one whose process died, or
        that went silent for a whole lease, gives it up."""
        token = f"{self._process}:{secrets.token_hex(8)}"
        deadline = time.monotonic() + LEASE_SECONDS + 5
        while True:
            now = utcnow()
            with self.db.write() as session:
                current = repository.holder(session, upload.id)
                stale = current if current is not None and self._is_stale(current) else None
                if repository.lock(session, upload.id, token, now + dt.timedelta(seconds=LEASE_SECONDS), now, stale):
                    break
            if time.monotonic() > deadline:
                raise UploadLocked("another request is still writing to this upload; try again shortly")
            time.sleep(LOCK_POLL_SECONDS)
        with self._holding_lock:
            self._holding.add(token)
        return token

    def _unlock(self, upload_id: uuid.UUID, token: str) -> None:
        with self._holding_lock:
            self._holding.discard(token)
        with self.db.write() as session:
            repository.unlock(session, upload_id, token)

    def _held_by_live(self, upload: ResumableUpload) -> bool:
        return (upload.lock_token is not None and upload.lock_until is not None and upload.lock_until > utcnow()
                and not self._is_stale(upload.lock_token))

    def _is_stale(self, token: str) -> bool:
        """A lock whose holder is known to be gone: a request of this process that has ended, or a
        process on this host that no longer runs (the server was restarted). Others wait for the lease."""
        host, _, rest = token.partition(":")
        pid_text = rest.partition(":")[0]
        if host != socket.gethostname() or not pid_text.isdigit():
            return False
        if int(pid_text) == os.getpid():
            with self._holding_lock:
                return token not in self._holding
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    # -- termination and expiry ---------------------------------------------------------------------------

    def terminate(self, principal: Principal, upload_id: uuid.UUID) -> None:
        """DELETE: an unfinished upload's bytes and reservation go; a finished one's asset stays."""
        upload = self._owned(principal, upload_id)
        self._terminate(upload, self._lock(upload))

    def _terminate(self, upload: ResumableUpload, token: str) -> None:
        with self._holding_lock:
            self._holding.discard(token)
        with self.db.write() as session:
            row = session.get(ResumableUpload, upload.id)
            if row is None:
                return
            if row.state == ACTIVE:
                self.quota.release(session, row.owner_id, row.length)
            session.delete(row)
        self.cache.forget(upload.id)
        self.blobs.resumable(upload.id.hex).discard()

    def _expire(self, upload_id: uuid.UUID) -> bool:
        with self.db.write() as session:
            upload = repository.leave_active(session, upload_id, EXPIRED, unlocked_at=utcnow())
            if upload is None:
                return False
            self.quota.release(session, upload.owner_id, upload.length)
        self.cache.forget(upload_id)
        self.blobs.resumable(upload_id.hex).discard()
        log.info("resumable upload %s of user %s expired at %d of %d bytes; %d bytes of quota released",
                 upload_id, upload.owner_id, upload.offset, upload.length, upload.length)
        return True

    def expire_due(self) -> int:
        """Expire every upload past its time, forget long-finished ones, and remove staged bytes that no
        upload owns (a crash between a row's end and its bytes' removal). Safe in several processes."""
        self._last_sweep = time.monotonic()
        names = set(self.blobs.resumable_names())  # listed before the rows: a newer staging has its row
        now = utcnow()
        with self.db.read() as session:
            due = repository.due_to_expire(session, now)
        expired = sum(self._expire(upload_id) for upload_id in due)
        with self.db.write() as session:
            repository.forget_finished(session, now - FINISHED_KEPT)
            active = repository.active_ids(session)
        for name in names - active:
            self.blobs.resumable(name).discard()
        return expired

    def sweep_if_due(self) -> None:
        if time.monotonic() - self._last_sweep > min(SWEEP_EVERY_SECONDS, self.expiry.total_seconds() / 2):
            self.expire_due()

    # -- account deletion ---------------------------------------------------------------------------------

    def purge_user(self, owner_id: int, record: Record, destinations: Collection[str] | None = None) -> None:
        """Every resumable upload of the user (only those into `destinations`, when given), finished or not:
        its staged bytes, then its row."""
        query = select(ResumableUpload.id).where(ResumableUpload.owner_id == owner_id)
        if destinations is not None:
            query = query.where(ResumableUpload.destination.in_(destinations))
        with self.db.read() as session:
            uploads = list(session.scalars(query))
        for upload_id in uploads:
            blob = self.blobs.resumable(upload_id.hex)
            size = blob.size()
            with self.db.write() as session:
                rows = session.execute(delete(ResumableUpload).where(ResumableUpload.id == upload_id)).rowcount
                record(Purged(items=rows, rows=rows, blobs=1 if size else 0, bytes=size), session)
            blob.discard()  # after the row: a crash leaves bytes that the sweep of unowned staging removes
            self.cache.forget(upload_id)

    def rows_left(self, session: Session, owner_id: int) -> int:
        return session.scalar(select(func.count()).select_from(ResumableUpload)
                              .where(ResumableUpload.owner_id == owner_id)) or 0
